// Synthetic dataset generators: R-MAT (Graph500) and power-law community graphs (Chung-Lu).
//
// R-MAT (Chakrabarti, Zhan, Faloutsos, SDM'04), as specified by the Graph500 reference generator:
// each edge picks one quadrant of the adjacency matrix per level, `scale` times, with probabilities
// a (top-left), b (top-right), c (bottom-left), d = 1 - a - b - c. As in the reference code the row
// bit is drawn first (P = c + d), then the column bit conditioned on it (b / (a + b) or d / (c +
// d)). Node ids are then scrambled by the Graph500 hash (add, multiply by an odd key, bit-reverse,
// twice), a bijection on [0, 2^scale) that spreads the hubs (which R-MAT puts at low ids) over the
// id range.
//
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
#include "datasets/generate.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "datasets/csr_builder.hpp"

namespace tg {

namespace {

// Stream tags: one independent Philox stream per purpose.
enum class purpose : std::uint64_t {
  edges = 1,
  scramble,
  features,
  labels,
  splits,
  weights,
  communities,
  centroids
};

counter_rng make_rng(std::uint64_t seed, purpose p) {
  return counter_rng(seed,
                     stream_id(0x7469657267656eull /* "tiergen" */, static_cast<std::uint64_t>(p)));
}

constexpr double kInv32 = 1.0 / 4294967296.0;
std::uint64_t bit_reverse(std::uint64_t x) {
  x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
  x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
  x = ((x >> 8) & 0x00FF00FF00FF00FFull) | ((x & 0x00FF00FF00FF00FFull) << 8);
  x = ((x >> 16) & 0x0000FFFF0000FFFFull) | ((x & 0x0000FFFF0000FFFFull) << 16);
  return (x >> 32) | (x << 32);
}

// Graph500 vertex scrambling (reference code, utils.c: scramble()). Bijective on [0, 2^lg_n): the
// low lg_n bits of (v + k) * odd depend only on the low lg_n bits of v and are a permutation of
// them.
class graph500_scramble {
 public:
  graph500_scramble(int lg_n, std::uint64_t seed) : lg_n_(lg_n) {
    const counter_rng rng = make_rng(seed, purpose::scramble);
    val0_ = rng.u64(0);
    val1_ = rng.u64(1);
  }
  std::int64_t operator()(std::int64_t v0) const {
    std::uint64_t v = static_cast<std::uint64_t>(v0);
    v += val0_ + val1_;
    v *= (val0_ | 0x4519840211493211ull);
    v = bit_reverse(v) >> (64 - lg_n_);
    v *= (val1_ | 0x3050852102C843A5ull);
    v = bit_reverse(v) >> (64 - lg_n_);
    return static_cast<std::int64_t>(v);
  }

 private:
  int lg_n_;
  std::uint64_t val0_ = 0, val1_ = 0;
};

// A pseudo-random permutation of [0, n) in O(1) memory: a 4-round Feistel network on the smallest
// even number of bits covering n, with cycle walking (re-encrypt until the value falls below n;
// the domain is < 4n, so fewer than 4 rounds of walking are expected).
class random_permutation {
 public:
  random_permutation(std::uint64_t n, std::uint64_t seed) : n_(n) {
    int bits = 2;
    while (bits < 64 && (std::uint64_t{1} << bits) < n) ++bits;
    if (bits % 2) ++bits;
    half_ = bits / 2;
    mask_ = (std::uint64_t{1} << half_) - 1;
    const counter_rng rng = make_rng(seed, purpose::splits);
    for (int r = 0; r < 4; ++r) keys_[r] = rng.u64(static_cast<std::uint64_t>(r));
  }
  std::uint64_t operator()(std::uint64_t i) const {
    std::uint64_t x = encrypt(i);
    while (x >= n_) x = encrypt(x);
    return x;
  }

 private:
  std::uint64_t encrypt(std::uint64_t x) const {
    std::uint64_t l = x >> half_, r = x & mask_;
    for (int k = 0; k < 4; ++k) {
      const std::uint64_t t = l ^ (mix64(r ^ keys_[k]) & mask_);
      l = r;
      r = t;
    }
    return (l << half_) | r;
  }
  std::uint64_t n_;
  int half_ = 1;
  std::uint64_t mask_ = 1;
  std::uint64_t keys_[4] = {};
};

// Standard normals number g, g+1, ... g+count-1 of a stream: one Philox block gives two
// Box-Muller pairs, i.e. normals 4k .. 4k+3, so value g is the same however the range is cut.
void fill_normals(const counter_rng& rng, std::uint64_t g, std::int64_t count, float* out) {
  std::uint64_t cached = std::numeric_limits<std::uint64_t>::max();
  float z[4] = {};
  for (std::int64_t i = 0; i < count; ++i, ++g) {
    if ((g >> 2) != cached) {
      cached = g >> 2;
      const philox_ctr c = rng.block(cached);
      for (int p = 0; p < 2; ++p) {
        const double u1 = (static_cast<double>(c.v[2 * p]) + 1.0) * kInv32;  // (0, 1]
        const double u2 = static_cast<double>(c.v[2 * p + 1]) * kInv32;
        const double r = std::sqrt(-2.0 * std::log(u1));
        z[2 * p] = static_cast<float>(r * std::cos(6.283185307179586 * u2));
        z[2 * p + 1] = static_cast<float>(r * std::sin(6.283185307179586 * u2));
      }
    }
    out[i] = z[g & 3];
  }
}

// Generates `total` edges in chunks, `gen(first, count, src, dst)` filling a chunk (called in
// parallel for different chunks), and feeds the chunks to the builder in chunk order.
template <typename gen_t>
void stream_edges(csr_builder& builder, std::int64_t total, const gen_t& gen, const char* label) {
  constexpr std::int64_t kChunk = 1 << 16;
  constexpr std::size_t kTokens = 8;  // chunks in flight: bounded memory (8 x 1 MiB)
  struct chunk {
    std::int64_t first = 0, count = 0;
    std::vector<std::int64_t> src, dst;
  };
  using chunk_ptr = std::shared_ptr<chunk>;
  progress prog(label, total, "edges");
  std::int64_t next = 0;
  const auto source = tbb::make_filter<void, chunk_ptr>(tbb::filter_mode::serial_in_order,
                                                        [&](tbb::flow_control& fc) -> chunk_ptr {
                                                          if (next >= total) {
                                                            fc.stop();
                                                            return nullptr;
                                                          }
                                                          auto c = std::make_shared<chunk>();
                                                          c->first = next;
                                                          c->count = std::min(kChunk, total - next);
                                                          next += c->count;
                                                          return c;
                                                        });
  const auto generate =
      tbb::make_filter<chunk_ptr, chunk_ptr>(tbb::filter_mode::parallel, [&](chunk_ptr c) {
        c->src.resize(static_cast<std::size_t>(c->count));
        c->dst.resize(static_cast<std::size_t>(c->count));
        gen(c->first, c->count, c->src.data(), c->dst.data());
        return c;
      });
  const auto sink =
      tbb::make_filter<chunk_ptr, void>(tbb::filter_mode::serial_in_order, [&](chunk_ptr c) {
        builder.add(span<const std::int64_t>(c->src), span<const std::int64_t>(c->dst));
        prog.add(c->count);
      });
  tbb::parallel_pipeline(kTokens, source & generate & sink);
  prog.finish();
}

// Streams an n x d float32 array, `fill(first_row, rows, out)` filling rows in parallel, in
// chunks of about 16 MiB so memory does not grow with n.
template <typename fill_t>
void write_feature_rows(const std::string& path, std::int64_t n, std::int64_t d,
                        const fill_t& fill) {
  npy_writer out(path, dtype::float32, {d});
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, (std::int64_t{1} << 22) / d);
  std::vector<float> buf(static_cast<std::size_t>(std::min(n, chunk_rows) * d));
  progress prog("writing features", n, "rows");
  for (std::int64_t first = 0; first < n; first += chunk_rows) {
    const std::int64_t rows = std::min(chunk_rows, n - first);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 256), [&](const auto& r) {
      fill(first + r.begin(), static_cast<std::int64_t>(r.size()), buf.data() + r.begin() * d);
    });
    out.append(buf.data(), rows);
    prog.add(rows);
  }
  out.finish();
  prog.finish();
}

// Streams labels.npy (int64, n) from label(v).
template <typename label_t>
void write_labels(const std::string& path, std::int64_t n, const label_t& label) {
  npy_writer out(path, dtype::int64, {});
  constexpr std::int64_t kChunk = 1 << 21;
  std::vector<std::int64_t> buf(static_cast<std::size_t>(std::min(n, kChunk)));
  for (std::int64_t first = 0; first < n; first += kChunk) {
    const std::int64_t rows = std::min(kChunk, n - first);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 4096), [&](const auto& r) {
      for (std::int64_t i = r.begin(); i < r.end(); ++i) buf[i] = label(first + i);
    });
    out.append(buf.data(), rows);
  }
  out.finish();
}

// Random disjoint splits with exact sizes (rounded fractions of n): positions [0, n_train) of a
// seeded permutation of the nodes are the training set, the next n_valid the validation set, and
// so on; each split is stored sorted.
nlohmann::json write_splits(dataset_writer& w, std::int64_t n, std::uint64_t seed, double train,
                            double valid, double test) {
  const random_permutation perm(static_cast<std::uint64_t>(n), seed);
  const double fractions[3] = {train, valid, test};
  const char* files[3] = {"train_idx.npy", "valid_idx.npy", "test_idx.npy"};
  nlohmann::json sizes = nlohmann::json::object();
  double cumulative = 0;
  std::int64_t begin = 0;
  for (int s = 0; s < 3; ++s) {
    cumulative += fractions[s];
    const std::int64_t end =
        std::min(n, static_cast<std::int64_t>(std::llround(cumulative * static_cast<double>(n))));
    std::vector<std::int64_t> ids(static_cast<std::size_t>(std::max<std::int64_t>(0, end - begin)));
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, ids.size(), 4096), [&](const auto& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i)
        ids[i] = static_cast<std::int64_t>(perm(static_cast<std::uint64_t>(begin) + i));
    });
    tbb::parallel_sort(ids.begin(), ids.end());
    w.put(files[s], ids);
    sizes[std::string(files[s]).substr(0, std::string(files[s]).find('_'))] = ids.size();
    begin = std::max(begin, end);
  }
  return sizes;
}

// Weighted node draws inside communities, O(1) each: one alias table per community (Walker 1977,
// built with Vose's method, 1991) over the nodes laid out community by community, plus prefix sums
// of the communities' total weights to choose a community by weight (K is small). Drawing a
// community by weight and then a node from its table is a draw over all nodes by weight.
// 20 bytes per node: node id, alias node id, 32-bit keep threshold.
class community_sampler {
 public:
  template <typename weight_t>
  community_sampler(std::vector<std::int64_t> start, std::vector<std::int64_t> order,
                    const weight_t& weight)
      : start_(std::move(start)),
        order_(std::move(order)),
        alias_(order_),
        keep_(order_.size(), kAlways) {
    const int k = static_cast<int>(start_.size()) - 1;
    std::vector<double> mass(static_cast<std::size_t>(k), 0.0);
    tbb::parallel_for(0, k, [&](int c) { mass[c] = build_alias(c, weight); });
    prefix_.assign(static_cast<std::size_t>(k) + 1, 0.0);
    for (int c = 0; c < k; ++c) prefix_[c + 1] = prefix_[c] + mass[c];
  }

  int community_by_weight(std::uint64_t bits) const {
    return nonempty_near(locate(unit(bits) * prefix_.back()));
  }
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
        start_[c] +
        static_cast<std::int64_t>((static_cast<unsigned __int128>(slot_bits) * size) >> 64);
    return coin32 < keep_[i] ? order_[i] : alias_[i];
  }

 private:
  static constexpr std::uint32_t kAlways = 0xFFFFFFFFu;
  static double unit(std::uint64_t bits) {
    return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
  }
  bool empty(int c) const { return start_[c + 1] == start_[c]; }
  int locate(double x) const {  // c with prefix[c] <= x < prefix[c+1], clamped
    const auto it = std::upper_bound(prefix_.begin() + 1, prefix_.end(), x);
    return static_cast<int>(std::min<std::ptrdiff_t>(
        it - (prefix_.begin() + 1), static_cast<std::ptrdiff_t>(prefix_.size()) - 2));
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

void check_fraction(double f, const char* name) {
  TG_CHECK_INPUT(std::isfinite(f) && f >= 0 && f <= 1, name, " must lie in [0, 1] (got ", f, ")");
}

void check_split_fractions(double train, double valid, double test) {
  check_fraction(train, "train fraction");
  check_fraction(valid, "valid fraction");
  check_fraction(test, "test fraction");
  TG_CHECK_INPUT(train + valid + test <= 1 + 1e-9,
                 "train + valid + test fractions must not exceed 1 (got ", train + valid + test,
                 ")");
}

nlohmann::json build_stats_json(const csr_build_stats& st) {
  return {{"input_edges", st.input_edges},
          {"self_loops_removed", st.self_loops_removed},
          {"duplicates_removed", st.duplicates_removed},
          {"stored_arcs", st.edges}};
}

void validate_rmat(const rmat_options& o) {
  TG_CHECK_INPUT(o.scale >= 1 && o.scale <= 40,
                 "R-MAT scale must be in 1..40 (2^scale nodes); got ", o.scale);
  TG_CHECK_INPUT(o.edge_factor >= 1 && o.edge_factor <= (1 << 20),
                 "R-MAT edge factor must be in 1..1048576 (edges per node); got ", o.edge_factor);
  TG_CHECK_INPUT(static_cast<std::int64_t>(o.edge_factor) << o.scale <= (std::int64_t{1} << 48),
                 "R-MAT edge count edge_factor * 2^scale = ", o.edge_factor, " * 2^", o.scale,
                 " exceeds 2^48 edges");
  check_fraction(o.a, "R-MAT probability a");
  check_fraction(o.b, "R-MAT probability b");
  check_fraction(o.c, "R-MAT probability c");
  TG_CHECK_INPUT(o.a + o.b + o.c <= 1 + 1e-12,
                 "R-MAT probabilities a + b + c must not exceed 1 (d = 1 - a - b - c); got a=", o.a,
                 " b=", o.b, " c=", o.c);
  TG_CHECK_INPUT(o.feature_dim >= 0 && o.feature_dim <= (1 << 20),
                 "feature dimension must be in 0..1048576; got ", o.feature_dim);
  TG_CHECK_INPUT(o.num_classes == 0 || (o.num_classes >= 2 && o.num_classes <= (1 << 20)),
                 "number of classes must be 0 (no labels) or in 2..1048576; got ", o.num_classes);
  check_split_fractions(o.train_fraction, o.valid_fraction, o.test_fraction);
}

void validate_community(const community_options& o) {
  TG_CHECK_INPUT(o.num_nodes >= 2 && o.num_nodes <= (std::int64_t{1} << 40),
                 "community graph node count must be in 2..2^40; got ", o.num_nodes);
  TG_CHECK_INPUT(std::isfinite(o.avg_degree) && o.avg_degree > 0 &&
                     o.avg_degree <= static_cast<double>(o.num_nodes - 1),
                 "average degree must be > 0 and at most nodes - 1 = ", o.num_nodes - 1, "; got ",
                 o.avg_degree);
  TG_CHECK_INPUT(o.avg_degree * static_cast<double>(o.num_nodes) / 2 <= std::ldexp(1.0, 48),
                 "community graph edge count nodes * avg_degree / 2 exceeds 2^48");
  TG_CHECK_INPUT(o.num_classes >= 2 && o.num_classes <= 65536 && o.num_classes <= o.num_nodes,
                 "number of classes (communities) must be in 2..min(65536, nodes); got ",
                 o.num_classes);
  check_fraction(o.homophily, "homophily");
  TG_CHECK_INPUT(std::isfinite(o.power_law_exponent) && o.power_law_exponent > 1 &&
                     o.power_law_exponent <= 100,
                 "power-law exponent must be in (1, 100]; got ", o.power_law_exponent);
  TG_CHECK_INPUT(o.feature_dim >= 0 && o.feature_dim <= (1 << 20),
                 "feature dimension must be in 0..1048576; got ", o.feature_dim);
  TG_CHECK_INPUT(std::isfinite(o.feature_signal) && o.feature_signal >= 0,
                 "feature signal must be a finite number >= 0; got ", o.feature_signal);
  TG_CHECK_INPUT(std::isfinite(o.feature_noise) && o.feature_noise >= 0,
                 "feature noise must be a finite number >= 0; got ", o.feature_noise);
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
      fill_normals(rng,
                   (static_cast<std::uint64_t>(i) * 64 + attempt) * static_cast<std::uint64_t>(d),
                   d, tmp.data());
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

std::string generate_rmat(const rmat_options& o, const std::string& out_dir, bool overwrite) {
  validate_rmat(o);
  const std::int64_t n = std::int64_t{1} << o.scale;
  const std::int64_t m = static_cast<std::int64_t>(o.edge_factor) * n;
  const double ab = o.a + o.b;
  const double d = std::max(0.0, 1.0 - o.a - o.b - o.c);
  // Thresholds on 32-bit uniforms r, as in the Graph500 reference: the row bit is set when
  // r1 > a + b; then the column bit when r2 > a / (a + b) (row bit 0) or r2 > c / (c + d) (row
  // bit 1). For an integer x, x * 2^-32 > t exactly when x > floor(t * 2^32), so the comparisons
  // are done on integers, without branches.
  const double a_norm = ab > 0 ? o.a / ab : 0.0;
  const double c_norm = (o.c + d) > 0 ? o.c / (o.c + d) : 0.0;
  auto threshold = [](double t) {
    return static_cast<std::uint64_t>(std::floor(std::ldexp(t, 32)));
  };
  const std::uint64_t row_threshold = threshold(ab);
  const std::uint64_t col_threshold[2] = {threshold(a_norm), threshold(c_norm)};
  const counter_rng rng = make_rng(o.seed, purpose::edges);
  const graph500_scramble scramble(o.scale, o.seed);

  dataset_writer w(out_dir, overwrite);
  csr_build_options bopt;
  bopt.symmetrize = o.undirected;
  bopt.remove_self_loops = o.remove_self_loops;
  bopt.remove_duplicates = o.remove_duplicates;
  csr_builder builder(w.path(".edges.spill"), bopt);

  stream_edges(
      builder, m,
      [&](std::int64_t first, std::int64_t count, std::int64_t* src, std::int64_t* dst) {
        for (std::int64_t i = 0; i < count; ++i) {
          const std::uint64_t e = static_cast<std::uint64_t>(first + i);
          std::uint64_t u = 0, v = 0;
          // Philox keys the edge; its levels draw from the SplitMix64 sequence that key starts
          // (mix64(s + k * golden) is SplitMix64's k-th output), ~5x cheaper than a Philox block
          // per two levels and still a pure function of (seed, edge index).
          const std::uint64_t key = rng.u64(e);
          for (int level = 0; level < o.scale; ++level) {
            const std::uint64_t bits =
                mix64(key + static_cast<std::uint64_t>(level) * 0x9E3779B97F4A7C15ull);
            const std::uint64_t row = (bits >> 32) > row_threshold;
            const std::uint64_t col = (bits & 0xFFFFFFFFu) > col_threshold[row];
            u = (u << 1) | row;
            v = (v << 1) | col;
          }
          src[i] = o.scramble_ids ? scramble(static_cast<std::int64_t>(u))
                                  : static_cast<std::int64_t>(u);
          dst[i] = o.scramble_ids ? scramble(static_cast<std::int64_t>(v))
                                  : static_cast<std::int64_t>(v);
        }
      },
      "generating R-MAT edges");
  const csr_build_stats st = builder.build(w, n);

  auto& meta = w.meta();
  meta.name = "rmat-s" + std::to_string(o.scale) + "-ef" + std::to_string(o.edge_factor);
  nlohmann::json src = {{"generator", "rmat"},
                        {"scale", o.scale},
                        {"edge_factor", o.edge_factor},
                        {"a", o.a},
                        {"b", o.b},
                        {"c", o.c},
                        {"d", d},
                        {"seed", o.seed},
                        {"undirected", o.undirected},
                        {"remove_self_loops", o.remove_self_loops},
                        {"remove_duplicates", o.remove_duplicates},
                        {"scramble_ids", o.scramble_ids},
                        {"feature_dim", o.feature_dim},
                        {"num_classes", o.num_classes},
                        {"edges", build_stats_json(st)}};

  if (o.feature_dim > 0) {
    const counter_rng frng = make_rng(o.seed, purpose::features);
    const std::int64_t dim = o.feature_dim;
    write_feature_rows(
        w.path("features.npy"), n, dim, [&](std::int64_t row, std::int64_t rows, float* out) {
          fill_normals(frng, static_cast<std::uint64_t>(row) * static_cast<std::uint64_t>(dim),
                       rows * dim, out);
        });
    meta.feature_dim = dim;
    meta.feature_dtype = dtype::float32;
  }
  if (o.num_classes > 0) {
    const counter_rng lrng = make_rng(o.seed, purpose::labels);
    const auto k = static_cast<std::uint64_t>(o.num_classes);
    write_labels(w.path("labels.npy"), n, [&](std::int64_t v) {
      return static_cast<std::int64_t>(lrng.below(static_cast<std::uint64_t>(v), k));
    });
    meta.num_classes = o.num_classes;
    meta.label_dtype = dtype::int64;
    src["split_fractions"] = {o.train_fraction, o.valid_fraction, o.test_fraction};
    src["splits"] = write_splits(w, n, o.seed, o.train_fraction, o.valid_fraction, o.test_fraction);
  }
  meta.source = std::move(src);
  return w.commit();
}

std::string generate_community(const community_options& o, const std::string& out_dir,
                               bool overwrite) {
  validate_community(o);
  const std::int64_t n = o.num_nodes;
  const int k = o.num_classes;
  const auto m = static_cast<std::int64_t>(std::llround(o.avg_degree * static_cast<double>(n) / 2));
  const counter_rng crng = make_rng(o.seed, purpose::communities);
  auto community = [&](std::int64_t v) {
    return static_cast<int>(
        crng.below(static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(k)));
  };

  // Nodes laid out community by community (ascending ids inside each): community c is the interval
  // [start[c], start[c+1]) of `order`.
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
  auto sampler =
      std::make_unique<const community_sampler>(std::move(start), std::move(order), weight);
  const counter_rng erng = make_rng(o.seed, purpose::edges);
  const auto homophily_threshold = static_cast<std::uint64_t>(std::ldexp(o.homophily, 32));

  dataset_writer w(out_dir, overwrite);
  csr_build_options bopt;
  bopt.symmetrize = true;
  bopt.remove_self_loops = true;
  bopt.remove_duplicates = true;
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
          const int cv = (coins & 0xFFFFFFFFu) < homophily_threshold
                             ? cu
                             : sampler->other_community_by_weight(cu, draw(3));
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
    write_feature_rows(
        w.path("features.npy"), n, dim, [&](std::int64_t row, std::int64_t rows, float* out) {
          fill_normals(frng, static_cast<std::uint64_t>(row) * static_cast<std::uint64_t>(dim),
                       rows * dim, out);
          for (std::int64_t r = 0; r < rows; ++r) {
            const double* mu =
                centroids.data() + static_cast<std::size_t>(community(row + r)) * dim;
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
