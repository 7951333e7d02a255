#pragma once
// Log-softmax + negative log-likelihood, fused:
//   loss = mean_i -log softmax(z_i)[y_i]
//   dz_i = (softmax(z_i) - onehot(y_i)) / rows
// computed with the max-shift for stability. Rows with label < 0 are not allowed here (callers
// pass only labelled seeds).
#include <cstdint>

namespace tg {

// Returns the mean loss; fills dlogits (rows x classes) when not null and probs (softmax) when not
// null. Throws input_error if a label is outside [0, classes).
template <typename T>
T softmax_nll(const T* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels, T* dlogits,
              T* probs);

}  // namespace tg
