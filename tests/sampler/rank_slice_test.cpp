#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sampler/rank_slice.hpp"

using namespace tg;

TEST(RankSlice, CoversEverythingOnceWithBalancedSizes) {
  for (int world : {1, 2, 3, 8})
    for (std::int64_t n : {0, 1, 7, 1000, 1001}) {
      std::int64_t next = 0;
      for (int r = 0; r < world; ++r) {
        const index_range s = rank_slice(n, r, world);
        EXPECT_EQ(s.begin, next);
        EXPECT_LE(s.size(), n / world + 1);
        EXPECT_GE(s.size(), n / world);
        next = s.end;
      }
      EXPECT_EQ(next, n);
    }
  EXPECT_THROW(rank_slice(10, 2, 2), input_error);
}
