#include "nn/model.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/matmul.hpp"

namespace tg {

namespace {
constexpr std::uint64_t kInitStream = 0x696e6974ull;     // "init"
constexpr std::uint64_t kDropoutStream = 0x64726f70ull;  // "drop"

counter_rng dropout_rng(const dropout_key& k, int layer) {
  return counter_rng(k.seed, stream_id(kDropoutStream + static_cast<std::uint64_t>(layer + 1),
                                       static_cast<std::uint64_t>(k.epoch), static_cast<std::uint64_t>(k.batch)));
}
}  // namespace

nlohmann::json model_config::to_json() const {
  return {{"kind", kind},     {"num_layers", num_layers}, {"in_dim", in_dim},
          {"hidden", hidden}, {"num_classes", num_classes}, {"dropout", dropout},
          {"input_dropout", input_dropout}};
}

model_config model_config::from_json(const nlohmann::json& j) {
  model_config c;
  c.kind = j.at("kind").get<std::string>();
  c.num_layers = j.at("num_layers").get<int>();
  c.in_dim = j.at("in_dim").get<std::int64_t>();
  c.hidden = j.at("hidden").get<std::int64_t>();
  c.num_classes = j.at("num_classes").get<std::int64_t>();
  c.dropout = j.at("dropout").get<double>();
  c.input_dropout = j.value("input_dropout", 0.0);
  return c;
}

void model_config::validate() const {
  if (kind != "sage" && kind != "gcn") throw input_error("--model '" + kind + "': choose sage or gcn");
  if (num_layers < 1) throw input_error("a model needs at least one layer");
  if (in_dim <= 0) throw input_error("the dataset has no node features; a GNN needs them");
  if (hidden <= 0) throw input_error("--hidden must be positive, got " + std::to_string(hidden));
  if (num_classes < 2) throw input_error("a classifier needs at least 2 classes, the dataset has " + std::to_string(num_classes));
  for (double p : {dropout, input_dropout})
    if (!(p >= 0.0 && p < 1.0)) throw input_error("dropout must lie in [0, 1), got " + std::to_string(p));
}

gnn_model::gnn_model(model_config cfg, std::uint64_t seed) : cfg_(std::move(cfg)) {
  cfg_.validate();
  const int ppl = params_per_layer();
  for (int l = 0; l < cfg_.num_layers; ++l) {
    const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l);
    for (int w = 0; w < ppl; ++w) {
      parameter p;
      const bool bias = w == ppl - 1;
      p.name = "layer" + std::to_string(l) + "." +
               (bias ? "bias" : cfg_.kind == "gcn" ? "weight" : (w == 0 ? "weight_root" : "weight_neigh"));
      p.shape = bias ? std::vector<std::int64_t>{dout} : std::vector<std::int64_t>{din, dout};
      const std::int64_t n = bias ? dout : din * dout;
      p.value.assign(static_cast<std::size_t>(n), 0.0f);
      p.grad.assign(static_cast<std::size_t>(n), 0.0f);
      if (!bias) {
        const double limit = std::sqrt(6.0 / static_cast<double>(din + dout));
        const counter_rng rng(seed, stream_id(kInitStream, static_cast<std::uint64_t>(params_.size())));
        for (std::int64_t i = 0; i < n; ++i)
          p.value[i] = static_cast<float>((2.0 * rng.uniform(static_cast<std::uint64_t>(i)) - 1.0) * limit);
      }
      params_.push_back(std::move(p));
    }
  }
  cache_.resize(static_cast<std::size_t>(cfg_.num_layers));
}

std::int64_t gnn_model::num_parameters() const {
  std::int64_t n = 0;
  for (const auto& p : params_) n += p.size();
  return n;
}

int gnn_model::param_index(int l, int which) const { return l * params_per_layer() + which; }

std::int64_t gnn_model::layer_in_dim(int l) const { return l == 0 ? cfg_.in_dim : cfg_.hidden; }
std::int64_t gnn_model::layer_out_dim(int l) const { return l == cfg_.num_layers - 1 ? cfg_.num_classes : cfg_.hidden; }

void gnn_model::run_layer(int l, const block& b, const float* x, bool train, dropout_key key, layer_cache* c,
                          float* y) const {
  const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l);
  const std::int64_t ns = b.num_src(), nd = b.num_dst;
  const bool last = l == cfg_.num_layers - 1;
  agg_graph<float> local_g;
  agg_graph<float>& g = c ? c->g : local_g;
  g = make_agg_graph<float>(cfg_.kind == "sage" ? aggregator::mean : aggregator::gcn, nd, ns, b.indptr.data(),
                            b.indices.data(), b.src_degree.empty() ? nullptr : b.src_degree.data());
  std::vector<float> local_agg;
  std::vector<float>& agg = c ? c->agg : local_agg;
  const parameter& bias = weight(l, params_per_layer() - 1);
  if (cfg_.kind == "sage") {
    agg.resize(static_cast<std::size_t>(nd * din));
    aggregate_forward(g, x, din, agg.data());
    const parameter& w_root = weight(l, 0);
    const parameter& w_neigh = weight(l, 1);
    matmul<float>(false, false, nd, dout, din, 1.0f, x, din, w_root.value.data(), dout, 0.0f, y, dout);
    matmul<float>(false, false, nd, dout, din, 1.0f, agg.data(), din, w_neigh.value.data(), dout, 1.0f, y, dout);
  } else if (gcn_transform_first(l)) {
    std::vector<float> local_t;
    std::vector<float>& t = c ? c->trans : local_t;
    t.resize(static_cast<std::size_t>(ns * dout));
    matmul<float>(false, false, ns, dout, din, 1.0f, x, din, weight(l, 0).value.data(), dout, 0.0f, t.data(), dout);
    aggregate_forward(g, t.data(), dout, y);
  } else {
    agg.resize(static_cast<std::size_t>(nd * din));
    aggregate_forward(g, x, din, agg.data());
    matmul<float>(false, false, nd, dout, din, 1.0f, agg.data(), din, weight(l, 0).value.data(), dout, 0.0f, y, dout);
  }
  bias_forward(y, nd, dout, bias.value.data());
  if (!last) {
    relu_forward(y, nd * dout);
    if (c) c->output.assign(y, y + nd * dout);  // ReLU output before dropout, for relu_backward
    if (train && cfg_.dropout > 0) dropout_forward(y, nd * dout, cfg_.dropout, dropout_rng(key, l));
  }
  if (c) {
    c->num_src = ns;
    c->num_dst = nd;
  }
}

void gnn_model::layer_forward(int layer, const block& b, const float* x, float* y) const {
  run_layer(layer, b, x, false, dropout_key{}, nullptr, y);
}

const std::vector<float>& gnn_model::forward(const sampled_batch& batch, const float* x, bool train,
                                             dropout_key key) {
  TG_EXPECTS(static_cast<int>(batch.blocks.size()) == cfg_.num_layers, "the batch has ", batch.blocks.size(),
             " blocks but the model has ", cfg_.num_layers, " layers");
  key_ = key;
  have_forward_ = train;
  const float* cur = x;
  std::vector<float> a, bbuf;
  for (int l = 0; l < cfg_.num_layers; ++l) {
    const block& b = batch.blocks[static_cast<std::size_t>(l)];
    const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l);
    layer_cache* c = train ? &cache_[static_cast<std::size_t>(l)] : nullptr;
    if (c) {
      c->input.assign(cur, cur + b.num_src() * din);
      if (l == 0 && cfg_.input_dropout > 0)
        dropout_forward(c->input.data(), b.num_src() * din, cfg_.input_dropout, dropout_rng(key, -1));
      cur = c->input.data();
    }
    std::vector<float>& out = (l == cfg_.num_layers - 1) ? logits_ : (l % 2 ? bbuf : a);
    out.resize(static_cast<std::size_t>(b.num_dst * dout));
    run_layer(l, b, cur, train, key, c, out.data());
    cur = out.data();
  }
  return logits_;
}

void gnn_model::backward(const float* dlogits, const std::function<void(int)>& layer_done) {
  TG_EXPECTS(have_forward_, "backward() needs a training forward() first");
  const int L = cfg_.num_layers;
  std::vector<float> d(dlogits, dlogits + cache_[L - 1].num_dst * cfg_.num_classes), dx;
  for (int l = L - 1; l >= 0; --l) {
    layer_cache& c = cache_[static_cast<std::size_t>(l)];
    const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l), ns = c.num_src, nd = c.num_dst;
    if (l != L - 1) {
      if (cfg_.dropout > 0) dropout_backward(d.data(), nd * dout, cfg_.dropout, dropout_rng(key_, l));
      relu_backward(c.output.data(), d.data(), nd * dout);
    }
    parameter& bias = weight(l, params_per_layer() - 1);
    bias_backward(d.data(), nd, dout, bias.grad.data());
    c.gt = transpose(c.g);
    const bool need_dx = l > 0;
    if (need_dx) dx.assign(static_cast<std::size_t>(ns * din), 0.0f);
    if (cfg_.kind == "sage") {
      parameter& w_root = weight(l, 0);
      parameter& w_neigh = weight(l, 1);
      matmul<float>(true, false, din, dout, nd, 1.0f, c.input.data(), din, d.data(), dout, 0.0f, w_root.grad.data(), dout);
      matmul<float>(true, false, din, dout, nd, 1.0f, c.agg.data(), din, d.data(), dout, 0.0f, w_neigh.grad.data(), dout);
      if (need_dx) {
        std::vector<float> dagg(static_cast<std::size_t>(nd * din));
        matmul<float>(false, true, nd, din, dout, 1.0f, d.data(), dout, w_neigh.value.data(), dout, 0.0f, dagg.data(), din);
        aggregate_backward(c.gt, dagg.data(), din, dx.data());
        matmul<float>(false, true, nd, din, dout, 1.0f, d.data(), dout, w_root.value.data(), dout, 1.0f, dx.data(), din);
      }
    } else if (gcn_transform_first(l)) {
      parameter& w = weight(l, 0);
      std::vector<float> dt(static_cast<std::size_t>(ns * dout));
      aggregate_backward(c.gt, d.data(), dout, dt.data());
      matmul<float>(true, false, din, dout, ns, 1.0f, c.input.data(), din, dt.data(), dout, 0.0f, w.grad.data(), dout);
      if (need_dx)
        matmul<float>(false, true, ns, din, dout, 1.0f, dt.data(), dout, w.value.data(), dout, 0.0f, dx.data(), din);
    } else {
      parameter& w = weight(l, 0);
      matmul<float>(true, false, din, dout, nd, 1.0f, c.agg.data(), din, d.data(), dout, 0.0f, w.grad.data(), dout);
      if (need_dx) {
        std::vector<float> dagg(static_cast<std::size_t>(nd * din));
        matmul<float>(false, true, nd, din, dout, 1.0f, d.data(), dout, w.value.data(), dout, 0.0f, dagg.data(), din);
        aggregate_backward(c.gt, dagg.data(), din, dx.data());
      }
    }
    if (layer_done) layer_done(l);
    if (need_dx) d.swap(dx);
  }
  have_forward_ = false;
}

}  // namespace tg
