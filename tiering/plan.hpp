#pragma once
// The tier plan (DESIGN.md §4): nodes ranked by an estimator's score, hottest first, and two
// boundaries on the renumbered ids: rows [0, g) live in the GPU tier, [g, c) in pinned host memory,
// [c, N) on disk. The tier of a row is then a range test on its id.
//
// Budgets: a byte budget for the GPU (--gpu-mem 24G) is all the GPU memory tiergnn may use, so the
// GPU tier gets what remains after the training reserve (model, optimizer state, the batch's input
// rows and activations); a share (--gpu-mem 10%) sizes the GPU tier itself as that share of the
// feature bytes, the reserve coming on top. The host budget is the pinned host tier's size.
// A plan that does not fit throws budget_error naming the numbers before any work starts.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "tiering/budget.hpp"

namespace tg {

// What training needs in GPU memory besides the feature tier, for the configured batches: the
// batch's input rows (double-buffered for prefetching), per-layer activations and gradients, and
// the model with Adam state. An upper bound from fanouts and batch size (the number of input nodes
// is capped by the graph size).
struct reserve_estimate {
  std::uint64_t input_bytes = 0, activation_bytes = 0, model_bytes = 0;
  std::uint64_t other_bytes = 0;  // what else the run keeps on the GPU (train --sampler gpu: its graph, scratch)
  std::int64_t input_rows = 0;    // the bound on a batch's input rows behind input_bytes
  std::uint64_t total() const;    // saturates at kUnknownBytes (core/resources.hpp)
};
// The model shape a reserve is sized by, for train and prepare alike: a hidden layer's output width
// (GAT: heads x hidden, saturating at 2^63 - 1) and GAT's attention heads (0 for sage and gcn).
struct reserve_model {
  std::int64_t width = 0, attention_heads = 0;
};
reserve_model reserve_model_of(const std::string& kind, std::int64_t hidden, int heads, int out_heads);
// hidden: the width of a hidden layer's output (GAT: heads x hidden); attention_heads > 0 adds
// GAT's per-source transforms and per-edge attention arrays.
reserve_estimate estimate_reserve(std::int64_t num_nodes, std::int64_t feature_dim, std::int64_t row_bytes,
                                  const std::vector<std::int64_t>& fanouts, std::int64_t batch_size,
                                  std::int64_t hidden, std::int64_t num_classes, std::int64_t attention_heads = 0);

struct tier_plan {
  std::int64_t num_nodes = 0;
  std::int64_t row_bytes = 0;
  std::int64_t gpu_rows = 0;   // g
  std::int64_t host_rows = 0;  // c - g
  std::uint64_t reserve_bytes = 0;
  std::string gpu_budget, host_budget;  // as the user wrote them
  std::uint64_t gpu_budget_bytes = 0;   // a byte budget (tier + reserve); 0 when given as a share
  std::uint64_t host_budget_bytes = 0;  // a byte host budget, exactly; 0 when given as a share
  std::string estimator;

  std::int64_t g() const { return gpu_rows; }
  std::int64_t c() const { return gpu_rows + host_rows; }
  std::int64_t disk_rows() const { return num_nodes - c(); }
  std::uint64_t feature_bytes() const { return static_cast<std::uint64_t>(num_nodes) * row_bytes; }
};

// Sizes the tiers for num_nodes rows of row_bytes. Throws budget_error when the GPU budget cannot
// hold the reserve (saying by how much), input_error for unparsable budgets.
tier_plan size_tiers(std::int64_t num_nodes, std::int64_t row_bytes, const budget& gpu, const budget& host,
                     std::uint64_t reserve_bytes);

// Hottest-first order (new -> old): stable sort by score descending, ties by node id; parallel and
// deterministic.
std::vector<std::int64_t> rank_nodes(const std::vector<double>& score);

// Share of the total score held by the first k nodes of `order` (the estimator's predicted hit rate).
double predicted_hit_rate(const std::vector<double>& score, const std::vector<std::int64_t>& order, std::int64_t k);
// The same for several k in one pass over `order` (each pass is a random walk through score[]).
std::vector<double> predicted_hit_rates(const std::vector<double>& score, const std::vector<std::int64_t>& order,
                                        const std::vector<std::int64_t>& ks);

// One line per tier: rows, bytes, share of the rows.
std::string describe(const tier_plan& p);

}  // namespace tg
