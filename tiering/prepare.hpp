#pragma once
// `tiergnn prepare`: profile a dataset for the configured training, rank its nodes hottest first,
// size the tiers under the budgets, and write the renumbered dataset with order.npy and plan.json.
// Budgets and the estimator name are checked before any work starts; the output appears only once
// complete and validated.
#include <cstdint>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "tiering/plan.hpp"
#include "tiering/profiler.hpp"

namespace tg {

// The estimator `prepare` uses unless told otherwise (chosen from bench/results/estimators_cpu.md).
inline constexpr const char* kDefaultEstimator = "cvip";

struct prepare_config {
  std::string estimator = kDefaultEstimator;
  std::string gpu_mem = "10%", host_mem = "100%";
  std::vector<std::int64_t> fanouts{15, 10, 5};
  std::int64_t batch_size = 1024;
  std::uint64_t seed = 0;
  int run_epochs = 10;
  std::int64_t max_batches = 0;  // > 0: the training that follows runs the first N batches of each epoch
  std::int64_t hidden = 128;     // model width assumed for the training reserve (train --hidden's default)
  // The model the reserve is sized for (train --model): "sage", "gcn" or "gat"; GAT's heads of the
  // hidden layers (a hidden layer is heads x hidden wide) and of the last layer (train's defaults).
  std::string model = "sage";
  int heads = 4, out_heads = 1;
  bool overwrite = false;
  // >= 2: the features are split across this many machines (multigpu/sharded_store.hpp); the GPU
  // and host budgets are then each machine's, and `replicate` (bytes or a share of all feature
  // bytes) is what each machine may hold of other machines' hottest rows.
  int shards = 0;
  std::string replicate = "0";
};

struct prepare_report {
  tier_plan plan;
  double profile_seconds = 0, edge_passes = 0, write_seconds = 0;
  double predicted_gpu_hit_rate = 0, predicted_memory_hit_rate = 0;  // GPU tier; GPU + host tiers
  std::string out_dir;
  std::vector<tier_plan> shard_plans;  // sharded: each machine's tiers
};

prepare_report prepare_dataset(const dataset& src, const prepare_config& cfg, const std::string& out_dir);

}  // namespace tg
