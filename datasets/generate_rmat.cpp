// R-MAT (Chakrabarti, Zhan, Faloutsos, SDM'04), as specified by the Graph500 reference generator:
// each edge picks one quadrant of the adjacency matrix per level, `scale` times, with probabilities
// a (top-left), b (top-right), c (bottom-left), d = 1 - a - b - c. As in the reference code the row
// bit is drawn first (P = c + d), then the column bit conditioned on it (b / (a + b) or d / (c +
// d)). Node ids are then scrambled by the Graph500 hash (add, multiply by an odd key, bit-reverse,
// twice), a bijection on [0, 2^scale) that spreads the hubs (which R-MAT puts at low ids) over the
// id range.
//
// Determinism: every random draw is a pure function of (seed, edge index, draw) (a Philox value
// keyed by the edge, expanded by SplitMix64) or of (seed, node, column), and edge chunks reach the
// csr_builder in chunk order through an in-order tbb pipeline, so the output bytes do not depend
// on the thread count.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/resources.hpp"
#include "datasets/generate.hpp"
#include "datasets/generator_streams.hpp"

namespace tg {

using namespace gen;

namespace {

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

// The quadrant draws of kLanes edges at once, in structure-of-arrays form so that each level's
// SplitMix64 mixing runs as vector instructions (AVX-512 where the CPU has it, chosen at run time):
// the same bits as the one-edge-at-a-time loop it replaces, about 3x faster on AVX-512.
// key[j]: the edge's Philox key; u[j], v[j]: its row and column bits, most significant first.
constexpr int kLanes = 16;

__attribute__((target_clones("arch=skylake-avx512", "avx2", "default"))) void rmat_lanes(
    const std::uint64_t* key, int scale, std::uint64_t row_threshold, std::uint64_t col_threshold0,
    std::uint64_t col_threshold1, std::uint64_t* u, std::uint64_t* v) {
  std::uint64_t uu[kLanes] = {}, vv[kLanes] = {};
  for (int level = 0; level < scale; ++level) {
    const std::uint64_t add = static_cast<std::uint64_t>(level) * 0x9E3779B97F4A7C15ull;
    for (int j = 0; j < kLanes; ++j) {
      const std::uint64_t bits = mix64(key[j] + add);
      const std::uint64_t row = (bits >> 32) > row_threshold;
      const std::uint64_t col = (bits & 0xFFFFFFFFu) > (row ? col_threshold1 : col_threshold0);
      uu[j] = (uu[j] << 1) | row;
      vv[j] = (vv[j] << 1) | col;
    }
  }
  for (int j = 0; j < kLanes; ++j) {
    u[j] = uu[j];
    v[j] = vv[j];
  }
}

void validate_rmat(const rmat_options& o) {
  TG_CHECK_INPUT(o.scale >= 1 && o.scale <= 40, "R-MAT scale must be in 1..40 (2^scale nodes); got ", o.scale);
  TG_CHECK_INPUT(o.edge_factor >= 1 && o.edge_factor <= (1 << 20),
                 "R-MAT edge factor must be in 1..1048576 (edges per node); got ", o.edge_factor);
  TG_CHECK_INPUT(static_cast<std::int64_t>(o.edge_factor) << o.scale <= (std::int64_t{1} << 48),
                 "R-MAT edge count edge_factor * 2^scale = ", o.edge_factor, " * 2^", o.scale, " exceeds 2^48 edges");
  check_fraction(o.a, "R-MAT probability a");
  check_fraction(o.b, "R-MAT probability b");
  check_fraction(o.c, "R-MAT probability c");
  TG_CHECK_INPUT(o.a + o.b + o.c <= 1 + 1e-12,
                 "R-MAT probabilities a + b + c must not exceed 1 (d = 1 - a - b - c); got a=", o.a, " b=", o.b,
                 " c=", o.c);
  TG_CHECK_INPUT(o.feature_dim >= 0 && o.feature_dim <= (1 << 20), "feature dimension must be in 0..1048576; got ",
                 o.feature_dim);
  TG_CHECK_INPUT(o.num_classes == 0 || (o.num_classes >= 2 && o.num_classes <= (1 << 20)),
                 "number of classes must be 0 (no labels) or in 2..1048576; got ", o.num_classes);
  TG_CHECK_INPUT(o.num_classes <= (std::int64_t{1} << o.scale), "number of classes (", o.num_classes,
                 ") exceeds the number of nodes (2^", o.scale, " = ", std::int64_t{1} << o.scale, ")");
  check_split_fractions(o.train_fraction, o.valid_fraction, o.test_fraction);
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
  auto threshold = [](double t) { return static_cast<std::uint64_t>(std::floor(std::ldexp(t, 32))); };
  const std::uint64_t row_threshold = threshold(ab);
  const std::uint64_t col_threshold[2] = {threshold(a_norm), threshold(c_norm)};
  const counter_rng rng = make_rng(o.seed, purpose::edges);
  const graph500_scramble scramble(o.scale, o.seed);

  // Per node: the CSR build's offsets and row lengths (24 B), labels and split ids (up to 16 B); beside
  // them the CSR build's bucket of scattered arcs and the process's own baseline. Refused before any
  // work when it cannot fit (a 256 MiB cgroup passed the per-node bound alone and was OOM-killed).
  expect_memory(saturating_mul(std::uint64_t{1} << o.scale, 40) + csr_builder::bucket_bytes() + kProcessBaselineBytes,
                "--scale " + std::to_string(o.scale),
                "generating an R-MAT graph of 2^" + std::to_string(o.scale) +
                    " nodes (40 bytes per node, the CSR build's bucket and the process itself)");
  dataset_writer w(out_dir, overwrite);
  {
    // At most: indptr, indices (int64), features, labels and splits (int64).
    const double n = std::ldexp(1.0, o.scale), m = n * o.edge_factor * (o.undirected ? 2 : 1);
    w.expect_space(
        // indptr, the spill file (4- or 8-byte id pairs) beside indices.npy, features, O(n) extras
        static_cast<std::uint64_t>(8 * (n + 1) + (o.scale <= 32 ? 8 : 16) * n * o.edge_factor + 8 * m +
                                   4 * n * static_cast<double>(o.feature_dim) + 16 * n),
        "the R-MAT graph");
  }
  csr_build_options bopt;
  bopt.symmetrize = o.undirected;
  bopt.remove_self_loops = o.remove_self_loops;
  bopt.remove_duplicates = o.remove_duplicates;
  bopt.id_bound = std::int64_t{1} << o.scale;
  csr_builder builder(w.path(".edges.spill"), bopt);

  stream_edges(
      builder, m,
      [&](std::int64_t first, std::int64_t count, std::int64_t* src, std::int64_t* dst) {
        // Philox keys the edge; its levels draw from the SplitMix64 sequence that key starts
        // (mix64(s + k * golden) is SplitMix64's k-th output), ~5x cheaper than a Philox block
        // per two levels and still a pure function of (seed, edge index).
        std::uint64_t key[kLanes], u[kLanes], v[kLanes];
        for (std::int64_t i0 = 0; i0 < count; i0 += kLanes) {
          const int lanes = static_cast<int>(std::min<std::int64_t>(kLanes, count - i0));
          for (int j = 0; j < kLanes; ++j)
            key[j] = rng.u64(static_cast<std::uint64_t>(first + i0 + std::min(j, lanes - 1)));
          rmat_lanes(key, o.scale, row_threshold, col_threshold[0], col_threshold[1], u, v);
          for (int j = 0; j < lanes; ++j) {
            src[i0 + j] = o.scramble_ids ? scramble(static_cast<std::int64_t>(u[j])) : static_cast<std::int64_t>(u[j]);
            dst[i0 + j] = o.scramble_ids ? scramble(static_cast<std::int64_t>(v[j])) : static_cast<std::int64_t>(v[j]);
          }
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

}  // namespace tg
