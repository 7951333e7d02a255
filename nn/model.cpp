#include "nn/model.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/elementwise.hpp"

namespace tg {

namespace {
constexpr std::uint64_t kInitStream = 0x696e6974ull;     // "init"
constexpr std::uint64_t kDropoutStream = 0x64726f70ull;  // "drop"

constexpr std::uint64_t kAttentionStream = 0x61747464ull;  // "attd"
constexpr float kGatSlope = 0.2f;                          // LeakyReLU's negative slope (GAT paper, PyG default)

counter_rng dropout_rng(const dropout_key& k, int layer) {
  return counter_rng(k.seed, stream_id(kDropoutStream + static_cast<std::uint64_t>(layer + 1),
                                       static_cast<std::uint64_t>(k.epoch), static_cast<std::uint64_t>(k.batch)));
}

counter_rng attention_rng(const dropout_key& k, int layer) {
  return counter_rng(k.seed, stream_id(kAttentionStream + static_cast<std::uint64_t>(layer),
                                       static_cast<std::uint64_t>(k.epoch), static_cast<std::uint64_t>(k.batch)));
}
}  // namespace

model_kind parse_model_kind(const std::string& s) {
  if (s == "sage") return model_kind::sage;
  if (s == "gcn") return model_kind::gcn;
  if (s == "gat") return model_kind::gat;
  throw input_error("--model '" + s + "': choose sage, gcn or gat");
}

nlohmann::json model_config::to_json() const {
  return {{"kind", kind},
          {"num_layers", num_layers},
          {"in_dim", in_dim},
          {"hidden", hidden},
          {"num_classes", num_classes},
          {"dropout", dropout},
          {"input_dropout", input_dropout},
          {"heads", heads},
          {"out_heads", out_heads},
          {"attention_dropout", attention_dropout},
          {"residual", residual}};
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
  c.heads = j.value("heads", 4);
  c.out_heads = j.value("out_heads", 1);
  c.attention_dropout = j.value("attention_dropout", 0.0);
  c.residual = j.value("residual", false);
  return c;
}

void model_config::validate() const {
  parse_model_kind(kind);
  if (num_layers < 1) throw input_error("a model needs at least one layer");
  if (in_dim <= 0) throw input_error("the dataset has no node features; a GNN needs them");
  if (hidden <= 0) throw input_error("--hidden must be positive, got " + std::to_string(hidden));
  if (num_classes < 2)
    throw input_error("a classifier needs at least 2 classes, the dataset has " + std::to_string(num_classes));
  for (const auto& [p, option] : {std::pair<double, const char*>{dropout, "--dropout"},
                                  std::pair<double, const char*>{input_dropout, "--input-dropout"},
                                  std::pair<double, const char*>{attention_dropout, "--attn-dropout"}})
    if (!(p >= 0.0 && p < 1.0)) throw input_error(std::string(option) + " must lie in [0, 1), got " + number_text(p));
  if (heads < 1 || heads > 1024) throw input_error("--heads must lie in [1, 1024], got " + std::to_string(heads));
  if (out_heads < 1 || out_heads > 1024)
    throw input_error("--out-heads must lie in [1, 1024], got " + std::to_string(out_heads));
}

gnn_model::gnn_model(model_config cfg, std::uint64_t seed, backend& be)
    : cfg_(std::move(cfg)), kind_(parse_model_kind(cfg_.kind)), be_(&be) {
  cfg_.validate();
  const int ppl = params_per_layer();
  for (int l = 0; l < cfg_.num_layers; ++l) {
    const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l);
    for (int w = 0; w < ppl; ++w) {
      parameter p;
      const bool bias = w == ppl - 1;
      const std::int64_t heads = layer_heads(l), hw = heads * head_width(l);
      const bool att = kind_ == model_kind::gat && (w == 1 || w == 2);
      p.name = "layer" + std::to_string(l) + "." +
               (bias                       ? "bias"
                : kind_ == model_kind::gcn ? "weight"
                : kind_ == model_kind::gat ? (w == 0   ? "weight"
                                              : w == 1 ? "att_src"
                                              : w == 2 ? "att_dst"
                                                       : "weight_res")
                                           : (w == 0 ? "weight_root" : "weight_neigh"));
      // GAT's weight maps to every head's columns (heads * head width, concatenated or averaged
      // later); its residual weight to the layer's output.
      const std::int64_t cols = kind_ == model_kind::gat && w == 0 ? hw : dout;
      p.shape = bias  ? std::vector<std::int64_t>{dout}
                : att ? std::vector<std::int64_t>{heads, head_width(l)}
                      : std::vector<std::int64_t>{din, cols};
      std::int64_t n = 1;
      for (std::int64_t e : p.shape) n *= e;
      p.value.assign(static_cast<std::size_t>(n), 0.0f);
      p.grad.assign(static_cast<std::size_t>(n), 0.0f);
      if (!bias) {
        // Glorot: fan-in + fan-out of the weight; for an attention vector (heads x F) as PyG, heads + F.
        const double limit = std::sqrt(6.0 / static_cast<double>(p.shape[0] + p.shape[1]));
        const counter_rng rng(seed, stream_id(kInitStream, static_cast<std::uint64_t>(params_.size())));
        for (std::int64_t i = 0; i < n; ++i)
          p.value[i] = static_cast<float>((2.0 * rng.uniform(static_cast<std::uint64_t>(i)) - 1.0) * limit);
      }
      params_.push_back(std::move(p));
    }
  }
  if (!be_->host_memory()) {
    device_params_.resize(params_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
      device_params_[i].value.bind(*be_);
      device_params_[i].grad.bind(*be_);
      device_params_[i].grad.resize(params_[i].value.size());
    }
    push_params();
    zero_grads();
  }
  cache_.resize(static_cast<std::size_t>(cfg_.num_layers));
  for (auto* t : {&buf_a_, &buf_b_, &logits_, &d_, &dx_, &dtmp_, &host_x_, &host_dlogits_, &eval_x_, &eval_y_,
                  &head_mean_, &gat_dh_, &gat_dalpha_, &gat_ds_, &gat_da_src_, &gat_da_dst_})
    t->bind(*be_);
  auto bind_cache = [&](layer_cache& c) {
    for (auto* t : {&c.input, &c.agg, &c.trans, &c.output, &c.a_src, &c.a_dst, &c.alpha, &c.alpha_used}) t->bind(*be_);
  };
  for (auto& c : cache_) bind_cache(c);
  bind_cache(eval_cache_);
  if (kind_ == model_kind::gat && gat_mean_heads(cfg_.num_layers - 1)) {
    // The head mean as a product: row k * C + c of the (heads * C) x C matrix holds 1/heads in column c.
    const int L = cfg_.num_layers - 1;
    const std::int64_t heads = layer_heads(L), classes = head_width(L);
    std::vector<float> m(static_cast<std::size_t>(heads * classes * classes), 0.0f);
    for (std::int64_t k = 0; k < heads; ++k)
      for (std::int64_t c = 0; c < classes; ++c)
        m[static_cast<std::size_t>((k * classes + c) * classes + c)] = 1.0f / static_cast<float>(heads);
    head_mean_.assign_from_host(m.data(), m.size());
    be_->synchronize();
  }
}

std::int64_t gnn_model::num_parameters() const {
  std::int64_t n = 0;
  for (const auto& p : params_) n += p.size();
  return n;
}

std::int64_t gnn_model::layer_in_dim(int l) const {
  return l == 0 ? cfg_.in_dim : layer_out_dim(l - 1);
}
std::int64_t gnn_model::layer_out_dim(int l) const {
  if (l == cfg_.num_layers - 1) return cfg_.num_classes;
  return kind_ == model_kind::gat ? cfg_.hidden * cfg_.heads : cfg_.hidden;
}
std::int64_t gnn_model::layer_heads(int l) const {
  if (kind_ != model_kind::gat) return 1;
  return l == cfg_.num_layers - 1 ? cfg_.out_heads : cfg_.heads;
}
std::int64_t gnn_model::head_width(int l) const {
  if (kind_ != model_kind::gat) return layer_out_dim(l);
  return l == cfg_.num_layers - 1 ? cfg_.num_classes : cfg_.hidden;
}

tensor_view<float> gnn_model::value(std::size_t i) {
  if (be_->host_memory()) return host_view(params_[i].value.data(), params_[i].size());
  return device_params_[i].value.view();
}

tensor_view<float> gnn_model::grad(std::size_t i) {
  if (be_->host_memory()) return host_view(params_[i].grad.data(), params_[i].size());
  return device_params_[i].grad.view();
}

tensor_view<const float> gnn_model::w(int l, int which) const {
  return const_cast<gnn_model*>(this)->w(l, which);
}

void gnn_model::pull_params(bool grads) {
  if (be_->host_memory()) return;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    device_params_[i].value.copy_to_host(params_[i].value.data());
    if (grads) device_params_[i].grad.copy_to_host(params_[i].grad.data());
  }
}

void gnn_model::push_params() {
  if (be_->host_memory()) return;
  for (std::size_t i = 0; i < params_.size(); ++i)
    device_params_[i].value.assign_from_host(params_[i].value.data(), params_[i].value.size());
  be_->synchronize();  // params() may change as soon as this returns
}

void gnn_model::zero_grads() {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const tensor_view<float> g = grad(i);
    be_->fill_zero(g.data, static_cast<std::size_t>(g.size) * sizeof(float));
  }
}

void gnn_model::run_layer(int l, const agg_csr_view& g, tensor_view<const float> x, std::int64_t ns, std::int64_t nd,
                          bool train, dropout_key key, layer_cache& c, tensor_view<float> y) const {
  const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l);
  const bool last = l == cfg_.num_layers - 1;
  backend& be = *be_;
  if (kind_ == model_kind::sage) {
    c.agg.resize(static_cast<std::size_t>(nd * din));
    be.aggregate(g, x, din, c.agg.view());
    // y = x_dst W_self + agg W_neigh (one pass over y on the CPU)
    be.matmul_sum2(false, false, nd, dout, din, x, din, w(l, 0), dout, din, c.agg.view(), din, w(l, 1), dout, 0.0f, y,
                   dout);
  } else if (kind_ == model_kind::gat) {
    gat_forward(l, g, x, ns, nd, train, key, c, y);
  } else if (gcn_transform_first(l)) {
    c.trans.resize(static_cast<std::size_t>(ns * dout));
    be.matmul(false, false, ns, dout, din, 1.0f, x, din, w(l, 0), dout, 0.0f, c.trans.view(), dout);
    be.aggregate(g, c.trans.view(), dout, y);
  } else {
    c.agg.resize(static_cast<std::size_t>(nd * din));
    be.aggregate(g, x, din, c.agg.view());
    be.matmul(false, false, nd, dout, din, 1.0f, c.agg.view(), din, w(l, 0), dout, 0.0f, y, dout);
  }
  const tensor_view<const float> bias = w(l, params_per_layer() - 1);
  if (last) {
    be.bias_forward(y, nd, dout, bias);
  } else if (kind_ != model_kind::gat) {
    // Bias, ReLU and (training) dropout in one pass. ReLU's backward needs only where the output was
    // positive, which the output after dropout still shows wherever dropout kept an element (and
    // dropped ones get no gradient): backward reads the next layer's input.
    const bool drop = train && cfg_.dropout > 0;
    be.bias_relu_dropout(y, nd, dout, bias, drop ? cfg_.dropout : 0.0, drop ? dropout_rng(key, l) : counter_rng(0, 0));
  } else {
    be.bias_forward(y, nd, dout, bias);
    be.elu_forward(y);
    if (train) {  // ELU's backward needs the value itself: kept before dropout
      c.output.resize(static_cast<std::size_t>(nd * dout));
      be.copy(c.output.data(), y.data, static_cast<std::size_t>(nd * dout) * sizeof(float));
      if (cfg_.dropout > 0) be.dropout_forward(y, cfg_.dropout, dropout_rng(key, l));
    }
  }
  c.num_src = ns;
  c.num_dst = nd;
}

void gnn_model::gat_forward(int l, const agg_csr_view& g, tensor_view<const float> x, std::int64_t ns, std::int64_t nd,
                            bool train, dropout_key key, layer_cache& c, tensor_view<float> y) const {
  backend& be = *be_;
  const std::int64_t din = layer_in_dim(l), heads = layer_heads(l), f = head_width(l), hw = heads * f;
  c.trans.resize(static_cast<std::size_t>(ns * hw));  // h = x W, every source (destinations first)
  be.matmul(false, false, ns, hw, din, 1.0f, x, din, w(l, 0), hw, 0.0f, c.trans.view(), hw);
  c.a_src.resize(static_cast<std::size_t>(ns * heads));
  c.a_dst.resize(static_cast<std::size_t>(nd * heads));
  be.head_dot(ns, heads, f, c.trans.view(), w(l, 1), c.a_src.view());
  be.head_dot(nd, heads, f, c.trans.view(), w(l, 2), c.a_dst.view());
  c.alpha.resize(static_cast<std::size_t>(g.nnz * heads));
  be.edge_softmax(g, heads, c.a_src.view(), c.a_dst.view(), kGatSlope, c.alpha.view());
  tensor_view<const float> att = c.alpha.view();
  if (train && cfg_.attention_dropout > 0) {
    c.alpha_used.resize(c.alpha.size());
    be.copy(c.alpha_used.data(), c.alpha.data(), c.alpha.size() * sizeof(float));
    be.dropout_forward(c.alpha_used.view(), cfg_.attention_dropout, attention_rng(key, l));
    att = c.alpha_used.view();
  }
  if (gat_mean_heads(l)) {
    c.agg.resize(static_cast<std::size_t>(nd * hw));
    be.aggregate_heads(g, heads, f, att, c.trans.view(), c.agg.view());
    be.matmul(false, false, nd, f, hw, 1.0f, c.agg.view(), hw, head_mean_.view(), f, 0.0f, y, f);
  } else {
    be.aggregate_heads(g, heads, f, att, c.trans.view(), y);
  }
  const std::int64_t dout = layer_out_dim(l);
  if (cfg_.residual) be.matmul(false, false, nd, dout, din, 1.0f, x, din, w(l, 3), dout, 1.0f, y, dout);
}

void gnn_model::gat_backward(int l, layer_cache& c, tensor_view<const float> d, bool need_dx, tensor_view<float> dx) {
  backend& be = *be_;
  const agg_csr_view& g = graphs_->forward(l);
  const agg_csr_view& gt = graphs_->backward(l);
  const std::int64_t din = layer_in_dim(l), heads = layer_heads(l), f = head_width(l), hw = heads * f;
  const std::int64_t ns = c.num_src, nd = c.num_dst, nnz = g.nnz;
  tensor_view<const float> dagg = d;  // gradient of the per-head aggregation (nd x hw)
  if (gat_mean_heads(l)) {
    dtmp_.resize(static_cast<std::size_t>(nd * hw));
    be.matmul(false, true, nd, hw, f, 1.0f, d, f, head_mean_.view(), f, 0.0f, dtmp_.view(), hw);
    dagg = dtmp_.view();
  }
  const bool dropped = cfg_.attention_dropout > 0;
  tensor_view<const float> att = dropped ? c.alpha_used.view() : c.alpha.view();
  // Through the attention coefficients: d alpha, the softmax and LeakyReLU, to the scores.
  gat_dalpha_.resize(static_cast<std::size_t>(nnz * heads));
  gat_ds_.resize(static_cast<std::size_t>(nnz * heads));
  be.edge_dot(g, heads, f, dagg, c.trans.view(), gat_dalpha_.view());
  if (dropped) be.dropout_backward(gat_dalpha_.view(), cfg_.attention_dropout, attention_rng(key_, l));
  be.edge_softmax_backward(g, heads, c.a_src.view(), c.a_dst.view(), kGatSlope, c.alpha.view(), gat_dalpha_.view(),
                           gat_ds_.view());
  gat_da_src_.resize(static_cast<std::size_t>(ns * heads));
  gat_da_dst_.resize(static_cast<std::size_t>(nd * heads));
  be.edge_sum(g, heads, gat_ds_.view(), gat_da_dst_.view());
  be.edge_sum(gt, heads, gat_ds_.view(), gat_da_src_.view());
  // dh: the messages' share over the transposed block, then the scores' rank-one terms.
  gat_dh_.resize(static_cast<std::size_t>(ns * hw));
  be.aggregate_heads(gt, heads, f, att, dagg, gat_dh_.view());
  be.head_dot_backward(ns, heads, f, c.trans.view(), w(l, 1), gat_da_src_.view(), gat_dh_.view(), dw(l, 1));
  be.head_dot_backward(nd, heads, f, c.trans.view(), w(l, 2), gat_da_dst_.view(), gat_dh_.view().slice(0, nd * hw),
                       dw(l, 2));
  be.matmul(true, false, din, hw, ns, 1.0f, c.in, din, gat_dh_.view(), hw, 0.0f, dw(l, 0), hw);
  if (need_dx) be.matmul(false, true, ns, din, hw, 1.0f, gat_dh_.view(), hw, w(l, 0), hw, 0.0f, dx, din);
  if (cfg_.residual) {  // the root term: only the destinations (the first nd sources) receive it
    const std::int64_t dout = layer_out_dim(l);
    be.matmul(true, false, din, dout, nd, 1.0f, c.in, din, d, dout, 0.0f, dw(l, 3), dout);
    if (need_dx) be.matmul(false, true, nd, din, dout, 1.0f, d, dout, w(l, 3), dout, 1.0f, dx, din);
  }
}

tensor_view<const float> gnn_model::forward(const sampled_batch& batch, const batch_graphs& g,
                                            tensor_view<const float> x, bool train, dropout_key key) {
  TG_EXPECTS(static_cast<int>(batch.blocks.size()) == cfg_.num_layers, "the batch has ", batch.blocks.size(),
             " blocks but the model has ", cfg_.num_layers, " layers");
  TG_EXPECTS(g.num_layers() == batch.blocks.size(), "the batch's graphs were built for ", g.num_layers(),
             " layers, not ", batch.blocks.size());
  be_->expect(x, batch.blocks[0].num_src() * cfg_.in_dim, "gnn_model::forward", "x");
  key_ = key;
  have_forward_ = train;
  graphs_ = train ? &g : nullptr;
  tensor_view<const float> cur = x;
  for (int l = 0; l < cfg_.num_layers; ++l) {
    const block& b = batch.blocks[static_cast<std::size_t>(l)];
    const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l), ns = b.num_src(), nd = b.num_dst;
    layer_cache& c = train ? cache_[static_cast<std::size_t>(l)] : eval_cache_;
    // Training keeps every layer's input for backward without copying it: layer 0 reads x itself
    // (copied only to apply input dropout), and every other layer reads its own buffer, which the
    // layer before wrote its output into.
    if (train && l == 0 && cfg_.input_dropout > 0) {
      c.input.resize(static_cast<std::size_t>(ns * din));
      be_->copy(c.input.data(), cur.data, static_cast<std::size_t>(ns * din) * sizeof(float));
      be_->dropout_forward(c.input.view(), cfg_.input_dropout, dropout_rng(key, -1));
      cur = c.input.view();
    }
    if (train) c.in = cur;
    const bool last = l == cfg_.num_layers - 1;
    tensor<float>& out = last    ? logits_
                         : train ? cache_[static_cast<std::size_t>(l + 1)].input
                                 : (l % 2 ? buf_b_ : buf_a_);
    out.resize(static_cast<std::size_t>(nd * dout));
    run_layer(l, g.forward(l), cur, ns, nd, train, key, c, out.view());
    cur = out.view();
  }
  return logits_.view();
}

void gnn_model::backward(tensor_view<const float> dlogits, const std::function<void(int)>& layer_done) {
  TG_EXPECTS(have_forward_ && graphs_, "backward() needs a training forward() first");
  const int L = cfg_.num_layers;
  backend& be = *be_;
  const std::int64_t nd_last = cache_[static_cast<std::size_t>(L - 1)].num_dst;
  d_.resize(static_cast<std::size_t>(nd_last * cfg_.num_classes));
  TG_EXPECTS(dlogits.size >= nd_last * cfg_.num_classes, "backward(): dlogits holds ", dlogits.size,
             " values, the logits ", nd_last * cfg_.num_classes);
  be.expect(dlogits, nd_last * cfg_.num_classes, "gnn_model::backward", "dlogits");
  be.copy(d_.data(), dlogits.data, d_.size() * sizeof(float));
  for (int l = L - 1; l >= 0; --l) {
    layer_cache& c = cache_[static_cast<std::size_t>(l)];
    const std::int64_t din = layer_in_dim(l), dout = layer_out_dim(l), ns = c.num_src, nd = c.num_dst;
    const tensor_view<float> d = d_.view().slice(0, nd * dout);
    if (l != L - 1 && kind_ != model_kind::gat) {
      // ReLU then dropout, from the output after dropout (no mask to redraw), and the bias gradient,
      // in one pass.
      be.relu_bias_backward(cache_[static_cast<std::size_t>(l + 1)].input.view(), d, nd, dout,
                            cfg_.dropout > 0 ? static_cast<float>(dropout_scale(cfg_.dropout)) : 1.0f,
                            dw(l, params_per_layer() - 1));
    } else {
      if (l != L - 1) {  // GAT
        if (cfg_.dropout > 0) be.dropout_backward(d, cfg_.dropout, dropout_rng(key_, l));
        be.elu_backward(c.output.view(), d);
      }
      be.bias_backward(d, nd, dout, dw(l, params_per_layer() - 1));
    }
    const agg_csr_view& gt = graphs_->backward(l);
    const bool need_dx = l > 0;
    if (need_dx) dx_.resize(static_cast<std::size_t>(ns * din));
    const tensor_view<float> dx = dx_.view();
    if (kind_ == model_kind::gat) {
      gat_backward(l, c, d, need_dx, dx);
    } else if (kind_ == model_kind::sage) {
      be.matmul(true, false, din, dout, nd, 1.0f, c.in, din, d, dout, 0.0f, dw(l, 0), dout);
      be.matmul(true, false, din, dout, nd, 1.0f, c.agg.view(), din, d, dout, 0.0f, dw(l, 1), dout);
      if (need_dx) {
        dtmp_.resize(static_cast<std::size_t>(nd * din));
        be.matmul(false, true, nd, din, dout, 1.0f, d, dout, w(l, 1), dout, 0.0f, dtmp_.view(), din);
        be.aggregate(gt, dtmp_.view(), din, dx);
        // Root term: only the destinations (the first nd sources) receive it.
        be.matmul(false, true, nd, din, dout, 1.0f, d, dout, w(l, 0), dout, 1.0f, dx, din);
      }
    } else if (gcn_transform_first(l)) {
      dtmp_.resize(static_cast<std::size_t>(ns * dout));
      be.aggregate(gt, d, dout, dtmp_.view());
      be.matmul(true, false, din, dout, ns, 1.0f, c.in, din, dtmp_.view(), dout, 0.0f, dw(l, 0), dout);
      if (need_dx) be.matmul(false, true, ns, din, dout, 1.0f, dtmp_.view(), dout, w(l, 0), dout, 0.0f, dx, din);
    } else {
      be.matmul(true, false, din, dout, nd, 1.0f, c.agg.view(), din, d, dout, 0.0f, dw(l, 0), dout);
      if (need_dx) {
        dtmp_.resize(static_cast<std::size_t>(nd * din));
        be.matmul(false, true, nd, din, dout, 1.0f, d, dout, w(l, 0), dout, 0.0f, dtmp_.view(), din);
        be.aggregate(gt, dtmp_.view(), din, dx);
      }
    }
    if (layer_done) layer_done(l);
    if (need_dx) std::swap(d_, dx_);
  }
  have_forward_ = false;
}

const std::vector<float>& gnn_model::forward(const sampled_batch& batch, const float* x, bool train, dropout_key key) {
  host_graphs_.build(aggregator_of(cfg_), batch.blocks.data(), batch.blocks.size(), *be_, train, self_loops_);
  const std::int64_t n = batch.blocks.empty() ? 0 : batch.blocks[0].num_src() * cfg_.in_dim;
  tensor_view<const float> xv = host_view(x, n);
  if (!be_->host_memory()) {
    host_x_.assign_from_host(x, static_cast<std::size_t>(n));
    xv = host_x_.view();
  }
  const tensor_view<const float> logits = forward(batch, host_graphs_, xv, train, key);
  host_logits_.resize(static_cast<std::size_t>(logits.size));
  be_->copy_to_host(host_logits_.data(), logits.data, host_logits_.size() * sizeof(float));
  return host_logits_;
}

void gnn_model::backward(const float* dlogits, const std::function<void(int)>& layer_done) {
  TG_EXPECTS(have_forward_, "backward() needs a training forward() first");
  const std::int64_t n = cache_[static_cast<std::size_t>(cfg_.num_layers - 1)].num_dst * cfg_.num_classes;
  if (be_->host_memory()) {
    backward(host_view(dlogits, n), layer_done);
  } else {
    host_dlogits_.assign_from_host(dlogits, static_cast<std::size_t>(n));  // host_x_ still holds x for backward
    backward(host_dlogits_.view(), layer_done);
    pull_params(true);
  }
}

void gnn_model::layer_forward(int layer, const block& b, const float* x, float* y) const {
  const std::int64_t din = layer_in_dim(layer), dout = layer_out_dim(layer);
  eval_graphs_.build(aggregator_of(cfg_), &b, 1, *be_, false, self_loops_);
  tensor_view<const float> xv = host_view(x, b.num_src() * din);
  tensor_view<float> yv = host_view(y, b.num_dst * dout);
  if (!be_->host_memory()) {
    eval_x_.assign_from_host(x, static_cast<std::size_t>(b.num_src() * din));
    eval_y_.resize(static_cast<std::size_t>(b.num_dst * dout));
    xv = eval_x_.view();
    yv = eval_y_.view();
  }
  run_layer(layer, eval_graphs_.forward(0), xv, b.num_src(), b.num_dst, false, dropout_key{}, eval_cache_, yv);
  if (!be_->host_memory()) eval_y_.copy_to_host(y);
}

}  // namespace tg
