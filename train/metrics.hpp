#pragma once
// Classification metrics: accuracy of arg-max predictions, and ROC-AUC for binary labels
// (Mann-Whitney U with average ranks for ties).
#include <cstdint>
#include <vector>

namespace tg {

// scores: rows x classes (logits or probabilities), labels in [0, classes).
double accuracy(const float* scores, std::int64_t rows, std::int64_t classes, const std::int64_t* labels);
// score[i] = score of the positive class (label 1). Returns 0.5 when only one class is present.
double roc_auc(const std::vector<float>& score, const std::vector<std::int64_t>& labels);

}  // namespace tg
