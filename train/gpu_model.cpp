// The GNN model on the GPU (train/gpu_model.hpp): nn/model.cpp's forward and backward, operation
// for operation, with kernels/gpu_kernels.hpp.
#include "train/gpu_model.hpp"

#include <chrono>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/aggregate.hpp"
#include "kernels/gpu_kernels.hpp"

namespace tg {

namespace {

constexpr std::uint64_t kDropoutStream = 0x64726f70ull;  // "drop", as nn/model.cpp

counter_rng dropout_rng(const dropout_key& k, int layer) {
  return counter_rng(k.seed, stream_id(kDropoutStream + static_cast<std::uint64_t>(layer + 1),
                                       static_cast<std::uint64_t>(k.epoch), static_cast<std::uint64_t>(k.batch)));
}

template <typename T>
void upload_vec(gpu::device_buffer<T>* d, const std::vector<T>& v, const gpu::stream& s) {
  d->reserve(v.size());
  gpu::copy_async(d->data(), v.data(), v.size() * sizeof(T), s);
}

void to_device(const agg_graph<float>& g, device_graph* d, const gpu::stream& s) {
  d->num_dst = g.num_dst;
  d->num_src = g.num_src;
  d->nnz = static_cast<std::int64_t>(g.indices.size());
  upload_vec(&d->indptr, g.indptr, s);
  upload_vec(&d->indices, g.indices, s);
  if (g.weights.empty()) {
    const std::vector<float> ones(g.indices.size(), 1.0f);
    upload_vec(&d->weights, ones, s);
    s.synchronize();  // `ones` dies here
  } else {
    upload_vec(&d->weights, g.weights, s);
  }
}

gpu::agg_graph_view view(const device_graph& d) {
  return {d.num_dst, d.num_src, d.nnz, d.indptr.data(), d.indices.data(), d.weights.data()};
}

}  // namespace

void upload_graphs(const model_config& cfg, gpu_batch* b, const gpu::stream& s) {
  const std::size_t L = b->host.blocks.size();
  b->g.resize(L);
  b->gt.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const block& blk = b->host.blocks[l];
    const agg_graph<float> g = make_agg_graph<float>(cfg.kind == "sage" ? aggregator::mean : aggregator::gcn, blk.num_dst,
                                                     blk.num_src(), blk.indptr.data(), blk.indices.data(),
                                                     blk.src_degree.empty() ? nullptr : blk.src_degree.data());
    const agg_graph<float> gt = transpose(g);
    to_device(g, &b->g[l], s);
    to_device(gt, &b->gt[l], s);
    s.synchronize();  // the host graphs die at the end of this iteration
  }
}

struct gpu_gnn_model::impl {
  model_config cfg;
  struct param {
    std::int64_t n = 0;
    gpu::device_buffer<float> value, grad, m, v;
  };
  std::vector<param> params;
  struct layer {
    gpu::device_buffer<float> input, agg, trans, output;
    std::int64_t num_src = 0, num_dst = 0;
    const device_graph* g = nullptr;
    const device_graph* gt = nullptr;
  };
  std::vector<layer> layers;
  gpu::device_buffer<float> buf_a, buf_b, logits, d, dx, dtmp;
  gpu::device_buffer<std::int32_t> offsets32;
  std::map<std::int64_t, bool> use_cusparse;  // per width, decided by measuring both once
  dropout_key key;
  bool have_forward = false;

  int ppl() const { return cfg.kind == "sage" ? 3 : 2; }
  param& w(int l, int which) { return params[static_cast<std::size_t>(l * ppl() + which)]; }
  std::int64_t din(int l) const { return l == 0 ? cfg.in_dim : cfg.hidden; }
  std::int64_t dout(int l) const { return l == cfg.num_layers - 1 ? cfg.num_classes : cfg.hidden; }
  bool transform_first(int l) const { return dout(l) < din(l); }

  void aggregate(const device_graph& g, const float* x, std::int64_t dim, float* y, const gpu::stream& s) {
    const gpu::agg_graph_view v = view(g);
    offsets32.reserve(static_cast<std::size_t>(g.num_dst + 1));
    auto it = use_cusparse.find(dim);
    if (it == use_cusparse.end() && g.nnz > 0 && g.nnz < (std::int64_t{1} << 31)) {
      // Measure both on this (real) shape once per width and keep the faster.
      gpu::event a, b, c;
      a.record(s);
      gpu::aggregate_forward(v, x, dim, y, s.handle());
      b.record(s);
      gpu::aggregate_forward_cusparse(v, x, dim, y, offsets32.data(), s.handle());
      c.record(s);
      c.synchronize();
      const bool sparse = c.elapsed_ms_since(b) < b.elapsed_ms_since(a);
      it = use_cusparse.emplace(dim, sparse).first;
    }
    if (it != use_cusparse.end() && it->second && g.nnz < (std::int64_t{1} << 31))
      gpu::aggregate_forward_cusparse(v, x, dim, y, offsets32.data(), s.handle());
    else
      gpu::aggregate_forward(v, x, dim, y, s.handle());
  }
};

gpu_gnn_model::gpu_gnn_model(const gnn_model& host, const optimizer_state* opt) : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.cfg = host.config();
  gpu::stream s;
  const auto& hp = host.params();
  m.params.resize(hp.size());
  for (std::size_t i = 0; i < hp.size(); ++i) {
    auto& p = m.params[i];
    p.n = hp[i].size();
    p.value = gpu::device_buffer<float>(hp[i].value.size());
    p.grad = gpu::device_buffer<float>(hp[i].value.size());
    p.m = gpu::device_buffer<float>(hp[i].value.size());
    p.v = gpu::device_buffer<float>(hp[i].value.size());
    gpu::copy_async(p.value.data(), hp[i].value.data(), p.value.bytes(), s);
    if (opt && opt->m.size() == hp.size()) {
      gpu::copy_async(p.m.data(), opt->m[i].data(), p.m.bytes(), s);
      gpu::copy_async(p.v.data(), opt->v[i].data(), p.v.bytes(), s);
    } else {
      gpu::memset_async(p.m.data(), 0, p.m.bytes(), s);
      gpu::memset_async(p.v.data(), 0, p.v.bytes(), s);
    }
  }
  m.layers.resize(static_cast<std::size_t>(m.cfg.num_layers));
  s.synchronize();
}

gpu_gnn_model::~gpu_gnn_model() = default;

void gpu_gnn_model::download(gnn_model* host, optimizer_state* opt) const {
  gpu::stream s;
  auto& hp = host->params();
  for (std::size_t i = 0; i < hp.size(); ++i) {
    const auto& p = impl_->params[i];
    gpu::copy_async(hp[i].value.data(), p.value.data(), p.value.bytes(), s);
    if (opt) {
      opt->m[i].resize(static_cast<std::size_t>(p.n));
      opt->v[i].resize(static_cast<std::size_t>(p.n));
      gpu::copy_async(opt->m[i].data(), p.m.data(), p.m.bytes(), s);
      gpu::copy_async(opt->v[i].data(), p.v.data(), p.v.bytes(), s);
    }
  }
  s.synchronize();
}

const float* gpu_gnn_model::forward(const gpu_batch& b, dropout_key key, const gpu::stream& s) {
  auto& m = *impl_;
  const int L = m.cfg.num_layers;
  TG_EXPECTS(static_cast<int>(b.host.blocks.size()) == L, "the batch has ", b.host.blocks.size(), " blocks, the model ", L,
             " layers");
  m.key = key;
  const float* cur = b.x.data();
  for (int l = 0; l < L; ++l) {
    const block& blk = b.host.blocks[static_cast<std::size_t>(l)];
    auto& c = m.layers[static_cast<std::size_t>(l)];
    const std::int64_t din = m.din(l), dout = m.dout(l), ns = blk.num_src(), nd = blk.num_dst;
    const bool last = l == L - 1;
    c.num_src = ns;
    c.num_dst = nd;
    c.g = &b.g[static_cast<std::size_t>(l)];
    c.gt = &b.gt[static_cast<std::size_t>(l)];
    // The layer input is kept for backward (with the input dropout applied on layer 0).
    c.input.reserve(static_cast<std::size_t>(ns * din));
    gpu::copy_async(c.input.data(), cur, static_cast<std::size_t>(ns * din) * sizeof(float), s);
    if (l == 0 && m.cfg.input_dropout > 0)
      gpu::dropout_forward(c.input.data(), ns * din, m.cfg.input_dropout, dropout_rng(key, -1), s.handle());
    const float* x = c.input.data();
    gpu::device_buffer<float>& out = last ? m.logits : (l % 2 ? m.buf_b : m.buf_a);
    out.reserve(static_cast<std::size_t>(nd * dout));
    float* y = out.data();
    if (m.cfg.kind == "sage") {
      c.agg.reserve(static_cast<std::size_t>(nd * din));
      m.aggregate(*c.g, x, din, c.agg.data(), s);
      gpu::matmul(false, false, nd, dout, din, 1.0f, x, din, m.w(l, 0).value.data(), dout, 0.0f, y, dout, s.handle());
      gpu::matmul(false, false, nd, dout, din, 1.0f, c.agg.data(), din, m.w(l, 1).value.data(), dout, 1.0f, y, dout, s.handle());
    } else if (m.transform_first(l)) {
      c.trans.reserve(static_cast<std::size_t>(ns * dout));
      gpu::matmul(false, false, ns, dout, din, 1.0f, x, din, m.w(l, 0).value.data(), dout, 0.0f, c.trans.data(), dout, s.handle());
      m.aggregate(*c.g, c.trans.data(), dout, y, s);
    } else {
      c.agg.reserve(static_cast<std::size_t>(nd * din));
      m.aggregate(*c.g, x, din, c.agg.data(), s);
      gpu::matmul(false, false, nd, dout, din, 1.0f, c.agg.data(), din, m.w(l, 0).value.data(), dout, 0.0f, y, dout, s.handle());
    }
    gpu::bias_forward(y, nd, dout, m.w(l, m.ppl() - 1).value.data(), s.handle());
    if (!last) {
      gpu::relu_forward(y, nd * dout, s.handle());
      c.output.reserve(static_cast<std::size_t>(nd * dout));
      gpu::copy_async(c.output.data(), y, static_cast<std::size_t>(nd * dout) * sizeof(float), s);
      if (m.cfg.dropout > 0) gpu::dropout_forward(y, nd * dout, m.cfg.dropout, dropout_rng(key, l), s.handle());
    }
    cur = y;
  }
  m.have_forward = true;
  return m.logits.data();
}

void gpu_gnn_model::backward(const float* dlogits, const gpu::stream& s, const std::function<void(int)>& layer_done) {
  auto& m = *impl_;
  TG_EXPECTS(m.have_forward, "backward() needs a training forward() first");
  const int L = m.cfg.num_layers;
  const std::int64_t nd_last = m.layers[static_cast<std::size_t>(L - 1)].num_dst;
  m.d.reserve(static_cast<std::size_t>(nd_last * m.cfg.num_classes));
  gpu::copy_async(m.d.data(), dlogits, static_cast<std::size_t>(nd_last * m.cfg.num_classes) * sizeof(float), s);
  for (int l = L - 1; l >= 0; --l) {
    auto& c = m.layers[static_cast<std::size_t>(l)];
    const std::int64_t din = m.din(l), dout = m.dout(l), ns = c.num_src, nd = c.num_dst;
    float* d = m.d.data();
    if (l != L - 1) {
      if (m.cfg.dropout > 0) gpu::dropout_backward(d, nd * dout, m.cfg.dropout, dropout_rng(m.key, l), s.handle());
      gpu::relu_backward(c.output.data(), d, nd * dout, s.handle());
    }
    gpu::bias_backward(d, nd, dout, m.w(l, m.ppl() - 1).grad.data(), s.handle());
    const bool need_dx = l > 0;
    if (need_dx) m.dx.reserve(static_cast<std::size_t>(ns * din));
    float* dx = m.dx.data();
    if (m.cfg.kind == "sage") {
      auto& wr = m.w(l, 0);
      auto& wn = m.w(l, 1);
      gpu::matmul(true, false, din, dout, nd, 1.0f, c.input.data(), din, d, dout, 0.0f, wr.grad.data(), dout, s.handle());
      gpu::matmul(true, false, din, dout, nd, 1.0f, c.agg.data(), din, d, dout, 0.0f, wn.grad.data(), dout, s.handle());
      if (need_dx) {
        m.dtmp.reserve(static_cast<std::size_t>(nd * din));
        gpu::matmul(false, true, nd, din, dout, 1.0f, d, dout, wn.value.data(), dout, 0.0f, m.dtmp.data(), din, s.handle());
        m.aggregate(*c.gt, m.dtmp.data(), din, dx, s);
        // Root term: only the destinations (the first nd sources) receive it.
        gpu::matmul(false, true, nd, din, dout, 1.0f, d, dout, wr.value.data(), dout, 1.0f, dx, din, s.handle());
      }
    } else if (m.transform_first(l)) {
      auto& w = m.w(l, 0);
      m.dtmp.reserve(static_cast<std::size_t>(ns * dout));
      m.aggregate(*c.gt, d, dout, m.dtmp.data(), s);
      gpu::matmul(true, false, din, dout, ns, 1.0f, c.input.data(), din, m.dtmp.data(), dout, 0.0f, w.grad.data(), dout, s.handle());
      if (need_dx)
        gpu::matmul(false, true, ns, din, dout, 1.0f, m.dtmp.data(), dout, w.value.data(), dout, 0.0f, dx, din, s.handle());
    } else {
      auto& w = m.w(l, 0);
      gpu::matmul(true, false, din, dout, nd, 1.0f, c.agg.data(), din, d, dout, 0.0f, w.grad.data(), dout, s.handle());
      if (need_dx) {
        m.dtmp.reserve(static_cast<std::size_t>(nd * din));
        gpu::matmul(false, true, nd, din, dout, 1.0f, d, dout, w.value.data(), dout, 0.0f, m.dtmp.data(), din, s.handle());
        m.aggregate(*c.gt, m.dtmp.data(), din, dx, s);
      }
    }
    if (layer_done) layer_done(l);
    if (need_dx) std::swap(m.d, m.dx);
  }
  m.have_forward = false;
}

std::vector<std::pair<float*, std::size_t>> gpu_gnn_model::layer_grads(int layer) {
  std::vector<std::pair<float*, std::size_t>> r;
  for (std::size_t i = 0; i < impl_->params.size(); ++i)
    if (static_cast<int>(i) / impl_->ppl() == layer)
      r.emplace_back(impl_->params[i].grad.data(), static_cast<std::size_t>(impl_->params[i].n));
  return r;
}

void gpu_gnn_model::adam(const adam_config& first_layer, const adam_config& other_layers, std::int64_t step,
                         const gpu::stream& s) {
  auto& m = *impl_;
  for (std::size_t i = 0; i < m.params.size(); ++i) {
    auto& p = m.params[i];
    const bool first = static_cast<int>(i) / m.ppl() == 0;
    gpu::adam_step(p.value.data(), p.grad.data(), p.m.data(), p.v.data(), p.n, first ? first_layer : other_layers, step,
                   s.handle());
  }
}

void gpu_gnn_model::zero_grads(const gpu::stream& s) {
  for (auto& p : impl_->params) gpu::memset_async(p.grad.data(), 0, p.grad.bytes(), s);
}

std::map<std::int64_t, std::string> gpu_gnn_model::aggregation_choices() const {
  std::map<std::int64_t, std::string> r;
  for (const auto& [dim, sparse] : impl_->use_cusparse) r[dim] = sparse ? "cusparse" : "custom";
  return r;
}

}  // namespace tg
