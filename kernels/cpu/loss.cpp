// CPU fused log-softmax + NLL (see kernels/loss.hpp): parallel over rows, the loss summed in row
// order so the result does not depend on the thread count.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "kernels/loss.hpp"

namespace tg {

template <typename T>
void softmax_nll_rows(const T* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels, T* dlogits,
                      T* probs, T* row_loss, std::int64_t normalizer) {
  for (std::int64_t i = 0; i < rows; ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw input_error("label " + std::to_string(labels[i]) + " of row " + std::to_string(i) + " is outside [0, " +
                        std::to_string(classes) + ")");
  if (rows == 0) return;
  const T inv_rows = T(1) / static_cast<T>(normalizer > 0 ? normalizer : rows);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 64), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) {
      const T* z = logits + i * classes;
      const T mx = *std::max_element(z, z + classes);
      T sum = 0;
      for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(z[c] - mx);
      // Work with the shifted logits z - mx throughout: mx + log(sum) would be rounded to the
      // spacing of |mx|, costing probabilities and loss their relative precision for large logits.
      const T log_sum = std::log(sum);
      row_loss[i] = log_sum - (z[labels[i]] - mx);
      for (std::int64_t c = 0; c < classes; ++c) {
        const T p = std::exp(z[c] - mx) / sum;
        if (probs) probs[i * classes + c] = p;
        if (dlogits) dlogits[i * classes + c] = (p - (c == labels[i] ? T(1) : T(0))) * inv_rows;
      }
    }
  });
}

template <typename T>
T mean_row_loss(const T* row_loss, std::int64_t rows) {
  if (rows == 0) return T(0);
  T total = 0;
  for (std::int64_t i = 0; i < rows; ++i) total += row_loss[i];
  return total * (T(1) / static_cast<T>(rows));
}

template <typename T>
T softmax_nll(const T* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels, T* dlogits,
              T* probs) {
  std::vector<T> row_loss(static_cast<std::size_t>(rows));
  softmax_nll_rows(logits, rows, classes, labels, dlogits, probs, row_loss.data(), rows);
  return mean_row_loss(row_loss.data(), rows);
}

template void softmax_nll_rows<float>(const float*, std::int64_t, std::int64_t, const std::int64_t*, float*, float*,
                                      float*, std::int64_t);
template void softmax_nll_rows<double>(const double*, std::int64_t, std::int64_t, const std::int64_t*, double*, double*,
                                       double*, std::int64_t);
template float mean_row_loss<float>(const float*, std::int64_t);
template double mean_row_loss<double>(const double*, std::int64_t);
template float softmax_nll<float>(const float*, std::int64_t, std::int64_t, const std::int64_t*, float*, float*);
template double softmax_nll<double>(const double*, std::int64_t, std::int64_t, const std::int64_t*, double*, double*);

}  // namespace tg
