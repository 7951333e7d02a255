#pragma once
// Op-by-op test of a compute backend against the CPU backend (ggml's test-backend-ops): every
// operation of kernels/backend.hpp runs on random inputs on both, and the results must agree within
// the operation's tolerance (exact for integer-like and element-wise work, relative error for sums
// in another order). Used by backend_ops_test.cpp (the shadow-device backend: must be exact) and
// backend_ops_gpu.cpp (the CUDA backend, on machines with a GPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "kernels/aggregate.hpp"
#include "kernels/backend.hpp"

namespace tg::test {

struct op_tolerance {
  double matmul = 0, aggregate = 0, elementwise = 0, loss = 0, adam = 0;  // relative, against max(1, |ref|)
  double attention = 0;  // the graph-attention operations (expf and float sums, same order)
  static op_tolerance exact() { return {}; }
  static op_tolerance gpu() { return {2e-5, 2e-6, 1e-6, 2e-6, 2e-6, 1e-5}; }
};

template <typename T>
tensor<T> to_backend(backend& be, const std::vector<T>& v) {
  tensor<T> t(be);
  t.assign_from_host(v.data(), v.size());
  return t;
}

template <typename T>
std::vector<T> to_host(const tensor<T>& t) {
  std::vector<T> v(t.size());
  t.copy_to_host(v.data());
  return v;
}

inline std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  counter_rng r(seed, 77);
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(r.normal(i));
  return v;
}

inline void expect_close(const std::vector<float>& ref, const std::vector<float>& got, double tol,
                         const std::string& what) {
  ASSERT_EQ(ref.size(), got.size()) << what;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const bool ok = tol == 0
                        ? (ref[i] == got[i] || (std::isnan(ref[i]) && std::isnan(got[i])))
                        : std::fabs(ref[i] - got[i]) <= tol * std::max(1.0, static_cast<double>(std::fabs(ref[i])));
    if (!ok && bad++ < 3)
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", the CPU backend gives " << ref[i];
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << ref.size() << " elements differ";
}

// A random block-like CSR: num_dst rows over num_src >= num_dst columns, destinations first.
inline agg_graph<float> random_graph(std::int64_t nd, std::int64_t ns, std::uint64_t seed, aggregator kind) {
  counter_rng r(seed, 91);
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int32_t> indices;
  for (std::int64_t v = 0; v < nd; ++v) {
    const auto deg = static_cast<std::int64_t>(r.below(static_cast<std::uint64_t>(v), 12));  // zero-degree rows too
    for (std::int64_t k = 0; k < deg; ++k)
      indices.push_back(static_cast<std::int32_t>(
          r.below(static_cast<std::uint64_t>(100000 + v * 16 + k), static_cast<std::uint64_t>(ns))));
    indptr.push_back(static_cast<std::int64_t>(indices.size()));
  }
  return make_agg_graph<float>(kind, nd, ns, indptr.data(), indices.data());
}

inline void check_matmul(backend& be, const op_tolerance& tol) {
  backend& cpu = cpu_backend();
  const std::int64_t shapes[][3] = {{1, 1, 1}, {5, 3, 7}, {130, 17, 33}, {64, 129, 200}, {0, 4, 3}, {3, 4, 0}};
  for (const auto& s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        const std::int64_t m = s[0], n = s[1], k = s[2];
        const std::int64_t lda = ta ? m : k, ldb = tb ? k : n;
        const auto a = random_floats(static_cast<std::size_t>(m * k), 1 + m),
                   b = random_floats(static_cast<std::size_t>(k * n), 2 + n);
        auto c = random_floats(static_cast<std::size_t>(m * n), 3);
        std::vector<float> ref = c;
        cpu.matmul(ta, tb, m, n, k, 0.5f, host_view(a.data(), static_cast<std::int64_t>(a.size())), lda,
                   host_view(b.data(), static_cast<std::int64_t>(b.size())), ldb, 0.25f,
                   host_view(ref.data(), static_cast<std::int64_t>(ref.size())), n);
        auto da = to_backend(be, a), db = to_backend(be, b), dc = to_backend(be, c);
        be.matmul(ta, tb, m, n, k, 0.5f, da.view(), lda, db.view(), ldb, 0.25f, dc.view(), n);
        expect_close(ref, to_host(dc), tol.matmul * std::max<std::int64_t>(1, k),
                     "matmul " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                         " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
      }
}

// matmul_sum2 against the CPU's two matmul calls it stands for (exact on the CPU backend).
inline void check_matmul_sum2(backend& be, const op_tolerance& tol) {
  backend& cpu = cpu_backend();
  const std::int64_t shapes[][4] = {{1, 1, 1, 1}, {5, 3, 7, 2}, {130, 17, 33, 40}, {200, 70, 128, 128}, {3, 4, 0, 5}};
  for (const auto& s : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (const float beta : {0.0f, 1.0f}) {
          const std::int64_t m = s[0], n = s[1], k1 = s[2], k2 = s[3];
          const std::int64_t lda1 = ta ? m : k1, ldb1 = tb ? k1 : n, lda2 = ta ? m : k2, ldb2 = tb ? k2 : n;
          const auto a1 = random_floats(static_cast<std::size_t>(m * k1), 11 + m),
                     b1 = random_floats(static_cast<std::size_t>(k1 * n), 12 + n),
                     a2 = random_floats(static_cast<std::size_t>(m * k2), 13 + m),
                     b2 = random_floats(static_cast<std::size_t>(k2 * n), 14 + n);
          auto c = random_floats(static_cast<std::size_t>(m * n), 15);
          std::vector<float> ref = c;
          auto hv = [](const std::vector<float>& v) {
            return host_view(v.data(), static_cast<std::int64_t>(v.size()));
          };
          const tensor_view<float> rv = host_view(ref.data(), static_cast<std::int64_t>(ref.size()));
          cpu.matmul(ta, tb, m, n, k1, 1.0f, hv(a1), lda1, hv(b1), ldb1, beta, rv, n);
          cpu.matmul(ta, tb, m, n, k2, 1.0f, hv(a2), lda2, hv(b2), ldb2, 1.0f, rv, n);
          auto da1 = to_backend(be, a1), db1 = to_backend(be, b1), da2 = to_backend(be, a2), db2 = to_backend(be, b2),
               dc = to_backend(be, c);
          be.matmul_sum2(ta, tb, m, n, k1, da1.view(), lda1, db1.view(), ldb1, k2, da2.view(), lda2, db2.view(), ldb2,
                         beta, dc.view(), n);
          expect_close(ref, to_host(dc), tol.matmul * std::max<std::int64_t>(1, k1 + k2),
                       "matmul_sum2 " + std::to_string(m) + "x" + std::to_string(n) + "x(" + std::to_string(k1) + "+" +
                           std::to_string(k2) + ") ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) +
                           " beta=" + std::to_string(beta));
        }
}

inline void check_aggregate(backend& be, const op_tolerance& tol) {
  backend& cpu = cpu_backend();
  for (aggregator kind : {aggregator::mean, aggregator::sum, aggregator::gcn})
    for (std::int64_t dim : {1, 7, 32, 130}) {
      const std::int64_t nd = 90, ns = 250;
      const agg_graph<float> g = random_graph(nd, ns, 5 + dim, kind), gt = transpose(g);
      for (const agg_graph<float>* gg : {&g, &gt}) {
        const auto x = random_floats(static_cast<std::size_t>(gg->num_src * dim), 9);
        std::vector<float> ref(static_cast<std::size_t>(gg->num_dst * dim));
        const auto nnz = static_cast<std::int64_t>(gg->indices.size());
        agg_csr_view hv{gg->num_dst,
                        gg->num_src,
                        nnz,
                        host_view(gg->indptr.data(), gg->num_dst + 1),
                        host_view(gg->indices.data(), nnz),
                        host_view(gg->weights.data(), static_cast<std::int64_t>(gg->weights.size())),
                        {}};
        cpu.aggregate(hv, host_view(x.data(), static_cast<std::int64_t>(x.size())), dim,
                      host_view(ref.data(), static_cast<std::int64_t>(ref.size())));
        auto ip = to_backend(be, gg->indptr);
        auto ix = to_backend(be, gg->indices);
        auto w = to_backend(be, gg->weights);
        auto dx = to_backend(be, x);
        tensor<float> y(be, ref.size());
        y.resize(ref.size());
        agg_csr_view dv{gg->num_dst, gg->num_src, nnz, ip.view(), ix.view(), w.view(), {}};
        be.aggregate(dv, dx.view(), dim, y.view());
        be.aggregate(dv, dx.view(), dim, y.view());  // a second call (the CUDA backend's tuned choice)
        expect_close(ref, to_host(y), tol.aggregate * 16,
                     std::string("aggregate ") +
                         (kind == aggregator::gcn   ? "gcn"
                          : kind == aggregator::sum ? "sum"
                                                    : "mean") +
                         (gg == &g ? "" : " transposed") + " dim " + std::to_string(dim));
      }
    }
}

// The fused hidden-layer epilogues (bias_relu_dropout, relu_bias_backward) against the CPU backend's
// separate operations in sequence: widths that are a multiple of the 128-element dropout groups and
// widths whose groups straddle rows, with and without dropout, scales 1 and 1.25.
inline void check_fused_epilogues(backend& be, const op_tolerance& tol) {
  backend& cpu = cpu_backend();
  const auto hv = [](std::vector<float>& v) { return host_view(v.data(), static_cast<std::int64_t>(v.size())); };
  for (const std::int64_t cols : {13, 256, 300}) {
    for (const double p : {0.0, 0.3}) {
      const std::int64_t rows = 97, n = rows * cols;
      const std::string shape =
          " (" + std::to_string(rows) + " x " + std::to_string(cols) + ", p " + std::to_string(p) + ")";
      const auto y = random_floats(static_cast<std::size_t>(n), 21 + static_cast<std::uint64_t>(cols));
      auto b = random_floats(static_cast<std::size_t>(cols), 22);
      const counter_rng rng(5, static_cast<std::uint64_t>(cols));
      std::vector<float> ref = y;
      cpu.bias_forward(hv(ref), rows, cols, hv(b));
      cpu.relu_forward(hv(ref));
      if (p > 0) cpu.dropout_forward(hv(ref), p, rng);
      auto dy = to_backend(be, y), db = to_backend(be, b);
      be.bias_relu_dropout(dy.view(), rows, cols, db.view(), p, rng);
      expect_close(ref, to_host(dy), tol.elementwise, "bias_relu_dropout" + shape);
      const float scale = p > 0 ? 1.25f : 1.0f;
      const auto g = random_floats(static_cast<std::size_t>(n), 23);
      std::vector<float> gref = g, dbias(static_cast<std::size_t>(cols));
      cpu.relu_backward(hv(ref), hv(gref), scale);
      cpu.bias_backward(hv(gref), rows, cols, hv(dbias));
      auto dg = to_backend(be, g);
      tensor<float> ddb(be, static_cast<std::size_t>(cols));
      ddb.resize(static_cast<std::size_t>(cols));
      be.relu_bias_backward(dy.view(), dg.view(), rows, cols, scale, ddb.view());
      expect_close(gref, to_host(dg), tol.elementwise, "relu_bias_backward (dy)" + shape);
      expect_close(dbias, to_host(ddb), tol.elementwise * rows, "relu_bias_backward (db)" + shape);
    }
  }
}

inline void check_elementwise(backend& be, const op_tolerance& tol) {
  backend& cpu = cpu_backend();
  const std::int64_t rows = 301, cols = 13, n = rows * cols;
  const auto hv = [](std::vector<float>& v) { return host_view(v.data(), static_cast<std::int64_t>(v.size())); };
  auto y = random_floats(static_cast<std::size_t>(n), 11), b = random_floats(static_cast<std::size_t>(cols), 12);
  // bias forward, ReLU forward
  std::vector<float> ref = y;
  cpu.bias_forward(hv(ref), rows, cols, hv(b));
  cpu.relu_forward(hv(ref));
  auto dy = to_backend(be, y), db = to_backend(be, b);
  be.bias_forward(dy.view(), rows, cols, db.view());
  be.relu_forward(dy.view());
  expect_close(ref, to_host(dy), tol.elementwise, "bias_forward + relu_forward");
  // ReLU backward, bias backward
  auto g = random_floats(static_cast<std::size_t>(n), 13);
  std::vector<float> gref = g, dbias(static_cast<std::size_t>(cols));
  cpu.relu_backward(hv(ref), hv(gref));
  cpu.bias_backward(hv(gref), rows, cols, hv(dbias));
  auto dg = to_backend(be, g);
  tensor<float> ddb(be, static_cast<std::size_t>(cols));
  ddb.resize(static_cast<std::size_t>(cols));
  be.relu_backward(dy.view(), dg.view());
  be.bias_backward(dg.view(), rows, cols, ddb.view());
  expect_close(gref, to_host(dg), tol.elementwise, "relu_backward");
  expect_close(dbias, to_host(ddb), tol.elementwise * rows, "bias_backward");
  // ReLU + dropout backward in one pass (the scale of the kept elements)
  std::vector<float> gs = g;
  cpu.relu_backward(hv(ref), hv(gs), 1.25f);
  for (std::size_t i = 0; i < gs.size(); ++i)
    ASSERT_EQ(gs[i], ref[i] > 0 ? g[i] * 1.25f : 0.0f) << "relu_backward with a scale, element " << i;
  auto dgs = to_backend(be, g);
  be.relu_backward(dy.view(), dgs.view(), 1.25f);
  expect_close(gs, to_host(dgs), tol.elementwise, "relu_backward with a scale");
  // Dropout: the same mask from the same counter-based stream
  const counter_rng rng(42, 7);
  std::vector<float> dref = y;
  cpu.dropout_forward(hv(dref), 0.3, rng);
  auto dd = to_backend(be, y);
  be.dropout_forward(dd.view(), 0.3, rng);
  expect_close(dref, to_host(dd), tol.elementwise, "dropout_forward");
  cpu.dropout_backward(hv(dref), 0.3, rng);
  be.dropout_backward(dd.view(), 0.3, rng);
  expect_close(dref, to_host(dd), tol.elementwise, "dropout_backward");
  check_fused_epilogues(be, tol);
}

inline void check_loss_and_adam(backend& be, const op_tolerance& tol) {
  backend& cpu = cpu_backend();
  const auto hv = [](auto& v) { return host_view(v.data(), static_cast<std::int64_t>(v.size())); };
  const std::int64_t rows = 257, classes = 7;
  auto logits = random_floats(static_cast<std::size_t>(rows * classes), 21, 3.0f);
  logits[5] = 80.0f;  // a large logit: the max shift must keep the loss finite
  std::vector<std::int64_t> labels(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) labels[static_cast<std::size_t>(i)] = (i * 5) % classes;
  std::vector<float> dl(logits.size()), rl(static_cast<std::size_t>(rows));
  cpu.softmax_nll(hv(logits), rows, classes, hv(labels), hv(dl), hv(rl), 1000);
  auto dlog = to_backend(be, logits);
  auto dlab = to_backend(be, labels);
  tensor<float> gdl(be, dl.size()), grl(be, rl.size());
  gdl.resize(dl.size());
  grl.resize(rl.size());
  be.softmax_nll(dlog.view(), rows, classes, dlab.view(), gdl.view(), grl.view(), 1000);
  expect_close(dl, to_host(gdl), tol.loss, "softmax_nll dlogits");
  expect_close(rl, to_host(grl), tol.loss, "softmax_nll row_loss");
  // Adam: several steps with weight decay
  const std::size_t n = 1000;
  auto p = random_floats(n, 31), m = std::vector<float>(n, 0.0f), v = std::vector<float>(n, 0.0f);
  auto dp = to_backend(be, p), dm = to_backend(be, m), dv = to_backend(be, v);
  const adam_config cfg{0.01, 0.9, 0.999, 1e-8, 1e-3};
  for (std::int64_t step = 1; step <= 3; ++step) {
    const auto grad = random_floats(n, 40 + static_cast<std::uint64_t>(step));
    auto dgrad = to_backend(be, grad);
    cpu.adam_step(hv(p), host_view(grad.data(), static_cast<std::int64_t>(n)), hv(m), hv(v), cfg, step);
    be.adam_step(dp.view(), dgrad.view(), dm.view(), dv.view(), cfg, step);
  }
  expect_close(p, to_host(dp), tol.adam, "adam_step parameters");
  expect_close(m, to_host(dm), tol.adam, "adam_step first moments");
}

inline void check_buffers(backend& be) {
  const auto x = random_floats(1000, 51);
  auto t = to_backend(be, x);
  tensor<float> u(be, 1000);
  u.resize(1000);
  be.copy(u.data(), t.data(), 1000 * sizeof(float));
  EXPECT_EQ(to_host(u), x) << "copy within backend memory";
  be.fill_zero(u.data() + 10, 20 * sizeof(float));
  const auto z = to_host(u);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(z[static_cast<std::size_t>(i)], i >= 10 && i < 30 ? 0.0f : x[static_cast<std::size_t>(i)]);
  // Host memory where backend memory belongs is refused (device backends), never read.
  if (!be.host_memory()) {
    std::vector<float> host(8, 1.0f);
    EXPECT_THROW(be.relu_forward(host_view(host.data(), 8)), error);
  }
  // A view too small for the operation is refused before any work.
  EXPECT_THROW(be.bias_forward(u.view().slice(0, 10), 5, 5, t.view()), error);
  // scatter_rows: 37 rows of 13 columns (odd, not a multiple of any vector width) to a permutation
  // of 50 positions; the rows no position names keep their contents.
  const std::int64_t rows = 37, dim = 13, out_rows = 50;
  const auto src = random_floats(static_cast<std::size_t>(rows * dim), 52);
  std::vector<std::int64_t> pos(static_cast<std::size_t>(out_rows));
  for (std::int64_t i = 0; i < out_rows; ++i) pos[static_cast<std::size_t>(i)] = (i * 17 + 5) % out_rows;
  pos.resize(static_cast<std::size_t>(rows));
  std::vector<float> want(static_cast<std::size_t>(out_rows * dim), -7.0f);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < dim; ++j)
      want[static_cast<std::size_t>(pos[static_cast<std::size_t>(i)] * dim + j)] =
          src[static_cast<std::size_t>(i * dim + j)];
  auto bsrc = to_backend(be, src);
  auto bpos = to_backend(be, pos);
  auto bdst = to_backend(be, std::vector<float>(static_cast<std::size_t>(out_rows * dim), -7.0f));
  be.scatter_rows(bsrc.view(), rows, dim, bpos.view(), bdst.view());
  EXPECT_EQ(to_host(bdst), want) << "scatter_rows";
  EXPECT_THROW(be.scatter_rows(bsrc.view(), rows, dim, bpos.view().slice(0, 5), bdst.view()), error)
      << "fewer positions than rows is refused";
}

// Every graph-attention operation (kernels/attention.hpp) on the block with self-loops and on its
// transpose (edge_ids), at 1, 3 and 8 heads and odd widths, against the CPU backend.
inline void check_attention(backend& be, const op_tolerance& tol) {
  backend& cpu = cpu_backend();
  const auto hv = [](auto& v) { return host_view(v.data(), static_cast<std::int64_t>(v.size())); };
  for (std::int64_t heads : {1, 3, 8})
    for (std::int64_t width : {1, 5, 33}) {
      const std::string shape = " heads " + std::to_string(heads) + " width " + std::to_string(width);
      const std::int64_t nd = 70, ns = 190, hw = heads * width;
      const agg_graph<float> g = random_graph(nd, ns, 40 + heads * width, aggregator::attention), gt = transpose(g);
      const auto nnz = static_cast<std::int64_t>(g.indices.size());
      auto host_graph = [&](const agg_graph<float>& x) {
        return agg_csr_view{x.num_dst,
                            x.num_src,
                            static_cast<std::int64_t>(x.indices.size()),
                            host_view(x.indptr.data(), x.num_dst + 1),
                            host_view(x.indices.data(), static_cast<std::int64_t>(x.indices.size())),
                            {},
                            host_view(x.edge_ids.data(), static_cast<std::int64_t>(x.edge_ids.size()))};
      };
      const agg_csr_view hg = host_graph(g), hgt = host_graph(gt);
      auto ip = to_backend(be, g.indptr), tp = to_backend(be, gt.indptr);
      auto ix = to_backend(be, g.indices), tx = to_backend(be, gt.indices), tid = to_backend(be, gt.edge_ids);
      const agg_csr_view dg{nd, ns, nnz, ip.view(), ix.view(), {}, {}};
      const agg_csr_view dgt{ns, nd, nnz, tp.view(), tx.view(), {}, tid.view()};
      auto h = random_floats(static_cast<std::size_t>(ns * hw), 60 + hw);
      auto att = random_floats(static_cast<std::size_t>(hw), 61);
      auto dy = random_floats(static_cast<std::size_t>(nd * hw), 62);
      auto dsc = random_floats(static_cast<std::size_t>(ns * heads), 63);
      // CPU reference of the whole chain.
      std::vector<float> s(static_cast<std::size_t>(ns * heads)), d(static_cast<std::size_t>(nd * heads));
      std::vector<float> alpha(static_cast<std::size_t>(nnz * heads)), y(static_cast<std::size_t>(nd * hw));
      std::vector<float> da(alpha.size()), ds(alpha.size()), sd(d.size()), ss(s.size()), dh(h.size());
      std::vector<float> datt(static_cast<std::size_t>(hw)), elu = h, delu = h;
      cpu.head_dot(ns, heads, width, hv(h), hv(att), hv(s));
      cpu.head_dot(nd, heads, width, hv(h), hv(att), hv(d));
      cpu.edge_softmax(hg, heads, hv(s), hv(d), 0.2f, hv(alpha));
      cpu.aggregate_heads(hg, heads, width, hv(alpha), hv(h), hv(y));
      cpu.edge_dot(hg, heads, width, hv(dy), hv(h), hv(da));
      cpu.edge_softmax_backward(hg, heads, hv(s), hv(d), 0.2f, hv(alpha), hv(da), hv(ds));
      cpu.edge_sum(hg, heads, hv(ds), hv(sd));
      cpu.edge_sum(hgt, heads, hv(ds), hv(ss));
      cpu.aggregate_heads(hgt, heads, width, hv(alpha), hv(dy), hv(dh));
      cpu.head_dot_backward(ns, heads, width, hv(h), hv(att), hv(dsc), hv(dh), hv(datt));
      cpu.elu_forward(hv(elu));
      cpu.elu_backward(hv(elu), hv(delu));
      // The same on the backend, each from the CPU's inputs so that errors do not compound.
      auto bh = to_backend(be, h), batt = to_backend(be, att), bdy = to_backend(be, dy), bdsc = to_backend(be, dsc);
      auto bs = to_backend(be, s), bd = to_backend(be, d), balpha = to_backend(be, alpha), bda = to_backend(be, da);
      auto bds = to_backend(be, ds), belu = to_backend(be, h), bdelu = to_backend(be, h);
      auto fresh = [&](std::size_t n) {
        tensor<float> t(be, n);
        t.resize(n);
        return t;
      };
      tensor<float> os = fresh(s.size()), od = fresh(d.size()), oalpha = fresh(alpha.size()), oy = fresh(y.size());
      tensor<float> oda = fresh(da.size()), ods = fresh(ds.size()), osd = fresh(sd.size()), oss = fresh(ss.size());
      tensor<float> odatt = fresh(datt.size());
      be.head_dot(ns, heads, width, bh.view(), batt.view(), os.view());
      be.head_dot(nd, heads, width, bh.view(), batt.view(), od.view());
      be.edge_softmax(dg, heads, bs.view(), bd.view(), 0.2f, oalpha.view());
      be.aggregate_heads(dg, heads, width, balpha.view(), bh.view(), oy.view());
      be.edge_dot(dg, heads, width, bdy.view(), bh.view(), oda.view());
      be.edge_softmax_backward(dg, heads, bs.view(), bd.view(), 0.2f, balpha.view(), bda.view(), ods.view());
      be.edge_sum(dg, heads, bds.view(), osd.view());
      be.edge_sum(dgt, heads, bds.view(), oss.view());
      // dh: aggregate over the transpose, then head_dot_backward's accumulation onto it.
      tensor<float> odh = fresh(dh.size());
      be.aggregate_heads(dgt, heads, width, balpha.view(), bdy.view(), odh.view());
      be.head_dot_backward(ns, heads, width, bh.view(), batt.view(), bdsc.view(), odh.view(), odatt.view());
      be.elu_forward(belu.view());
      be.elu_backward(belu.view(), bdelu.view());
      const double t = tol.attention;
      expect_close(s, to_host(os), t * width, "head_dot sources" + shape);
      expect_close(d, to_host(od), t * width, "head_dot destinations" + shape);
      expect_close(alpha, to_host(oalpha), t * 16, "edge_softmax" + shape);
      expect_close(y, to_host(oy), t * 16, "aggregate_heads" + shape);
      expect_close(da, to_host(oda), t * width, "edge_dot" + shape);
      expect_close(ds, to_host(ods), t * 16, "edge_softmax_backward" + shape);
      expect_close(sd, to_host(osd), t * 16, "edge_sum" + shape);
      expect_close(ss, to_host(oss), t * 16, "edge_sum transposed" + shape);
      expect_close(dh, to_host(odh), t * 16, "aggregate_heads transposed + head_dot_backward dx" + shape);
      expect_close(datt, to_host(odatt), t * 200, "head_dot_backward datt" + shape);
      expect_close(elu, to_host(belu), t, "elu_forward" + shape);
      expect_close(delu, to_host(bdelu), t, "elu_backward" + shape);
    }
  // head_dot_backward's datt over many rows: 41 chunks of 256 rows (a ragged last one), more than one
  // round of the CUDA kernel's 32 chunk lanes; dx empty (skipped).
  for (const std::int64_t heads : {1, 4}) {
    const std::int64_t rows = 256 * 40 + 17, width = 24, hw = heads * width;
    const auto x = random_floats(static_cast<std::size_t>(rows * hw), 61 + heads);
    const auto dy = random_floats(static_cast<std::size_t>(rows * heads), 62 + heads);
    const auto att = random_floats(static_cast<std::size_t>(hw), 63);
    std::vector<float> datt(static_cast<std::size_t>(hw));
    cpu.head_dot_backward(rows, heads, width, hv(x), hv(att), hv(dy), tensor_view<float>{}, hv(datt));
    auto bx = to_backend(be, x), bdy = to_backend(be, dy), batt = to_backend(be, att),
         bdatt = to_backend(be, std::vector<float>(static_cast<std::size_t>(hw)));
    be.head_dot_backward(rows, heads, width, bx.view(), batt.view(), bdy.view(),
                         tensor_view<float>{nullptr, 0, be.memory()}, bdatt.view());
    expect_close(datt, to_host(bdatt), tol.attention * 200,
                 "head_dot_backward datt, " + std::to_string(rows) + " rows, heads " + std::to_string(heads));
  }
}

}  // namespace tg::test
