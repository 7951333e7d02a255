#pragma once
// The shared hot tier of k GPUs (DESIGN.md §4, multi-GPU): over the hot-first ids of a prepared
// dataset (id = rank by predicted hotness),
//   [0, r)          replicated: a copy on every GPU
//   [r, r + s)      striped: row i lives on GPU i mod k only, read by the others peer-to-peer
//   [r + s, c)      pinned host memory
//   [c, N)          disk
// Each GPU holds B = per-GPU feature budget / row_bytes rows (at most N), so r + ceil(s / k) <= B.
//
// The model the planner optimises. Let p_i >= 0 be row i's expected reads per epoch by one GPU (a
// per-node access score such as the profiler's; with k data-parallel ranks, profile at the per-rank
// batch ceil(batch / k), since a rank reads the inputs of its slice) and P(x) = p_0 + ... +
// p_{x-1}. Ranks take equal slices of every shuffled batch, so all GPUs' reads follow the same
// distribution and, per GPU, the expected reads served
//   locally  L(r) = P(r) + (P(r + s) - P(r)) / k
//   by peers Q(r) = (P(r + s) - P(r)) (k - 1) / k
// and the rest come from host memory (or disk). If a peer read costs t_peer and a host read t_host
// per byte (local reads ~0 next to both), the interconnect time t_host * host + t_peer * peer is
// smallest where
//   f(r) = L(r) + w * Q(r),   w = 1 - t_peer / t_host in [0, 1]   (the peer weight)
// is largest, with s = min(k (B - r), N - r): filling the budget never lowers f. The planner tries
// every r in [0, min(B, N)] with two running prefix sums (O(N) time, O(1) extra memory) and takes
// the best; ties go to the larger r (fewer peer reads for the same hit value).
// Without scores it assumes a Zipf(1) curve, p_i ~ 1 / (i + 1), typical of power-law graphs. Then
// f'(r) = 0 at r = (1 - w) B (continuous approximation, P(x) ~ ln x), and when the k GPUs can hold
// every row (k B >= N) f grows with r up to r_all = (k B - N) / (k - 1), the largest r that still
// keeps all N rows on GPUs; so r = max(r_all, (1 - w) B), capped at min(B, N).
// Without a peer-to-peer clique (or with k = 1) nothing is striped: r = min(B, N), s = 0.
// Default w = 0.8: in an NVLink clique a GPU reads a peer's memory several times faster than host
// memory over PCIe (H100 SXM: NVLink 4 ~450 GB/s per direction vs PCIe 5 x16 ~55 GB/s); set w near
// 0 for peer reads that cross the same PCIe links as host reads. Disk is not modelled: host_rows
// usually covers everything past the GPU bands. bench/multigpu_traffic.cpp checks the choice
// against a sweep of r on replayed training of real graphs (bench/results/multigpu_traffic/).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/span.hpp"
#include "tiering/budget.hpp"
#include "tiering/ledger.hpp"

namespace tg {

inline constexpr double kDefaultPeerWeight = 0.8;
inline constexpr int kMaxSharedGpus = 1024;

// Where one GPU's read of a row is served from.
enum class row_source { local, peer, host, disk };
const char* to_string(row_source s);

// What plan_shared_tier needs. gpu_budget_bytes is the feature budget of each GPU, already net of
// training memory (see feature_budget_per_gpu).
struct shared_tier_config {
  std::int64_t num_nodes = 0;
  std::int64_t row_bytes = 0;
  int num_gpus = 1;
  std::uint64_t gpu_budget_bytes = 0;
  bool peer_to_peer = false;  // the GPUs form a P2P clique (NVLink, or PCIe P2P)
  double peer_weight = kDefaultPeerWeight;
  std::int64_t host_rows = -1;  // rows past the GPU bands held in host memory; -1 = all of them
};

// Per-GPU shares of the reads predicted by an access curve (scores or the Zipf prior).
struct shared_tier_prediction {
  double local = 0, peer = 0, host = 0, disk = 0;
};

class shared_tier_plan {
 public:
  shared_tier_plan() = default;
  // Explicit bands. Throws input_error for a bad config (see plan_shared_tier), for bands out of
  // range or striping without peer_to_peer; budget_error when r + ceil(s / k) rows exceed a GPU's
  // budget.
  shared_tier_plan(const shared_tier_config& cfg, std::int64_t replicated_rows, std::int64_t striped_rows);

  std::int64_t num_nodes() const { return n_; }
  std::int64_t row_bytes() const { return row_bytes_; }
  int num_gpus() const { return k_; }
  bool peer_to_peer() const { return p2p_; }
  double peer_weight() const { return w_; }
  std::int64_t budget_rows() const { return budget_rows_; }  // B
  std::int64_t replicated_rows() const { return r_; }        // r
  std::int64_t striped_rows() const { return s_; }           // s
  std::int64_t striped_end() const { return r_ + s_; }       // r + s
  std::int64_t c() const { return c_; }                      // first disk row
  std::int64_t host_rows() const { return c_ - r_ - s_; }
  std::int64_t disk_rows() const { return n_ - c_; }
  // Rows GPU `gpu` holds: the replicated band and its share of the striped band.
  std::int64_t rows_on_gpu(int gpu) const;
  // The GPU that holds a striped row (id mod k); input_error for an id outside [r, r + s).
  int owner(std::int64_t id) const;

  // Where GPU `gpu` reads row `id` from. Throws input_error for an id outside [0, N) or a GPU
  // outside [0, k).
  row_source classify(std::int64_t id, int gpu) const;
  // The ledger of GPU `gpu` gathering `ids` (unique within the call, as a batch's input nodes are):
  // batches = 1 and the rows per source (gpu_rows: its own memory, peer_rows: a peer's).
  traffic count(span<const std::int64_t> ids, int gpu) const;

  // Per-GPU shares of the reads under an access curve: scores per hot-first id (N entries), or
  // the Zipf(1) prior when empty.
  shared_tier_prediction predict(span<const double> hot_first_scores = {}) const;

  nlohmann::json to_json() const;
  // One line per band: rows, bytes, where it lives.
  std::string describe() const;

 private:
  std::int64_t n_ = 0, row_bytes_ = 0;
  int k_ = 1;
  bool p2p_ = false;
  double w_ = kDefaultPeerWeight;
  std::int64_t budget_rows_ = 0, r_ = 0, s_ = 0, c_ = 0;
};

// Chooses the bands (see the model above). hot_first_scores: N non-negative finite scores indexed
// by hot-first id, or empty for the Zipf(1) rule. Throws input_error naming the problem for
// num_gpus outside [1, kMaxSharedGpus], a non-positive row size, negative node count or host rows,
// a peer weight outside [0, 1], or scores of the wrong length or with negative / non-finite values.
shared_tier_plan plan_shared_tier(const shared_tier_config& cfg, span<const double> hot_first_scores = {});

// Feature bytes each GPU may hold under a --gpu-mem style budget (as size_tiers reads it): a byte
// budget minus the training reserve, or a share of the feature bytes; rounded down to whole rows
// and at most the feature bytes. Throws budget_error naming the numbers when a byte budget cannot
// hold the reserve, input_error for a non-positive row size or negative node count.
std::uint64_t feature_budget_per_gpu(std::int64_t num_nodes, std::int64_t row_bytes, const budget& gpu_mem,
                                     std::uint64_t reserve_bytes);

}  // namespace tg
