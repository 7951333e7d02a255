// The compute backends' operations (kernels/backend.hpp): the CPU backend against naive references,
// and the op-by-op harness (backend_ops.hpp) on the shadow-device backend, which must match the CPU
// backend exactly while every operation checks it gets backend ("device") memory.
#include <gtest/gtest.h>

#include "backend_ops.hpp"
#include "core/error.hpp"
#include "shadow_backend.hpp"

using namespace tg;

TEST(CpuBackend, MatmulMatchesANaiveProduct) {
  backend& cpu = cpu_backend();
  const std::int64_t m = 37, n = 140, k = 29;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const auto a = test::random_floats(static_cast<std::size_t>(m * k), 1),
                 b = test::random_floats(static_cast<std::size_t>(k * n), 2);
      std::vector<float> c(static_cast<std::size_t>(m * n), 1.0f);
      cpu.matmul(ta, tb, m, n, k, 2.0f, host_view(a.data(), m * k), ta ? m : k, host_view(b.data(), k * n), tb ? k : n,
                 0.5f, host_view(c.data(), m * n), n);
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (std::int64_t q = 0; q < k; ++q)
            s += static_cast<double>(ta ? a[q * m + i] : a[i * k + q]) * (tb ? b[j * k + q] : b[q * n + j]);
          ASSERT_NEAR(c[i * n + j], 2.0 * s + 0.5, 1e-4 * (1 + std::fabs(s))) << ta << tb << " at " << i << "," << j;
        }
    }
}

TEST(CpuBackend, AggregateAndLossMatchNaiveReferences) {
  backend& cpu = cpu_backend();
  const agg_graph<float> g = test::random_graph(40, 100, 3, aggregator::mean);
  const std::int64_t dim = 5, nnz = static_cast<std::int64_t>(g.indices.size());
  const auto x = test::random_floats(static_cast<std::size_t>(100 * dim), 4);
  std::vector<float> y(static_cast<std::size_t>(40 * dim));
  cpu.aggregate({40,
                 100,
                 nnz,
                 host_view(g.indptr.data(), 41),
                 host_view(g.indices.data(), nnz),
                 host_view(g.weights.data(), nnz),
                 {}},
                host_view(x.data(), 100 * dim), dim, host_view(y.data(), 40 * dim));
  for (std::int64_t v = 0; v < 40; ++v)
    for (std::int64_t j = 0; j < dim; ++j) {
      double s = 0;
      const std::int64_t deg = g.indptr[v + 1] - g.indptr[v];
      for (std::int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e) s += x[g.indices[e] * dim + j];
      EXPECT_NEAR(y[v * dim + j], deg ? s / deg : 0.0, 1e-5) << "mean of row " << v;
    }
  // log-softmax + NLL against the definition, in double
  std::vector<float> z{1.0f, 2.0f, 3.0f, -1.0f, 0.0f, 1.0f}, d(6), rl(2);
  std::vector<std::int64_t> lab{2, 0};
  cpu.softmax_nll(host_view(z.data(), 6), 2, 3, host_view(lab.data(), 2), host_view(d.data(), 6),
                  host_view(rl.data(), 2), 4);
  for (int i = 0; i < 2; ++i) {
    double se = 0;
    for (int c = 0; c < 3; ++c) se += std::exp(static_cast<double>(z[i * 3 + c]));
    EXPECT_NEAR(rl[i], std::log(se) - z[i * 3 + lab[i]], 1e-6);
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(d[i * 3 + c], (std::exp(static_cast<double>(z[i * 3 + c])) / se - (c == lab[i])) / 4.0, 1e-7)
          << "normalised by 4 rows, not 2";
  }
}

// The CPU backend's fused kernels (one pass) give bit for bit its separate operations.
TEST(CpuBackend, FusedEpiloguesEqualTheSeparateOperations) {
  test::check_fused_epilogues(cpu_backend(), test::op_tolerance::exact());
}

TEST(CpuBackend, DeviceMemoryIsRefusedAndBadDevicesNamed) {
  backend& cpu = cpu_backend();
  std::vector<float> x(4, -1.0f);
  EXPECT_THROW(cpu.relu_forward({x.data(), 4, memory_kind::device}), error);
  EXPECT_EQ(x[0], -1.0f) << "nothing was written";
  EXPECT_THROW(parse_device_kind("tpu"), input_error);
  EXPECT_EQ(parse_device_kind("cuda"), device_kind::cuda);
}

TEST(BackendOps, ShadowDeviceMatchesTheCpuBackendExactly) {
  test::shadow_device_backend be;
  test::check_buffers(be);
  test::check_matmul(be, test::op_tolerance::exact());
  test::check_matmul_sum2(be, test::op_tolerance::exact());
  test::check_aggregate(be, test::op_tolerance::exact());
  test::check_elementwise(be, test::op_tolerance::exact());
  test::check_loss_and_adam(be, test::op_tolerance::exact());
  test::check_attention(be, test::op_tolerance::exact());
  EXPECT_EQ(be.live_allocations(), 0) << "every tensor freed its memory";
}
