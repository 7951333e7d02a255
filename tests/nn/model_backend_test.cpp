// The model and its optimizer written once over the backend (nn/model.hpp, nn/optimizer.hpp): on
// the shadow-device backend (tests/shadow_backend.hpp) they take every device-memory path —
// parameters apart from their host copies, graphs and labels uploaded, moments on the backend —
// and must train exactly as on the CPU backend, step for step.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/rng.hpp"
#include "kernels/loss.hpp"
#include "kernels/matmul.hpp"
#include "nn/batch_graphs.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "graph_fixture.hpp"
#include "model_step.hpp"
#include "shadow_backend.hpp"

using namespace tg;

namespace {

using test::graph_fixture;

// One training step on the model's backend the way the training loop takes it; returns the logits.
std::vector<float> train_step(gnn_model& m, adam_optimizer& opt, const graph_fixture& f, std::int64_t index) {
  std::vector<float> logits = test::forward_backward(m, f, index);
  opt.step();
  m.compute().synchronize();
  return logits;
}

model_config config(const char* kind) {
  return test::small_model_config(kind);
}

}  // namespace

TEST(ModelOnBackends, ShadowDeviceTrainsExactlyAsTheCpuBackend) {
  const graph_fixture f;
  test::shadow_device_backend dev;
  for (const char* kind : {"sage", "gcn", "gat"}) {
    SCOPED_TRACE(kind);
    {
      gnn_model a(config(kind), 5), b(config(kind), 5, dev);
      adam_config first{0.01, 0.9, 0.999, 1e-8, 1e-3}, rest = first;
      rest.weight_decay = 0;
      adam_optimizer oa(a, first, rest), ob(b, first, rest);
      for (std::int64_t step = 0; step < 4; ++step)
        ASSERT_EQ(train_step(a, oa, f, step), train_step(b, ob, f, step)) << "logits of step " << step;
      b.pull_params(true);
      ob.pull();
      for (std::size_t i = 0; i < a.params().size(); ++i) {
        EXPECT_EQ(a.params()[i].value, b.params()[i].value) << a.params()[i].name;
        EXPECT_EQ(a.params()[i].grad, b.params()[i].grad) << a.params()[i].name;
        EXPECT_EQ(oa.state().m[i], ob.state().m[i]) << a.params()[i].name;
        EXPECT_EQ(oa.state().v[i], ob.state().v[i]) << a.params()[i].name;
      }
      EXPECT_EQ(oa.steps(), ob.steps());
      // Host-memory passes (evaluation) upload and download on the device backend.
      const sampled_batch batch = f.batch({6, 4}, 200, 7);
      const std::vector<float> in = f.inputs(batch);
      EXPECT_EQ(a.forward(batch, in.data(), false, dropout_key{}), b.forward(batch, in.data(), false, dropout_key{}));
      std::vector<float> ya(static_cast<std::size_t>(batch.blocks[0].num_dst * 16)), yb(ya.size());
      a.layer_forward(0, batch.blocks[0], in.data(), ya.data());
      b.layer_forward(0, batch.blocks[0], in.data(), yb.data());
      EXPECT_EQ(ya, yb);
      // Host edits reach the backend only through push_params; zero_grads clears the device copy.
      b.params()[0].value.assign(b.params()[0].value.size(), 0.0f);
      b.push_params();
      b.zero_grads();
      b.pull_params(true);
      EXPECT_EQ(b.params()[0].value, std::vector<float>(b.params()[0].value.size(), 0.0f));
      for (const auto& p : b.params()) EXPECT_EQ(p.grad, std::vector<float>(p.grad.size(), 0.0f)) << p.name;
      // A resumed optimizer state reaches the backend.
      optimizer_state st = oa.state();
      ob.load(st);
      ob.pull();
      EXPECT_EQ(ob.state().m, oa.state().m);
      st.m.pop_back();
      EXPECT_THROW(ob.load(st), input_error);
    }
    EXPECT_EQ(dev.live_allocations(), 0) << "the model, optimizer and graphs freed their backend memory";
  }
}

// The CPU's float matmul kernels compute each element as the same FMA chain, so a model trains to the
// same bits with the AVX-512 kernel as with the AVX2 one (on machines with either: the same model).
TEST(ModelOnBackends, EveryCpuMatmulKernelTrainsTheSameModelBitForBit) {
  const graph_fixture f;
  std::vector<matmul_kernel> kinds;
  for (const auto kind : {matmul_kernel::avx512, matmul_kernel::avx2})
    if (set_matmul_kernel(kind)) kinds.push_back(kind);
  set_matmul_kernel(matmul_kernel::automatic);
  if (kinds.size() < 2) GTEST_SKIP() << "this CPU has fewer than two of tiergnn's matmul kernels";
  for (const char* kind : {"sage", "gcn", "gat"}) {
    SCOPED_TRACE(kind);
    std::vector<std::vector<std::vector<float>>> trained;
    for (const auto k : kinds) {
      ASSERT_TRUE(set_matmul_kernel(k));
      gnn_model m(config(kind), 5);
      adam_config first{0.01, 0.9, 0.999, 1e-8, 1e-3}, rest = first;
      adam_optimizer opt(m, first, rest);
      for (std::int64_t step = 0; step < 4; ++step) train_step(m, opt, f, step);
      trained.emplace_back();
      for (const auto& p : m.params()) trained.back().push_back(p.value);
    }
    set_matmul_kernel(matmul_kernel::automatic);
    ASSERT_EQ(trained[0].size(), trained[1].size());
    for (std::size_t i = 0; i < trained[0].size(); ++i) EXPECT_EQ(trained[0][i], trained[1][i]) << "parameter " << i;
  }
}

TEST(ModelOnBackends, HostMemoryHandedToADeviceBackendIsRefused) {
  const graph_fixture f;
  test::shadow_device_backend dev;
  gnn_model m(config("sage"), 1, dev);
  const sampled_batch b = f.batch({6, 4}, 0, 0);
  batch_graphs g;
  g.build(aggregator::mean, b.blocks.data(), b.blocks.size(), dev, true);
  const std::vector<float> in = f.inputs(b);
  EXPECT_THROW(m.forward(b, g, host_view(in.data(), static_cast<std::int64_t>(in.size())), true, dropout_key{}), error);
  batch_graphs no_transpose;
  no_transpose.build(aggregator::mean, b.blocks.data(), b.blocks.size(), dev, false);
  tensor<float> x(dev);
  x.assign_from_host(in.data(), in.size());
  m.forward(b, no_transpose, x.view(), true, dropout_key{});
  tensor<float> d(dev, 1000);
  d.resize(static_cast<std::size_t>(b.blocks.back().num_dst * 4));
  EXPECT_THROW(m.backward(d.view()), error) << "backward needs the transposed graphs";
}
