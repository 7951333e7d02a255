#pragma once
// Graph attention (GAT; Veličković et al., ICLR 2018) on a block's CSR, split into operations that
// each have a CPU kernel here and a CUDA twin (kernels/gpu_kernels.hpp), forward and backward.
// Shapes: H heads of width F; node rows are H*F wide (head k owns columns [k*F, (k+1)*F)); per-edge
// and per-node attention values are H wide. For a layer with weight W and attention vectors
// a_src, a_dst (H x F each), on a destination v's in-edges u -> v (self-loop included):
//   h      = x W                                                   (matmul)
//   s_u    = <h_u[k], a_src[k]>,  d_v = <h_v[k], a_dst[k]>         head_dot
//   alpha  = softmax over v's in-edges of LeakyReLU(s_u + d_v)     edge_softmax (max-subtracted)
//   y_v[k] = sum_u alpha_uv[k] h_u[k]                              aggregate_heads
// Backward: d alpha_uv[k] = <dy_v[k], h_u[k]> (edge_dot); through the softmax and the LeakyReLU
// (edge_softmax_backward) to per-edge score gradients, summed per destination (edge_sum on the
// block) and per source (edge_sum on the transposed block); dh = aggregate_heads over the transpose
// plus head_dot_backward's rank-one terms.
//
// `edge_ids` (may be null) maps a CSR position to the edge whose per-edge value it reads: the
// transposed block (kernels/aggregate.hpp's transpose) lists each edge at another position, and its
// edge_ids give the edge's position in the block, so per-edge arrays are stored once, in block
// order. Every output element is a sum in a fixed order (rows in parallel, entries of a row in CSR
// order), so results do not depend on the thread count.
#include <cstdint>

namespace tg {

// y[r, k] = sum_c x[r, k*F + c] * att[k*F + c]   (rows x H)
template <typename T>
void head_dot(std::int64_t rows, std::int64_t heads, std::int64_t width, const T* x, const T* att, T* y);
// dx[r, k*F + c] += dy[r, k] * att[k*F + c] (skipped when dx is null);
// datt[k*F + c] = sum_r dy[r, k] * x[r, k*F + c] (overwritten; rows summed in fixed chunks)
template <typename T>
void head_dot_backward(std::int64_t rows, std::int64_t heads, std::int64_t width, const T* x, const T* att, const T* dy,
                       T* dx, T* datt);

// alpha[e, k] = exp(z_e - max) / sum over v's row of exp(z - max), z_e = LeakyReLU(a_src[src_e, k] +
// a_dst[v, k], slope), for every edge e of row v.
template <typename T>
void edge_softmax(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices, std::int64_t heads,
                  const T* a_src, const T* a_dst, T slope, T* alpha);
// ds[e, k] = LeakyReLU'(a_src[src_e, k] + a_dst[v, k]) * alpha[e, k] * (dalpha[e, k] - sum over v's row of
// alpha * dalpha)
template <typename T>
void edge_softmax_backward(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices,
                           std::int64_t heads, const T* a_src, const T* a_dst, T slope, const T* alpha, const T* dalpha,
                           T* ds);

// y[v, k*F + c] = sum over v's row of w[id(e), k] * x[src_e, k*F + c]  (id(e) = edge_ids ? edge_ids[e] : e)
template <typename T>
void aggregate_heads(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices,
                     const std::int32_t* edge_ids, std::int64_t heads, std::int64_t width, const T* w, const T* x,
                     T* y);
// out[e, k] = sum_c dy[v, k*F + c] * x[src_e, k*F + c]   (e in v's row; nnz x H)
template <typename T>
void edge_dot(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices, std::int64_t heads,
              std::int64_t width, const T* dy, const T* x, T* out);
// y[v, k] = sum over v's row of values[id(e), k]
template <typename T>
void edge_sum(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* edge_ids, std::int64_t heads,
              const T* values, T* y);

// ELU (alpha 1), in place: x = x > 0 ? x : exp(x) - 1. Backward from the output y: dy *= y > 0 ? 1 : y + 1.
template <typename T>
void elu_forward(T* x, std::int64_t n);
template <typename T>
void elu_backward(const T* y, T* dy, std::int64_t n);

}  // namespace tg
