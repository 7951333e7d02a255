#pragma once
// tiergnn embedding API: datasets (DESIGN.md §6) and their tier plans.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tiergnn/types.hpp"

namespace tiergnn {

// The tier plan of a prepared dataset (plan.json, written by `tiergnn prepare`): rows [0, g) are
// the GPU tier, [g, c) the host tier, [c, N) the disk tier.
struct plan {
  std::int64_t num_nodes = 0, row_bytes = 0;
  std::int64_t g = 0, c = 0;
  std::string estimator;
  std::string gpu_budget, host_budget;  // as written to prepare
  std::uint64_t reserve_bytes = 0;      // GPU memory kept for training next to the tier
  double predicted_gpu_hit_rate = 0;    // the estimator's prediction for the GPU tier
  std::string json;                     // the whole plan.json
};

namespace detail {
struct access;  // the library's own sources reach a handle's internals through it
}  // namespace detail

// An opened dataset directory: arrays are memory-mapped read-only. Copies share the mapping; the
// mapping lives until the last copy (and every object made from it) is gone.
class TIERGNN_API dataset {
 public:
  static dataset open(const std::string& dir);

  const std::string& path() const;
  const std::string& name() const;
  std::int64_t num_nodes() const;
  std::int64_t num_edges() const;  // stored arcs; an undirected edge counts twice
  bool directed() const;
  std::int64_t feature_dim() const;  // 0: no features
  std::int64_t num_classes() const;  // 0: no labels
  bool prepared() const;             // renumbered by `tiergnn prepare` (order.npy and plan.json)

  array_view indptr() const;    // int64 (N+1)
  array_view indices() const;   // int32 or int64 (E): row v lists the sources u of edges u -> v
  array_view features() const;  // float32 or float16 (N x D); empty without features
  array_view labels() const;    // int32 or int64 (N), -1 = unlabelled; empty without labels
  // "train", "valid" or "test": int64 node ids; empty when the dataset has no such split.
  array_view split(const std::string& which) const;
  array_view order() const;                   // prepared: int64 (N), new id -> original id; otherwise empty
  std::optional<tiergnn::plan> plan() const;  // prepared datasets only; checked against the dataset

  // Full validation (CSR structure, ranges, splits, checksums); throws error(kind::input).
  void check(bool checksums = true) const;

 private:
  friend struct detail::access;
  struct impl;
  std::shared_ptr<const impl> impl_;
};

// Settings of the training whose feature reads the profiler predicts.
struct profile_options {
  std::string estimator = "cvip";  // degree, wrpr, vip, presample:K, cvip[:K], hybrid[:B], oracle
  std::vector<std::int64_t> fanouts{15, 10, 5};
  std::int64_t batch_size = 1024;
  std::uint64_t seed = 0;
  int run_epochs = 10;                  // oracle only: length of the run that follows
  std::vector<std::int64_t> train_ids;  // empty: the dataset's training split
  std::int64_t max_batches = 0;         // > 0: the run trains only the first N batches of every epoch
};

struct profile_result {
  std::string estimator;
  // Per node, higher = read more: for the sampling estimators (presample, cvip, hybrid) and the
  // oracle the expected batches per epoch that read its features; for degree, wrpr and vip their
  // own hotness scale (only the ranking counts).
  std::vector<double> scores;
  double seconds = 0, edge_passes = 0;
  std::string details_json;
};

TIERGNN_API profile_result profile(const dataset& d, const profile_options& opt);
// The estimators profile_options::estimator accepts, as forms: "presample:K", "cvip:K" and "hybrid:B"
// take a number in place of K or B ("presample:2", "cvip:0.5"); the others are used as they are.
TIERGNN_API std::vector<std::string> estimator_names();

struct prepare_options {
  std::string estimator = "cvip";
  std::string gpu_mem = "10%", host_mem = "100%";  // bytes (K/M/G suffixes) or % of the feature bytes
  std::vector<std::int64_t> fanouts{15, 10, 5};
  std::int64_t batch_size = 1024;
  std::uint64_t seed = 0;
  int run_epochs = 10;
  std::int64_t hidden = 128;  // model width assumed for the GPU reserve (train's default)
  bool overwrite = false;
  std::int64_t max_batches = 0;  // > 0: the run trains only the first N batches of every epoch
  // The model the GPU reserve is sized for: "sage", "gcn" or "gat" (hidden is then per head; heads
  // of the hidden layers and of the last layer as train's --heads and --out-heads).
  std::string model = "sage";
  int heads = 4, out_heads = 1;
};

// A stop request for long calls (profile, prepare, dataset::check): while `flag` points at a true
// value they stop at their next progress step and throw error(error::kind::interrupted), leaving no
// partial output. The Python module points it at its Ctrl-C flag during those calls; nullptr (the
// default): never stop.
TIERGNN_API void set_stop_flag(const std::atomic<bool>* flag);

// Profiles `src`, ranks its nodes hottest first and writes the renumbered dataset to out_dir
// (the same work as `tiergnn prepare`); returns the prepared dataset, opened.
TIERGNN_API dataset prepare(const dataset& src, const std::string& out_dir, const prepare_options& opt);

}  // namespace tiergnn
