#pragma once
// Internal to the profiler (tiering/profiler.cpp dispatches here): the estimator kernels, the graph
// they read, and the out-adjacency (transpose) that the analytic estimators pull along.
//
// Every kernel is a "pull": node u's new value is a sequential sum over its own list, so floating
// point sums happen in one fixed order and scores are bit-identical for any thread count.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "core/dtype.hpp"
#include "core/span.hpp"
#include "tiering/profiler.hpp"

namespace tg::estimators {

// The dataset's in-neighbour CSR (row v lists the sources u of edges u -> v).
struct graph_ref {
  std::int64_t num_nodes = 0;
  const std::int64_t* indptr = nullptr;
  const void* indices = nullptr;
  dtype index_type = dtype::int32;
  bool symmetric = false;  // undirected datasets store both directions, so rows are also out-lists

  std::int64_t num_edges() const { return indptr[num_nodes]; }
  std::int64_t in_degree(std::int64_t v) const { return indptr[v + 1] - indptr[v]; }
};

// For each node u, the destinations v of its out-edges (the rows v whose list holds u), sorted.
// On a symmetric graph this is the CSR itself (no copy); otherwise it is built by a parallel count,
// scatter and per-list sort (2 edge passes), so its content does not depend on scheduling.
template <typename index_t>
class out_adjacency {
 public:
  explicit out_adjacency(const graph_ref& g);
  out_adjacency(const out_adjacency&) = delete;  // views may point into the owned vectors
  out_adjacency& operator=(const out_adjacency&) = delete;
  span<const std::int64_t> indptr() const { return {indptr_, static_cast<std::size_t>(n_ + 1)}; }
  const index_t* indices() const { return indices_; }
  double build_edge_passes() const { return build_passes_; }

 private:
  std::int64_t n_ = 0;
  const std::int64_t* indptr_ = nullptr;
  const index_t* indices_ = nullptr;
  std::vector<std::int64_t> own_indptr_;
  std::vector<index_t> own_indices_;
  double build_passes_ = 0;
};

// For every node u, calls f(u, s) with s = sum of w[v] over the out-list of u, summed in list order
// (one sparse mat-vec, one edge pass; parallel over u, so f may write u's own entries).
template <typename index_t, typename F>
void pull_sum(const out_adjacency<index_t>& out, const std::vector<double>& w, F&& f) {
  const auto ptr = out.indptr();
  const index_t* idx = out.indices();
  const auto n = static_cast<std::int64_t>(ptr.size()) - 1;
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 2048), [&](const tbb::blocked_range<std::int64_t>& r) {
    for (std::int64_t u = r.begin(); u < r.end(); ++u) {
      double s = 0;
      for (std::int64_t e = ptr[static_cast<std::size_t>(u)]; e < ptr[static_cast<std::size_t>(u) + 1]; ++e)
        s += w[static_cast<std::size_t>(idx[e])];
      f(u, s);
    }
  });
}

// What an estimator returns to profile(), which adds the name and the wall time.
struct estimate {
  std::vector<double> score;
  double edge_passes = 0;
  nlohmann::json details = nlohmann::json::object();
};

// Sampling probability of one in-neighbour entry of v at a hop with this fanout: min(1, f / deg).
inline double keep_probability(std::int64_t fanout, std::int64_t degree) {
  if (fanout < 0 || degree <= fanout) return 1.0;
  return static_cast<double>(fanout) / static_cast<double>(degree);
}

// Number of batches of one epoch: ceil(|train| / batch_size).
inline std::int64_t batches_per_epoch(const profile_config& cfg) {
  const auto t = static_cast<std::int64_t>(cfg.train_ids.size());
  return t / cfg.batch_size + (t % cfg.batch_size != 0 ? 1 : 0);  // no t + batch_size - 1: it can overflow
}

// Batches an epoch of the run trains: all of them, or the first cfg.max_batches. A seed is in a
// given batch with probability 1 / batches_per_epoch either way; per-epoch scores count these.
inline std::int64_t trained_batches_per_epoch(const profile_config& cfg) {
  const std::int64_t nb = batches_per_epoch(cfg);
  return cfg.max_batches > 0 && cfg.max_batches < nb ? cfg.max_batches : nb;
}

estimate estimate_degree(const graph_ref& g);
estimate estimate_wrpr(const graph_ref& g, const profile_config& cfg);
estimate estimate_vip(const graph_ref& g, const profile_config& cfg);

// How many batches count_batches samples: batches of epochs 0, 1, ... in order, stopping after
// max_batches (when positive), or, with a positive edge_budget, at the end of the first round of
// `round` batches after which at least min_batches batches and edge_budget sampled edges are done.
// Rounds are fixed sets of batches, so where sampling stops does not depend on the thread count.
struct sampling_budget {
  std::int64_t max_batches = 0;
  double edge_budget = 0;
  std::int64_t min_batches = 1;
  std::int64_t round = 8;
  // Expected counts instead of sampled ones for the last soft_hops hops (cvip.cpp), reading up to
  // soft_rows x fanout entries of a row (soft_rows_last at the last hop; 0: soft_rows).
  std::int64_t soft_hops = 0;
  std::int64_t soft_rows = 4;
  std::int64_t soft_rows_last = 0;
  // Also record each node's count per whole epoch, as a sum of squares (batch_counts::epoch_sq),
  // for cvip's shrinkage across epochs.
  bool epoch_moments = false;
  // Also estimate the variance that the soft hops' row samples add to the counts of one node in
  // every kNoiseBlock ids (batch_counts::noise), for cvip's shrinkage within an epoch.
  bool window_noise = false;
};

// window_noise follows one node per block of kNoiseBlock consecutive ids, at a position within the
// block that a hash of the block number picks (so no id pattern of a graph lines up with it).
inline constexpr std::int64_t kNoiseBlockShift = 4, kNoiseBlock = std::int64_t{1} << kNoiseBlockShift;
inline std::int64_t noise_member(std::int64_t block) {
  const std::uint64_t h = static_cast<std::uint64_t>(block) * 0x9E3779B97F4A7C15ull;
  return (block << kNoiseBlockShift) | static_cast<std::int64_t>(h >> (64 - kNoiseBlockShift));
}
inline bool noise_followed(std::int64_t u) {
  return noise_member(u >> kNoiseBlockShift) == u;
}

// Counts per node the batches whose input nodes contain it, for the batches of plan_epoch(train,
// batch_size, seed, e) sampled as neighbor_sampler(seed) samples them (the same draws; see
// presample.cpp). `label` names the progress line.
struct batch_counts {
  std::vector<std::int64_t> count;
  // With epoch_moments: per node, the sum over whole epochs of (that epoch's count / unit)^2, added
  // in epoch order; whole_epochs of them.
  std::vector<double> epoch_sq;
  std::int64_t whole_epochs = 0;
  // With window_noise: per block of ids, the estimated variance (in batches^2) that the soft hops'
  // row samples add to the count of the block's followed node, noise_member(block); summed over
  // the batches (derivation in cvip.cpp).
  std::vector<double> noise;
  std::int64_t batches = 0;
  std::int64_t sampled_edges = 0;
  std::int64_t unit = 1;  // count units per batch (expected counts are fixed-point)
};
inline constexpr std::int64_t kSoftCountScale = std::int64_t{1} << 20;
batch_counts count_batches(const graph_ref& g, const profile_config& cfg, std::uint64_t seed,
                           const sampling_budget& budget, const std::string& label);

// Scores in batches per epoch: count / unit / (batches sampled / batches per epoch).
estimate scores_from_counts(const graph_ref& g, const profile_config& cfg, const batch_counts& c);

// Batches in `epochs` epochs (a fraction samples the first batches of an epoch), at least one.
std::int64_t presample_batches(const profile_config& cfg, double epochs);

// Seed streams: presampling must not replay the training run's own draws.
inline constexpr std::uint64_t kPresampleTag = 0x70726573616d706cull;  // "presampl"

estimate estimate_presample(const graph_ref& g, const profile_config& cfg, double epochs);
estimate estimate_oracle(const graph_ref& g, const profile_config& cfg);

// cvip.cpp: `epochs` epochs (at least kCvipMinBatches batches) of presampled batches whose last
// kCvipSoftHops hops are expanded in expectation (the hops before them are sampled), reading up to
// kCvipSoftRows x fanout entries of a row; at the last hop kCvipLastSoftRows x fanout where hops
// before the soft ones were sampled, kCvipAllSoftLastRows x fanout where every hop is soft.
inline constexpr std::int64_t kCvipMinBatches = 8;
inline constexpr std::int64_t kCvipSoftHops = 2;
inline constexpr std::int64_t kCvipSoftRows = 3;
inline constexpr std::int64_t kCvipLastSoftRows = 4;
inline constexpr std::int64_t kCvipAllSoftLastRows = 6;
// With two or more whole epochs, nodes are shrunk towards their row-length bin's mean (cvip.cpp);
// a bin holds at least this many reached nodes.
inline constexpr std::int64_t kCvipMinBinNodes = 64;
estimate estimate_cvip(const graph_ref& g, const profile_config& cfg, double epochs);

// hybrid.cpp: presampling of about `budget_passes` x E sampled edges (at least kHybridMinBatches
// batches, at most kHybridMaxEpochs epochs), read through an empirical-Bayes prior calibrated from
// vip and out-degree.
inline constexpr std::int64_t kHybridMinBatches = 8;
inline constexpr std::int64_t kHybridMaxEpochs = 4;
inline constexpr std::int64_t kHybridMinBinSize = 64;
inline constexpr double kHybridDefaultPasses = 1.0;
estimate estimate_hybrid(const graph_ref& g, const profile_config& cfg, double budget_passes);

}  // namespace tg::estimators
