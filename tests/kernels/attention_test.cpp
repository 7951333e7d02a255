// The graph-attention kernels (kernels/attention.hpp): every backward operation against central
// finite differences of the forward ones in double precision (objective L = sum(out * R) for a fixed
// random R), forward results against a naive reference on a hand-sized block, numerically stable
// softmax on large scores, and bitwise-identical results with one and two threads.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "kernels/aggregate.hpp"
#include "kernels/attention.hpp"
#include "fd_check.hpp"

using namespace tg;

namespace {

// This file's inputs come from its own random stream (23).
template <typename T>
std::vector<T> random_vec(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  return test::random_vec<T>(n, seed, lo, hi, 23);
}

void check_gradient(const std::function<double()>& f, std::vector<double>& x, const std::vector<double>& grad,
                    const std::string& what) {
  test::check_all_entries(f, x, grad, 1e-6, what);
}

using test::weighted_sum;

// A block with self-loops (GAT's structure): 7 destinations over 12 sources, rows of 1..5 entries.
agg_graph<double> attention_block(std::uint64_t seed, std::int64_t nd = 7, std::int64_t ns = 12) {
  counter_rng r(seed, 5);
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int32_t> indices;
  for (std::int64_t v = 0; v < nd; ++v) {
    const auto deg = r.below(static_cast<std::uint64_t>(v), 5);  // 0..4 sampled, plus the self-loop
    for (std::uint64_t k = 0; k < deg; ++k)
      indices.push_back(static_cast<std::int32_t>(
          r.below(1000 + static_cast<std::uint64_t>(v) * 8 + k, static_cast<std::uint64_t>(ns))));
    indptr.push_back(static_cast<std::int64_t>(indices.size()));
  }
  return make_agg_graph<double>(aggregator::attention, nd, ns, indptr.data(), indices.data());
}

constexpr std::int64_t kHeads = 3, kWidth = 4;
constexpr double kSlope = 0.2;

}  // namespace

TEST(AttentionCpu, AttentionGraphHasOneSelfLoopFirstAndNoWeights) {
  const std::vector<std::int64_t> indptr{0, 2, 2, 4};
  const std::vector<std::int32_t> indices{0, 3, 1, 2};  // row 0 samples itself; row 2 samples 1 and itself
  const auto g = make_agg_graph<float>(aggregator::attention, 3, 4, indptr.data(), indices.data());
  EXPECT_EQ(g.indptr, (std::vector<std::int64_t>{0, 2, 3, 5}));
  EXPECT_EQ(g.indices, (std::vector<std::int32_t>{0, 3, 1, 2, 1}));
  EXPECT_TRUE(g.weights.empty());
  const auto gt = transpose(g);
  ASSERT_EQ(gt.edge_ids.size(), g.indices.size());
  for (std::int64_t u = 0; u < gt.num_dst; ++u)
    for (std::int64_t p = gt.indptr[u]; p < gt.indptr[u + 1]; ++p) EXPECT_EQ(g.indices[gt.edge_ids[p]], u);
}

TEST(AttentionCpu, ForwardMatchesNaiveReference) {
  const auto g = attention_block(1);
  const std::int64_t nd = g.num_dst, ns = g.num_src, nnz = static_cast<std::int64_t>(g.indices.size());
  const auto h = random_vec<double>(static_cast<std::size_t>(ns * kHeads * kWidth), 2);
  const auto as = random_vec<double>(kHeads * kWidth, 3), ad = random_vec<double>(kHeads * kWidth, 4);
  std::vector<double> s(static_cast<std::size_t>(ns * kHeads)), d(static_cast<std::size_t>(nd * kHeads));
  head_dot(ns, kHeads, kWidth, h.data(), as.data(), s.data());
  head_dot(nd, kHeads, kWidth, h.data(), ad.data(), d.data());
  std::vector<double> alpha(static_cast<std::size_t>(nnz * kHeads)), y(static_cast<std::size_t>(nd * kHeads * kWidth));
  edge_softmax(nd, g.indptr.data(), g.indices.data(), kHeads, s.data(), d.data(), kSlope, alpha.data());
  aggregate_heads(nd, g.indptr.data(), g.indices.data(), nullptr, kHeads, kWidth, alpha.data(), h.data(), y.data());
  for (std::int64_t v = 0; v < nd; ++v)
    for (std::int64_t k = 0; k < kHeads; ++k) {
      auto dot = [&](std::int64_t row, const std::vector<double>& a) {
        double t = 0;
        for (std::int64_t c = 0; c < kWidth; ++c) t += h[(row * kHeads + k) * kWidth + c] * a[k * kWidth + c];
        return t;
      };
      std::vector<double> e;
      for (std::int64_t p = g.indptr[v]; p < g.indptr[v + 1]; ++p) {
        const double z = dot(g.indices[p], as) + dot(v, ad);
        e.push_back(std::exp(z > 0 ? z : kSlope * z));
      }
      double sum = 0;
      for (double x : e) sum += x;
      for (std::int64_t c = 0; c < kWidth; ++c) {
        double want = 0;
        for (std::int64_t p = g.indptr[v]; p < g.indptr[v + 1]; ++p) {
          const double a = e[static_cast<std::size_t>(p - g.indptr[v])] / sum;
          EXPECT_NEAR(alpha[p * kHeads + k], a, 1e-12);
          want += a * h[(g.indices[p] * kHeads + k) * kWidth + c];
        }
        EXPECT_NEAR(y[(v * kHeads + k) * kWidth + c], want, 1e-12) << "row " << v << " head " << k;
      }
    }
}

TEST(AttentionCpu, HeadDotGradients) {
  const std::int64_t rows = 9;
  auto x = random_vec<double>(static_cast<std::size_t>(rows * kHeads * kWidth), 11);
  auto att = random_vec<double>(kHeads * kWidth, 12);
  const auto r = random_vec<double>(static_cast<std::size_t>(rows * kHeads), 13);
  std::vector<double> y(r.size());
  auto loss = [&] {
    head_dot(rows, kHeads, kWidth, x.data(), att.data(), y.data());
    return weighted_sum(y, r);
  };
  std::vector<double> dx(x.size(), 0.5), datt(att.size(), -9);
  head_dot_backward(rows, kHeads, kWidth, x.data(), att.data(), r.data(), dx.data(), datt.data());
  for (double& v : dx) v -= 0.5;  // dx is accumulated into
  check_gradient(loss, x, dx, "head_dot dx");
  check_gradient(loss, att, datt, "head_dot datt");
}

TEST(AttentionCpu, EdgeSoftmaxGradientsThroughBothScoreSums) {
  const auto g = attention_block(21);
  const auto gt = transpose(g);
  const std::int64_t nd = g.num_dst, ns = g.num_src, nnz = static_cast<std::int64_t>(g.indices.size());
  auto as = random_vec<double>(static_cast<std::size_t>(ns * kHeads), 22, -2, 2);
  auto ad = random_vec<double>(static_cast<std::size_t>(nd * kHeads), 23, -2, 2);
  const auto r = random_vec<double>(static_cast<std::size_t>(nnz * kHeads), 24);
  std::vector<double> alpha(r.size());
  auto loss = [&] {
    edge_softmax(nd, g.indptr.data(), g.indices.data(), kHeads, as.data(), ad.data(), kSlope, alpha.data());
    return weighted_sum(alpha, r);
  };
  loss();
  std::vector<double> ds(r.size()), das(as.size()), dad(ad.size());
  edge_softmax_backward(nd, g.indptr.data(), g.indices.data(), kHeads, as.data(), ad.data(), kSlope, alpha.data(),
                        r.data(), ds.data());
  edge_sum(nd, g.indptr.data(), nullptr, kHeads, ds.data(), dad.data());
  edge_sum(ns, gt.indptr.data(), gt.edge_ids.data(), kHeads, ds.data(), das.data());
  check_gradient(loss, as, das, "edge_softmax d a_src");
  check_gradient(loss, ad, dad, "edge_softmax d a_dst");
}

TEST(AttentionCpu, AggregateHeadsGradients) {
  const auto g = attention_block(31);
  const auto gt = transpose(g);
  const std::int64_t nd = g.num_dst, ns = g.num_src, nnz = static_cast<std::int64_t>(g.indices.size());
  auto w = random_vec<double>(static_cast<std::size_t>(nnz * kHeads), 32);
  auto x = random_vec<double>(static_cast<std::size_t>(ns * kHeads * kWidth), 33);
  const auto r = random_vec<double>(static_cast<std::size_t>(nd * kHeads * kWidth), 34);
  std::vector<double> y(r.size());
  auto loss = [&] {
    aggregate_heads(nd, g.indptr.data(), g.indices.data(), nullptr, kHeads, kWidth, w.data(), x.data(), y.data());
    return weighted_sum(y, r);
  };
  std::vector<double> dw(w.size()), dx(x.size());
  edge_dot(nd, g.indptr.data(), g.indices.data(), kHeads, kWidth, r.data(), x.data(), dw.data());
  aggregate_heads(ns, gt.indptr.data(), gt.indices.data(), gt.edge_ids.data(), kHeads, kWidth, w.data(), r.data(),
                  dx.data());
  check_gradient(loss, w, dw, "aggregate_heads dw (edge_dot)");
  check_gradient(loss, x, dx, "aggregate_heads dx (over the transpose)");
}

TEST(AttentionCpu, EluGradientFromItsOutput) {
  auto x = random_vec<double>(40, 41, -3, 3);
  const auto r = random_vec<double>(40, 42);
  std::vector<double> y;
  auto loss = [&] {
    y = x;
    elu_forward(y.data(), static_cast<std::int64_t>(y.size()));
    return weighted_sum(y, r);
  };
  loss();
  EXPECT_NEAR(y[0], x[0] > 0 ? x[0] : std::expm1(x[0]), 1e-15);
  std::vector<double> dy = r;
  elu_backward(y.data(), dy.data(), static_cast<std::int64_t>(dy.size()));
  check_gradient(loss, x, dy, "elu");
}

TEST(AttentionCpu, SoftmaxStaysFiniteOnHugeScores) {
  const auto g = attention_block(51);
  const std::int64_t nd = g.num_dst, ns = g.num_src, nnz = static_cast<std::int64_t>(g.indices.size());
  std::vector<float> as(static_cast<std::size_t>(ns * kHeads)), ad(static_cast<std::size_t>(nd * kHeads), 1e30f);
  for (std::size_t i = 0; i < as.size(); ++i) as[i] = i % 2 ? 3e38f : -3e38f;
  std::vector<float> alpha(static_cast<std::size_t>(nnz * kHeads));
  edge_softmax(nd, g.indptr.data(), g.indices.data(), kHeads, as.data(), ad.data(), 0.2f, alpha.data());
  for (std::int64_t v = 0; v < nd; ++v)
    for (std::int64_t k = 0; k < kHeads; ++k) {
      double sum = 0;
      for (std::int64_t p = g.indptr[v]; p < g.indptr[v + 1]; ++p) {
        ASSERT_TRUE(std::isfinite(alpha[p * kHeads + k])) << "row " << v;
        sum += alpha[p * kHeads + k];
      }
      EXPECT_NEAR(sum, 1.0, 1e-6) << "row " << v;
    }
}

TEST(AttentionCpu, BitwiseIdenticalWithOneAndTwoThreads) {
  const auto gd = attention_block(61, 3000, 9000);
  agg_graph<float> g;
  g.num_dst = gd.num_dst;
  g.num_src = gd.num_src;
  g.indptr = gd.indptr;
  g.indices = gd.indices;
  const auto gt = transpose(g);
  const std::int64_t nd = g.num_dst, ns = g.num_src, nnz = static_cast<std::int64_t>(g.indices.size());
  const std::int64_t hw = kHeads * kWidth;
  const auto h = random_vec<float>(static_cast<std::size_t>(ns * hw), 62);
  const auto att = random_vec<float>(static_cast<std::size_t>(2 * hw), 63);
  const auto dy = random_vec<float>(static_cast<std::size_t>(nd * hw), 64);
  auto run = [&](int threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    std::vector<float> s(static_cast<std::size_t>(ns * kHeads)), d(static_cast<std::size_t>(nd * kHeads));
    std::vector<float> alpha(static_cast<std::size_t>(nnz * kHeads)), y(dy.size()), da(alpha.size()), ds(alpha.size());
    std::vector<float> dh(h.size()), datt(static_cast<std::size_t>(hw)), das(s.size());
    head_dot(ns, kHeads, kWidth, h.data(), att.data(), s.data());
    head_dot(nd, kHeads, kWidth, h.data(), att.data() + hw, d.data());
    edge_softmax(nd, g.indptr.data(), g.indices.data(), kHeads, s.data(), d.data(), 0.2f, alpha.data());
    aggregate_heads(nd, g.indptr.data(), g.indices.data(), nullptr, kHeads, kWidth, alpha.data(), h.data(), y.data());
    edge_dot(nd, g.indptr.data(), g.indices.data(), kHeads, kWidth, dy.data(), h.data(), da.data());
    edge_softmax_backward(nd, g.indptr.data(), g.indices.data(), kHeads, s.data(), d.data(), 0.2f, alpha.data(),
                          da.data(), ds.data());
    edge_sum(ns, gt.indptr.data(), gt.edge_ids.data(), kHeads, ds.data(), das.data());
    aggregate_heads(ns, gt.indptr.data(), gt.indices.data(), gt.edge_ids.data(), kHeads, kWidth, alpha.data(),
                    dy.data(), dh.data());
    head_dot_backward(ns, kHeads, kWidth, h.data(), att.data(), das.data(), dh.data(), datt.data());
    for (const auto* v : {&alpha, &ds, &das, &datt}) y.insert(y.end(), v->begin(), v->end());
    y.insert(y.end(), dh.begin(), dh.end());
    return y;
  };
  const auto one = run(1), two = run(2);
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << "element " << i;
}
