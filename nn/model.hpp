#pragma once
// GNN models over sampled blocks: GraphSAGE (mean aggregator with a root weight; Hamilton et al.,
// NIPS'17) and GCN (symmetric normalisation with self-loops; Kipf & Welling, ICLR'17). A model of L
// layers consumes the L blocks of a sampled batch: layer l maps features of block l's sources to
// its destinations. Hidden layers apply ReLU then dropout; the last layer yields class logits.
//
// Forward keeps what backward needs; backward fills each parameter's gradient (overwriting it).
// All arithmetic goes through kernels/ (BLAS in fixed tiles, fixed-order reductions) and dropout
// masks are keyed by (seed, epoch, batch, layer), so training is bitwise reproducible for a seed
// whatever the thread count.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/aggregate.hpp"
#include "sampler/block.hpp"

namespace tg {

struct model_config {
  std::string kind = "sage";  // "sage" or "gcn"
  int num_layers = 2;
  std::int64_t in_dim = 0, hidden = 128, num_classes = 0;
  double dropout = 0.5;        // on hidden activations
  double input_dropout = 0.0;  // on the input features

  nlohmann::json to_json() const;
  static model_config from_json(const nlohmann::json& j);
  // Throws input_error on an unknown kind, no layers, or non-positive sizes / dropout outside [0, 1).
  void validate() const;
};

struct parameter {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> value, grad;
  std::int64_t size() const { return static_cast<std::int64_t>(value.size()); }
};

// Which dropout masks a pass uses; training passes only.
struct dropout_key {
  std::uint64_t seed = 0;
  std::int64_t epoch = 0, batch = 0;
};

class gnn_model {
 public:
  // Glorot-uniform weights and zero biases drawn from `seed`.
  gnn_model(model_config cfg, std::uint64_t seed);

  const model_config& config() const { return cfg_; }
  std::vector<parameter>& params() { return params_; }
  const std::vector<parameter>& params() const { return params_; }
  std::int64_t num_parameters() const;
  // Layer that parameter i belongs to.
  int param_layer(std::size_t i) const { return static_cast<int>(i) / params_per_layer(); }

  // x: features of blocks[0]'s sources (rows in source order). Returns logits of the seeds
  // (blocks[L-1]'s destinations), num_dst x num_classes, row-major. With train set, dropout is
  // applied with masks from `key` and activations are kept for backward().
  const std::vector<float>& forward(const sampled_batch& batch, const float* x, bool train, dropout_key key);
  // dlogits: gradient of the loss w.r.t. the logits of the last forward(train = true).
  // layer_done(l), when given, is called as soon as layer l's parameter gradients are final (layers
  // L-1 down to 0), before the rest of the backward pass: data-parallel training starts reducing
  // them while the earlier layers' gradients are still being computed.
  void backward(const float* dlogits, const std::function<void(int)>& layer_done = {});

  // One layer on one block without dropout (evaluation, layer-wise inference): x has the block's
  // num_src rows of the layer's input width; y receives num_dst rows of its output width.
  void layer_forward(int layer, const block& b, const float* x, float* y) const;
  std::int64_t layer_in_dim(int layer) const;
  std::int64_t layer_out_dim(int layer) const;

 private:
  struct layer_cache {
    agg_graph<float> g, gt;
    std::vector<float> input;   // layer input (after dropout), num_src x din
    std::vector<float> agg;     // aggregated input (sage; gcn when aggregating first)
    std::vector<float> trans;   // transformed input (gcn when transforming first)
    std::vector<float> output;  // after bias (+ ReLU) (+ dropout)
    std::int64_t num_src = 0, num_dst = 0;
  };
  void run_layer(int l, const block& b, const float* x, bool train, dropout_key key, layer_cache* c,
                 float* y) const;
  bool gcn_transform_first(int l) const { return layer_out_dim(l) < layer_in_dim(l); }
  parameter& weight(int l, int which) { return params_[static_cast<std::size_t>(param_index(l, which))]; }
  const parameter& weight(int l, int which) const { return params_[static_cast<std::size_t>(param_index(l, which))]; }
  int param_index(int l, int which) const;  // which: 0 = W (gcn) / W_self (sage), 1 = W_neigh (sage), last = bias
  int params_per_layer() const { return cfg_.kind == "sage" ? 3 : 2; }

  model_config cfg_;
  std::vector<parameter> params_;
  std::vector<layer_cache> cache_;
  std::vector<float> input_dropped_;
  std::vector<float> logits_;
  dropout_key key_;
  bool have_forward_ = false;
};

}  // namespace tg
