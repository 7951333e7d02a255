// Adam over a model's parameters on its backend (nn/optimizer.hpp).
#include "nn/optimizer.hpp"

#include <string>

#include "core/error.hpp"

namespace tg {

adam_optimizer::adam_optimizer(gnn_model& model, const adam_config& first_layer, const adam_config& other_layers)
    : model_(model), first_(first_layer), rest_(other_layers) {
  for (const auto& p : model.params()) {
    state_.m.emplace_back(p.value.size(), 0.0f);
    state_.v.emplace_back(p.value.size(), 0.0f);
  }
  if (!model.compute().host_memory()) {
    for (std::size_t i = 0; i < state_.m.size(); ++i) {
      m_.emplace_back(model.compute());
      v_.emplace_back(model.compute());
    }
    push();
  }
}

tensor_view<float> adam_optimizer::moment(std::size_t i, bool second) {
  auto& host = second ? state_.v[i] : state_.m[i];
  if (model_.compute().host_memory()) return host_view(host.data(), static_cast<std::int64_t>(host.size()));
  return (second ? v_[i] : m_[i]).view();
}

void adam_optimizer::step() {
  ++state_.step;
  backend& be = model_.compute();
  for (std::size_t i = 0; i < model_.params().size(); ++i)
    be.adam_step(model_.value(i), model_.grad(i), moment(i, false), moment(i, true),
                 model_.param_layer(i) == 0 ? first_ : rest_, state_.step);
}

void adam_optimizer::load(optimizer_state s) {
  const auto& params = model_.params();
  if (s.m.size() != params.size() || s.v.size() != params.size())
    throw input_error("optimizer state for " + std::to_string(s.m.size()) + " parameters, the model has " +
                      std::to_string(params.size()));
  for (std::size_t i = 0; i < params.size(); ++i)
    if (s.m[i].size() != params[i].value.size() || s.v[i].size() != params[i].value.size())
      throw input_error("optimizer state of parameter " + params[i].name + " has the wrong size");
  state_ = std::move(s);
  push();
}

void adam_optimizer::pull() {
  if (model_.compute().host_memory()) return;
  for (std::size_t i = 0; i < m_.size(); ++i) {
    m_[i].copy_to_host(state_.m[i].data());
    v_[i].copy_to_host(state_.v[i].data());
  }
}

void adam_optimizer::push() {
  if (model_.compute().host_memory()) return;
  for (std::size_t i = 0; i < m_.size(); ++i) {
    m_[i].assign_from_host(state_.m[i].data(), state_.m[i].size());
    v_[i].assign_from_host(state_.v[i].data(), state_.v[i].size());
  }
  model_.compute().synchronize();
}

}  // namespace tg
