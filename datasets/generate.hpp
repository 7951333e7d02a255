#pragma once
// Synthetic datasets for scale tests and for learning tests.
//
// generate_rmat: Graph500 R-MAT / Kronecker graphs (Chakrabarti, Zhan, Faloutsos, "R-MAT: A
// recursive model for graph mining", SDM'04; Graph500 reference generator). 2^scale nodes,
// edge_factor * 2^scale directed edges, heavy-tailed degrees; node ids are scrambled by a bijective
// hash so the hubs are spread over the id range. Optional N(0,1) features and uniformly random
// labels and splits.
//
// generate_community: a degree-corrected planted partition (Chung-Lu weights inside communities):
// power-law expected degrees, one community per class, a chosen fraction of edges inside the
// community, and features that are a noisy class signal, so that a node's own features predict its
// class poorly and the mean over its neighbours predicts it well (a task a GNN can learn).
//
// Both are deterministic functions of their options: byte-identical output for any thread count.
// Peak memory is O(nodes): edges stream through csr_builder's spill file and features are written
// in chunks of rows.
#include <cstdint>
#include <string>

namespace tg {

struct rmat_options {
  int scale = 16;                       // 2^scale nodes, 1..40
  int edge_factor = 16;                 // edges per node (before duplicates / self-loops are removed)
  double a = 0.57, b = 0.19, c = 0.19;  // quadrant probabilities; d = 1 - a - b - c
  std::uint64_t seed = 1;
  bool undirected = false;  // store both directions of every edge
  bool remove_self_loops = false;
  bool remove_duplicates = true;
  std::int64_t feature_dim = 0;  // > 0: N(0,1) float32 features
  int num_classes = 0;           // > 0: uniformly random labels and random splits
  double train_fraction = 0.1, valid_fraction = 0.05, test_fraction = 0.1;
  bool scramble_ids = true;  // Graph500 vertex-id scrambling
};

// Validates the options (input_error naming the option), writes the dataset directory `out_dir`
// (replacing an existing one only when `overwrite`) and returns the final directory.
std::string generate_rmat(const rmat_options& opt, const std::string& out_dir, bool overwrite);

struct community_options {
  std::int64_t num_nodes = 100000;
  double avg_degree = 20;           // mean stored degree before duplicates / self-loops are removed
  int num_classes = 8;              // communities == classes, >= 2
  double homophily = 0.8;           // fraction of edges inside the community
  double power_law_exponent = 2.2;  // degree exponent gamma: weights ~ Pareto(gamma - 1), in [2, 100]
  std::int64_t feature_dim = 64;    // 0: no features
  // features = signal * centroid[class] + noise * N(0, I); the centroids are orthonormal when
  // num_classes <= feature_dim (random unit vectors otherwise), so the difficulty of the
  // feature-only task depends on signal / noise and the class count, not on the dimension.
  // Defaults tuned so that, for 8 classes, a nearest-centroid rule on a node's own features is
  // right ~38% of the time and on the mean of its neighbours' features ~76%.
  double feature_signal = 1.0;
  double feature_noise = 1.0;
  std::uint64_t seed = 1;
  double train_fraction = 0.1, valid_fraction = 0.1, test_fraction = 0.2;
};

std::string generate_community(const community_options& opt, const std::string& out_dir, bool overwrite);

}  // namespace tg
