#pragma once
// One forward + loss + backward pass of a model on a batch of the graph fixture, on whatever
// backend the model computes on, as the training loop takes it (shared by the shadow-device and
// the CUDA model tests).
#include <cstdint>
#include <string>
#include <vector>

#include "graph_fixture.hpp"
#include "kernels/backend.hpp"
#include "nn/batch_graphs.hpp"
#include "nn/model.hpp"

namespace tg::test {

inline model_config small_model_config(const char* kind) {
  model_config c;
  c.kind = kind;
  c.num_layers = 2;
  c.in_dim = 12;
  c.hidden = 16;  // gcn: layer 0 aggregates first (16 > 12), layer 1 transforms first (4 < 16)
  c.num_classes = 4;
  c.dropout = 0.3;
  c.input_dropout = 0.1;
  if (std::string(kind) == "gat") {  // 4 heads of 4 (16 wide, as the others), 2 averaged output heads
    c.hidden = 4;
    c.heads = 4;
    c.out_heads = 2;
    c.attention_dropout = 0.2;
    c.residual = true;
  }
  return c;
}

// Batch `index` (fanouts 6,4): forward in training mode, softmax + NLL, backward. Returns the
// logits (host); the gradients stay in the model (pull_params(true) brings them to the host).
inline std::vector<float> forward_backward(gnn_model& m, const graph_fixture& f, std::int64_t index) {
  backend& be = m.compute();
  const sampled_batch b = f.batch({6, 4}, 40 * index, index);
  batch_graphs g;
  g.build(aggregator_of(m.config()), b.blocks.data(), b.blocks.size(), be, true);
  const std::vector<float> in = f.inputs(b);
  tensor<float> x(be);
  x.assign_from_host(in.data(), in.size());
  std::vector<std::int64_t> y;
  for (std::int64_t s : b.seeds()) y.push_back(f.labels[static_cast<std::size_t>(s)]);
  tensor<std::int64_t> labels(be);
  labels.assign_from_host(y.data(), y.size());
  const auto rows = static_cast<std::int64_t>(y.size());
  const tensor_view<const float> logits = m.forward(b, g, x.view(), true, dropout_key{9, 1, index});
  tensor<float> dl(be, static_cast<std::size_t>(rows * f.classes)), rl(be, static_cast<std::size_t>(rows));
  dl.resize(static_cast<std::size_t>(rows * f.classes));
  rl.resize(static_cast<std::size_t>(rows));
  be.softmax_nll(logits, rows, f.classes, labels.view(), dl.view(), rl.view(), rows);
  std::vector<float> out(static_cast<std::size_t>(logits.size));
  be.copy_to_host(out.data(), logits.data, out.size() * sizeof(float));
  m.backward(dl.view());
  be.synchronize();
  return out;
}

}  // namespace tg::test
