#include <gtest/gtest.h>

#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/gather.hpp"

using namespace tg;

TEST(GatherCpu, RandomIdsIncludingRepeatsMatchReference) {
  const std::int64_t rows = 1000, dim = 37;  // 148-byte rows: not a multiple of 16
  std::vector<float> table(rows * dim);
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<float>(i);
  counter_rng rng(3, 0);
  std::vector<std::int64_t> ids(5000);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(rng.below(i, rows));
  std::vector<float> out(ids.size() * dim);
  gather_rows_cpu(table.data(), rows, dim * 4, span<const std::int64_t>(ids), out.data());
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (std::int64_t j = 0; j < dim; ++j) ASSERT_EQ(out[i * dim + j], table[ids[i] * dim + j]);
  gather_rows_cpu(table.data(), rows, dim * 4, span<const std::int64_t>(), nullptr);  // empty batch
}

TEST(GatherCpu, OutOfRangeIdIsReported) {
  std::vector<float> table(10);
  std::vector<std::int64_t> ids{1, 10};
  std::vector<float> out(2);
  try {
    gather_rows_cpu(table.data(), 10, 4, span<const std::int64_t>(ids), out.data());
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("id 10 at position 1 is outside [0, 10)"), std::string::npos);
  }
}
