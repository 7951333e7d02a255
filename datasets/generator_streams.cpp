// Building blocks of the synthetic generators (datasets/generator_streams.hpp).
#include "datasets/generator_streams.hpp"

#include <tbb/parallel_sort.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/log.hpp"

namespace tg::gen {

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

// Random disjoint splits with exact sizes (rounded fractions of n): positions [0, n_train) of a
// seeded permutation of the nodes are the training set, the next n_valid the validation set, and
// so on; each split is stored sorted.
nlohmann::json write_splits(dataset_writer& w, std::int64_t n, std::uint64_t seed, double train, double valid,
                            double test) {
  const random_permutation perm(static_cast<std::uint64_t>(n), seed);
  const double fractions[3] = {train, valid, test};
  const char* files[3] = {"train_idx.npy", "valid_idx.npy", "test_idx.npy"};
  nlohmann::json sizes = nlohmann::json::object();
  double cumulative = 0;
  std::int64_t begin = 0;
  for (int s = 0; s < 3; ++s) {
    cumulative += fractions[s];
    const std::int64_t end = std::min(n, static_cast<std::int64_t>(std::llround(cumulative * static_cast<double>(n))));
    std::vector<std::int64_t> ids(static_cast<std::size_t>(std::max<std::int64_t>(0, end - begin)));
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, ids.size(), 4096), [&](const auto& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i)
        ids[i] = static_cast<std::int64_t>(perm(static_cast<std::uint64_t>(begin) + i));
    });
    tbb::parallel_sort(ids.begin(), ids.end());
    if (ids.empty() && fractions[s] > 0) {
      const char* names[3] = {"train", "valid", "test"};
      log_warn("--", names[s], " ", number_text(fractions[s]), " of ", n, " nodes rounds to 0 nodes: the ", names[s],
               " split is empty", s == 0 ? " (`train` needs at least one training node)" : "");
    }
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
  TG_CHECK_INPUT(train + valid + test <= 1 + 1e-9, "train + valid + test fractions must not exceed 1 (got ",
                 train + valid + test, ")");
}

nlohmann::json build_stats_json(const csr_build_stats& st) {
  return {{"input_edges", st.input_edges},
          {"self_loops_removed", st.self_loops_removed},
          {"duplicates_removed", st.duplicates_removed},
          {"stored_arcs", st.edges}};
}

}  // namespace tg::gen
