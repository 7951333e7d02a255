#pragma once
// Element-wise layers: bias, ReLU and dropout, forward and backward. Dropout draws its keep/drop
// mask from the counter-based RNG keyed by the caller (seed, epoch, batch, layer), element i at
// position i: the backward pass regenerates the same mask instead of storing it, and the CUDA
// backend can produce the identical mask.
#include <cstdint>

#include "core/rng.hpp"

namespace tg {

// y[i, :] += b
template <typename T>
void bias_forward(T* y, std::int64_t rows, std::int64_t cols, const T* b);
// db = column sums of dy (fixed-order sums: independent of the thread count)
template <typename T>
void bias_backward(const T* dy, std::int64_t rows, std::int64_t cols, T* db);

// In place: x = max(x, 0); NaN propagates (as torch.relu), so a diverged model is noticed
template <typename T>
void relu_forward(T* x, std::int64_t n);
// In place: dy[i] = 0 where the forward output y[i] <= 0, else dy[i] * scale. With y the output
// after dropout and scale dropout_scale(p) this is the backward of ReLU then dropout in one pass (a
// dropped element reads 0 there; a kept one is positive exactly where ReLU passed it), with no mask
// to redraw.
template <typename T>
void relu_backward(const T* y, T* dy, std::int64_t n, T scale = T(1));

// Dropout keeps element i when its 16-bit draw dropout_draw(rng, i) >= dropout_threshold(p): the
// low half of rng.word(i / 2) for even i, the high half for odd i, so one Philox block decides eight
// elements (16 bits are plenty for a keep/drop decision: p is honoured to 2^-17, and the Philox
// blocks were 14% of a GraphSAGE epoch's CPU time at 32 bits per element). The CUDA kernels use the
// same rule, so both devices drop the same elements.
inline std::uint32_t dropout_threshold(double p) {
  const double t = p * 65536.0;  // P(draw < t) = p, to 2^-17
  return t >= 65535.0 ? 65535u : static_cast<std::uint32_t>(t + 0.5);
}
// The scale of a kept element: 1 / P(keep) for the threshold above, so the output's expectation is
// the input's for every p (1 / (1 - p) itself was 1.53x too large at p = 0.99999, which keeps 1 in
// 65536; at p = 0.3 the two differ by 4e-6).
inline double dropout_scale(double p) {
  return 65536.0 / (65536.0 - static_cast<double>(dropout_threshold(p)));
}
inline std::uint32_t dropout_draw(const counter_rng& rng, std::uint64_t i) {
  return (rng.word(i >> 1) >> (16 * (i & 1))) & 0xFFFFu;
}

// In place: x[i] = keep_i ? x[i] * dropout_scale(p) : 0, keep_i = dropout_draw(rng, i) >= dropout_threshold(p).
// p in [0, 1).
template <typename T>
void dropout_forward(T* x, std::int64_t n, double p, const counter_rng& rng);
// The same scaling applied to the gradient (same rng, same mask).
template <typename T>
void dropout_backward(T* dx, std::int64_t n, double p, const counter_rng& rng);

// A hidden layer's epilogue in one pass over y: bias_forward, relu_forward and (p > 0)
// dropout_forward, bit for bit the three in sequence (the same float operations per element).
template <typename T>
void bias_relu_dropout(T* y, std::int64_t rows, std::int64_t cols, const T* b, double p, const counter_rng& rng);
// Its backward in one pass over dy: relu_backward(y, dy, scale), then db = bias_backward(dy), bit
// for bit the two in sequence (the same per-element results, the same fixed-order sums).
template <typename T>
void relu_bias_backward(const T* y, T* dy, std::int64_t rows, std::int64_t cols, T scale, T* db);

}  // namespace tg
