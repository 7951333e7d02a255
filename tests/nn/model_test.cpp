#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/loss.hpp"
#include "nn/model.hpp"
#include "graph_fixture.hpp"
#include "sampler/neighbor_sampler.hpp"

using namespace tg;

namespace {
using fixture = test::graph_fixture;

double loss_of(gnn_model& m, const sampled_batch& b, const std::vector<float>& in, const std::vector<std::int64_t>& y,
               std::vector<float>* dlogits) {
  // Always a training pass with one dropout key: the same masks every time (attention dropout).
  const auto& logits = m.forward(b, in.data(), true, dropout_key{3, 1, 2});
  std::vector<float> d(logits.size());
  const double l = softmax_nll<float>(logits.data(), static_cast<std::int64_t>(y.size()), m.config().num_classes,
                                      y.data(), d.data(), nullptr);
  if (dlogits) *dlogits = d;
  return l;
}

void directional_gradient_check(const std::string& kind, int out_heads = 1, double attention_dropout = 0.0,
                                bool residual = false) {
  fixture f;
  model_config c;
  c.kind = kind;
  c.num_layers = 2;
  c.in_dim = f.dim;
  c.hidden = 16;
  c.num_classes = f.classes;
  c.dropout = 0.0;
  c.heads = 3;
  c.out_heads = out_heads;
  c.attention_dropout = attention_dropout;
  c.residual = residual;
  gnn_model m(c, 7);
  const sampled_batch b = f.batch({5, 5});
  const auto in = f.inputs(b);
  std::vector<std::int64_t> y;
  for (std::int64_t s : b.seeds()) y.push_back(f.labels[s]);
  std::vector<float> d;
  loss_of(m, b, in, y, &d);
  m.backward(d.data());
  // Compare <grad, dir> with a central difference along a random direction, per parameter.
  counter_rng r(9, 1);
  for (std::size_t pi = 0; pi < m.params().size(); ++pi) {
    auto& p = m.params()[pi];
    // A unit-length random direction: small per-element steps keep away from ReLU kinks.
    std::vector<float> dir(p.value.size());
    double norm = 0, analytic = 0;
    for (std::size_t i = 0; i < dir.size(); ++i) {
      dir[i] = r.normal(pi * 100000 + i);
      norm += static_cast<double>(dir[i]) * dir[i];
    }
    for (std::size_t i = 0; i < dir.size(); ++i) {
      dir[i] = static_cast<float>(dir[i] / std::sqrt(norm));
      analytic += static_cast<double>(dir[i]) * p.grad[i];
    }
    const std::vector<float> saved = p.value;
    const float eps = 2e-3f;
    for (std::size_t i = 0; i < dir.size(); ++i) p.value[i] = saved[i] + eps * dir[i];
    const double lp = loss_of(m, b, in, y, nullptr);
    for (std::size_t i = 0; i < dir.size(); ++i) p.value[i] = saved[i] - eps * dir[i];
    const double lm = loss_of(m, b, in, y, nullptr);
    p.value = saved;
    const double numeric = (lp - lm) / (2 * eps);
    EXPECT_NEAR(analytic, numeric, 0.02 * std::fabs(numeric) + 2e-4) << kind << " " << p.name;
  }
}
}  // namespace

TEST(GnnModel, SageGradientsMatchFiniteDifferences) {
  directional_gradient_check("sage");
}
TEST(GnnModel, GcnGradientsMatchFiniteDifferences) {
  directional_gradient_check("gcn");
}

TEST(GnnModel, GatGradientsMatchFiniteDifferences) {
  directional_gradient_check("gat");
}
TEST(GnnModel, GatGradientsWithAveragedHeadsAndAttentionDropout) {
  directional_gradient_check("gat", 2, 0.3);
}
TEST(GnnModel, GatGradientsWithResidual) {
  directional_gradient_check("gat", 2, 0.0, true);
}

TEST(GnnModel, LayerForwardMatchesBatchForwardWithoutDropout) {
  fixture f;
  for (const char* kind : {"sage", "gcn", "gat"}) {
    SCOPED_TRACE(kind);
    model_config c;
    c.kind = kind;
    c.num_layers = 1;
    c.in_dim = f.dim;
    c.hidden = 8;
    c.num_classes = f.classes;
    c.out_heads = 2;
    gnn_model m(c, 1);
    const sampled_batch b = f.batch({-1});
    const auto in = f.inputs(b);
    const auto logits = m.forward(b, in.data(), false, dropout_key{});
    std::vector<float> y(logits.size());
    m.layer_forward(0, b.blocks[0], in.data(), y.data());
    EXPECT_EQ(y, logits);
  }
}

TEST(GnnModel, GatShapesAndNames) {
  model_config c;
  c.kind = "gat";
  c.num_layers = 2;
  c.in_dim = 10;
  c.hidden = 8;
  c.heads = 4;
  c.out_heads = 3;
  c.num_classes = 5;
  gnn_model m(c, 1);
  ASSERT_EQ(m.params().size(), 8u);
  EXPECT_EQ(m.params()[0].name, "layer0.weight");
  EXPECT_EQ(m.params()[0].shape, (std::vector<std::int64_t>{10, 32}));
  EXPECT_EQ(m.params()[1].name, "layer0.att_src");
  EXPECT_EQ(m.params()[1].shape, (std::vector<std::int64_t>{4, 8}));
  EXPECT_EQ(m.params()[3].shape, (std::vector<std::int64_t>{32}));      // bias over the concatenated heads
  EXPECT_EQ(m.params()[4].shape, (std::vector<std::int64_t>{32, 15}));  // 3 averaged heads of 5 classes
  EXPECT_EQ(m.params()[6].shape, (std::vector<std::int64_t>{3, 5}));
  EXPECT_EQ(m.params()[7].shape, (std::vector<std::int64_t>{5}));
  EXPECT_EQ(m.layer_in_dim(1), 32);
  EXPECT_EQ(model_config::from_json(c.to_json()).to_json(), c.to_json());
  c.residual = true;
  gnn_model r(c, 1);
  ASSERT_EQ(r.params().size(), 10u);
  EXPECT_EQ(r.params()[3].name, "layer0.weight_res");
  EXPECT_EQ(r.params()[3].shape, (std::vector<std::int64_t>{10, 32}));
  EXPECT_EQ(r.params()[8].shape, (std::vector<std::int64_t>{32, 5}));  // to the averaged output
  EXPECT_EQ(r.params()[9].name, "layer1.bias");
}

TEST(GnnModel, SameSeedSameInitialisation) {
  model_config c;
  c.in_dim = 10;
  c.num_classes = 3;
  gnn_model a(c, 5), b(c, 5), d(c, 6);
  EXPECT_EQ(a.params()[0].value, b.params()[0].value);
  EXPECT_NE(a.params()[0].value, d.params()[0].value);
}

TEST(GnnModelBadInput, ConfigErrors) {
  model_config c;
  c.in_dim = 10;
  c.num_classes = 3;
  c.kind = "gin";
  EXPECT_THROW(gnn_model(c, 1), input_error);
  c.kind = "gat";
  c.heads = 0;
  EXPECT_THROW(gnn_model(c, 1), input_error);
  c.heads = 4;
  c.attention_dropout = 1.0;
  EXPECT_THROW(gnn_model(c, 1), input_error);
  c.attention_dropout = 0.0;
  c.kind = "sage";
  c.dropout = 1.0;
  EXPECT_THROW(gnn_model(c, 1), input_error);
  c.dropout = 0.5;
  c.num_classes = 1;
  EXPECT_THROW(gnn_model(c, 1), input_error);
  c.num_classes = 3;
  c.in_dim = 0;
  EXPECT_THROW(gnn_model(c, 1), input_error);
}
