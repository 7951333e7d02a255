#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "sampler/batcher.hpp"

using namespace tg;

TEST(Batcher, EpochIsAPermutationSplitIntoBatches) {
  std::vector<std::int64_t> ids(1000);
  std::iota(ids.begin(), ids.end(), 5);
  const batch_plan p = plan_epoch(span<const std::int64_t>(ids), 64, 1, 0);
  EXPECT_EQ(p.num_batches(), 16);
  EXPECT_EQ(p.batch(15).size(), 1000u - 15 * 64);
  auto sorted = p.order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, ids);
  EXPECT_NE(p.order, ids);
}

TEST(Batcher, SameSeedSameOrderForAnyThreadCountAndEpochsDiffer) {
  std::vector<std::int64_t> ids(50000);
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<std::int64_t> one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    one = plan_epoch(span<const std::int64_t>(ids), 1024, 9, 3).order;
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    two = plan_epoch(span<const std::int64_t>(ids), 1024, 9, 3).order;
  }
  EXPECT_EQ(one, two);
  EXPECT_NE(one, plan_epoch(span<const std::int64_t>(ids), 1024, 9, 4).order);
  EXPECT_NE(one, plan_epoch(span<const std::int64_t>(ids), 1024, 10, 3).order);
}

TEST(Batcher, BatchSizeZeroIsAnInputError) {
  std::vector<std::int64_t> ids{1, 2};
  EXPECT_THROW(plan_epoch(span<const std::int64_t>(ids), 0, 1, 0), input_error);
}
