#pragma once
// GNN models over sampled blocks: GraphSAGE (mean aggregator with a root weight; Hamilton et al.,
// NIPS'17), GCN (symmetric normalisation with self-loops; Kipf & Welling, ICLR'17) and GAT (graph
// attention; Veličković et al., ICLR'18). A model of L layers consumes the L blocks of a sampled
// batch: layer l maps features of block l's sources to its destinations. Hidden layers apply ReLU
// (ELU for GAT, as the paper) then dropout; the last layer yields class logits.
//
// GAT, as PyG's GATConv(heads, concat, negative_slope=0.2, dropout, add_self_loops=True,
// bias=True, residual as below): a destination v attends over its *sampled* in-neighbours u -> v
// plus itself (one self-loop; a sampled self-loop is kept only as that one), never over unsampled
// neighbours. Per head k: h = x W, e_uv = LeakyReLU(<h_u, a_src> + <h_v, a_dst>, 0.2), alpha =
// softmax of e over v's attended set, attention dropout on alpha (training only), y_v = sum_u
// alpha_uv h_u. Hidden layers concatenate `heads` heads of `hidden` columns (the next layer's input
// is heads * hidden wide); the last layer averages `out_heads` heads of num_classes columns. With
// `residual`, x_v W_res is added (PyG's residual=True: a root term, which heterophilous graphs
// need). Then bias. With full neighbourhoods (evaluation) this is exactly GATConv on the graph.
//
// Written once over the compute backend (kernels/backend.hpp): the same code runs on the CPU and
// on a GPU, so the CPU tests (finite differences, determinism) cover the logic the GPU runs.
// Forward keeps what backward needs; backward fills each parameter's gradient (overwriting it).
// On the CPU backend all arithmetic is oneTBB / BLAS in fixed tiles with fixed-order reductions and
// dropout masks are keyed by (seed, epoch, batch, layer), so training is bitwise reproducible for a
// seed whatever the thread count; the CUDA backend draws the same masks.
//
// Parameters live in backend memory. params() is their host copy: on the CPU backend it is the
// storage itself; on a device backend pull_params() refreshes it and push_params() sends it back.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/backend.hpp"
#include "nn/batch_graphs.hpp"
#include "sampler/block.hpp"

namespace tg {

// The model families, parsed once from model_config::kind.
enum class model_kind { sage, gcn, gat };
// "sage", "gcn" or "gat"; throws input_error naming the flag otherwise.
model_kind parse_model_kind(const std::string& s);

struct model_config {
  std::string kind = "sage";  // "sage", "gcn" or "gat"
  int num_layers = 2;
  std::int64_t in_dim = 0, hidden = 128, num_classes = 0;  // gat: hidden is per head
  double dropout = 0.5;                                    // on hidden activations
  double input_dropout = 0.0;                              // on the input features
  // GAT only: heads of the hidden layers (concatenated) and of the last layer (averaged), and the
  // dropout on attention coefficients.
  int heads = 4, out_heads = 1;
  double attention_dropout = 0.0;
  bool residual = false;  // GAT: add x_v W_res to each destination's output (PyG's residual=True)

  nlohmann::json to_json() const;
  static model_config from_json(const nlohmann::json& j);
  // Throws input_error on an unknown kind, no layers, or non-positive sizes / heads, dropout outside [0, 1).
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
  // Glorot-uniform weights and zero biases drawn from `seed`, in `be`'s memory.
  gnn_model(model_config cfg, std::uint64_t seed, backend& be = cpu_backend());
  gnn_model(const gnn_model&) = delete;
  gnn_model& operator=(const gnn_model&) = delete;

  const model_config& config() const { return cfg_; }
  backend& compute() const { return *be_; }
  // gcn: the self-loops of the graph the batches are sampled from (outliving the model), for the
  // host-memory passes below to take them out of the degrees (batch_graphs::build). Without it the
  // blocks' degrees are used as they are (right for graphs without self-loops).
  void set_self_loops(const self_loop_index* loops) { self_loops_ = loops; }
  const self_loop_index* self_loops() const { return self_loops_; }
  std::vector<parameter>& params() { return params_; }
  const std::vector<parameter>& params() const { return params_; }
  std::int64_t num_parameters() const;
  // Layer that parameter i belongs to.
  int param_layer(std::size_t i) const { return static_cast<int>(i) / params_per_layer(); }
  // Parameter i's values and gradient in backend memory.
  tensor_view<float> value(std::size_t i);
  tensor_view<float> grad(std::size_t i);
  // Backend -> params() (values; gradients too when `grads`), and params() -> backend (values).
  // No-ops on the CPU backend, whose parameters are params().
  void pull_params(bool grads = false);
  void push_params();
  // Sets every gradient to zero (a data-parallel rank with no seeds in a batch).
  void zero_grads();

  // --- On backend memory (the training loop). x: features of blocks[0]'s sources, in source
  // order; g: the batch's graphs (built with transposes when training); a training pass reads both
  // again in backward(), so the caller keeps them alive and unchanged until then. Returns the seeds' logits
  // (blocks[L-1]'s destinations x classes). With train set, dropout is applied with masks from `key` and activations
  // are kept for backward().
  tensor_view<const float> forward(const sampled_batch& batch, const batch_graphs& g, tensor_view<const float> x,
                                   bool train, dropout_key key);
  // dlogits: gradient of the loss w.r.t. the logits of the last forward(train = true).
  // layer_done(l), when given, is called as soon as layer l's parameter gradients are final (on a
  // device backend: queued), layers L-1 down to 0, before the rest of the backward pass:
  // data-parallel training starts reducing them while the earlier layers' gradients are computed.
  void backward(tensor_view<const float> dlogits, const std::function<void(int)>& layer_done = {});

  // --- On host memory (tests, evaluation): the same passes, with the batch's graphs built here
  // (x, read again by backward() on the CPU backend, stays valid until then).
  const std::vector<float>& forward(const sampled_batch& batch, const float* x, bool train, dropout_key key);
  void backward(const float* dlogits, const std::function<void(int)>& layer_done = {});
  // One layer on one block without dropout (evaluation, layer-wise inference): x has the block's
  // num_src rows of the layer's input width; y receives num_dst rows of its output width.
  void layer_forward(int layer, const block& b, const float* x, float* y) const;
  std::int64_t layer_in_dim(int layer) const;
  std::int64_t layer_out_dim(int layer) const;
  // GAT: a layer's heads and the width of one head (1 and layer_out_dim for the other models).
  std::int64_t layer_heads(int layer) const;
  std::int64_t head_width(int layer) const;

 private:
  struct layer_cache {
    tensor<float> input;          // layer input (after dropout), num_src x din, written by the layer before
    tensor_view<const float> in;  // what the layer read (input, or x itself for layer 0 without input dropout)
    tensor<float> agg;            // aggregated input (sage; gcn when aggregating first)
    tensor<float> trans;          // transformed input (gcn when transforming first)
    tensor<float> output;         // after bias + ReLU, before dropout (hidden layers)
    // GAT: attention scores of sources / destinations (x heads), coefficients (nnz x heads) before
    // and after attention dropout, and the per-head aggregation before the head mean (last layer).
    tensor<float> a_src, a_dst, alpha, alpha_used;
    std::int64_t num_src = 0, num_dst = 0;
  };
  struct device_param {
    tensor<float> value, grad;
  };
  void run_layer(int l, const agg_csr_view& g, tensor_view<const float> x, std::int64_t ns, std::int64_t nd, bool train,
                 dropout_key key, layer_cache& c, tensor_view<float> y) const;
  bool gcn_transform_first(int l) const { return layer_out_dim(l) < layer_in_dim(l); }
  // GAT layer pieces (run_layer / backward).
  void gat_forward(int l, const agg_csr_view& g, tensor_view<const float> x, std::int64_t ns, std::int64_t nd,
                   bool train, dropout_key key, layer_cache& c, tensor_view<float> y) const;
  void gat_backward(int l, layer_cache& c, tensor_view<const float> d, bool need_dx, tensor_view<float> dx);
  bool gat_mean_heads(int l) const { return l == cfg_.num_layers - 1 && layer_heads(l) > 1; }
  int param_index(int l, int which) const {
    return l * params_per_layer() + which;
  }  // which: 0 = W / W_root, 1 = W_neigh, last = bias
  // sage: W_root, W_neigh, bias; gcn: W, bias; gat: W, att_src, att_dst, [W_res,] bias.
  int params_per_layer() const {
    return kind_ == model_kind::sage ? 3 : kind_ == model_kind::gat ? (cfg_.residual ? 5 : 4) : 2;
  }
  tensor_view<float> w(int l, int which) { return value(static_cast<std::size_t>(param_index(l, which))); }
  tensor_view<const float> w(int l, int which) const;
  tensor_view<float> dw(int l, int which) { return grad(static_cast<std::size_t>(param_index(l, which))); }

  model_config cfg_;
  model_kind kind_;
  backend* be_;
  std::vector<parameter> params_;
  std::vector<device_param> device_params_;  // device backends only
  std::vector<layer_cache> cache_;
  tensor<float> buf_a_, buf_b_, logits_, d_, dx_, dtmp_;
  tensor<float> head_mean_;  // GAT with out_heads > 1: (out_heads * classes) x classes, 1/out_heads blocks
  tensor<float> gat_dh_, gat_dalpha_, gat_ds_, gat_da_src_, gat_da_dst_;
  const batch_graphs* graphs_ = nullptr;  // of the last training forward
  const self_loop_index* self_loops_ = nullptr;
  dropout_key key_;
  bool have_forward_ = false;
  // Host-memory API state.
  batch_graphs host_graphs_;
  tensor<float> host_x_, host_dlogits_;
  std::vector<float> host_logits_;
  mutable layer_cache eval_cache_;
  mutable tensor<float> eval_x_, eval_y_;
  mutable batch_graphs eval_graphs_;
};

}  // namespace tg
