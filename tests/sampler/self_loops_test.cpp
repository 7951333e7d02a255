#include <gtest/gtest.h>
#include <tbb/parallel_for.h>

#include <cstdint>
#include <vector>

#include "sampler/self_loops.hpp"

namespace {

// Rows (in-neighbours, unsorted): 0:[2,0,1] 1:[] 2:[1,3] 3:[3] 4:[0,1,2,3] ... node v >= 5 lists itself
// when v % 7 == 0, somewhere in a row of v % 5 + 1 entries.
struct graph {
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int64_t> indices;
  std::vector<bool> loop;
};

graph make(std::int64_t n) {
  graph g;
  const std::vector<std::vector<std::int64_t>> first{{2, 0, 1}, {}, {1, 3}, {3}, {0, 1, 2, 3}};
  for (std::int64_t v = 0; v < n; ++v) {
    std::vector<std::int64_t> row;
    if (v < 5) {
      row = first[static_cast<std::size_t>(v)];
    } else {
      for (std::int64_t j = 0; j <= v % 5; ++j) row.push_back((v + 1 + 3 * j) % n == v ? 0 : (v + 1 + 3 * j) % n);
      if (v % 7 == 0) row.insert(row.begin() + static_cast<std::ptrdiff_t>(row.size() / 2), v);
    }
    bool has = false;
    for (auto u : row) has = has || u == v;
    g.loop.push_back(has);
    g.indices.insert(g.indices.end(), row.begin(), row.end());
    g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  }
  return g;
}

}  // namespace

TEST(SelfLoops, FoundInAnyPositionForBothIndexTypes) {
  const graph g = make(1000);
  const std::vector<std::int32_t> idx32(g.indices.begin(), g.indices.end());
  const tg::self_loop_index a(1000, g.indptr.data(), g.indices.data(), tg::dtype::int64);
  const tg::self_loop_index b(1000, g.indptr.data(), idx32.data(), tg::dtype::int32);
  EXPECT_TRUE(a.has(0));
  EXPECT_FALSE(a.has(1));  // an empty row
  EXPECT_FALSE(a.has(2));
  EXPECT_TRUE(a.has(3));  // a row of only itself
  EXPECT_FALSE(a.has(4));
  for (std::int64_t v = 0; v < 1000; ++v) {
    ASSERT_EQ(a.has(v), g.loop[static_cast<std::size_t>(v)]) << v;
    ASSERT_EQ(b.has(v), g.loop[static_cast<std::size_t>(v)]) << v;
    ASSERT_EQ(a.has(v), g.loop[static_cast<std::size_t>(v)]) << v << " (asked again: the kept answer)";
    const std::int64_t deg = g.indptr[v + 1] - g.indptr[v];
    EXPECT_EQ(a.degree_without_loop(v, deg), deg - (g.loop[static_cast<std::size_t>(v)] ? 1 : 0)) << v;
  }
  EXPECT_EQ(a.degree_without_loop(1, 0), 0);
}

TEST(SelfLoops, ThreadsAskingAtOnceGetTheSameAnswers) {
  const std::int64_t n = 100000;
  const graph g = make(n);
  for (int round = 0; round < 3; ++round) {
    const tg::self_loop_index s(n, g.indptr.data(), g.indices.data(), tg::dtype::int64);
    std::vector<char> got(static_cast<std::size_t>(n) * 4);
    // Every node asked four times, by whichever threads run the chunks: neighbours in a word race.
    tbb::parallel_for(std::int64_t{0}, n * 4, [&](std::int64_t i) {
      const std::int64_t v = (i * 7919) % n;
      got[static_cast<std::size_t>(i)] = s.has(v) ? 1 : 0;
    });
    for (std::int64_t i = 0; i < n * 4; ++i)
      ASSERT_EQ(got[static_cast<std::size_t>(i)] != 0, g.loop[static_cast<std::size_t>((i * 7919) % n)]) << i;
  }
}
