// CUDA kernels against their CPU twins on random inputs: relative error within float32 rounding of
// a different summation order, no NaN; the dropout mask bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "core/rng.hpp"
#include "kernels/adam.hpp"
#include "kernels/aggregate.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/gpu_kernels.hpp"
#include "kernels/loss.hpp"
#include "kernels/matmul.hpp"

using namespace tg;

namespace {

#define TG_SKIP_WITHOUT_GPU()   \
  if (cuda_device_count() == 0) \
  GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend")

std::vector<float> randn(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

template <typename T>
gpu::device_buffer<T> upload(const std::vector<T>& v, const gpu::stream& s) {
  gpu::device_buffer<T> d(v.size());
  gpu::copy_async(d.data(), v.data(), v.size() * sizeof(T), s);
  return d;
}

template <typename T>
std::vector<T> download(const gpu::device_buffer<T>& d, const gpu::stream& s) {
  std::vector<T> v(d.size());
  gpu::copy_async(v.data(), d.data(), v.size() * sizeof(T), s);
  s.synchronize();
  return v;
}

void expect_close(const std::vector<float>& want, const std::vector<float>& got, double rel, const char* what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  double scale = 1e-6;
  for (float w : want) scale = std::max(scale, static_cast<double>(std::fabs(w)));
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << what << " NaN at " << i;
    ASSERT_NEAR(want[i], got[i], rel * scale) << what << " at " << i;
  }
}

}  // namespace

TEST(CudaKernels, MatmulMatchesBlasInEveryTransposition) {
  TG_SKIP_WITHOUT_GPU();
  gpu::stream s;
  const std::int64_t m = 257, n = 130, k = 67;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const auto a = randn(static_cast<std::size_t>(m * k), 1), b = randn(static_cast<std::size_t>(k * n), 2);
      auto c = randn(static_cast<std::size_t>(m * n), 3);
      const std::int64_t lda = ta ? m : k, ldb = tb ? k : n;
      auto da = upload(a, s), db = upload(b, s), dc = upload(c, s);
      gpu::matmul(ta, tb, m, n, k, 0.5f, da.data(), lda, db.data(), ldb, 0.25f, dc.data(), n, s.handle());
      matmul<float>(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 0.25f, c.data(), n);
      expect_close(c, download(dc, s), 1e-5, ta ? (tb ? "TT" : "TN") : (tb ? "NT" : "NN"));
    }
}

TEST(CudaKernels, AggregationForwardAndBackwardMatchTheCpu) {
  TG_SKIP_WITHOUT_GPU();
  gpu::stream s;
  std::mt19937_64 rng(9);
  const std::int64_t nd = 700, ns = 2500;
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int32_t> indices;
  std::vector<std::int64_t> deg(static_cast<std::size_t>(ns));
  for (auto& d : deg) d = 1 + static_cast<std::int64_t>(rng() % 40);
  for (std::int64_t v = 0; v < nd; ++v) {
    const int k = static_cast<int>(rng() % 12);  // some rows empty
    for (int q = 0; q < k; ++q) indices.push_back(static_cast<std::int32_t>(rng() % ns));
    indptr.push_back(static_cast<std::int64_t>(indices.size()));
  }
  for (aggregator kind : {aggregator::mean, aggregator::sum, aggregator::gcn})
    for (std::int64_t dim : {7, 64, 256}) {
      const agg_graph<float> g = make_agg_graph<float>(kind, nd, ns, indptr.data(), indices.data(), deg.data());
      const agg_graph<float> gt = transpose(g);
      const auto x = randn(static_cast<std::size_t>(ns * dim), 4);
      const auto dy = randn(static_cast<std::size_t>(nd * dim), 5);
      std::vector<float> y(static_cast<std::size_t>(nd * dim)), dx(static_cast<std::size_t>(ns * dim));
      aggregate_forward(g, x.data(), dim, y.data());
      aggregate_backward(gt, dy.data(), dim, dx.data());
      std::vector<float> ones(g.indices.size(), 1.f);
      const std::vector<float>& wf = g.weights.empty() ? ones : g.weights;
      const std::vector<float>& wb = gt.weights.empty() ? ones : gt.weights;
      auto ip = upload(g.indptr, s), tip = upload(gt.indptr, s);
      auto ix = upload(g.indices, s), tix = upload(gt.indices, s);
      auto w = upload(wf, s), tw = upload(wb, s);
      auto dxs = upload(x, s), ddy = upload(dy, s);
      gpu::device_buffer<float> out(y.size()), dout(dx.size()), out2(y.size());
      gpu::cusparse_scratch scratch;
      const gpu::agg_graph_view gv{nd, ns, static_cast<std::int64_t>(g.indices.size()), ip.data(), ix.data(), w.data()};
      const gpu::agg_graph_view tv{ns,         nd,         static_cast<std::int64_t>(gt.indices.size()),
                                   tip.data(), tix.data(), tw.data()};
      gpu::aggregate_forward(gv, dxs.data(), dim, out.data(), s.handle());
      gpu::aggregate_forward(tv, ddy.data(), dim, dout.data(), s.handle());
      gpu::aggregate_forward_cusparse(gv, dxs.data(), dim, out2.data(), scratch, s.handle());
      expect_close(y, download(out, s), 1e-5, "forward");
      expect_close(dx, download(dout, s), 1e-5, "backward");
      expect_close(y, download(out2, s), 1e-5, "cusparse forward");
      // A second call on the same shape reuses the scratch: a warm aggregation allocates nothing.
      const void* const offsets_before = scratch.offsets32.data();
      const void* const workspace_before = scratch.workspace.data();
      gpu::aggregate_forward_cusparse(gv, dxs.data(), dim, out2.data(), scratch, s.handle());
      EXPECT_EQ(offsets_before, scratch.offsets32.data());
      EXPECT_EQ(workspace_before, scratch.workspace.data());
      expect_close(y, download(out2, s), 1e-5, "cusparse forward, warm");
    }
}

TEST(CudaKernels, ElementwiseLossAndAdamMatchTheCpu) {
  TG_SKIP_WITHOUT_GPU();
  gpu::stream s;
  const std::int64_t rows = 513, cols = 37, n = rows * cols;
  auto y = randn(static_cast<std::size_t>(n), 6);
  y[5] = NAN;
  const auto b = randn(static_cast<std::size_t>(cols), 7);
  auto dy = upload(y, s);
  auto db = upload(b, s);
  gpu::bias_forward(dy.data(), rows, cols, db.data(), s.handle());
  bias_forward(y.data(), rows, cols, b.data());
  gpu::relu_forward(dy.data(), n, s.handle());
  relu_forward(y.data(), n);
  auto got = download(dy, s);
  EXPECT_TRUE(std::isnan(got[5]));  // NaN propagates through ReLU on both
  got[5] = y[5] = 0;
  expect_close(y, got, 1e-6, "bias + relu");

  auto g = randn(static_cast<std::size_t>(n), 8);
  auto dg = upload(g, s);
  auto dyv = upload(y, s);
  gpu::relu_backward(dyv.data(), dg.data(), n, s.handle());
  relu_backward(y.data(), g.data(), n);
  expect_close(g, download(dg, s), 0, "relu backward");
  std::vector<float> colsum(static_cast<std::size_t>(cols));
  gpu::device_buffer<float> dcol(static_cast<std::size_t>(cols));
  gpu::bias_backward(dg.data(), rows, cols, dcol.data(), s.handle());
  bias_backward(g.data(), rows, cols, colsum.data());
  expect_close(colsum, download(dcol, s), 1e-5, "bias backward");

  const counter_rng rng(123, stream_id(4, 5, 6));
  auto d = randn(static_cast<std::size_t>(n), 9);
  auto dd = upload(d, s);
  gpu::dropout_forward(dd.data(), n, 0.3, rng, s.handle());
  dropout_forward(d.data(), n, 0.3, rng);
  const auto dgot = download(dd, s);
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(d[i] == 0.f, dgot[i] == 0.f) << "mask differs at " << i;
  expect_close(d, dgot, 1e-6, "dropout");

  const std::int64_t classes = 7;
  auto logits = randn(static_cast<std::size_t>(rows * classes), 10);
  logits[3] = 80.f;  // a large logit: the max shift must keep it finite
  std::vector<std::int64_t> labels(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) labels[i] = (i * 5) % classes;
  std::vector<float> dl(logits.size()), pr(logits.size());
  const float loss = softmax_nll(logits.data(), rows, classes, labels.data(), dl.data(), pr.data());
  auto dlog = upload(logits, s);
  auto dlab = upload(labels, s);
  gpu::device_buffer<float> gdl(dl.size()), gpr(pr.size()), rl(static_cast<std::size_t>(rows));
  gpu::softmax_nll(dlog.data(), rows, classes, dlab.data(), gdl.data(), gpr.data(), rl.data(), s.handle());
  const auto row_loss = download(rl, s);
  double sum = 0;
  for (float l : row_loss) sum += l;
  EXPECT_NEAR(loss, sum / rows, 1e-5 * std::fabs(loss));
  expect_close(dl, download(gdl, s), 1e-5, "dlogits");
  expect_close(pr, download(gpr, s), 1e-5, "probs");

  adam_config cfg{0.01, 0.9, 0.999, 1e-8, 5e-4};
  auto p = randn(1000, 11), gr = randn(1000, 12);
  std::vector<float> m(1000, 0.f), v(1000, 0.f);
  auto dp = upload(p, s), dgr = upload(gr, s), dm = upload(m, s), dv = upload(v, s);
  for (int step = 1; step <= 3; ++step) {
    adam_step(p.data(), gr.data(), m.data(), v.data(), 1000, cfg, step);
    gpu::adam_step(dp.data(), dgr.data(), dm.data(), dv.data(), 1000, cfg, step, s.handle());
  }
  expect_close(p, download(dp, s), 1e-5, "adam params");
}

TEST(CudaKernels, WithoutADeviceTheyFailCleanly) {
  if (cuda_device_count() != 0) GTEST_SKIP() << "this machine has a device (the test is for machines without one)";
  float x = 1.f;
  EXPECT_THROW(gpu::relu_forward(&x, 1, nullptr), error);
  EXPECT_THROW(gpu::matmul(false, false, 1, 1, 1, 1.f, &x, 1, &x, 1, 0.f, &x, 1, nullptr), error);
}
