#pragma once
// A test backend whose memory is tagged `device` but lives on the host and whose operations are the
// CPU backend's. Code written over kernels/backend.hpp takes its device-memory paths with it
// (parameters kept apart from their host copies and pushed / pulled, graphs and labels uploaded,
// optimizer moments on the backend) on a machine without a GPU, and must give the CPU backend's
// results bit for bit. Every operation first checks that it was handed "device" memory, as the
// CUDA backend does, so a host pointer passed where backend memory belongs fails here too.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/backend.hpp"

namespace tg::test {

class shadow_device_backend final : public backend {
 public:
  device_kind device() const override { return device_kind::cpu; }
  memory_kind memory() const override { return memory_kind::device; }
  std::string name() const override { return "shadow device (CPU)"; }
  std::int64_t live_allocations() const { return live_; }

  void* allocate(std::size_t bytes) override {
    if (!bytes) return nullptr;
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    ++live_;
    return p;
  }
  void deallocate(void* p) noexcept override {
    if (p) --live_;
    std::free(p);
  }
  void copy_from_host(void* d, const void* s, std::size_t n) override { std::memcpy(d, s, n); }
  void copy_to_host(void* d, const void* s, std::size_t n) override { std::memcpy(d, s, n); }
  void copy(void* d, const void* s, std::size_t n) override { std::memmove(d, s, n); }
  void fill_zero(void* d, std::size_t n) override { std::memset(d, 0, n); }
  void synchronize() override {}

 protected:
  // The CPU kernels on the (host) memory behind the "device" views.
  void matmul_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                   std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                   std::int64_t ldc) override {
    cpu().matmul(ta, tb, m, n, k, alpha, h(a, matrix_extent(ta ? k : m, ta ? m : k, lda)), lda,
                 h(b, matrix_extent(tb ? n : k, tb ? k : n, ldb)), ldb, beta, h(c, matrix_extent(m, n, ldc)), ldc);
  }
  void aggregate_impl(const agg_csr_view& g, const float* x, std::int64_t dim, float* y) override {
    agg_csr_view hg = g;
    hg.indptr.kind = hg.indices.kind = hg.weights.kind = memory_kind::host;
    cpu().aggregate(hg, h(x, g.num_src * dim), dim, h(y, g.num_dst * dim));
  }
  void bias_forward_impl(float* y, std::int64_t rows, std::int64_t cols, const float* b) override {
    cpu().bias_forward(h(y, rows * cols), rows, cols, h(b, cols));
  }
  void bias_backward_impl(const float* dy, std::int64_t rows, std::int64_t cols, float* db) override {
    cpu().bias_backward(h(dy, rows * cols), rows, cols, h(db, cols));
  }
  void relu_forward_impl(float* x, std::int64_t n) override { cpu().relu_forward(h(x, n)); }
  void relu_backward_impl(const float* y, float* dy, std::int64_t n, float scale) override {
    cpu().relu_backward(h(y, n), h(dy, n), scale);
  }
  void dropout_forward_impl(float* x, std::int64_t n, double p, const counter_rng& rng) override {
    cpu().dropout_forward(h(x, n), p, rng);
  }
  void dropout_backward_impl(float* dx, std::int64_t n, double p, const counter_rng& rng) override {
    cpu().dropout_backward(h(dx, n), p, rng);
  }
  void softmax_nll_impl(const float* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels,
                        float* dlogits, float* row_loss, std::int64_t normalizer) override {
    cpu().softmax_nll(h(logits, rows * classes), rows, classes, h(labels, rows),
                      dlogits ? h(dlogits, rows * classes) : tensor_view<float>{}, h(row_loss, rows), normalizer);
  }
  void adam_step_impl(float* p, const float* g, float* m, float* v, std::int64_t n, const adam_config& cfg,
                      std::int64_t step) override {
    cpu().adam_step(h(p, n), h(g, n), h(m, n), h(v, n), cfg, step);
  }
  void head_dot_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x, const float* att,
                     float* y) override {
    cpu().head_dot(rows, heads, width, h(x, rows * heads * width), h(att, heads * width), h(y, rows * heads));
  }
  void head_dot_backward_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x,
                              const float* att, const float* dy, float* dx, float* datt) override {
    cpu().head_dot_backward(rows, heads, width, h(x, rows * heads * width), h(att, heads * width), h(dy, rows * heads),
                            dx ? h(dx, rows * heads * width) : tensor_view<float>{}, h(datt, heads * width));
  }
  void edge_softmax_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src, const float* a_dst, float slope,
                         float* alpha) override {
    cpu().edge_softmax(host(g), heads, h(a_src, g.num_src * heads), h(a_dst, g.num_dst * heads), slope,
                       h(alpha, g.nnz * heads));
  }
  void edge_softmax_backward_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src, const float* a_dst,
                                  float slope, const float* alpha, const float* dalpha, float* ds) override {
    cpu().edge_softmax_backward(host(g), heads, h(a_src, g.num_src * heads), h(a_dst, g.num_dst * heads), slope,
                                h(alpha, g.nnz * heads), h(dalpha, g.nnz * heads), h(ds, g.nnz * heads));
  }
  void aggregate_heads_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* w,
                            const float* x, float* y) override {
    cpu().aggregate_heads(host(g), heads, width, h(w, g.nnz * heads), h(x, g.num_src * heads * width),
                          h(y, g.num_dst * heads * width));
  }
  void edge_dot_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* dy, const float* x,
                     float* out) override {
    cpu().edge_dot(host(g), heads, width, h(dy, g.num_dst * heads * width), h(x, g.num_src * heads * width),
                   h(out, g.nnz * heads));
  }
  void edge_sum_impl(const agg_csr_view& g, std::int64_t heads, const float* values, float* y) override {
    cpu().edge_sum(host(g), heads, h(values, g.nnz * heads), h(y, g.num_dst * heads));
  }
  void elu_forward_impl(float* x, std::int64_t n) override { cpu().elu_forward(h(x, n)); }
  void elu_backward_impl(const float* y, float* dy, std::int64_t n) override { cpu().elu_backward(h(y, n), h(dy, n)); }
  void scatter_rows_impl(const float* src, std::int64_t rows, std::int64_t dim, const std::int64_t* pos,
                         float* dst) override {
    const std::int64_t span_rows = rows > 0 ? *std::max_element(pos, pos + rows) + 1 : 0;
    cpu().scatter_rows(h(src, rows * dim), rows, dim, {pos, rows, memory_kind::host}, h(dst, span_rows * dim));
  }

 private:
  static backend& cpu() { return cpu_backend(); }
  static agg_csr_view host(agg_csr_view g) {
    g.indptr.kind = g.indices.kind = g.weights.kind = g.edge_ids.kind = memory_kind::host;
    return g;
  }
  template <typename T>
  static tensor_view<T> h(T* p, std::int64_t n) {
    return {p, n, memory_kind::host};
  }
  std::int64_t live_ = 0;
};

}  // namespace tg::test
