#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.hpp"

using namespace tg;

// Known-answer tests from the Random123 distribution (kat_vectors, philox4x32 10 rounds).
TEST(Philox, KnownAnswerVectors) {
  const philox_ctr z = philox4x32(philox_ctr{{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(z.v[0], 0x6627e8d5u);
  EXPECT_EQ(z.v[1], 0xe169c58du);
  EXPECT_EQ(z.v[2], 0xbc57ac4cu);
  EXPECT_EQ(z.v[3], 0x9b00dbd8u);
  const philox_ctr f = philox4x32(philox_ctr{{~0u, ~0u, ~0u, ~0u}}, ~0u, ~0u);
  EXPECT_EQ(f.v[0], 0x408f276du);
  EXPECT_EQ(f.v[1], 0x41c83b0eu);
  EXPECT_EQ(f.v[2], 0xa20bc7c6u);
  EXPECT_EQ(f.v[3], 0x6d5451fdu);
}

TEST(CounterRng, PureFunctionOfKeyAndPosition) {
  counter_rng a(42, stream_id(1, 2, 3)), b(42, stream_id(1, 2, 3)), c(43, stream_id(1, 2, 3));
  for (std::uint64_t p : {0ull, 1ull, 1000000007ull}) {
    EXPECT_EQ(a.u64(p), b.u64(p));
    EXPECT_NE(a.u64(p), c.u64(p));
  }
  EXPECT_NE(stream_id(1, 2, 3), stream_id(1, 3, 2));
}

TEST(CounterRng, BelowIsUniformChiSquare) {
  counter_rng r(7, 0);
  const int k = 10, n = 100000;
  std::vector<int> count(k, 0);
  for (int i = 0; i < n; ++i) {
    const auto x = r.below(i, k);
    ASSERT_LT(x, static_cast<std::uint64_t>(k));
    ++count[x];
  }
  double chi2 = 0;
  for (int c : count) chi2 += (c - n / k) * (c - n / k) / double(n / k);
  EXPECT_LT(chi2, 27.88);  // 99.9% quantile, 9 degrees of freedom
}

TEST(CounterRng, UniformAndNormalMoments) {
  counter_rng r(11, 5);
  double su = 0, sn = 0, sn2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform(i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = r.normal(i);
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}
