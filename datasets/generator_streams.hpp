#pragma once
// Building blocks of the synthetic generators (datasets/generate_rmat.cpp, generate_community.cpp),
// internal to the datasets module: one Philox stream per purpose, a pseudo-random permutation in
// O(1) memory, standard normals addressable by index, and writers that stream edges (in chunk
// order, through an in-order pipeline, so the output bytes do not depend on the thread count),
// feature rows, labels and splits to disk with memory that does not grow with the graph.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/npy.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "datasets/csr_builder.hpp"

namespace tg::gen {

// Stream tags: one independent Philox stream per purpose.
enum class purpose : std::uint64_t { edges = 1, scramble, features, labels, splits, weights, communities, centroids };

inline counter_rng make_rng(std::uint64_t seed, purpose p) {
  return counter_rng(seed, stream_id(0x7469657267656eull /* "tiergen" */, static_cast<std::uint64_t>(p)));
}

inline constexpr double kInv32 = 1.0 / 4294967296.0;

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
void fill_normals(const counter_rng& rng, std::uint64_t g, std::int64_t count, float* out);

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
  const auto source =
      tbb::make_filter<void, chunk_ptr>(tbb::filter_mode::serial_in_order, [&](tbb::flow_control& fc) -> chunk_ptr {
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
  const auto generate = tbb::make_filter<chunk_ptr, chunk_ptr>(tbb::filter_mode::parallel, [&](chunk_ptr c) {
    c->src.resize(static_cast<std::size_t>(c->count));
    c->dst.resize(static_cast<std::size_t>(c->count));
    gen(c->first, c->count, c->src.data(), c->dst.data());
    return c;
  });
  const auto sink = tbb::make_filter<chunk_ptr, void>(tbb::filter_mode::serial_in_order, [&](chunk_ptr c) {
    builder.add(span<const std::int64_t>(c->src), span<const std::int64_t>(c->dst));
    prog.add(c->count);
  });
  tbb::parallel_pipeline(kTokens, source & generate & sink);
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
// so on; each split is stored sorted. Returns the split sizes.
nlohmann::json write_splits(dataset_writer& w, std::int64_t n, std::uint64_t seed, double train, double valid,
                            double test);

// Input checks shared by the generators (input_error naming the value).
void check_fraction(double f, const char* name);
void check_split_fractions(double train, double valid, double test);
// The csr_builder's counts as meta.json's "build" record.
nlohmann::json build_stats_json(const csr_build_stats& st);

}  // namespace tg::gen
