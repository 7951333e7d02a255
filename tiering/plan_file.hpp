#pragma once
// plan.json, written by `tiergnn prepare` beside a renumbered dataset: the tier boundaries and
// budgets, the estimator and its cost, the predicted GPU hit-rate curve, the training settings the
// profile assumed, the source dataset's path and identity, and the CRC-32 of the prepared
// order.npy and features.npy. Loading checks that the plan belongs to the dataset beside it and
// that the source dataset (when still present) has not changed since.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "tiering/plan.hpp"

namespace tg {

struct plan_file {
  tier_plan plan;
  nlohmann::json json;
  std::vector<double> hit_curve;  // predicted GPU hit rate when the first i*N/(size-1) rows are cached

  // Predicted share of feature reads served by the first `rows` rows (linear interpolation).
  double predicted_hit_rate(std::int64_t rows) const;

  // The prepared dataset's plan.json; throws input_error when it is missing, malformed, belongs to
  // another dataset, or when the source dataset changed since prepare.
  static plan_file load(const dataset& prepared);
  // The CRC-32 (8 hex digits) of a plan's JSON text without its "checksum" field: what prepare
  // writes as "checksum" and load() requires.
  static std::string checksum_of(nlohmann::json plan);
  static bool present(const dataset& d);
};

// Writes plan.json into `dir` (the writer's temporary directory) before the dataset is committed.
void write_plan_file(const std::string& path, const tier_plan& plan, const std::vector<double>& hit_curve,
                     const nlohmann::json& profile_info, const nlohmann::json& training, const dataset& source,
                     std::uint32_t order_crc, std::uint32_t features_crc);

}  // namespace tg
