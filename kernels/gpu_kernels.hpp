#pragma once
// CUDA twins of the CPU kernels the models use (kernels/matmul.hpp, aggregate.hpp, elementwise.hpp,
// loss.hpp, adam.hpp), float32, on device pointers and a stream (a cudaStream_t as void*). Each
// computes what its CPU twin computes — the same dropout mask from the same counter-based RNG, the
// same Adam update — up to float rounding of the summation order; tests/kernels/kernels_gpu.cpp
// compares them on random inputs. Launches are checked; zero-sized work launches nothing.
//
// g++-compiled code may include this header; without the CUDA backend every function throws
// cuda_error (kernels/cuda/kernels_nocuda.cpp).
#include <cstdint>

#include "core/gpu_memory.hpp"
#include "core/rng.hpp"
#include "kernels/adam.hpp"

namespace tg::gpu {

// Row-major C[m x n] = alpha * op(A) * op(B) + beta * C through cuBLAS (SGEMM).
void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
            std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc, void* stream);

// A block's weighted CSR in device memory (kernels/aggregate.hpp's agg_graph, uploaded).
struct agg_graph_view {
  std::int64_t num_dst = 0, num_src = 0, nnz = 0;
  const std::int64_t* indptr = nullptr;  // num_dst + 1
  const std::int32_t* indices = nullptr;
  const float* weights = nullptr;          // per edge, or null (all ones)
  const std::int32_t* edge_ids = nullptr;  // a transposed graph's: where each entry's per-edge value is, or null
};

// y[v, :] = sum_e w_e x[src_e, :]. Custom kernel: a warp (or sub-warp) per destination row, each
// lane a strided slice of the columns, edges in CSR order (deterministic).
void aggregate_forward(const agg_graph_view& g, const float* x, std::int64_t dim, float* y, void* stream);
// Device scratch of the cuSPARSE path, owned by the caller and grown on demand (never shrunk), so
// that repeated calls on warm shapes allocate nothing: the 32-bit row offsets and SpMM's workspace.
struct cusparse_scratch {
  device_buffer<std::int32_t> offsets32;
  device_buffer<std::uint8_t> workspace;
};
// The same through cuSPARSE SpMM (CSR x dense, row-major). Needs weights (pass ones for sum) and
// nnz < 2^31 (32-bit offsets).
void aggregate_forward_cusparse(const agg_graph_view& g, const float* x, std::int64_t dim, float* y,
                                cusparse_scratch& scratch, void* stream);

void bias_forward(float* y, std::int64_t rows, std::int64_t cols, const float* b, void* stream);
// db = column sums of dy: per column, 32 lanes each sum every 32nd row in order, then the lane sums in
// lane order (deterministic; the CPU sums rows in order, so the two differ by rounding only).
void bias_backward(const float* dy, std::int64_t rows, std::int64_t cols, float* db, void* stream);
void relu_forward(float* x, std::int64_t n, void* stream);
void relu_backward(const float* y, float* dy, std::int64_t n, void* stream, float scale = 1.0f);
void dropout_forward(float* x, std::int64_t n, double p, const counter_rng& rng, void* stream);
void dropout_backward(float* dx, std::int64_t n, double p, const counter_rng& rng, void* stream);

// Fused log-softmax + NLL (kernels/loss.hpp), one thread per row: row_loss (device, rows)
// receives each row's loss, NaN for a label outside [0, classes) (callers check labels on the host,
// where they come from); dlogits = (softmax - onehot) / normalizer, normalizer = rows unless given
// (data-parallel ranks pass the global batch's rows); dlogits and probs may be null. The caller sums
// row_loss in row order on the host, as the CPU kernel does.
void softmax_nll(const float* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels,
                 float* dlogits, float* probs, float* row_loss, void* stream, std::int64_t normalizer = 0);

// In place: x *= a (n floats).
void scale(float* x, std::int64_t n, float a, void* stream);

void adam_step(float* param, const float* grad, float* m, float* v, std::int64_t n, const adam_config& cfg,
               std::int64_t step, void* stream);

// Graph attention (kernels/attention.hpp), the same arithmetic in the same order per output element:
// a thread per (row, head) for the per-row reductions and the softmax, a thread per output element
// for aggregate_heads and head_dot_backward's dx, a thread per column for datt (rows in order).
void head_dot(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x, const float* att, float* y,
              void* stream);
void head_dot_backward(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x, const float* att,
                       const float* dy, float* dx, float* datt, void* stream);
void edge_softmax(const agg_graph_view& g, std::int64_t heads, const float* a_src, const float* a_dst, float slope,
                  float* alpha, void* stream);
void edge_softmax_backward(const agg_graph_view& g, std::int64_t heads, const float* a_src, const float* a_dst,
                           float slope, const float* alpha, const float* dalpha, float* ds, void* stream);
void aggregate_heads(const agg_graph_view& g, std::int64_t heads, std::int64_t width, const float* w, const float* x,
                     float* y, void* stream);
void edge_dot(const agg_graph_view& g, std::int64_t heads, std::int64_t width, const float* dy, const float* x,
              float* out, void* stream);
void edge_sum(const agg_graph_view& g, std::int64_t heads, const float* values, float* y, void* stream);
void elu_forward(float* x, std::int64_t n, void* stream);
void elu_backward(const float* y, float* dy, std::int64_t n, void* stream);
// dst[pos[i], :] = src[i, :] (backend::scatter_rows)
void scatter_rows(const float* src, std::int64_t rows, std::int64_t dim, const std::int64_t* pos, float* dst,
                  void* stream);

}  // namespace tg::gpu
