// Tests of the CPU compute kernels used by the GNN layers: matmul, aggregation, bias, ReLU, dropout,
// softmax + NLL and Adam. Three kinds of checks:
//  - gradients in double precision by central finite differences of the forward kernels, with a
//    scalar objective L = sum(out * R) for a fixed random R;
//  - forward results against naive loops or hand-computed small examples;
//  - bitwise determinism across thread counts (1 vs 2 TBB threads) on inputs spanning many tiles.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/rng_bulk.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/adam.hpp"
#include "kernels/aggregate.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/loss.hpp"
#include "kernels/matmul.hpp"
#include "fd_check.hpp"

using namespace tg;
using namespace tg::test;

namespace {

// ---------------------------------------------------------------------------------------------
// matmul helpers: op(A) is m x k, op(B) is k x n, C is m x n; every matrix stored with a padded
// leading dimension so that reading or writing outside the logical matrix would show.

struct mm_shape {
  bool ta, tb;
  std::int64_t m, n, k;
  std::int64_t pad = 3;
  std::int64_t a_rows() const { return ta ? k : m; }
  std::int64_t a_cols() const { return ta ? m : k; }
  std::int64_t b_rows() const { return tb ? n : k; }
  std::int64_t b_cols() const { return tb ? k : n; }
  std::int64_t lda() const { return a_cols() + pad; }
  std::int64_t ldb() const { return b_cols() + pad; }
  std::int64_t ldc() const { return n + pad; }
  std::string name() const {
    return std::string(ta ? "T" : "N") + (tb ? "T" : "N") + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
           " k=" + std::to_string(k);
  }
};

// Naive reference C = alpha op(A) op(B) + beta C, accumulated in long double.
template <typename T>
void naive_matmul(const mm_shape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  for (std::int64_t i = 0; i < s.m; ++i)
    for (std::int64_t j = 0; j < s.n; ++j) {
      long double acc = 0;
      for (std::int64_t p = 0; p < s.k; ++p) {
        const T av = s.ta ? a[p * s.lda() + i] : a[i * s.lda() + p];
        const T bv = s.tb ? b[j * s.ldb() + p] : b[p * s.ldb() + j];
        acc += static_cast<long double>(av) * bv;
      }
      T& out = c[i * s.ldc() + j];
      out = static_cast<T>(alpha * acc + (beta == T(0) ? 0.0L : static_cast<long double>(beta) * out));
    }
}

template <typename T>
void run_matmul_vs_naive(const mm_shape& s, T alpha, T beta, double rtol) {
  const auto a = random_vec<T>(static_cast<std::size_t>(s.a_rows() * s.lda()), 1);
  const auto b = random_vec<T>(static_cast<std::size_t>(s.b_rows() * s.ldb()), 2);
  auto c = random_vec<T>(static_cast<std::size_t>(std::max<std::int64_t>(s.m, 1) * s.ldc()), 3);
  auto ref = c;
  matmul<T>(s.ta, s.tb, s.m, s.n, s.k, alpha, a.data(), s.lda(), b.data(), s.ldb(), beta, c.data(), s.ldc());
  naive_matmul<T>(s, alpha, a.data(), b.data(), beta, ref.data());
  for (std::int64_t i = 0; i < s.m; ++i) {
    for (std::int64_t j = 0; j < s.n; ++j) {
      // Error bound relative to sum |alpha a b| + |beta c|, the natural scale of a dot product.
      long double mag = 0;
      for (std::int64_t p = 0; p < s.k; ++p) {
        const T av = s.ta ? a[p * s.lda() + i] : a[i * s.lda() + p];
        const T bv = s.tb ? b[j * s.ldb() + p] : b[p * s.ldb() + j];
        mag += std::abs(static_cast<long double>(av) * bv);
      }
      const double tol = rtol * (std::abs(static_cast<double>(alpha)) * static_cast<double>(mag) + 1.0);
      ASSERT_NEAR(c[i * s.ldc() + j], ref[i * s.ldc() + j], tol) << s.name() << " at (" << i << "," << j << ")";
    }
    for (std::int64_t j = s.n; j < s.ldc(); ++j)  // padding of C is never written
      ASSERT_EQ(c[i * s.ldc() + j], ref[i * s.ldc() + j]) << s.name() << " wrote padding at row " << i;
  }
}

// Forces a matmul<float> kernel for a scope; ok is false (and nothing changes) when the CPU lacks it.
struct kernel_guard {
  bool ok;
  explicit kernel_guard(matmul_kernel kind) : ok(set_matmul_kernel(kind)) {}
  ~kernel_guard() { set_matmul_kernel(matmul_kernel::automatic); }
  kernel_guard(const kernel_guard&) = delete;
  kernel_guard& operator=(const kernel_guard&) = delete;
};

std::uint32_t bits_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// ---------------------------------------------------------------------------------------------
// Aggregation fixtures.

struct csr {
  std::int64_t num_dst, num_src;
  std::vector<std::int64_t> indptr;
  std::vector<std::int32_t> indices;
};

// A random block: 7 destinations over 12 sources, distinct sources per row, row 1 and row 5 empty,
// row 3 containing its own self-loop (in the middle of the row), sources >= num_dst present.
csr random_block() {
  csr g{7, 12, {0}, {}};
  counter_rng rng(99, 5);
  std::uint64_t pos = 0;
  for (std::int64_t v = 0; v < g.num_dst; ++v) {
    std::vector<std::int32_t> row;
    if (v != 1 && v != 5) {
      const std::uint64_t deg = 2 + rng.below(pos++, 4);  // 2..5
      std::set<std::int32_t> seen;
      if (v == 3) seen.insert(3);
      while (row.size() < deg) {
        const auto u = static_cast<std::int32_t>(rng.below(pos++, static_cast<std::uint64_t>(g.num_src)));
        if (u == v && v != 3) continue;  // only row 3 has a self-loop
        if (seen.insert(u).second) row.push_back(u);
      }
      if (v == 3) row.insert(row.begin() + 1, 3);
    }
    g.indices.insert(g.indices.end(), row.begin(), row.end());
    g.indptr.push_back(static_cast<std::int64_t>(g.indices.size()));
  }
  return g;
}

// The 3 x 5 hand example: row 0 = {1, 3}, row 1 empty, row 2 = {2, 0, 4} (with its self-loop).
const csr kHand{3, 5, {0, 2, 2, 5}, {1, 3, 2, 0, 4}};
const std::vector<double> kHandX{1, 2, 3, -1, 0.5, 4, -2, 1, 6, 0};  // 5 x 2

}  // namespace

// =============================================================================================
// matmul

TEST(MatmulCpu, MatchesNaiveLoopFloatAndDouble) {
  const std::vector<mm_shape> shapes{
      {false, false, 300, 150, 70}, {false, true, 300, 150, 70}, {true, false, 300, 150, 70},
      {true, true, 300, 150, 70},   {false, false, 1, 1, 1},     {true, true, 129, 257, 3},
      {false, true, 128, 128, 128}, {true, false, 5, 200, 131},
  };
  for (const auto& s : shapes) {
    run_matmul_vs_naive<double>(s, 1.0, 0.0, 1e-13);
    run_matmul_vs_naive<double>(s, 0.5, -1.5, 1e-13);
  }
  // float: every kernel this CPU has (the BLAS path always).
  for (const auto kind : {matmul_kernel::avx512, matmul_kernel::avx2, matmul_kernel::blas}) {
    const kernel_guard guard(kind);
    if (!guard.ok) {
      std::printf("[   NOTE   ] matmul kernel %d not on this CPU: not tested\n", static_cast<int>(kind));
      continue;
    }
    for (const auto& s : shapes) {
      SCOPED_TRACE("kernel " + std::to_string(static_cast<int>(kind)));
      run_matmul_vs_naive<float>(s, 1.0f, 0.0f, 1e-5);
      run_matmul_vs_naive<float>(s, 1.0f, 1.0f, 1e-5);
      run_matmul_vs_naive<float>(s, -2.0f, 0.25f, 1e-5);
    }
  }
}

// tiergnn's float kernels compute every element as one fused multiply-add chain over k in order
// (from 0, or from C when beta = 1), with long products of small outputs split into fixed chunks of
// 4096 of k summed in order: checked bit for bit against that rule written as a scalar loop, for
// both kernels (so they agree with each other: the same bits on any machine), on shapes that cover
// register-tile edges (m not a multiple of 12 or 6, n not of 32 or 16, n < 16), k longer than one
// pass of the tile (256) and than one packing of B (4096), and the split path (B's whole panels read in
// place, a ragged one packed).
TEST(MatmulCpu, OwnFloatKernelsAreOneFmaChainPerElementBitForBit) {
  const std::vector<mm_shape> shapes{
      {false, false, 37, 45, 300},
      {false, true, 25, 7, 129},
      {true, false, 13, 70, 513},
      {true, true, 50, 33, 17},
      {false, false, 200, 64, 4100},
      {true, false, 40, 24, 9000},
      {false, false, 31, 19, 8192},
      {false, true, 1, 1, 1},
      {true, false, 600, 20, 9000},
      // split-k with whole panels of B read in place (3 of 32 / 6 of 16 columns), and with a ragged
      // last panel beside them
      {true, false, 70, 96, 9000},
      {false, false, 33, 70, 8200},
  };
  auto reference = [](const mm_shape& s, const std::vector<float>& a, const std::vector<float>& b, bool from_c,
                      std::vector<float> c) {
    const bool split = s.k >= 8192 && s.m * s.n <= 512 * 512;
    for (std::int64_t i = 0; i < s.m; ++i)
      for (std::int64_t j = 0; j < s.n; ++j) {
        auto chain = [&](std::int64_t p0, std::int64_t p1, float acc) {
          for (std::int64_t p = p0; p < p1; ++p) {
            const float av = s.ta ? a[p * s.lda() + i] : a[i * s.lda() + p];
            const float bv = s.tb ? b[j * s.ldb() + p] : b[p * s.ldb() + j];
            acc = std::fma(av, bv, acc);
          }
          return acc;
        };
        float& out = c[i * s.ldc() + j];
        if (!split) {
          out = chain(0, s.k, from_c ? out : 0.0f);
        } else {
          float acc = from_c ? out : 0.0f;
          for (std::int64_t p0 = 0; p0 < s.k; p0 += 4096) acc += chain(p0, std::min(s.k, p0 + 4096), 0.0f);
          out = acc;
        }
      }
    return c;
  };
  int tested = 0;
  for (const auto kind : {matmul_kernel::avx512, matmul_kernel::avx2}) {
    const kernel_guard guard(kind);
    if (!guard.ok) {
      std::printf("[   NOTE   ] matmul kernel %d not on this CPU: not tested\n", static_cast<int>(kind));
      continue;
    }
    ++tested;
    for (const auto& s : shapes)
      for (const bool from_c : {false, true}) {
        const auto a = random_vec<float>(static_cast<std::size_t>(s.a_rows() * s.lda()), 21);
        const auto b = random_vec<float>(static_cast<std::size_t>(s.b_rows() * s.ldb()), 22);
        auto c = random_vec<float>(static_cast<std::size_t>(s.m * s.ldc()), 23);
        const auto want = reference(s, a, b, from_c, c);
        matmul<float>(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), s.lda(), b.data(), s.ldb(), from_c ? 1.0f : 0.0f,
                      c.data(), s.ldc());
        for (std::size_t e = 0; e < c.size(); ++e)
          ASSERT_EQ(bits_of(c[e]), bits_of(want[e]))
              << "kernel " << static_cast<int>(kind) << " " << s.name() << " beta " << from_c << " at " << e;
      }
  }
  if (tested == 0) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2+FMA: matmul<float> runs OpenBLAS";
}

// matmul_sum2 (GraphSAGE's y = x W_self + agg W_neigh in one pass) is bit for bit the two matmul
// calls it replaces, with every kernel, beta 0 and 1, across rounds of packing (k over 4096) and with
// a split-k term (which falls back to the two calls).
TEST(MatmulCpu, SumOfTwoProductsIsBitForBitTwoCalls) {
  struct sh {
    bool ta, tb;
    std::int64_t m, n, k1, k2;
  };
  const std::vector<sh> shapes{{false, false, 61, 45, 128, 128}, {true, false, 30, 70, 33, 300},
                               {false, true, 25, 7, 9, 5000},    {true, true, 13, 20, 4097, 100},
                               {false, false, 20, 30, 9000, 64}, {false, false, 600, 500, 2100, 2100}};
  for (const auto kind : {matmul_kernel::avx512, matmul_kernel::avx2, matmul_kernel::blas}) {
    const kernel_guard guard(kind);
    if (!guard.ok) continue;
    for (const auto& s : shapes)
      for (const float beta : {0.0f, 1.0f}) {
        const std::int64_t lda1 = s.ta ? s.m : s.k1, ldb1 = s.tb ? s.k1 : s.n;
        const std::int64_t lda2 = s.ta ? s.m : s.k2, ldb2 = s.tb ? s.k2 : s.n;
        const auto a1 = random_vec<float>(static_cast<std::size_t>(s.m * s.k1), 31);
        const auto b1 = random_vec<float>(static_cast<std::size_t>(s.k1 * s.n), 32);
        const auto a2 = random_vec<float>(static_cast<std::size_t>(s.m * s.k2), 33);
        const auto b2 = random_vec<float>(static_cast<std::size_t>(s.k2 * s.n), 34);
        auto c = random_vec<float>(static_cast<std::size_t>(s.m * s.n), 35);
        auto want = c;
        matmul<float>(s.ta, s.tb, s.m, s.n, s.k1, 1.0f, a1.data(), lda1, b1.data(), ldb1, beta, want.data(), s.n);
        matmul<float>(s.ta, s.tb, s.m, s.n, s.k2, 1.0f, a2.data(), lda2, b2.data(), ldb2, 1.0f, want.data(), s.n);
        matmul_sum2<float>(s.ta, s.tb, s.m, s.n, s.k1, a1.data(), lda1, b1.data(), ldb1, s.k2, a2.data(), lda2,
                           b2.data(), ldb2, beta, c.data(), s.n);
        for (std::size_t e = 0; e < c.size(); ++e)
          ASSERT_EQ(bits_of(c[e]), bits_of(want[e])) << "kernel " << static_cast<int>(kind) << " m=" << s.m
                                                     << " n=" << s.n << " k=" << s.k1 << "+" << s.k2 << " at " << e;
      }
  }
}

TEST(MatmulCpu, ZeroInnerDimensionScalesC) {
  std::vector<double> c{1, 2, 3, 4, 5, 6};
  matmul<double>(false, false, 2, 3, 0, 1.0, nullptr, 1, nullptr, 3, 2.0, c.data(), 3);
  EXPECT_EQ(c, (std::vector<double>{2, 4, 6, 8, 10, 12}));
  // beta = 0 overwrites, even NaN (BLAS convention: C is not read).
  c.assign(6, std::numeric_limits<double>::quiet_NaN());
  matmul<double>(false, false, 2, 3, 0, 1.0, nullptr, 1, nullptr, 3, 0.0, c.data(), 3);
  EXPECT_EQ(c, std::vector<double>(6, 0.0));
}

// Gradients of L = sum(op(A) op(B) * R) computed with matmul itself (as a linear layer's backward
// pass does) against central differences of the forward matmul.
TEST(MatmulCpu, GradientsMatchFiniteDifferencesAllTransposes) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const mm_shape s{ta, tb, 300, 150, 70};
      auto a = random_vec<double>(static_cast<std::size_t>(s.a_rows() * s.lda()), 11);
      auto b = random_vec<double>(static_cast<std::size_t>(s.b_rows() * s.ldb()), 12);
      const auto r = random_vec<double>(static_cast<std::size_t>(s.m * s.n), 13);
      std::vector<double> c(static_cast<std::size_t>(s.m * s.ldc()));
      auto loss = [&] {
        matmul<double>(ta, tb, s.m, s.n, s.k, 1.0, a.data(), s.lda(), b.data(), s.ldb(), 0.0, c.data(), s.ldc());
        long double l = 0;
        for (std::int64_t i = 0; i < s.m; ++i)
          for (std::int64_t j = 0; j < s.n; ++j) l += static_cast<long double>(c[i * s.ldc() + j]) * r[i * s.n + j];
        return static_cast<double>(l);
      };
      std::vector<double> da(a.size(), 0.0), db(b.size(), 0.0);
      if (!ta)  // dA = R op(B)^T
        matmul<double>(false, !tb, s.m, s.k, s.n, 1.0, r.data(), s.n, b.data(), s.ldb(), 0.0, da.data(), s.lda());
      else  // dA = (R op(B)^T)^T = op(B) R^T
        matmul<double>(tb, true, s.k, s.m, s.n, 1.0, b.data(), s.ldb(), r.data(), s.n, 0.0, da.data(), s.lda());
      if (!tb)  // dB = op(A)^T R
        matmul<double>(!ta, false, s.k, s.n, s.m, 1.0, a.data(), s.lda(), r.data(), s.n, 0.0, db.data(), s.ldb());
      else  // dB = (op(A)^T R)^T = R^T op(A)
        matmul<double>(true, ta, s.n, s.k, s.m, 1.0, r.data(), s.n, a.data(), s.lda(), 0.0, db.data(), s.ldb());

      // Entries spread over several 128-tiles of the output, corners included.
      counter_rng pick(7, ta * 2 + tb);
      auto check = [&](std::vector<double>& x, const std::vector<double>& g, std::int64_t rows, std::int64_t cols,
                       std::int64_t ld, const char* which) {
        const double scale = rms(g);
        ASSERT_GT(scale, 0.0);
        std::vector<std::pair<std::int64_t, std::int64_t>> at{
            {0, 0}, {rows - 1, cols - 1}, {0, cols - 1}, {rows - 1, 0}};
        for (std::uint64_t t = 0; t < 12; ++t)
          at.emplace_back(static_cast<std::int64_t>(pick.below(2 * t, static_cast<std::uint64_t>(rows))),
                          static_cast<std::int64_t>(pick.below(2 * t + 1, static_cast<std::uint64_t>(cols))));
        for (const auto& [i, j] : at)
          expect_grad_close(central_diff(loss, x[i * ld + j]), g[i * ld + j], scale, 1e-6,
                            s.name() + " d" + which + "(" + std::to_string(i) + "," + std::to_string(j) + ")");
        // A padding entry has no influence at all.
        const double l0 = loss();
        x[cols] += 1.0;
        EXPECT_EQ(loss(), l0) << s.name() << " padding of " << which << " was read";
        x[cols] -= 1.0;
        // Directional derivative along a random direction covers every entry at once.
        const auto dir = random_vec<double>(x.size(), 21);
        const auto saved = x;
        const double h = 1e-6;
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = saved[i] + h * dir[i];
        const double lp = loss();
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = saved[i] - h * dir[i];
        const double lm = loss();
        x = saved;
        long double expected = 0;
        for (std::int64_t i = 0; i < rows; ++i)
          for (std::int64_t j = 0; j < cols; ++j) expected += static_cast<long double>(g[i * ld + j]) * dir[i * ld + j];
        EXPECT_NEAR((lp - lm) / (2 * h), static_cast<double>(expected), 1e-6 * std::abs(static_cast<double>(expected)))
            << s.name() << " directional derivative w.r.t. " << which;
      };
      check(a, da, s.a_rows(), s.a_cols(), s.lda(), "A");
      check(b, db, s.b_rows(), s.b_cols(), s.ldb(), "B");
    }
}

TEST(MatmulCpu, BitwiseIdenticalWithOneAndTwoThreads) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const mm_shape s{ta, tb, 400, 300, 90};  // 4 x 3 output tiles
      const auto a = random_vec<float>(static_cast<std::size_t>(s.a_rows() * s.lda()), 31);
      const auto b = random_vec<float>(static_cast<std::size_t>(s.b_rows() * s.ldb()), 32);
      const auto c0 = random_vec<float>(static_cast<std::size_t>(s.m * s.ldc()), 33);
      auto run = [&](int threads) {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
        auto c = c0;
        matmul<float>(ta, tb, s.m, s.n, s.k, 1.5f, a.data(), s.lda(), b.data(), s.ldb(), 0.5f, c.data(), s.ldc());
        return c;
      };
      const auto one = run(1), two = run(2);
      ASSERT_EQ(one.size(), two.size());
      for (std::size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << s.name() << " element " << i;
    }
}

// =============================================================================================
// aggregation

TEST(AggregateCpu, HandExampleSumMeanGcn) {
  const double r2 = std::sqrt(2.0), r3 = std::sqrt(3.0), r6 = std::sqrt(6.0);
  struct expect_t {
    aggregator kind;
    std::vector<double> y;  // 3 x 2
  };
  // Sum: y0 = x1 + x3, y1 = 0, y2 = x2 + x0 + x4. Mean divides by the row length.
  // GCN adds self-loops: rows {0,1,3}, {1}, {2,0,4}; deg_in = 3, 1, 3; deg_out(u) = 2, 2, 1, 1, 1.
  const std::vector<expect_t> cases{
      {aggregator::sum, {1, 0, 0, 0, 7.5, 6}},
      {aggregator::mean, {0.5, 0, 0, 0, 2.5, 2}},
      {aggregator::gcn, {4 / r6 - 2 / r3, 1 / r6 + 1 / r3, 3 / r2, -1 / r2, 6.5 / r3 + 1 / r6, 4 / r3 + 2 / r6}},
  };
  for (const auto& tc : cases) {
    const auto g =
        make_agg_graph<double>(tc.kind, kHand.num_dst, kHand.num_src, kHand.indptr.data(), kHand.indices.data());
    std::vector<double> y(6, -99.0);
    aggregate_forward(g, kHandX.data(), 2, y.data());
    for (std::size_t i = 0; i < y.size(); ++i)
      EXPECT_NEAR(y[i], tc.y[i], 1e-14) << "aggregator " << static_cast<int>(tc.kind) << " element " << i;
  }
  // GCN weights, edge by edge, in the documented order (self-loop first).
  const auto g = make_agg_graph<double>(aggregator::gcn, 3, 5, kHand.indptr.data(), kHand.indices.data());
  EXPECT_EQ(g.indptr, (std::vector<std::int64_t>{0, 3, 4, 7}));
  EXPECT_EQ(g.indices, (std::vector<std::int32_t>{0, 1, 3, 1, 2, 0, 4}));
  const std::vector<double> w{1 / r6, 1 / r6, 1 / r3, 1 / r2, 1 / r3, 1 / r6, 1 / r3};
  ASSERT_EQ(g.weights.size(), w.size());
  for (std::size_t e = 0; e < w.size(); ++e) EXPECT_NEAR(g.weights[e], w[e], 1e-15) << "edge " << e;
  // Backward: dx[u] = sum over destinations v reading u of w_uv dy[v].
  const std::vector<double> dy{1, 2, 10, 20, 100, 200};
  std::vector<double> dx(10, -99.0);
  const auto gs = make_agg_graph<double>(aggregator::sum, 3, 5, kHand.indptr.data(), kHand.indices.data());
  aggregate_backward(transpose(gs), dy.data(), 2, dx.data());
  EXPECT_EQ(dx, (std::vector<double>{100, 200, 1, 2, 100, 200, 1, 2, 100, 200}));
  aggregate_backward(transpose(g), dy.data(), 2, dx.data());
  const std::vector<double> dx_gcn{1 / r6 + 100 / r6, 2 / r6 + 200 / r6, 1 / r6 + 10 / r2, 2 / r6 + 20 / r2,
                                   100 / r3,          200 / r3,          1 / r3,           2 / r3,
                                   100 / r3,          200 / r3};
  for (std::size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], dx_gcn[i], 1e-13) << "gcn dx element " << i;
}

TEST(AggregateCpu, WeightsOnRandomBlock) {
  const csr b = random_block();
  const auto n = static_cast<std::size_t>(b.num_dst);
  // mean: 1 / deg, exactly; sum: all ones (or no weights).
  const auto gm = make_agg_graph<double>(aggregator::mean, b.num_dst, b.num_src, b.indptr.data(), b.indices.data());
  EXPECT_EQ(gm.indptr, b.indptr);
  EXPECT_EQ(gm.indices, b.indices);
  ASSERT_EQ(gm.weights.size(), b.indices.size());
  for (std::size_t v = 0; v < n; ++v)
    for (std::int64_t e = b.indptr[v]; e < b.indptr[v + 1]; ++e)
      EXPECT_EQ(gm.weights[e], 1.0 / static_cast<double>(b.indptr[v + 1] - b.indptr[v]));
  const auto gs = make_agg_graph<double>(aggregator::sum, b.num_dst, b.num_src, b.indptr.data(), b.indices.data());
  EXPECT_EQ(gs.indices, b.indices);
  for (double w : gs.weights) EXPECT_EQ(w, 1.0);

  // gcn: computed independently from the neighbour sets with self-loops (each counted once).
  std::vector<std::vector<std::int32_t>> rows(n);
  std::vector<int> deg_out(static_cast<std::size_t>(b.num_src), 0);
  for (std::size_t v = 0; v < n; ++v) {
    rows[v].push_back(static_cast<std::int32_t>(v));
    for (std::int64_t e = b.indptr[v]; e < b.indptr[v + 1]; ++e)
      if (b.indices[e] != static_cast<std::int32_t>(v)) rows[v].push_back(b.indices[e]);
    for (auto u : rows[v]) ++deg_out[u];
  }
  const auto gg = make_agg_graph<double>(aggregator::gcn, b.num_dst, b.num_src, b.indptr.data(), b.indices.data());
  ASSERT_EQ(gg.indptr.size(), n + 1);
  for (std::size_t v = 0; v < n; ++v) {
    ASSERT_EQ(gg.indptr[v + 1] - gg.indptr[v], static_cast<std::int64_t>(rows[v].size())) << "row " << v;
    for (std::size_t i = 0; i < rows[v].size(); ++i) {
      const std::int64_t e = gg.indptr[v] + static_cast<std::int64_t>(i);
      const auto u = rows[v][i];
      EXPECT_EQ(gg.indices[e], u) << "row " << v;
      EXPECT_NEAR(gg.weights[e], 1.0 / std::sqrt(static_cast<double>(rows[v].size()) * deg_out[u]), 1e-15)
          << "edge " << v << " <- " << u;
    }
  }
  // The transpose lists each source's destinations in increasing order, weights carried along.
  const auto gt = transpose(gg);
  EXPECT_EQ(gt.num_dst, b.num_src);
  EXPECT_EQ(gt.num_src, b.num_dst);
  ASSERT_EQ(gt.indices.size(), gg.indices.size());
  for (std::int64_t u = 0; u < gt.num_dst; ++u) {
    EXPECT_EQ(gt.indptr[u + 1] - gt.indptr[u], deg_out[u]) << "source " << u;
    for (std::int64_t e = gt.indptr[u]; e < gt.indptr[u + 1]; ++e) {
      if (e > gt.indptr[u]) {
        EXPECT_LT(gt.indices[e - 1], gt.indices[e]);
      }
      const auto v = gt.indices[e];
      EXPECT_NEAR(gt.weights[e], 1.0 / std::sqrt(static_cast<double>(rows[v].size()) * deg_out[u]), 1e-15);
    }
  }
}

// With the full graph's degrees: self-loop 1 / (d_v + 1), edge (d_v / k_v) / sqrt((d_u+1)(d_v+1)).
TEST(AggregateCpu, GcnWithFullGraphDegrees) {
  const std::vector<std::int64_t> src_degree{4, 2, 3, 1, 5};  // full-graph in-degrees of the 5 sources
  const auto g =
      make_agg_graph<double>(aggregator::gcn, 3, 5, kHand.indptr.data(), kHand.indices.data(), src_degree.data());
  EXPECT_EQ(g.indices, (std::vector<std::int32_t>{0, 1, 3, 1, 2, 0, 4}));
  auto w = [&](double dv, double kv, double du) { return (dv / kv) / std::sqrt((du + 1) * (dv + 1)); };
  const std::vector<double> expected{1.0 / 5, w(4, 2, 2), w(4, 2, 1),   // row 0: d=4, k=2 sampled
                                     1.0 / 3,                           // row 1: nothing sampled
                                     1.0 / 4, w(3, 2, 4), w(3, 2, 5)};  // row 2: d=3, own loop not counted
  ASSERT_EQ(g.weights.size(), expected.size());
  for (std::size_t e = 0; e < expected.size(); ++e) EXPECT_NEAR(g.weights[e], expected[e], 1e-15) << "edge " << e;
}

TEST(AggregateCpu, BackwardMatchesFiniteDifferencesMeanSumGcn) {
  const csr b = random_block();
  const std::int64_t dim = 3;
  for (aggregator kind : {aggregator::mean, aggregator::sum, aggregator::gcn}) {
    const auto g = make_agg_graph<double>(kind, b.num_dst, b.num_src, b.indptr.data(), b.indices.data());
    const auto gt = transpose(g);
    auto x = random_vec<double>(static_cast<std::size_t>(b.num_src * dim), 41);
    const auto r = random_vec<double>(static_cast<std::size_t>(b.num_dst * dim), 42);
    std::vector<double> y(r.size());
    auto loss = [&] {
      aggregate_forward(g, x.data(), dim, y.data());
      return weighted_sum(y, r);
    };
    std::vector<double> dx(x.size(), -99.0);
    aggregate_backward(gt, r.data(), dim, dx.data());
    check_all_entries(loss, x, dx, 1e-6, "aggregator " + std::to_string(static_cast<int>(kind)) + " dx");
  }
}

TEST(AggregateCpu, BitwiseIdenticalWithOneAndTwoThreads) {
  // 5000 destinations over 20000 sources, 0..19 neighbours each: many row chunks.
  const std::int64_t nd = 5000, ns = 20000, dim = 24;
  csr b{nd, ns, {0}, {}};
  counter_rng rng(5, 6);
  std::uint64_t pos = 0;
  for (std::int64_t v = 0; v < nd; ++v) {
    const auto deg = rng.below(pos++, 20);
    for (std::uint64_t i = 0; i < deg; ++i) b.indices.push_back(static_cast<std::int32_t>(rng.below(pos++, ns)));
    b.indptr.push_back(static_cast<std::int64_t>(b.indices.size()));
  }
  const auto x = random_vec<float>(static_cast<std::size_t>(ns * dim), 51);
  const auto dy = random_vec<float>(static_cast<std::size_t>(nd * dim), 52);
  for (aggregator kind : {aggregator::mean, aggregator::sum, aggregator::gcn}) {
    const auto g = make_agg_graph<float>(kind, nd, ns, b.indptr.data(), b.indices.data());
    const auto gt = transpose(g);
    auto run = [&](int threads) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
      std::vector<float> y(dy.size()), dx(x.size());
      aggregate_forward(g, x.data(), dim, y.data());
      aggregate_backward(gt, dy.data(), dim, dx.data());
      y.insert(y.end(), dx.begin(), dx.end());
      return y;
    };
    const auto one = run(1), two = run(2);
    for (std::size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << "element " << i;
  }
}

// =============================================================================================
// bias, relu, dropout

TEST(ElementwiseCpu, BiasForwardAndBackward) {
  const std::int64_t rows = 5, cols = 4;
  auto bias = random_vec<double>(cols, 61);
  const auto x = random_vec<double>(rows * cols, 62);
  const auto r = random_vec<double>(rows * cols, 63);
  std::vector<double> y;
  auto loss = [&] {
    y = x;
    bias_forward(y.data(), rows, cols, bias.data());
    return weighted_sum(y, r);
  };
  loss();
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) EXPECT_EQ(y[i * cols + j], x[i * cols + j] + bias[j]);
  std::vector<double> db(cols, -99.0);
  bias_backward(r.data(), rows, cols, db.data());
  check_all_entries(loss, bias, db, 1e-6, "db");
}

TEST(ElementwiseCpu, BiasBackwardBitwiseIdenticalWithOneAndTwoThreads) {
  const std::int64_t rows = 10000, cols = 33;  // 40 row chunks
  const auto dy = random_vec<float>(static_cast<std::size_t>(rows * cols), 71);
  auto run = [&](int threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    std::vector<float> db(cols);
    bias_backward(dy.data(), rows, cols, db.data());
    return db;
  };
  const auto one = run(1), two = run(2);
  for (std::int64_t j = 0; j < cols; ++j) {
    ASSERT_EQ(one[j], two[j]) << "column " << j;
    double ref = 0;
    for (std::int64_t i = 0; i < rows; ++i) ref += dy[i * cols + j];
    EXPECT_NEAR(one[j], ref, 1e-3);
  }
}

TEST(ElementwiseCpu, ReluForwardAndBackward) {
  const std::size_t n = 40;
  // Values at least 0.1 away from the kink, both signs.
  auto x = random_vec<double>(n, 81, 0.1, 1.1);
  for (std::size_t i = 0; i < n; i += 2) x[i] = -x[i];
  const auto r = random_vec<double>(n, 82);
  std::vector<double> y;
  auto loss = [&] {
    y = x;
    relu_forward(y.data(), static_cast<std::int64_t>(n));
    return weighted_sum(y, r);
  };
  loss();
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], x[i] > 0 ? x[i] : 0.0);
  auto dx = r;
  relu_backward(y.data(), dx.data(), static_cast<std::int64_t>(n));
  check_all_entries(loss, x, dx, 1e-6, "relu dx");
  // The output 0 (exactly at the kink) passes no gradient.
  std::vector<double> y0{0.0, 2.0}, d0{1.0, 1.0};
  relu_backward(y0.data(), d0.data(), 2);
  EXPECT_EQ(d0, (std::vector<double>{0.0, 1.0}));
}

// Kept elements are scaled by 1 / P(keep) of the 16-bit rule, so the mean is kept for every p: with
// p = 0.99999 (one element in 65536 kept) a scale of 1 / (1 - p) made it 1.53.
TEST(ElementwiseCpu, DropoutKeepsTheMeanForAnyRate) {
  const std::int64_t n = std::int64_t{1} << 22;
  for (const double p : {0.3, 0.6, 0.99999, 1.0 - 1e-9}) {
    std::vector<float> x(static_cast<std::size_t>(n), 1.0f);
    dropout_forward(x.data(), n, p, counter_rng(7, 1));
    double sum = 0;
    for (float v : x) sum += v;
    const double keep = 1.0 - dropout_threshold(p) / 65536.0;
    // The count of kept elements is Binomial(n, keep): four standard deviations of the mean.
    const double sd = std::sqrt((1.0 - keep) / (keep * static_cast<double>(n)));
    EXPECT_NEAR(sum / static_cast<double>(n), 1.0, 4 * sd) << "p = " << p;
  }
}

TEST(ElementwiseCpu, DropoutGradientIsTheMaskScaling) {
  const std::size_t n = 64;
  const double p = 0.4;
  const counter_rng rng(123, 4);
  auto x = random_vec<double>(n, 91);
  const auto r = random_vec<double>(n, 92);
  std::vector<double> y;
  auto loss = [&] {
    y = x;
    dropout_forward(y.data(), static_cast<std::int64_t>(n), p, rng);
    return weighted_sum(y, r);
  };
  auto dx = r;
  dropout_backward(dx.data(), static_cast<std::int64_t>(n), p, rng);
  int kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool keep = dropout_draw(rng, i) >= dropout_threshold(p);
    kept += keep;
    EXPECT_EQ(dx[i], keep ? r[i] * tg::dropout_scale(p) : 0.0) << "element " << i;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, static_cast<int>(n));
  check_all_entries(loss, x, dx, 1e-6, "dropout dx");
}

// The dropout kernels' bulk Philox, every form this CPU runs, equals rng.block() at counters whose high word is
// not zero and across the 2^32 boundary of the low word.
TEST(ElementwiseCpu, BulkPhiloxEqualsTheScalarBlocks) {
  const counter_rng rng(0x0123456789ABCDEFull, stream_id(7, 8, 9));
  for (const std::uint64_t first : {std::uint64_t{0}, std::uint64_t{5}, (std::uint64_t{1} << 32) - 9,
                                    (std::uint64_t{3} << 40) + 77, ~std::uint64_t{0} - 15}) {
    std::uint32_t generic[64], avx[64];
    philox16_generic(rng, first, generic);
    for (int j = 0; j < 16; ++j)
      for (int w = 0; w < 4; ++w)
        ASSERT_EQ(generic[4 * j + w], rng.block(first + static_cast<std::uint64_t>(j)).v[w]) << first << " + " << j;
    if (philox16_avx2_usable()) {  // else this CPU cannot run the AVX2 form
      philox16_avx2(rng, first, avx);
      for (int i = 0; i < 64; ++i) ASSERT_EQ(avx[i], generic[i]) << "AVX2 form, counter " << first << ", word " << i;
    }
    if (philox16_avx512_usable()) {
      philox16_avx512(rng, first, avx);
      for (int i = 0; i < 64; ++i) ASSERT_EQ(avx[i], generic[i]) << "AVX-512 form, counter " << first << ", word " << i;
    }
  }
}

TEST(ElementwiseCpu, DropoutMaskStatisticsAndReproducibility) {
  const std::int64_t n = 100000;
  const double p = 0.3;
  std::vector<float> x(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) x[i] = 1.0f + static_cast<float>(i % 7);
  const counter_rng rng(2024, stream_id(1, 2, 3));
  auto y = x;
  dropout_forward(y.data(), n, p, rng);
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const bool keep = y[i] != 0.0f;
    kept += keep;
    ASSERT_EQ(keep, dropout_draw(rng, static_cast<std::uint64_t>(i)) >= dropout_threshold(p)) << "element " << i;
    if (keep) {
      ASSERT_FLOAT_EQ(y[i], static_cast<float>(x[i] * dropout_scale(p))) << "element " << i;
    }
  }
  // Binomial(1e5, 0.7): standard deviation 0.00145 in the fraction.
  EXPECT_NEAR(static_cast<double>(kept) / n, 1.0 - p, 0.01);

  // Same rng: the same mask (bitwise the same output); backward drops the same positions.
  auto y2 = x;
  dropout_forward(y2.data(), n, p, counter_rng(2024, stream_id(1, 2, 3)));
  EXPECT_EQ(y, y2);
  std::vector<float> g(static_cast<std::size_t>(n), 1.0f);
  dropout_backward(g.data(), n, p, rng);
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(g[i] == 0.0f, y[i] == 0.0f) << "element " << i;

  // Another stream: a different mask (about 2 p (1 - p) = 42% of positions differ).
  auto y3 = x;
  dropout_forward(y3.data(), n, p, counter_rng(2024, stream_id(1, 2, 4)));
  std::int64_t differ = 0;
  for (std::int64_t i = 0; i < n; ++i) differ += (y[i] == 0.0f) != (y3[i] == 0.0f);
  EXPECT_NEAR(static_cast<double>(differ) / n, 2 * p * (1 - p), 0.02);

  // p = 0 is the identity, forward and backward.
  auto y4 = x;
  dropout_forward(y4.data(), n, 0.0, rng);
  EXPECT_EQ(y4, x);
  dropout_backward(y4.data(), n, 0.0, rng);
  EXPECT_EQ(y4, x);
}

// =============================================================================================
// softmax + NLL

TEST(SoftmaxNllCpu, HandExample2x3) {
  const std::vector<double> z{1, 2, 3, 0, 0, 0};
  const std::vector<std::int64_t> labels{2, 0};
  std::vector<double> dz(6), probs(6);
  const double loss = softmax_nll<double>(z.data(), 2, 3, labels.data(), dz.data(), probs.data());
  // Row 0: -log(e^3 / (e + e^2 + e^3)) = log(1 + e^-1 + e^-2); row 1: log 3.
  EXPECT_NEAR(loss, 0.7531091265562451, 1e-14);
  EXPECT_NEAR(loss, (std::log(1 + std::exp(-1.0) + std::exp(-2.0)) + std::log(3.0)) / 2, 1e-14);
  const std::vector<double> p{0.09003057317038046, 0.24472847105479764, 0.6652409557748218, 1.0 / 3, 1.0 / 3, 1.0 / 3};
  const std::vector<double> d{p[0] / 2, p[1] / 2, (p[2] - 1) / 2, (p[3] - 1) / 2, p[4] / 2, p[5] / 2};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(probs[i], p[i], 1e-14) << i;
    EXPECT_NEAR(dz[i], d[i], 1e-14) << i;
  }
  // Null outputs are allowed; the loss is the same in float.
  const std::vector<float> zf(z.begin(), z.end());
  EXPECT_NEAR(softmax_nll<float>(zf.data(), 2, 3, labels.data(), nullptr, nullptr), 0.7531091265562451, 1e-6);
}

TEST(SoftmaxNllCpu, GradientMatchesFiniteDifferences) {
  const std::int64_t rows = 6, classes = 5;
  auto z = random_vec<double>(static_cast<std::size_t>(rows * classes), 101, -3.0, 3.0);
  const std::vector<std::int64_t> labels{0, 4, 2, 2, 1, 3};
  std::vector<double> dz(z.size());
  softmax_nll<double>(z.data(), rows, classes, labels.data(), dz.data(), nullptr);
  auto loss = [&] { return softmax_nll<double>(z.data(), rows, classes, labels.data(), nullptr, nullptr); };
  check_all_entries(loss, z, dz, 1e-6, "dlogits");
  // Each row of the gradient sums to zero (probabilities minus a one-hot).
  for (std::int64_t i = 0; i < rows; ++i) {
    double s = 0;
    for (std::int64_t c = 0; c < classes; ++c) s += dz[i * classes + c];
    EXPECT_NEAR(s, 0.0, 1e-15);
  }
}

TEST(SoftmaxNllCpu, LabelOutOfRangeThrowsBeforeWriting) {
  const std::vector<float> z(6, 0.5f);
  for (std::int64_t bad : {std::int64_t{-1}, std::int64_t{3}}) {
    const std::vector<std::int64_t> labels{1, bad};
    std::vector<float> dz(6, 7.0f), probs(6, 7.0f);
    EXPECT_THROW(softmax_nll<float>(z.data(), 2, 3, labels.data(), dz.data(), probs.data()), input_error)
        << "label " << bad;
    EXPECT_EQ(dz, std::vector<float>(6, 7.0f));
    EXPECT_EQ(probs, std::vector<float>(6, 7.0f));
  }
}

TEST(SoftmaxNllCpu, LargeLogitsStayFinite) {
  const std::vector<float> z{1000, 0, -1000, 1000, 1000, 999, -1000, -1000, -1000};
  const std::vector<std::int64_t> labels{1, 2, 0};
  std::vector<float> dz(9), probs(9);
  const float loss = softmax_nll<float>(z.data(), 3, 3, labels.data(), dz.data(), probs.data());
  ASSERT_TRUE(std::isfinite(loss));
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(std::isfinite(dz[i])) << i;
    ASSERT_TRUE(std::isfinite(probs[i])) << i;
  }
  // Row 0: 1000; row 1: log(2 + e^-1) - (-1) = 1 + log(2 + e^-1); row 2: log 3.
  const double expected = (1000.0 + 1.0 + std::log(2.0 + std::exp(-1.0)) + std::log(3.0)) / 3;
  EXPECT_NEAR(loss, expected, 2e-4);
  EXPECT_NEAR(probs[0], 1.0f, 1e-6);
  EXPECT_NEAR(dz[1], -1.0f / 3, 1e-6);
  EXPECT_NEAR(probs[6], 1.0f / 3, 1e-6);
}

TEST(SoftmaxNllCpu, BitwiseIdenticalWithOneAndTwoThreads) {
  const std::int64_t rows = 20000, classes = 10;
  const auto z = random_vec<float>(static_cast<std::size_t>(rows * classes), 111, -5.0, 5.0);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(rows));
  const counter_rng rng(112, 0);
  for (std::int64_t i = 0; i < rows; ++i) labels[i] = static_cast<std::int64_t>(rng.below(i, classes));
  auto run = [&](int threads, float* loss) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    std::vector<float> dz(z.size()), probs(z.size());
    *loss = softmax_nll<float>(z.data(), rows, classes, labels.data(), dz.data(), probs.data());
    dz.insert(dz.end(), probs.begin(), probs.end());
    return dz;
  };
  float l1 = 0, l2 = 0;
  const auto one = run(1, &l1), two = run(2, &l2);
  EXPECT_EQ(l1, l2);
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << "element " << i;
}

// =============================================================================================
// Adam

namespace {
// torch.optim.Adam, written out for one scalar.
struct scalar_adam {
  double p, m = 0, v = 0;
  void step(double grad, const adam_config& c, int t) {
    const double g = grad + c.weight_decay * p;
    m = c.beta1 * m + (1 - c.beta1) * g;
    v = c.beta2 * v + (1 - c.beta2) * g * g;
    const double mhat = m / (1 - std::pow(c.beta1, t)), vhat = v / (1 - std::pow(c.beta2, t));
    p -= c.lr * mhat / (std::sqrt(vhat) + c.eps);
  }
};
}  // namespace

TEST(AdamCpu, MatchesScalarReferenceForThreeStepsWithWeightDecay) {
  adam_config cfg;
  cfg.lr = 0.05;
  cfg.beta1 = 0.8;
  cfg.beta2 = 0.95;
  cfg.eps = 1e-3;  // large enough to matter in the comparison
  cfg.weight_decay = 0.1;
  const std::vector<double> p0{1.0, -2.0, 0.5, 0.0, 3.0};
  const std::vector<std::vector<double>> grads{
      {0.3, -0.1, 0.0, 2.0, -1.0}, {-0.2, 0.4, 1e-4, 1.5, -1.0}, {0.1, 0.1, -0.5, -3.0, 0.0}};
  std::vector<scalar_adam> ref;
  for (double p : p0) ref.push_back({p});
  std::vector<double> p = p0, m(p0.size(), 0.0), v(p0.size(), 0.0);
  std::vector<float> pf(p0.begin(), p0.end()), mf(p0.size(), 0.0f), vf(p0.size(), 0.0f);
  for (int t = 1; t <= 3; ++t) {
    const auto& g = grads[t - 1];
    const std::vector<float> gf(g.begin(), g.end());
    adam_step<double>(p.data(), g.data(), m.data(), v.data(), static_cast<std::int64_t>(p.size()), cfg, t);
    adam_step<float>(pf.data(), gf.data(), mf.data(), vf.data(), static_cast<std::int64_t>(pf.size()), cfg, t);
    for (std::size_t i = 0; i < p.size(); ++i) {
      ref[i].step(g[i], cfg, t);
      EXPECT_NEAR(p[i], ref[i].p, 1e-14) << "step " << t << " param " << i;
      EXPECT_NEAR(m[i], ref[i].m, 1e-14) << "step " << t << " param " << i;
      EXPECT_NEAR(v[i], ref[i].v, 1e-14) << "step " << t << " param " << i;
      EXPECT_NEAR(pf[i], ref[i].p, 2e-6) << "float, step " << t << " param " << i;
    }
    if (t == 1) {
      // By hand for param 0: g = 0.3 + 0.1 * 1 = 0.4, m = 0.08, mhat = 0.4, v = 0.008, vhat = 0.16.
      EXPECT_NEAR(p[0], 1.0 - 0.05 * 0.4 / (0.4 + 1e-3), 1e-14);
      EXPECT_NEAR(m[0], 0.08, 1e-15);
      EXPECT_NEAR(v[0], 0.008, 1e-15);
    }
  }
}
