// CUDA kernels of the models (kernels/gpu_kernels.hpp): cuBLAS SGEMM, aggregation (custom CSR
// kernel and cuSPARSE SpMM), bias, ReLU, dropout, log-softmax + NLL, Adam.
#include <cublas_v2.h>
#include <cusparse.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/cuda/check.cuh"
#include "core/cuda/cusparse_owners.cuh"
#include "kernels/gpu_handles.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/gpu_kernels.hpp"

namespace tg::gpu {

namespace {

constexpr int kThreads = 256;
cudaStream_t st(void* s) {
  return static_cast<cudaStream_t>(s);
}
unsigned grid(std::int64_t n, std::int64_t per_block = kThreads) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}
__device__ std::int64_t tid() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw cuda_error(std::string(what) + " failed: cuBLAS status " + std::to_string(static_cast<int>(s)));
}
void check_cusparse(cusparseStatus_t s, const char* what) {
  if (s != CUSPARSE_STATUS_SUCCESS) throw cuda_error(std::string(what) + " failed: " + cusparseGetErrorString(s));
}

// LANES lanes per destination row.
template <int LANES>
__global__ void aggregate_kernel(agg_graph_view g, const float* x, std::int64_t dim, float* y) {
  const std::int64_t row = tid() / LANES;
  const int lane = static_cast<int>(threadIdx.x % LANES);
  if (row >= g.num_dst) return;
  const std::int64_t b = g.indptr[row], e = g.indptr[row + 1];
  float* out = y + row * dim;
  for (std::int64_t j = lane; j < dim; j += LANES) {
    float acc = 0.f;
    for (std::int64_t k = b; k < e; ++k) {
      const float w = g.weights ? g.weights[k] : 1.f;
      acc += w * x[static_cast<std::int64_t>(g.indices[k]) * dim + j];
    }
    out[j] = acc;
  }
}

__global__ void offsets_to_32(const std::int64_t* in, std::int64_t n, std::int32_t* out) {
  const std::int64_t i = tid();
  if (i < n) out[i] = static_cast<std::int32_t>(in[i]);
}

__global__ void bias_forward_kernel(float* y, std::int64_t rows, std::int64_t cols, const float* b) {
  const std::int64_t i = tid();
  if (i < rows * cols) y[i] += b[i % cols];
}

// db[j] = sum over rows of dy[i, j]. A block per 32 columns: its 32 x 32 threads each sum every 32nd row
// of one column in row order (lane r: rows r, r + 32, ...), then one thread per column adds the 32
// lane sums in lane order — a fixed order, so the same bits on every run and card. (One thread per
// column summing every row, as before, ran a layer's 61k x 256 gradient on a single multiprocessor
// with a few loads in flight.)
constexpr int kBiasLanes = 32;
__global__ void bias_backward_kernel(const float* dy, std::int64_t rows, std::int64_t cols, float* db) {
  __shared__ float part[kBiasLanes][33];
  const int c = static_cast<int>(threadIdx.x), lane = static_cast<int>(threadIdx.y);
  const std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * 32 + c;
  float s = 0.f;
  if (j < cols) {
#pragma unroll 4
    for (std::int64_t i = lane; i < rows; i += kBiasLanes) s += dy[i * cols + j];
  }
  part[lane][c] = s;
  __syncthreads();
  if (lane == 0 && j < cols) {
    float t = 0.f;
    for (int r = 0; r < kBiasLanes; ++r) t += part[r][c];
    db[j] = t;
  }
}

__global__ void relu_forward_kernel(float* x, std::int64_t n) {
  const std::int64_t i = tid();
  if (i < n && x[i] < 0.f) x[i] = 0.f;  // NaN stays NaN (NaN < 0 is false), as torch.relu
}

__global__ void relu_backward_kernel(const float* y, float* dy, std::int64_t n, float scale) {
  const std::int64_t i = tid();
  if (i < n) dy[i] = y[i] > 0.f ? (scale == 1.f ? dy[i] : dy[i] * scale) : 0.f;
}

// One thread per Philox block of eight elements (two 16-bit draws per word, low half first): the CPU
// kernel's rule (kernels/elementwise.hpp, dropout_draw).
__global__ void dropout_kernel(float* x, std::int64_t n, std::uint32_t threshold, float scale, counter_rng rng) {
  const std::int64_t b = tid();
  if (8 * b >= n) return;
  const philox_ctr c = rng.block(static_cast<std::uint64_t>(b));
  for (int j = 0; j < 8 && 8 * b + j < n; ++j) {
    const std::uint32_t h = (c.v[j >> 1] >> (16 * (j & 1))) & 0xFFFFu;
    x[8 * b + j] = h >= threshold ? x[8 * b + j] * scale : 0.f;
  }
}

__global__ void scale_kernel(float* x, std::int64_t n, float a) {
  const std::int64_t i = tid();
  if (i < n) x[i] *= a;
}

__global__ void softmax_nll_kernel(const float* logits, std::int64_t rows, std::int64_t classes,
                                   const std::int64_t* labels, float* dlogits, float* probs, float* row_loss,
                                   float inv_rows) {
  const std::int64_t i = tid();
  if (i >= rows) return;
  const float* z = logits + i * classes;
  const std::int64_t y = labels[i];
  if (y < 0 || y >= classes) {
    row_loss[i] = NAN;  // the host reports the row
    return;
  }
  float mx = z[0];
  for (std::int64_t c = 1; c < classes; ++c) mx = fmaxf(mx, z[c]);
  float sum = 0.f;
  for (std::int64_t c = 0; c < classes; ++c) sum += expf(z[c] - mx);
  row_loss[i] = logf(sum) - (z[y] - mx);
  for (std::int64_t c = 0; c < classes; ++c) {
    const float p = expf(z[c] - mx) / sum;
    if (probs) probs[i * classes + c] = p;
    if (dlogits) dlogits[i * classes + c] = (p - (c == y ? 1.f : 0.f)) * inv_rows;
  }
}

__global__ void adam_kernel(float* param, const float* grad, float* m, float* v, std::int64_t n, float b1, float b2,
                            float wd, float step_size, float inv_sqrt_bc2, float eps) {
  const std::int64_t i = tid();
  if (i >= n) return;
  const float g = grad[i] + wd * param[i];
  m[i] = b1 * m[i] + (1.f - b1) * g;
  v[i] = b2 * v[i] + (1.f - b2) * g * g;
  param[i] -= step_size * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
}

}  // namespace

void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
            std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc, void* stream) {
  if (m == 0 || n == 0) return;
  auto h = static_cast<cublasHandle_t>(cublas_handle(stream));
  // cuBLAS refuses a leading dimension below 1 (status 7, "parameter 10 had an illegal value"), which
  // a product with k = 0 has (ld = k for a transposed operand): there C = beta C, and any ld >= 1 does.
  const auto ld = [](std::int64_t x) { return static_cast<int>(std::max<std::int64_t>(x, 1)); };
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  check_cublas(
      cublasSgemm(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                  static_cast<int>(m), static_cast<int>(k), &alpha, b, ld(ldb), a, ld(lda), &beta, c, ld(ldc)),
      "cublasSgemm");
}

void aggregate_forward(const agg_graph_view& g, const float* x, std::int64_t dim, float* y, void* stream) {
  if (g.num_dst == 0 || dim == 0) return;
  if (dim >= 128) {
    aggregate_kernel<32><<<grid(g.num_dst * 32), kThreads, 0, st(stream)>>>(g, x, dim, y);
  } else if (dim >= 32) {
    aggregate_kernel<16><<<grid(g.num_dst * 16), kThreads, 0, st(stream)>>>(g, x, dim, y);
  } else {
    aggregate_kernel<4><<<grid(g.num_dst * 4), kThreads, 0, st(stream)>>>(g, x, dim, y);
  }
  TG_CUDA_CHECK_LAUNCH();
}

void aggregate_forward_cusparse(const agg_graph_view& g, const float* x, std::int64_t dim, float* y,
                                cusparse_scratch& scratch, void* stream) {
  if (g.num_dst == 0 || dim == 0) return;
  TG_EXPECTS(g.weights != nullptr, "cuSPARSE aggregation needs edge weights");
  TG_EXPECTS(g.nnz < (std::int64_t{1} << 31), "cuSPARSE aggregation: more than 2^31 edges");
  scratch.offsets32.reserve(static_cast<std::size_t>(g.num_dst + 1));
  std::int32_t* offsets32 = scratch.offsets32.data();
  offsets_to_32<<<grid(g.num_dst + 1), kThreads, 0, st(stream)>>>(g.indptr, g.num_dst + 1, offsets32);
  TG_CUDA_CHECK_LAUNCH();
  auto h = static_cast<cusparseHandle_t>(cusparse_handle(stream));
  sparse_matrix a;
  dense_matrix bx, cy;
  check_cusparse(cusparseCreateCsr(a.out(), g.num_dst, g.num_src, g.nnz, offsets32,
                                   const_cast<std::int32_t*>(g.indices), const_cast<float*>(g.weights),
                                   CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F),
                 "cusparseCreateCsr");
  check_cusparse(
      cusparseCreateDnMat(bx.out(), g.num_src, dim, dim, const_cast<float*>(x), CUDA_R_32F, CUSPARSE_ORDER_ROW),
      "cusparseCreateDnMat");
  check_cusparse(cusparseCreateDnMat(cy.out(), g.num_dst, dim, dim, y, CUDA_R_32F, CUSPARSE_ORDER_ROW),
                 "cusparseCreateDnMat");
  const float alpha = 1.f, beta = 0.f;
  std::size_t ws = 0;
  check_cusparse(
      cusparseSpMM_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, a.get(),
                              bx.get(), &beta, cy.get(), CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &ws),
      "cusparseSpMM_bufferSize");
  if (ws > scratch.workspace.size()) {
    TG_CUDA_TRY(cudaStreamSynchronize(st(stream)));  // the old workspace may still be in use
    scratch.workspace.reserve(ws);
  }
  check_cusparse(
      cusparseSpMM(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, a.get(), bx.get(),
                   &beta, cy.get(), CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, ws ? scratch.workspace.data() : nullptr),
      "cusparseSpMM");
}

void bias_forward(float* y, std::int64_t rows, std::int64_t cols, const float* b, void* stream) {
  if (rows * cols == 0) return;
  bias_forward_kernel<<<grid(rows * cols), kThreads, 0, st(stream)>>>(y, rows, cols, b);
  TG_CUDA_CHECK_LAUNCH();
}

void bias_backward(const float* dy, std::int64_t rows, std::int64_t cols, float* db, void* stream) {
  if (cols == 0) return;
  bias_backward_kernel<<<grid(cols, 32), dim3(32, kBiasLanes), 0, st(stream)>>>(dy, rows, cols, db);
  TG_CUDA_CHECK_LAUNCH();
}

void relu_forward(float* x, std::int64_t n, void* stream) {
  if (n == 0) return;
  relu_forward_kernel<<<grid(n), kThreads, 0, st(stream)>>>(x, n);
  TG_CUDA_CHECK_LAUNCH();
}

void relu_backward(const float* y, float* dy, std::int64_t n, void* stream, float scale) {
  if (n == 0) return;
  relu_backward_kernel<<<grid(n), kThreads, 0, st(stream)>>>(y, dy, n, scale);
  TG_CUDA_CHECK_LAUNCH();
}

void dropout_forward(float* x, std::int64_t n, double p, const counter_rng& rng, void* stream) {
  if (n == 0 || p <= 0) return;
  dropout_kernel<<<grid((n + 7) / 8), kThreads, 0, st(stream)>>>(x, n, dropout_threshold(p),
                                                                 static_cast<float>(dropout_scale(p)), rng);
  TG_CUDA_CHECK_LAUNCH();
}

void dropout_backward(float* dx, std::int64_t n, double p, const counter_rng& rng, void* stream) {
  dropout_forward(dx, n, p, rng, stream);
}

void softmax_nll(const float* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels,
                 float* dlogits, float* probs, float* row_loss, void* stream, std::int64_t normalizer) {
  if (rows == 0) return;
  const float inv = 1.f / static_cast<float>(normalizer > 0 ? normalizer : rows);
  softmax_nll_kernel<<<grid(rows), kThreads, 0, st(stream)>>>(logits, rows, classes, labels, dlogits, probs, row_loss,
                                                              inv);
  TG_CUDA_CHECK_LAUNCH();
}

void scale(float* x, std::int64_t n, float a, void* stream) {
  if (n == 0) return;
  scale_kernel<<<grid(n), kThreads, 0, st(stream)>>>(x, n, a);
  TG_CUDA_CHECK_LAUNCH();
}

void adam_step(float* param, const float* grad, float* m, float* v, std::int64_t n, const adam_config& cfg,
               std::int64_t step, void* stream) {
  if (n == 0) return;
  const double bc1 = 1.0 - std::pow(cfg.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(cfg.beta2, static_cast<double>(step));
  adam_kernel<<<grid(n), kThreads, 0, st(stream)>>>(
      param, grad, m, v, n, static_cast<float>(cfg.beta1), static_cast<float>(cfg.beta2),
      static_cast<float>(cfg.weight_decay), static_cast<float>(cfg.lr / bc1), static_cast<float>(1.0 / std::sqrt(bc2)),
      static_cast<float>(cfg.eps));
  TG_CUDA_CHECK_LAUNCH();
}

// --- Graph attention (kernels/attention.hpp) -----------------------------------------------------

namespace {

__device__ float leaky(float z, float slope) {
  return z > 0.f ? z : slope * z;
}

__device__ std::int64_t edge_at(const agg_graph_view& g, std::int64_t p) {
  return g.edge_ids ? static_cast<std::int64_t>(g.edge_ids[p]) : p;
}

__global__ void head_dot_kernel(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x,
                                const float* att, float* y) {
  const std::int64_t i = tid();
  if (i >= rows * heads) return;
  const std::int64_t r = i / heads, k = i % heads;
  const float* xr = x + r * heads * width + k * width;
  const float* a = att + k * width;
  float s = 0.f;
  for (std::int64_t c = 0; c < width; ++c) s += xr[c] * a[c];
  y[i] = s;
}

__global__ void head_dot_dx_kernel(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* att,
                                   const float* dy, float* dx) {
  const std::int64_t i = tid(), hw = heads * width;
  if (i >= rows * hw) return;
  const std::int64_t r = i / hw, j = i % hw;
  dx[i] += dy[r * heads + j / width] * att[j];
}

// Column j of datt: rows summed in the CPU kernel's order (fixed chunks of 256 rows, each in row order,
// chunk sums added in chunk order). A block per 32 columns: in each round its 32 lanes sum 32
// consecutive chunks at once, then lane 0 adds their sums in chunk order — the same order as one
// thread walking every row, without leaving the whole reduction to one multiprocessor.
__global__ void head_dot_datt_kernel(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x,
                                     const float* dy, float* datt) {
  __shared__ float part[32][33];
  const int c = static_cast<int>(threadIdx.x), lane = static_cast<int>(threadIdx.y);
  const std::int64_t hw = heads * width, j = static_cast<std::int64_t>(blockIdx.x) * 32 + c;
  const std::int64_t k = j / width, nchunks = (rows + 255) / 256;
  float total = 0.f;
  for (std::int64_t first = 0; first < nchunks; first += 32) {  // the same trip count for the whole block
    const std::int64_t chunk = first + lane;
    float p = 0.f;
    if (j < hw && chunk < nchunks) {
      const std::int64_t c0 = chunk * 256, c1 = c0 + 256 < rows ? c0 + 256 : rows;
      for (std::int64_t r = c0; r < c1; ++r) p += dy[r * heads + k] * x[r * hw + j];
    }
    part[lane][c] = p;
    __syncthreads();
    if (lane == 0 && j < hw) {
      const std::int64_t n = nchunks - first < 32 ? nchunks - first : 32;
      for (std::int64_t l = 0; l < n; ++l) total += part[l][c];
    }
    __syncthreads();
  }
  if (lane == 0 && j < hw) datt[j] = total;
}

__global__ void edge_softmax_kernel(agg_graph_view g, std::int64_t heads, const float* a_src, const float* a_dst,
                                    float slope, float* alpha) {
  const std::int64_t i = tid();
  if (i >= g.num_dst * heads) return;
  const std::int64_t v = i / heads, k = i % heads, b = g.indptr[v], e = g.indptr[v + 1];
  if (b == e) return;
  const float dv = a_dst[v * heads + k];
  float mx = -INFINITY;
  for (std::int64_t p = b; p < e; ++p) {
    const float z = leaky(a_src[static_cast<std::int64_t>(g.indices[p]) * heads + k] + dv, slope);
    alpha[p * heads + k] = z;
    mx = fmaxf(mx, z);
  }
  float sum = 0.f;
  for (std::int64_t p = b; p < e; ++p) {
    const float ez = expf(alpha[p * heads + k] - mx);
    alpha[p * heads + k] = ez;
    sum += ez;
  }
  const float inv = 1.f / sum;
  for (std::int64_t p = b; p < e; ++p) alpha[p * heads + k] *= inv;
}

__global__ void edge_softmax_backward_kernel(agg_graph_view g, std::int64_t heads, const float* a_src,
                                             const float* a_dst, float slope, const float* alpha, const float* dalpha,
                                             float* ds) {
  const std::int64_t i = tid();
  if (i >= g.num_dst * heads) return;
  const std::int64_t v = i / heads, k = i % heads, b = g.indptr[v], e = g.indptr[v + 1];
  float dot = 0.f;
  for (std::int64_t p = b; p < e; ++p) dot += alpha[p * heads + k] * dalpha[p * heads + k];
  const float dv = a_dst[v * heads + k];
  for (std::int64_t p = b; p < e; ++p) {
    const float z = a_src[static_cast<std::int64_t>(g.indices[p]) * heads + k] + dv;
    ds[p * heads + k] = (z > 0.f ? 1.f : slope) * alpha[p * heads + k] * (dalpha[p * heads + k] - dot);
  }
}

__global__ void aggregate_heads_kernel(agg_graph_view g, std::int64_t heads, std::int64_t width, const float* w,
                                       const float* x, float* y) {
  const std::int64_t i = tid(), hw = heads * width;
  if (i >= g.num_dst * hw) return;
  const std::int64_t v = i / hw, j = i % hw, k = j / width;
  float acc = 0.f;
  for (std::int64_t p = g.indptr[v]; p < g.indptr[v + 1]; ++p)
    acc += w[edge_at(g, p) * heads + k] * x[static_cast<std::int64_t>(g.indices[p]) * hw + j];
  y[i] = acc;
}

__global__ void edge_dot_kernel(agg_graph_view g, std::int64_t heads, std::int64_t width, const float* dy,
                                const float* x, float* out) {
  const std::int64_t i = tid(), hw = heads * width;
  if (i >= g.num_dst * heads) return;
  const std::int64_t v = i / heads, k = i % heads;
  const float* gr = dy + v * hw + k * width;
  for (std::int64_t p = g.indptr[v]; p < g.indptr[v + 1]; ++p) {
    const float* in = x + static_cast<std::int64_t>(g.indices[p]) * hw + k * width;
    float s = 0.f;
    for (std::int64_t c = 0; c < width; ++c) s += gr[c] * in[c];
    out[p * heads + k] = s;
  }
}

__global__ void edge_sum_kernel(agg_graph_view g, std::int64_t heads, const float* values, float* y) {
  const std::int64_t i = tid();
  if (i >= g.num_dst * heads) return;
  const std::int64_t v = i / heads, k = i % heads;
  float s = 0.f;
  for (std::int64_t p = g.indptr[v]; p < g.indptr[v + 1]; ++p) s += values[edge_at(g, p) * heads + k];
  y[i] = s;
}

__global__ void elu_forward_kernel(float* x, std::int64_t n) {
  const std::int64_t i = tid();
  if (i < n && x[i] <= 0.f) x[i] = expm1f(x[i]);
}

__global__ void elu_backward_kernel(const float* y, float* dy, std::int64_t n) {
  const std::int64_t i = tid();
  if (i < n && !(y[i] > 0.f)) dy[i] *= y[i] + 1.f;
}

// One thread per element: consecutive threads copy consecutive columns of a row (coalesced).
__global__ void scatter_rows_kernel(const float* src, std::int64_t rows, std::int64_t dim, const std::int64_t* pos,
                                    float* dst) {
  const std::int64_t i = tid();
  if (i >= rows * dim) return;
  const std::int64_t r = i / dim, j = i % dim;
  dst[pos[r] * dim + j] = src[i];
}

}  // namespace

void head_dot(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x, const float* att, float* y,
              void* stream) {
  if (rows * heads == 0) return;
  head_dot_kernel<<<grid(rows * heads), kThreads, 0, st(stream)>>>(rows, heads, width, x, att, y);
  TG_CUDA_CHECK_LAUNCH();
}

void head_dot_backward(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x, const float* att,
                       const float* dy, float* dx, float* datt, void* stream) {
  const std::int64_t hw = heads * width;
  if (hw == 0) return;
  if (dx && rows > 0) {
    head_dot_dx_kernel<<<grid(rows * hw), kThreads, 0, st(stream)>>>(rows, heads, width, att, dy, dx);
    TG_CUDA_CHECK_LAUNCH();
  }
  head_dot_datt_kernel<<<grid(hw, 32), dim3(32, 32), 0, st(stream)>>>(rows, heads, width, x, dy, datt);
  TG_CUDA_CHECK_LAUNCH();
}

void edge_softmax(const agg_graph_view& g, std::int64_t heads, const float* a_src, const float* a_dst, float slope,
                  float* alpha, void* stream) {
  if (g.num_dst * heads == 0) return;
  edge_softmax_kernel<<<grid(g.num_dst * heads), kThreads, 0, st(stream)>>>(g, heads, a_src, a_dst, slope, alpha);
  TG_CUDA_CHECK_LAUNCH();
}

void edge_softmax_backward(const agg_graph_view& g, std::int64_t heads, const float* a_src, const float* a_dst,
                           float slope, const float* alpha, const float* dalpha, float* ds, void* stream) {
  if (g.num_dst * heads == 0) return;
  edge_softmax_backward_kernel<<<grid(g.num_dst * heads), kThreads, 0, st(stream)>>>(g, heads, a_src, a_dst, slope,
                                                                                     alpha, dalpha, ds);
  TG_CUDA_CHECK_LAUNCH();
}

void aggregate_heads(const agg_graph_view& g, std::int64_t heads, std::int64_t width, const float* w, const float* x,
                     float* y, void* stream) {
  if (g.num_dst * heads * width == 0) return;
  aggregate_heads_kernel<<<grid(g.num_dst * heads * width), kThreads, 0, st(stream)>>>(g, heads, width, w, x, y);
  TG_CUDA_CHECK_LAUNCH();
}

void edge_dot(const agg_graph_view& g, std::int64_t heads, std::int64_t width, const float* dy, const float* x,
              float* out, void* stream) {
  if (g.num_dst * heads == 0) return;
  edge_dot_kernel<<<grid(g.num_dst * heads), kThreads, 0, st(stream)>>>(g, heads, width, dy, x, out);
  TG_CUDA_CHECK_LAUNCH();
}

void edge_sum(const agg_graph_view& g, std::int64_t heads, const float* values, float* y, void* stream) {
  if (g.num_dst * heads == 0) return;
  edge_sum_kernel<<<grid(g.num_dst * heads), kThreads, 0, st(stream)>>>(g, heads, values, y);
  TG_CUDA_CHECK_LAUNCH();
}

void elu_forward(float* x, std::int64_t n, void* stream) {
  if (n == 0) return;
  elu_forward_kernel<<<grid(n), kThreads, 0, st(stream)>>>(x, n);
  TG_CUDA_CHECK_LAUNCH();
}

void elu_backward(const float* y, float* dy, std::int64_t n, void* stream) {
  if (n == 0) return;
  elu_backward_kernel<<<grid(n), kThreads, 0, st(stream)>>>(y, dy, n);
  TG_CUDA_CHECK_LAUNCH();
}

void scatter_rows(const float* src, std::int64_t rows, std::int64_t dim, const std::int64_t* pos, float* dst,
                  void* stream) {
  if (rows * dim == 0) return;
  scatter_rows_kernel<<<grid(rows * dim), kThreads, 0, st(stream)>>>(src, rows, dim, pos, dst);
  TG_CUDA_CHECK_LAUNCH();
}

}  // namespace tg::gpu
