#include "train/metrics.hpp"

#include <algorithm>
#include <numeric>

namespace tg {

double accuracy(const float* scores, std::int64_t rows, std::int64_t classes, const std::int64_t* labels) {
  if (rows == 0) return 0.0;
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* s = scores + i * classes;
    correct += (std::max_element(s, s + classes) - s) == labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(rows);
}

double roc_auc(const std::vector<float>& score, const std::vector<std::int64_t>& labels) {
  const std::size_t n = score.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
  double rank_sum_pos = 0;
  std::int64_t pos = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && score[order[j + 1]] == score[order[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + j) + 1.0;  // 1-based ranks i+1 .. j+1
    for (std::size_t k = i; k <= j; ++k)
      if (labels[order[k]] == 1) {
        rank_sum_pos += avg_rank;
        ++pos;
      }
    i = j + 1;
  }
  const std::int64_t neg = static_cast<std::int64_t>(n) - pos;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum_pos - static_cast<double>(pos) * static_cast<double>(pos + 1) / 2.0) /
         (static_cast<double>(pos) * static_cast<double>(neg));
}

}  // namespace tg
