#pragma once
// A small random graph with features and labels for the model tests; blocks from the real sampler.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "core/rng.hpp"
#include "sampler/neighbor_sampler.hpp"

namespace tg::test {

// A random undirected graph and features; blocks from the real sampler.
struct graph_fixture {
  std::int64_t n = 300, dim = 12, classes = 4;
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int32_t> indices;
  std::vector<float> x;
  std::vector<std::int64_t> labels;
  graph_fixture() {
    counter_rng r(1, 0);
    for (std::int64_t v = 0; v < n; ++v) {
      const auto deg = 1 + static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(v), 9));
      for (std::int64_t k = 0; k < deg; ++k)
        indices.push_back(static_cast<std::int32_t>(r.below(static_cast<std::uint64_t>(v * 64 + k + 1000000), n)));
      std::sort(indices.begin() + indptr.back(), indices.end());
      indices.erase(std::unique(indices.begin() + indptr.back(), indices.end()), indices.end());
      indptr.push_back(static_cast<std::int64_t>(indices.size()));
    }
    x.resize(static_cast<std::size_t>(n * dim));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = r.normal(5000000 + i);
    for (std::int64_t v = 0; v < n; ++v) labels.push_back(v % classes);
  }
  // 40 seeds from `first`, drawn as batch `index` of epoch 0.
  sampled_batch batch(const std::vector<std::int64_t>& fanouts, std::int64_t first = 100,
                      std::int64_t index = 0) const {
    neighbor_sampler s(n, indptr.data(), indices.data(), dtype::int32, fanouts, 3);
    std::vector<std::int64_t> seeds(40);
    std::iota(seeds.begin(), seeds.end(), first);
    sampled_batch b;
    s.sample(span<const std::int64_t>(seeds), 0, index, &b);
    return b;
  }
  std::vector<float> inputs(const sampled_batch& b) const {
    std::vector<float> in;
    for (std::int64_t id : b.input_nodes()) in.insert(in.end(), x.begin() + id * dim, x.begin() + (id + 1) * dim);
    return in;
  }
};

}  // namespace tg::test
