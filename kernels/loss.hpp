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

// The per-row form: row_loss[i] receives row i's loss, and dlogits divides by `normalizer` (the
// global batch's rows in data-parallel training; rows when 0). The CUDA twin is gpu::softmax_nll.
template <typename T>
void softmax_nll_rows(const T* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels, T* dlogits,
                      T* probs, T* row_loss, std::int64_t normalizer);
// The mean of row losses summed in row order (what softmax_nll returns).
template <typename T>
T mean_row_loss(const T* row_loss, std::int64_t rows);

}  // namespace tg
