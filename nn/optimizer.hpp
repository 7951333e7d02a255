#pragma once
// Adam over a model's parameters on the model's backend (kernels/adam.hpp's update, one backend
// operation per parameter). Weight decay may apply to the first layer only (Kipf & Welling's GCN):
// `first_layer` configures layer 0, `other_layers` the rest. The moments live in backend memory;
// state() is their host form (checkpoints): on the CPU backend the storage itself, on a device
// backend refreshed by pull() and sent back by push().
#include <cstdint>
#include <vector>

#include "kernels/adam.hpp"
#include "kernels/backend.hpp"
#include "nn/model.hpp"

namespace tg {

struct optimizer_state {
  std::int64_t step = 0;
  std::vector<std::vector<float>> m, v;  // per parameter
};

class adam_optimizer {
 public:
  // Zero moments for every parameter of `model`, which must outlive the optimizer.
  adam_optimizer(gnn_model& model, const adam_config& first_layer, const adam_config& other_layers);
  adam_optimizer(const adam_optimizer&) = delete;
  adam_optimizer& operator=(const adam_optimizer&) = delete;

  // One update of every parameter from its gradient.
  void step();
  std::int64_t steps() const { return state_.step; }

  optimizer_state& state() { return state_; }
  const optimizer_state& state() const { return state_; }
  // Replaces the state (resume); throws input_error when the shapes do not match the model.
  void load(optimizer_state s);
  void pull();
  void push();

 private:
  tensor_view<float> moment(std::size_t i, bool second);
  gnn_model& model_;
  adam_config first_, rest_;
  optimizer_state state_;
  std::vector<tensor<float>> m_, v_;  // device backends only
};

}  // namespace tg
