// Synthetic dataset generators: R-MAT (Graph500) and power-law community graphs (Chung-Lu).
//
// R-MAT (Chakrabarti, Zhan, Faloutsos, SDM'04), as specified by the Graph500 reference generator:
// each edge picks one quadrant of the adjacency matrix per level, `scale` times, with probabilities
// a (top-left), b (top-right), c (bottom-left), d = 1 - a - b - c. As in the reference code the row
// bit is drawn first (P = c + d), then the column bit conditioned on it (b / (a + b) or d / (c + d)).
// Node ids are then scrambled by the Graph500 hash (add, multiply by an odd key, bit-reverse, twice),
// a bijection on [0, 2^scale) that spreads the hubs (which R-MAT puts at low ids) over the id range.
//
// Community graphs: a degree-corrected planted partition in the style of Chung & Lu ("Connected
// components in random graphs with given expected degree sequences", 2002). Node v gets a weight
// w_v ~ Pareto(gamma - 1) (degree tail exponent gamma), capped at sqrt(N) so the Chung-Lu condition
// max(w)^2 <= sum(w) holds, and a community (= class) from a hash of its id. Each of the M = N*deg/2
// undirected edges draws its first endpoint u with probability proportional to weight; with
// probability `homophily` the second endpoint is drawn by weight from u's community, otherwise from
// all other communities. Sampling is an inverse-CDF binary search over prefix sums of the weights
// laid out community by community, so every community and every "all but one community" range is
// one contiguous interval (the latter split around the excluded interval). Features are
// signal * centroid[class] + noise * N(0, I) with orthonormal centroids.
//
// Determinism: every random draw is a Philox value at a position derived from (edge index, draw) or
// (node, column), and edge chunks reach the csr_builder in chunk order through an in-order tbb
// pipeline, so the output bytes do not depend on the thread count.
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
enum class purpose : std::uint64_t { edges = 1, scramble, features, labels, splits, weights, communities, centroids };

counter_rng make_rng(std::uint64_t seed, purpose p) {
  return counter_rng(seed, stream_id(0x7469657267656eull /* "tiergen" */, static_cast<std::uint64_t>(p)));
}

constexpr double kInv32 = 1.0 / 4294967296.0;
// 53-bit uniform double in [0, 1) from two 32-bit words.
inline double uniform53(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<double>(((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

std::uint64_t bit_reverse(std::uint64_t x) {
  x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
  x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
  x = ((x >> 8) & 0x00FF00FF00FF00FFull) | ((x & 0x00FF00FF00FF00FFull) << 8);
  x = ((x >> 16) & 0x0000FFFF0000FFFFull) | ((x & 0x0000FFFF0000FFFFull) << 16);
  return (x >> 32) | (x << 32);
}

// Graph500 vertex scrambling (reference code, utils.c: scramble()). Bijective on [0, 2^lg_n): the
// low lg_n bits of (v + k) * odd depend only on the low lg_n bits of v and are a permutation of them.
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
  progress prog(label, total, "edges");
  std::int64_t next = 0;
  tbb::parallel_pipeline(
      kTokens,
      tbb::make_filter<void, std::shared_ptr<chunk>>(
          tbb::filter_mode::serial_in_order,
          [&](tbb::flow_control& fc) -> std::shared_ptr<chunk> {
            if (next >= total) {
              fc.stop();
              return nullptr;
            }
            auto c = std::make_shared<chunk>();
            c->first = next;
            c->count = std::min(kChunk, total - next);
            next += c->count;
            return c;
          }) &
          tbb::make_filter<std::shared_ptr<chunk>, std::shared_ptr<chunk>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<chunk> c) {
                c->src.resize(static_cast<std::size_t>(c->count));
                c->dst.resize(static_cast<std::size_t>(c->count));
                gen(c->first, c->count, c->src.data(), c->dst.data());
                return c;
              }) &
          tbb::make_filter<std::shared_ptr<chunk>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<chunk> c) {
                builder.add(span<const std::int64_t>(c->src), span<const std::int64_t>(c->dst));
                prog.add(c->count);
              }));
  prog.finish();
}

// Streams an n x d float32 array, `fill(first_row, rows, out)` filling rows in parallel, in
// chunks of about 16 MiB so memory does not grow with n.
template <typename fill_t>
void write_feature_rows(const std::string& path, std::int64_t n, std::int64_t d, const fill_t& fill) {
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

void check_fraction(double f, const char* name) {
  TG_CHECK_INPUT(std::isfinite(f) && f >= 0 && f <= 1, name, " must lie in [0, 1] (got ", f, ")");
}

void check_split_fractions(double train, double valid, double test) {
  check_fraction(train, "train fraction");
  check_fraction(valid, "valid fraction");
  check_fraction(test, "test fraction");
  TG_CHECK_INPUT(train + valid + test <= 1 + 1e-9,
                 "train + valid + test fractions must not exceed 1 (got ", train + valid + test, ")");
}

nlohmann::json build_stats_json(const csr_build_stats& st) {
  return {{"input_edges", st.input_edges},
          {"self_loops_removed", st.self_loops_removed},
          {"duplicates_removed", st.duplicates_removed},
          {"stored_arcs", st.edges}};
}

void validate_rmat(const rmat_options& o) {
  TG_CHECK_INPUT(o.scale >= 1 && o.scale <= 40, "R-MAT scale must be in 1..40 (2^scale nodes); got ",
                 o.scale);
  TG_CHECK_INPUT(o.edge_factor >= 1 && o.edge_factor <= (1 << 20),
                 "R-MAT edge factor must be in 1..1048576 (edges per node); got ", o.edge_factor);
  TG_CHECK_INPUT(static_cast<std::int64_t>(o.edge_factor) << o.scale <= (std::int64_t{1} << 48),
                 "R-MAT edge count edge_factor * 2^scale = ", o.edge_factor, " * 2^", o.scale,
                 " exceeds 2^48 edges");
  check_fraction(o.a, "R-MAT probability a");
  check_fraction(o.b, "R-MAT probability b");
  check_fraction(o.c, "R-MAT probability c");
  TG_CHECK_INPUT(o.a + o.b + o.c <= 1 + 1e-12, "R-MAT probabilities a + b + c must not exceed 1 (d = 1 - a - b - c); got a=",
                 o.a, " b=", o.b, " c=", o.c);
  TG_CHECK_INPUT(o.feature_dim >= 0 && o.feature_dim <= (1 << 20), "feature dimension must be in 0..1048576; got ",
                 o.feature_dim);
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
                 "number of classes (communities) must be in 2..min(65536, nodes); got ", o.num_classes);
  check_fraction(o.homophily, "homophily");
  TG_CHECK_INPUT(std::isfinite(o.power_law_exponent) && o.power_law_exponent > 1 && o.power_law_exponent <= 100,
                 "power-law exponent must be in (1, 100]; got ", o.power_law_exponent);
  TG_CHECK_INPUT(o.feature_dim >= 0 && o.feature_dim <= (1 << 20), "feature dimension must be in 0..1048576; got ",
                 o.feature_dim);
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

std::string generate_rmat(const rmat_options& o, const std::string& out_dir, bool overwrite) {
  validate_rmat(o);
  const std::int64_t n = std::int64_t{1} << o.scale;
  const std::int64_t m = static_cast<std::int64_t>(o.edge_factor) * n;
  const double ab = o.a + o.b;
  const double d = std::max(0.0, 1.0 - o.a - o.b - o.c);
  // Thresholds on 32-bit uniforms, as in the Graph500 reference: row bit set when r1 > a + b; then
  // column bit set when r2 > a / (a + b) (row bit 0) or r2 > c / (c + d) (row bit 1).
  const double a_norm = ab > 0 ? o.a / ab : 0.0;
  const double c_norm = (o.c + d) > 0 ? o.c / (o.c + d) : 0.0;
  const int blocks_per_edge = (o.scale + 1) / 2;  // one Philox block gives two levels
  const counter_rng rng = make_rng(o.seed, purpose::edges);
  const graph500_scramble scramble(o.scale, o.seed);

  dataset_writer w(out_dir, overwrite);
  csr_build_options bopt;
  bopt.symmetrize = o.undirected;
  bopt.remove_self_loops = o.remove_self_loops;
  bopt.remove_duplicates = o.remove_duplicates;
  csr_builder builder(w.path(".edges.spill"), bopt);

  stream_edges(builder, m, [&](std::int64_t first, std::int64_t count, std::int64_t* src, std::int64_t* dst) {
    for (std::int64_t i = 0; i < count; ++i) {
      const std::uint64_t e = static_cast<std::uint64_t>(first + i);
      std::uint64_t u = 0, v = 0;
      philox_ctr blk{};
      for (int level = 0; level < o.scale; ++level) {
        if (level % 2 == 0) blk = rng.block(e * blocks_per_edge + level / 2);
        const double r1 = blk.v[2 * (level % 2)] * kInv32;
        const double r2 = blk.v[2 * (level % 2) + 1] * kInv32;
        const std::uint64_t row = r1 > ab ? 1 : 0;
        const std::uint64_t col = r2 > (row ? c_norm : a_norm) ? 1 : 0;
        u = (u << 1) | row;
        v = (v << 1) | col;
      }
      src[i] = o.scramble_ids ? scramble(static_cast<std::int64_t>(u)) : static_cast<std::int64_t>(u);
      dst[i] = o.scramble_ids ? scramble(static_cast<std::int64_t>(v)) : static_cast<std::int64_t>(v);
    }
  }, "generating R-MAT edges");
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
    write_feature_rows(w.path("features.npy"), n, dim, [&](std::int64_t row, std::int64_t rows, float* out) {
      fill_normals(frng, static_cast<std::uint64_t>(row) * static_cast<std::uint64_t>(dim), rows * dim, out);
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

std::string generate_community(const community_options& o, const std::string& out_dir, bool overwrite) {
  validate_community(o);
  const std::int64_t n = o.num_nodes;
  const int k = o.num_classes;
  const auto m = static_cast<std::int64_t>(std::llround(o.avg_degree * static_cast<double>(n) / 2));
  const counter_rng crng = make_rng(o.seed, purpose::communities);
  auto community = [&](std::int64_t v) {
    return static_cast<int>(crng.below(static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(k)));
  };

  // Nodes laid out community by community (ascending ids inside each), with prefix sums of their
  // weights: community c is the interval [start[c], start[c+1]) of `order` and `prefix`.
  std::vector<std::int64_t> start(static_cast<std::size_t>(k) + 1, 0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::vector<double> prefix(static_cast<std::size_t>(n) + 1, 0.0);
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
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 1 << 14), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) {
      const double u = wrng.uniform(static_cast<std::uint64_t>(order[i]));
      prefix[i + 1] = std::min(cap, std::pow(1.0 - u, -tail));  // Pareto(x_m = 1), capped
    }
  });
  for (std::int64_t i = 0; i < n; ++i) prefix[i + 1] += prefix[i];
  const double total = prefix[n];

  // Index i in [lo, hi) with prefix[i] <= x < prefix[i + 1] (clamped against rounding).
  auto find = [&](std::int64_t lo, std::int64_t hi, double x) {
    const double* p = prefix.data();
    const std::int64_t i = std::upper_bound(p + lo + 1, p + hi + 1, x) - (p + 1);
    return std::min(std::max(i, lo), hi - 1);
  };
  auto community_of_index = [&](std::int64_t i) {
    return static_cast<int>(std::upper_bound(start.begin(), start.end(), i) - start.begin() - 1);
  };
  const counter_rng erng = make_rng(o.seed, purpose::edges);
  const auto homophily_threshold = static_cast<std::uint64_t>(std::ldexp(o.homophily, 32));

  dataset_writer w(out_dir, overwrite);
  csr_build_options bopt;
  bopt.symmetrize = true;
  bopt.remove_self_loops = true;
  bopt.remove_duplicates = true;
  csr_builder builder(w.path(".edges.spill"), bopt);
  stream_edges(builder, m, [&](std::int64_t first, std::int64_t count, std::int64_t* src, std::int64_t* dst) {
    for (std::int64_t t = 0; t < count; ++t) {
      const std::uint64_t e = static_cast<std::uint64_t>(first + t);
      const philox_ctr b0 = erng.block(2 * e), b1 = erng.block(2 * e + 1);
      const std::int64_t iu = find(0, n, uniform53(b0.v[0], b0.v[1]) * total);
      const int c = community_of_index(iu);
      const std::int64_t lo = start[c], hi = start[c + 1];
      const double inside = prefix[hi] - prefix[lo];
      const double x = uniform53(b1.v[0], b1.v[1]);
      std::int64_t iv;
      if (b0.v[2] < homophily_threshold || total - inside <= 0) {
        iv = find(lo, hi, prefix[lo] + x * inside);
      } else {
        // Weighted draw from everything outside [lo, hi): map [0, total - inside) around the gap.
        const double y = x * (total - inside);
        iv = (y < prefix[lo] || hi == n) ? find(0, lo, y) : find(hi, n, y + inside);
      }
      src[t] = order[iu];
      dst[t] = order[iv];
    }
  }, "generating community edges");
  const csr_build_stats st = builder.build(w, n);
  order.clear();
  order.shrink_to_fit();
  prefix.clear();
  prefix.shrink_to_fit();

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
