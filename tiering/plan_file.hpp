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

// One machine's shard of sharded features (prepare --shards K): renumbered rows [begin, end) in
// shards/features-M-of-K.npy, tiered by the shard's own plan (rows [begin, begin + gpu_rows) in its
// GPU tier, the next host_rows in its host tier, the rest on its disk).
struct shard_info {
  std::string file;  // relative to the dataset directory
  std::int64_t begin = 0, end = 0, gpu_rows = 0, host_rows = 0;
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;                       // the whole file (info --check)
  std::uint32_t head_crc32 = 0, tail_crc32 = 0;  // its first and last 64 KiB (checked at every open)
  std::int64_t rows() const { return end - begin; }
};

// The head / tail fingerprints of a shard file (CRC-32 of its first and last min(64 KiB, size) bytes).
std::pair<std::uint32_t, std::uint32_t> shard_fingerprint(const std::string& path);

struct plan_file {
  tier_plan plan;
  // Sharded features: one entry per machine (empty: features.npy holds every row), and the byte
  // budget each machine may spend on replicas of other machines' hottest rows.
  std::vector<shard_info> shards;
  std::string replicate_budget = "0";
  std::uint64_t replicate_bytes = 0;
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
// features_crc: -1 for sharded features, whose shards (and replication budget) `sharding` describes
// as {"replicate": {"budget", "bytes"}, "shards": [...]} (null: not sharded).
void write_plan_file(const std::string& path, const tier_plan& plan, const std::vector<double>& hit_curve,
                     const nlohmann::json& profile_info, const nlohmann::json& training, const dataset& source,
                     std::uint32_t order_crc, std::int64_t features_crc,
                     const nlohmann::json& sharding = nlohmann::json(),
                     // features.npy's first and last 64 KiB (shard_fingerprint; unsharded plans): checked
                     // at every open, as the shards' are. -1: not recorded (plans of older versions).
                     std::pair<std::int64_t, std::int64_t> features_fingerprint = {-1, -1});
nlohmann::json to_json(const shard_info& s);

}  // namespace tg
