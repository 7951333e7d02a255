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
// after dropout and scale 1 / (1 - p) this is the backward of ReLU then dropout in one pass (a
// dropped element reads 0 there; a kept one is positive exactly where ReLU passed it), with no mask
// to redraw.
template <typename T>
void relu_backward(const T* y, T* dy, std::int64_t n, T scale = T(1));

// Dropout keeps element i when rng.word(i) >= dropout_threshold(p): one Philox block decides four
// elements, and the CUDA kernels use the same rule, so both devices drop the same elements.
inline std::uint32_t dropout_threshold(double p) {
  const double t = p * 4294967296.0;  // P(word < t) = p, to 2^-32
  return t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(t + 0.5);
}

// In place: x[i] = keep_i ? x[i] / (1 - p) : 0, keep_i = rng.word(i) >= dropout_threshold(p). p in [0, 1).
template <typename T>
void dropout_forward(T* x, std::int64_t n, double p, const counter_rng& rng);
// The same scaling applied to the gradient (same rng, same mask).
template <typename T>
void dropout_backward(T* dx, std::int64_t n, double p, const counter_rng& rng);

}  // namespace tg
