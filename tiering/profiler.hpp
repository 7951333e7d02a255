#pragma once
// Access profiler (DESIGN.md §4): predicts, per node, how many mini-batches of one training epoch
// will read the node's features, so the planner can put the hottest rows on the GPU.
//
// One entry point, several estimators chosen by name (tiering/estimators/*.cpp):
//   degree       out-degree in the in-neighbour CSR (PaGraph, Quiver)           0-1 edge pass
//   wrpr         weighted reverse PageRank (Min et al., KDD'22)                 L edge passes
//   vip          per-batch inclusion probability with de-duplication (SALIENT++) <= L edge passes
//   presample:K  K epochs of the sampler on another seed stream (GNNLab PreSC)  K epochs of sampling
//   cvip[:K]     default: K presampled epochs (default 1, >= 8 batches), every  ~1 presampling epoch
//                hop in expectation given the batch's seeds (vip per batch)     per epoch (0.6-1.7)
//   hybrid[:B]   ~B passes of presampled edges (default 1) read through an      L passes + B passes
//                empirical-Bayes prior calibrated from vip and out-degree        of sampled edges
//                (cvip:2 reaches the same mean hit rate at less than half the cost)
//   oracle       exact counts of the run that follows (evaluation only)         run_epochs epochs
// (L = number of hops. vip, and so hybrid, push along the rows that the training set can reach
// within L-1 hops: no transpose, and fewer passes for a training set that reaches little of the
// graph. wrpr pulls along the out-adjacency: directed graphs add 2 passes to build it.)
// Every score is in the same unit, the expected number of batches of one epoch whose input nodes
// (blocks[0] sources, sampler/block.hpp) contain the node — except degree, a ranking only. Every
// estimator is deterministic and gives bit-identical scores for any thread count.
// Hit rates against the oracle on real graphs: bench/estimator_bench.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"

namespace tg {

struct profile_config {
  std::vector<std::int64_t> train_ids;  // distinct node ids (the training seeds)
  std::vector<std::int64_t> fanouts;    // PyG order: fanouts[0] = hop 1 from the seeds; -1 = all
  std::int64_t batch_size = 1024;
  std::uint64_t seed = 0;  // the training run's seed (batcher and sampler)
  int run_epochs = 10;     // length of the run that follows (oracle only)
  // > 0: the run trains only the first max_batches batches of every epoch (train --max-batches);
  // scores are then reads per epoch of that run.
  std::int64_t max_batches = 0;
};

struct profile_result {
  std::string estimator;      // the spec as given
  std::vector<double> score;  // per node: expected batches per epoch that read its features
  double seconds = 0;         // wall time of the estimator
  double edge_passes = 0;     // passes over the graph's edges, or sampled edges / E
  nlohmann::json details;     // estimator-specific facts (epochs, batches, sampled edges, ...)
};

// Runs the estimator named by `spec` ("degree", "wrpr", "vip", "presample:K", "cvip", "cvip:K",
// "hybrid", "hybrid:B", "oracle"; K and B positive decimals such as 2 or 0.5). Throws input_error for an
// unknown name or bad parameter (the message lists the valid names), for training ids out of range
// or repeated, for bad fanouts or batch size.
profile_result profile(const dataset& d, const profile_config& cfg, const std::string& spec);
// Throws input_error for a configuration profile() would refuse (fanouts, batch size, training ids),
// before any work.
void check_profile_config(const dataset& d, const profile_config& cfg);
// Throws input_error for an estimator spec profile() would refuse (unknown name, bad parameter), before any work.
void check_estimator_spec(const std::string& spec);
// One spelling per estimator ("cvip", "cvip:1" and "cvip:1.0" are "cvip:1"), to tell repeats apart.
std::string canonical_estimator_spec(const std::string& spec);

// The valid spec forms, for --help and error messages.
std::vector<std::string> estimator_names();

}  // namespace tg
