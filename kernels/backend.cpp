// The backend's front end (kernels/backend.hpp): every operation's views are checked here, once for
// all backends (memory kind and extent), before the backend's implementation runs.
#include "kernels/backend.hpp"

#include <chrono>

namespace tg {

const char* to_string(device_kind k) {
  return k == device_kind::cuda ? "cuda" : "cpu";
}

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

backend::op_scope::op_scope(backend& be, const char* op, const char* tag, std::int64_t num)
    : be_(be.profiling_.load(std::memory_order_relaxed) ? &be : nullptr), op_(op), tag_(tag), num_(num) {
  if (!be_) return;
  be_->synchronize();  // what was queued before is not this operation's
  t0_ = now_seconds();
}

backend::op_scope::~op_scope() {
  if (!be_) return;
  try {
    be_->synchronize();
  } catch (...) {
    return;  // a failing operation's error is already on its way
  }
  const double secs = now_seconds() - t0_;
  std::string key = op_;
  if (tag_) key += std::string(" ") + tag_;
  if (num_ >= 0) key += " " + std::to_string(num_);
  const std::lock_guard<std::mutex> lock(be_->profile_mu_);
  op_stat& s = be_->profile_[key];
  ++s.calls;
  s.seconds += secs;
}

device_kind parse_device_kind(const std::string& s, const std::string& flag) {
  if (s == "cpu") return device_kind::cpu;
  if (s == "cuda") return device_kind::cuda;
  throw input_error(flag + " '" + s + "': choose cpu or cuda");
}

void backend::matmul(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                     tensor_view<const float> a, std::int64_t lda, tensor_view<const float> b, std::int64_t ldb,
                     float beta, tensor_view<float> c, std::int64_t ldc) {
  const op_scope prof(*this, "matmul", ta ? (tb ? "TT" : "TN") : (tb ? "NT" : "NN"));
  expect(a, k > 0 ? matrix_extent(ta ? k : m, ta ? m : k, lda) : 0, "matmul", "a");
  expect(b, k > 0 ? matrix_extent(tb ? n : k, tb ? k : n, ldb) : 0, "matmul", "b");
  expect(c, matrix_extent(m, n, ldc), "matmul", "c");
  if (m > 0 && n > 0) matmul_impl(ta, tb, m, n, k, alpha, a.data, lda, b.data, ldb, beta, c.data, ldc);
}

void backend::matmul_sum2(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k1,
                          tensor_view<const float> a1, std::int64_t lda1, tensor_view<const float> b1,
                          std::int64_t ldb1, std::int64_t k2, tensor_view<const float> a2, std::int64_t lda2,
                          tensor_view<const float> b2, std::int64_t ldb2, float beta, tensor_view<float> c,
                          std::int64_t ldc) {
  const op_scope prof(*this, "matmul_sum2", ta ? (tb ? "TT" : "TN") : (tb ? "NT" : "NN"));
  expect(a1, k1 > 0 ? matrix_extent(ta ? k1 : m, ta ? m : k1, lda1) : 0, "matmul_sum2", "a1");
  expect(b1, k1 > 0 ? matrix_extent(tb ? n : k1, tb ? k1 : n, ldb1) : 0, "matmul_sum2", "b1");
  expect(a2, k2 > 0 ? matrix_extent(ta ? k2 : m, ta ? m : k2, lda2) : 0, "matmul_sum2", "a2");
  expect(b2, k2 > 0 ? matrix_extent(tb ? n : k2, tb ? k2 : n, ldb2) : 0, "matmul_sum2", "b2");
  expect(c, matrix_extent(m, n, ldc), "matmul_sum2", "c");
  if (m > 0 && n > 0)
    matmul_sum2_impl(ta, tb, m, n, k1, a1.data, lda1, b1.data, ldb1, k2, a2.data, lda2, b2.data, ldb2, beta, c.data,
                     ldc);
}

void backend::aggregate(const agg_csr_view& g, tensor_view<const float> x, std::int64_t dim, tensor_view<float> y) {
  const op_scope prof(*this, "aggregate", nullptr, dim);
  expect(g.indptr, g.num_dst + 1, "aggregate", "indptr");
  expect(g.indices, g.nnz, "aggregate", "indices");
  if (!g.weights.empty()) expect(g.weights, g.nnz, "aggregate", "weights");
  expect(x, g.nnz > 0 ? g.num_src * dim : 0, "aggregate", "x");
  expect(y, g.num_dst * dim, "aggregate", "y");
  if (g.num_dst > 0 && dim > 0) aggregate_impl(g, x.data, dim, y.data);
}

void backend::bias_forward(tensor_view<float> y, std::int64_t rows, std::int64_t cols, tensor_view<const float> b) {
  const op_scope prof(*this, "bias_forward");
  expect(y, rows * cols, "bias_forward", "y");
  expect(b, rows > 0 ? cols : 0, "bias_forward", "b");
  if (rows * cols > 0) bias_forward_impl(y.data, rows, cols, b.data);
}

void backend::bias_relu_dropout(tensor_view<float> y, std::int64_t rows, std::int64_t cols, tensor_view<const float> b,
                                double p, const counter_rng& rng) {
  const op_scope prof(*this, "bias_relu_dropout");
  TG_EXPECTS(p >= 0 && p < 1, "bias_relu_dropout: p = ", p, " is not in [0, 1)");
  expect(y, rows * cols, "bias_relu_dropout", "y");
  expect(b, rows > 0 ? cols : 0, "bias_relu_dropout", "b");
  if (rows * cols > 0) bias_relu_dropout_impl(y.data, rows, cols, b.data, p, rng);
}

void backend::relu_bias_backward(tensor_view<const float> y, tensor_view<float> dy, std::int64_t rows,
                                 std::int64_t cols, float scale, tensor_view<float> db) {
  const op_scope prof(*this, "relu_bias_backward");
  expect(dy, rows * cols, "relu_bias_backward", "dy");
  expect(y, rows * cols, "relu_bias_backward", "y");
  expect(db, cols, "relu_bias_backward", "db");
  if (cols > 0) relu_bias_backward_impl(y.data, dy.data, rows, cols, scale, db.data);
}

void backend::bias_backward(tensor_view<const float> dy, std::int64_t rows, std::int64_t cols, tensor_view<float> db) {
  const op_scope prof(*this, "bias_backward");
  expect(dy, rows * cols, "bias_backward", "dy");
  expect(db, cols, "bias_backward", "db");
  if (cols > 0) bias_backward_impl(dy.data, rows, cols, db.data);
}

void backend::relu_forward(tensor_view<float> x) {
  const op_scope prof(*this, "relu_forward");
  expect(x, x.size, "relu_forward", "x");
  if (x.size > 0) relu_forward_impl(x.data, x.size);
}

void backend::relu_backward(tensor_view<const float> y, tensor_view<float> dy, float scale) {
  const op_scope prof(*this, "relu_backward");
  expect(dy, dy.size, "relu_backward", "dy");
  expect(y, dy.size, "relu_backward", "y");
  if (dy.size > 0) relu_backward_impl(y.data, dy.data, dy.size, scale);
}

void backend::dropout_forward(tensor_view<float> x, double p, const counter_rng& rng) {
  const op_scope prof(*this, "dropout_forward");
  expect(x, x.size, "dropout_forward", "x");
  TG_EXPECTS(p >= 0 && p < 1, "dropout probability ", p, " outside [0, 1)");
  if (x.size > 0) dropout_forward_impl(x.data, x.size, p, rng);
}

void backend::dropout_backward(tensor_view<float> dx, double p, const counter_rng& rng) {
  const op_scope prof(*this, "dropout_backward");
  expect(dx, dx.size, "dropout_backward", "dx");
  TG_EXPECTS(p >= 0 && p < 1, "dropout probability ", p, " outside [0, 1)");
  if (dx.size > 0) dropout_backward_impl(dx.data, dx.size, p, rng);
}

void backend::softmax_nll(tensor_view<const float> logits, std::int64_t rows, std::int64_t classes,
                          tensor_view<const std::int64_t> labels, tensor_view<float> dlogits,
                          tensor_view<float> row_loss, std::int64_t normalizer) {
  const op_scope prof(*this, "softmax_nll");
  expect(logits, rows * classes, "softmax_nll", "logits");
  expect(labels, rows, "softmax_nll", "labels");
  expect(row_loss, rows, "softmax_nll", "row_loss");
  if (!dlogits.empty()) expect(dlogits, rows * classes, "softmax_nll", "dlogits");
  if (rows > 0)
    softmax_nll_impl(logits.data, rows, classes, labels.data, dlogits.empty() ? nullptr : dlogits.data, row_loss.data,
                     normalizer > 0 ? normalizer : rows);
}

void backend::adam_step(tensor_view<float> param, tensor_view<const float> grad, tensor_view<float> m,
                        tensor_view<float> v, const adam_config& cfg, std::int64_t step) {
  const op_scope prof(*this, "adam_step");
  const std::int64_t n = param.size;
  expect(param, n, "adam_step", "param");
  expect(grad, n, "adam_step", "grad");
  expect(m, n, "adam_step", "m");
  expect(v, n, "adam_step", "v");
  if (n > 0) adam_step_impl(param.data, grad.data, m.data, v.data, n, cfg, step);
}

namespace {
// Checks a graph's arrays (indices, and edge_ids when present) for an attention operation.
void expect_graph(const backend& be, const agg_csr_view& g, const char* op) {
  be.expect(g.indptr, g.num_dst + 1, op, "indptr");
  be.expect(g.indices, g.nnz, op, "indices");
  if (!g.edge_ids.empty()) be.expect(g.edge_ids, g.nnz, op, "edge_ids");
}
}  // namespace

void backend::head_dot(std::int64_t rows, std::int64_t heads, std::int64_t width, tensor_view<const float> x,
                       tensor_view<const float> att, tensor_view<float> y) {
  const op_scope prof(*this, "head_dot");
  expect(x, rows * heads * width, "head_dot", "x");
  expect(att, rows > 0 ? heads * width : 0, "head_dot", "att");
  expect(y, rows * heads, "head_dot", "y");
  if (rows > 0 && heads > 0) head_dot_impl(rows, heads, width, x.data, att.data, y.data);
}

void backend::head_dot_backward(std::int64_t rows, std::int64_t heads, std::int64_t width, tensor_view<const float> x,
                                tensor_view<const float> att, tensor_view<const float> dy, tensor_view<float> dx,
                                tensor_view<float> datt) {
  const op_scope prof(*this, "head_dot_backward");
  expect(x, rows * heads * width, "head_dot_backward", "x");
  expect(att, heads * width, "head_dot_backward", "att");
  expect(dy, rows * heads, "head_dot_backward", "dy");
  if (!dx.empty()) expect(dx, rows * heads * width, "head_dot_backward", "dx");
  expect(datt, heads * width, "head_dot_backward", "datt");
  if (heads * width > 0)
    head_dot_backward_impl(rows, heads, width, x.data, att.data, dy.data, dx.empty() ? nullptr : dx.data, datt.data);
}

void backend::edge_softmax(const agg_csr_view& g, std::int64_t heads, tensor_view<const float> a_src,
                           tensor_view<const float> a_dst, float slope, tensor_view<float> alpha) {
  const op_scope prof(*this, "edge_softmax");
  expect_graph(*this, g, "edge_softmax");
  expect(a_src, g.nnz > 0 ? g.num_src * heads : 0, "edge_softmax", "a_src");
  expect(a_dst, g.nnz > 0 ? g.num_dst * heads : 0, "edge_softmax", "a_dst");
  expect(alpha, g.nnz * heads, "edge_softmax", "alpha");
  if (g.nnz > 0 && heads > 0) edge_softmax_impl(g, heads, a_src.data, a_dst.data, slope, alpha.data);
}

void backend::edge_softmax_backward(const agg_csr_view& g, std::int64_t heads, tensor_view<const float> a_src,
                                    tensor_view<const float> a_dst, float slope, tensor_view<const float> alpha,
                                    tensor_view<const float> dalpha, tensor_view<float> ds) {
  const op_scope prof(*this, "edge_softmax_backward");
  expect_graph(*this, g, "edge_softmax_backward");
  expect(a_src, g.nnz > 0 ? g.num_src * heads : 0, "edge_softmax_backward", "a_src");
  expect(a_dst, g.nnz > 0 ? g.num_dst * heads : 0, "edge_softmax_backward", "a_dst");
  expect(alpha, g.nnz * heads, "edge_softmax_backward", "alpha");
  expect(dalpha, g.nnz * heads, "edge_softmax_backward", "dalpha");
  expect(ds, g.nnz * heads, "edge_softmax_backward", "ds");
  if (g.nnz > 0 && heads > 0)
    edge_softmax_backward_impl(g, heads, a_src.data, a_dst.data, slope, alpha.data, dalpha.data, ds.data);
}

void backend::aggregate_heads(const agg_csr_view& g, std::int64_t heads, std::int64_t width, tensor_view<const float> w,
                              tensor_view<const float> x, tensor_view<float> y) {
  const op_scope prof(*this, "aggregate_heads");
  expect_graph(*this, g, "aggregate_heads");
  expect(w, g.nnz * heads, "aggregate_heads", "w");
  expect(x, g.nnz > 0 ? g.num_src * heads * width : 0, "aggregate_heads", "x");
  expect(y, g.num_dst * heads * width, "aggregate_heads", "y");
  if (g.num_dst > 0 && heads * width > 0) aggregate_heads_impl(g, heads, width, w.data, x.data, y.data);
}

void backend::edge_dot(const agg_csr_view& g, std::int64_t heads, std::int64_t width, tensor_view<const float> dy,
                       tensor_view<const float> x, tensor_view<float> out) {
  const op_scope prof(*this, "edge_dot");
  expect_graph(*this, g, "edge_dot");
  expect(dy, g.nnz > 0 ? g.num_dst * heads * width : 0, "edge_dot", "dy");
  expect(x, g.nnz > 0 ? g.num_src * heads * width : 0, "edge_dot", "x");
  expect(out, g.nnz * heads, "edge_dot", "out");
  if (g.nnz > 0 && heads > 0) edge_dot_impl(g, heads, width, dy.data, x.data, out.data);
}

void backend::edge_sum(const agg_csr_view& g, std::int64_t heads, tensor_view<const float> values,
                       tensor_view<float> y) {
  const op_scope prof(*this, "edge_sum");
  expect_graph(*this, g, "edge_sum");
  expect(values, g.nnz * heads, "edge_sum", "values");
  expect(y, g.num_dst * heads, "edge_sum", "y");
  if (g.num_dst > 0 && heads > 0) edge_sum_impl(g, heads, values.data, y.data);
}

void backend::elu_forward(tensor_view<float> x) {
  const op_scope prof(*this, "elu_forward");
  expect(x, x.size, "elu_forward", "x");
  if (x.size > 0) elu_forward_impl(x.data, x.size);
}

void backend::elu_backward(tensor_view<const float> y, tensor_view<float> dy) {
  const op_scope prof(*this, "elu_backward");
  expect(dy, dy.size, "elu_backward", "dy");
  expect(y, dy.size, "elu_backward", "y");
  if (dy.size > 0) elu_backward_impl(y.data, dy.data, dy.size);
}

void backend::scatter_rows(tensor_view<const float> src, std::int64_t rows, std::int64_t dim,
                           tensor_view<const std::int64_t> pos, tensor_view<float> dst) {
  const op_scope prof(*this, "scatter_rows");
  TG_EXPECTS(rows >= 0 && dim >= 0, "scatter_rows: negative shape ", rows, " x ", dim);
  expect(src, rows * dim, "scatter_rows", "src");
  expect(pos, rows, "scatter_rows", "pos");
  expect(dst, rows * dim, "scatter_rows", "dst");
  if (rows > 0 && dim > 0) scatter_rows_impl(src.data, rows, dim, pos.data, dst.data);
}

}  // namespace tg
