// Community graphs: a degree-corrected planted partition in the style of Chung & Lu ("Connected
// components in random graphs with given expected degree sequences", 2002). Node v gets a weight
// w_v ~ Pareto(gamma - 1) (degree tail exponent gamma), capped at sqrt(N) so the Chung-Lu condition
// max(w)^2 <= sum(w) holds, and a community (= class) from a hash of its id. Each of the
// M = N * avg_degree / 2 undirected edges draws its first endpoint u with probability proportional
// to weight; with probability `homophily` the second endpoint is drawn by weight from u's
// community, otherwise from all other communities. A draw picks a community by total weight, then
// a node from that community's alias table (Walker 1977, Vose 1991): O(1) per endpoint. Features
// are signal * centroid[class] + noise * N(0, I) with orthonormal centroids.
//
// Determinism: every random draw is a pure function of (seed, edge index, draw) (a Philox value
// keyed by the edge, expanded by SplitMix64) or of (seed, node, column), and edge chunks reach the
// csr_builder in chunk order through an in-order tbb pipeline, so the output bytes do not depend
// on the thread count.
#include <tbb/parallel_sort.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "core/resources.hpp"
#include "datasets/generate.hpp"
#include "datasets/generator_streams.hpp"

namespace tg {

using namespace gen;

namespace {

// Weighted node draws inside communities, O(1) each: one alias table per community (Walker 1977,
// built with Vose's method, 1991) over the nodes laid out community by community, plus prefix sums
// of the communities' total weights to choose a community by weight (K is small). Drawing a
// community by weight and then a node from its table is a draw over all nodes by weight.
// 20 bytes per node: node id, alias node id, 32-bit keep threshold.
class community_sampler {
 public:
  template <typename weight_t>
  community_sampler(std::vector<std::int64_t> start, std::vector<std::int64_t> order, const weight_t& weight)
      : start_(std::move(start)), order_(std::move(order)), alias_(order_), keep_(order_.size(), kAlways) {
    const int k = static_cast<int>(start_.size()) - 1;
    std::vector<double> mass(static_cast<std::size_t>(k), 0.0);
    tbb::parallel_for(0, k, [&](int c) { mass[c] = build_alias(c, weight); });
    prefix_.assign(static_cast<std::size_t>(k) + 1, 0.0);
    for (int c = 0; c < k; ++c) prefix_[c + 1] = prefix_[c] + mass[c];
  }

  int community_by_weight(std::uint64_t bits) const { return nonempty_near(locate(unit(bits) * prefix_.back())); }
  // A community other than c, by weight; c itself only when no other community has nodes.
  int other_community_by_weight(int c, std::uint64_t bits) const {
    const double inside = prefix_[c + 1] - prefix_[c];
    const double outside = prefix_.back() - inside;
    if (!(outside > 0)) return c;
    double x = unit(bits) * outside;  // [0, outside), mapped around c's interval
    if (x >= prefix_[c]) x += inside;
    const int d = locate(x);
    return d != c && !empty(d) ? d : nonempty_other(c, d);
  }
  // A node of community c (non-empty) by weight: a uniform slot, kept or replaced by its alias.
  std::int64_t node_in(int c, std::uint64_t slot_bits, std::uint64_t coin32) const {
    const auto size = static_cast<std::uint64_t>(start_[c + 1] - start_[c]);
    const std::int64_t i =
        start_[c] + static_cast<std::int64_t>((static_cast<unsigned __int128>(slot_bits) * size) >> 64);
    return coin32 < keep_[i] ? order_[i] : alias_[i];
  }

 private:
  static constexpr std::uint32_t kAlways = 0xFFFFFFFFu;
  static double unit(std::uint64_t bits) { return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0); }
  bool empty(int c) const { return start_[c + 1] == start_[c]; }
  int locate(double x) const {  // c with prefix[c] <= x < prefix[c+1], clamped
    const auto it = std::upper_bound(prefix_.begin() + 1, prefix_.end(), x);
    return static_cast<int>(
        std::min<std::ptrdiff_t>(it - (prefix_.begin() + 1), static_cast<std::ptrdiff_t>(prefix_.size()) - 2));
  }
  int nonempty_near(int c) const {
    const int k = static_cast<int>(prefix_.size()) - 1;
    for (int j = 0; j < k; ++j) {
      if (c - j >= 0 && !empty(c - j)) return c - j;
      if (c + j < k && !empty(c + j)) return c + j;
    }
    return c;
  }
  int nonempty_other(int c, int d) const {  // nearest non-empty community to d other than c
    const int k = static_cast<int>(prefix_.size()) - 1;
    for (int j = 0; j < k; ++j) {
      if (d - j >= 0 && d - j != c && !empty(d - j)) return d - j;
      if (d + j < k && d + j != c && !empty(d + j)) return d + j;
    }
    return c;
  }
  // Vose's alias method over community c's slots; returns the community's total weight.
  template <typename weight_t>
  double build_alias(int c, const weight_t& weight) {
    const std::int64_t s = start_[c], len = start_[c + 1] - start_[c];
    if (len == 0) return 0.0;
    std::vector<double> q(static_cast<std::size_t>(len));
    double total = 0;
    for (std::int64_t i = 0; i < len; ++i) total += q[i] = weight(order_[s + i]);
    std::vector<std::int64_t> small, large;
    for (std::int64_t i = 0; i < len; ++i) {
      q[i] *= static_cast<double>(len) / total;  // mean 1
      (q[i] < 1.0 ? small : large).push_back(i);
    }
    while (!small.empty() && !large.empty()) {
      const std::int64_t l = small.back(), g = large.back();
      small.pop_back();
      keep_[s + l] = static_cast<std::uint32_t>(std::min(std::ldexp(q[l], 32), 4294967295.0));
      alias_[s + l] = order_[s + g];
      q[g] = (q[g] + q[l]) - 1.0;
      if (q[g] < 1.0) {
        large.pop_back();
        small.push_back(g);
      }
    }
    return total;  // slots left in either list keep probability 1 (rounding leftovers)
  }

  std::vector<std::int64_t> start_, order_, alias_;
  std::vector<std::uint32_t> keep_;
  std::vector<double> prefix_;
};

void validate_community(const community_options& o) {
  TG_CHECK_INPUT(o.num_nodes >= 2 && o.num_nodes <= (std::int64_t{1} << 40),
                 "community graph node count must be in 2..2^40; got ", o.num_nodes);
  TG_CHECK_INPUT(
      std::isfinite(o.avg_degree) && o.avg_degree > 0 && o.avg_degree <= static_cast<double>(o.num_nodes - 1),
      "average degree must be > 0 and at most nodes - 1 = ", o.num_nodes - 1, "; got ", o.avg_degree);
  TG_CHECK_INPUT(o.avg_degree * static_cast<double>(o.num_nodes) / 2 <= std::ldexp(1.0, 48),
                 "community graph edge count nodes * avg_degree / 2 exceeds 2^48");
  TG_CHECK_INPUT(o.num_classes >= 2 && o.num_classes <= 65536 && o.num_classes <= o.num_nodes,
                 "number of classes (communities) must be in 2..min(65536, nodes); got ", o.num_classes);
  check_fraction(o.homophily, "homophily");
  // Below 2 the Pareto weights have no finite mean, and the sqrt(N) cap that keeps hub pairs from
  // collapsing into duplicate edges takes nearly every node (gamma 1.01: 94%): the graph came out
  // flatter than at 2 (R10-3), not heavier-tailed. So 2 is the heaviest tail offered.
  TG_CHECK_INPUT(std::isfinite(o.power_law_exponent) && o.power_law_exponent >= 2 && o.power_law_exponent <= 100,
                 "power-law exponent must be from 2 to 100 (2: the heaviest tail), got ", o.power_law_exponent,
                 o.power_law_exponent < 2
                     ? ": below 2 the degree weights have no finite mean and, capped at sqrt(N) to keep the graph "
                       "simple, would make the degrees flatter, not more skewed"
                     : "");
  TG_CHECK_INPUT(o.feature_dim >= 0 && o.feature_dim <= (1 << 20), "feature dimension must be in 0..1048576; got ",
                 o.feature_dim);
  // Features are float32: a scale past 1e30 would overflow them (and be blamed on the output file).
  TG_CHECK_INPUT(std::isfinite(o.feature_signal) && o.feature_signal >= 0 && o.feature_signal <= 1e30,
                 "feature signal must be a number in [0, 1e30] (features are float32); got ", o.feature_signal);
  TG_CHECK_INPUT(std::isfinite(o.feature_noise) && o.feature_noise >= 0 && o.feature_noise <= 1e30,
                 "feature noise must be a number in [0, 1e30] (features are float32); got ", o.feature_noise);
  check_split_fractions(o.train_fraction, o.valid_fraction, o.test_fraction);
}

// Class centroids, k x d row-major: random Gaussian vectors orthonormalised by Gram-Schmidt while
// k <= d (random unit vectors beyond that).
std::vector<double> make_centroids(int k, std::int64_t d, std::uint64_t seed) {
  const counter_rng rng = make_rng(seed, purpose::centroids);
  std::vector<double> c(static_cast<std::size_t>(k) * static_cast<std::size_t>(d));
  std::vector<float> tmp(static_cast<std::size_t>(d));
  for (int i = 0; i < k; ++i) {
    double* ci = c.data() + static_cast<std::size_t>(i) * d;
    for (int attempt = 0;; ++attempt) {
      fill_normals(rng, (static_cast<std::uint64_t>(i) * 64 + attempt) * static_cast<std::uint64_t>(d), d, tmp.data());
      for (std::int64_t j = 0; j < d; ++j) ci[j] = tmp[j];
      if (i < d) {
        for (int p = 0; p < i; ++p) {
          const double* cp = c.data() + static_cast<std::size_t>(p) * d;
          double dot = 0;
          for (std::int64_t j = 0; j < d; ++j) dot += ci[j] * cp[j];
          for (std::int64_t j = 0; j < d; ++j) ci[j] -= dot * cp[j];
        }
      }
      double norm = 0;
      for (std::int64_t j = 0; j < d; ++j) norm += ci[j] * ci[j];
      norm = std::sqrt(norm);
      if (norm > 1e-6 || attempt == 63) {
        for (std::int64_t j = 0; j < d; ++j) ci[j] /= norm > 0 ? norm : 1;
        break;
      }
    }
  }
  return c;
}

}  // namespace

std::string generate_community(const community_options& o, const std::string& out_dir, bool overwrite) {
  validate_community(o);
  const std::int64_t n = o.num_nodes;
  const int k = o.num_classes;
  const auto m = static_cast<std::int64_t>(std::llround(o.avg_degree * static_cast<double>(n) / 2));
  const counter_rng crng = make_rng(o.seed, purpose::communities);
  auto community = [&](std::int64_t v) {
    return static_cast<int>(crng.below(static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(k)));
  };

  // Nodes laid out community by community (ascending ids inside each): community c is the interval
  // [start[c], start[c+1]) of `order`.
  // Per node: its community (4 B, while laying out), the layout and the alias tables (24 B), and the
  // CSR build's offsets and row lengths (24 B). Refused before any work when it cannot fit.
  expect_memory(saturating_mul(static_cast<std::uint64_t>(n), 56) + csr_builder::bucket_bytes() + kProcessBaselineBytes,
                "--nodes " + std::to_string(n),
                "generating a community graph of " + std::to_string(n) +
                    " nodes (56 bytes per node, the CSR build's bucket and the process itself)");
  std::vector<std::int64_t> start(static_cast<std::size_t>(k) + 1, 0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  {
    std::vector<std::int32_t> comm(static_cast<std::size_t>(n));
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
      for (std::int64_t v = r.begin(); v < r.end(); ++v) comm[v] = community(v);
    });
    for (std::int64_t v = 0; v < n; ++v) ++start[comm[v] + 1];
    for (int c = 0; c < k; ++c) start[c + 1] += start[c];
    std::vector<std::int64_t> fill(start.begin(), start.end() - 1);
    for (std::int64_t v = 0; v < n; ++v) order[fill[comm[v]]++] = v;
  }
  const counter_rng wrng = make_rng(o.seed, purpose::weights);
  const double tail = 1.0 / (o.power_law_exponent - 1.0);
  const double cap = std::sqrt(static_cast<double>(n));
  auto weight = [&](std::int64_t v) {  // Pareto(x_m = 1, alpha = gamma - 1), capped
    return std::min(cap, std::pow(1.0 - wrng.uniform(static_cast<std::uint64_t>(v)), -tail));
  };
  auto sampler = std::make_unique<const community_sampler>(std::move(start), std::move(order), weight);
  const counter_rng erng = make_rng(o.seed, purpose::edges);
  const auto homophily_threshold = static_cast<std::uint64_t>(std::ldexp(o.homophily, 32));

  dataset_writer w(out_dir, overwrite);
  {
    const double nn = static_cast<double>(n), m = nn * o.avg_degree;
    w.expect_space(
        // indptr, the spill file (4- or 8-byte id pairs) beside indices.npy, features, O(n) extras
        static_cast<std::uint64_t>(8 * (nn + 1) + (nn <= 4294967296.0 ? 8 : 16) * m / 2 + 8 * m +
                                   4 * nn * static_cast<double>(o.feature_dim) + 16 * nn),
        "the community graph");
  }
  csr_build_options bopt;
  bopt.symmetrize = true;
  bopt.remove_self_loops = true;
  bopt.remove_duplicates = true;
  bopt.id_bound = n;
  csr_builder builder(w.path(".edges.spill"), bopt);
  stream_edges(
      builder, m,
      [&](std::int64_t first, std::int64_t count, std::int64_t* src, std::int64_t* dst) {
        for (std::int64_t t = 0; t < count; ++t) {
          // Philox keys the edge; its draws are SplitMix64 outputs from that key.
          const std::uint64_t key = erng.u64(static_cast<std::uint64_t>(first + t));
          auto draw = [key](std::uint64_t i) { return mix64(key + i * 0x9E3779B97F4A7C15ull); };
          const std::uint64_t coins = draw(2);
          const int cu = sampler->community_by_weight(draw(0));
          const int cv =
              (coins & 0xFFFFFFFFu) < homophily_threshold ? cu : sampler->other_community_by_weight(cu, draw(3));
          src[t] = sampler->node_in(cu, draw(1), coins >> 32);
          dst[t] = sampler->node_in(cv, draw(4), draw(5) >> 32);
        }
      },
      "generating community edges");
  sampler.reset();
  const csr_build_stats st = builder.build(w, n);

  auto& meta = w.meta();
  meta.name = "community-n" + std::to_string(n) + "-k" + std::to_string(k);
  nlohmann::json src = {{"generator", "community"},
                        {"num_nodes", n},
                        {"avg_degree", o.avg_degree},
                        {"num_classes", k},
                        {"homophily", o.homophily},
                        {"power_law_exponent", o.power_law_exponent},
                        {"weight_cap", cap},
                        {"feature_dim", o.feature_dim},
                        {"feature_signal", o.feature_signal},
                        {"feature_noise", o.feature_noise},
                        {"seed", o.seed},
                        {"sampled_edges", m},
                        {"edges", build_stats_json(st)},
                        {"split_fractions", {o.train_fraction, o.valid_fraction, o.test_fraction}}};

  if (o.feature_dim > 0) {
    const std::int64_t dim = o.feature_dim;
    const std::vector<double> centroids = make_centroids(k, dim, o.seed);
    const counter_rng frng = make_rng(o.seed, purpose::features);
    write_feature_rows(w.path("features.npy"), n, dim, [&](std::int64_t row, std::int64_t rows, float* out) {
      fill_normals(frng, static_cast<std::uint64_t>(row) * static_cast<std::uint64_t>(dim), rows * dim, out);
      for (std::int64_t r = 0; r < rows; ++r) {
        const double* mu = centroids.data() + static_cast<std::size_t>(community(row + r)) * dim;
        float* x = out + r * dim;
        for (std::int64_t j = 0; j < dim; ++j)
          x[j] = static_cast<float>(o.feature_signal * mu[j] + o.feature_noise * x[j]);
      }
    });
    meta.feature_dim = dim;
    meta.feature_dtype = dtype::float32;
  }
  write_labels(w.path("labels.npy"), n, community);
  meta.num_classes = k;
  meta.label_dtype = dtype::int64;
  src["splits"] = write_splits(w, n, o.seed, o.train_fraction, o.valid_fraction, o.test_fraction);
  meta.source = std::move(src);
  return w.commit();
}

}  // namespace tg
