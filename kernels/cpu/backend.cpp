// The CPU backend (kernels/backend.hpp): every operation is the oneTBB / BLAS kernel of
// kernels/*.hpp on host memory, so results are bitwise reproducible whatever the thread count.
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/aggregate.hpp"
#include "kernels/attention.hpp"
#include "kernels/backend.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/loss.hpp"
#include "kernels/matmul.hpp"

namespace tg {

namespace {

class cpu_backend_impl final : public backend {
 public:
  device_kind device() const override { return device_kind::cpu; }
  memory_kind memory() const override { return memory_kind::host; }
  std::string name() const override { return "cpu (" + std::to_string(tbb::info::default_concurrency()) + " threads)"; }

  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p) noexcept override { std::free(p); }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    if (bytes && dst != src) std::memcpy(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    if (bytes && dst != src) std::memcpy(dst, src, bytes);
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    if (bytes && dst != src) std::memmove(dst, src, bytes);
  }
  void fill_zero(void* dst, std::size_t bytes) override {
    if (bytes) std::memset(dst, 0, bytes);
  }
  void synchronize() override {}

 protected:
  void matmul_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                   std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                   std::int64_t ldc) override {
    tg::matmul<float>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void matmul_sum2_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k1, const float* a1,
                        std::int64_t lda1, const float* b1, std::int64_t ldb1, std::int64_t k2, const float* a2,
                        std::int64_t lda2, const float* b2, std::int64_t ldb2, float beta, float* c,
                        std::int64_t ldc) override {
    tg::matmul_sum2<float>(ta, tb, m, n, k1, a1, lda1, b1, ldb1, k2, a2, lda2, b2, ldb2, beta, c, ldc);
  }
  void aggregate_impl(const agg_csr_view& g, const float* x, std::int64_t dim, float* y) override {
    aggregate_csr<float>(g.num_dst, g.indptr.data, g.indices.data, g.weights.empty() ? nullptr : g.weights.data, x, dim,
                         y);
  }
  void bias_forward_impl(float* y, std::int64_t rows, std::int64_t cols, const float* b) override {
    tg::bias_forward<float>(y, rows, cols, b);
  }
  void bias_backward_impl(const float* dy, std::int64_t rows, std::int64_t cols, float* db) override {
    tg::bias_backward<float>(dy, rows, cols, db);
  }
  void relu_forward_impl(float* x, std::int64_t n) override { tg::relu_forward<float>(x, n); }
  void relu_backward_impl(const float* y, float* dy, std::int64_t n, float scale) override {
    tg::relu_backward<float>(y, dy, n, scale);
  }
  void dropout_forward_impl(float* x, std::int64_t n, double p, const counter_rng& rng) override {
    tg::dropout_forward<float>(x, n, p, rng);
  }
  void dropout_backward_impl(float* dx, std::int64_t n, double p, const counter_rng& rng) override {
    tg::dropout_backward<float>(dx, n, p, rng);
  }
  void softmax_nll_impl(const float* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels,
                        float* dlogits, float* row_loss, std::int64_t normalizer) override {
    softmax_nll_rows<float>(logits, rows, classes, labels, dlogits, nullptr, row_loss, normalizer);
  }
  void adam_step_impl(float* param, const float* grad, float* m, float* v, std::int64_t n, const adam_config& cfg,
                      std::int64_t step) override {
    tg::adam_step<float>(param, grad, m, v, n, cfg, step);
  }
  void head_dot_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x, const float* att,
                     float* y) override {
    tg::head_dot<float>(rows, heads, width, x, att, y);
  }
  void head_dot_backward_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x,
                              const float* att, const float* dy, float* dx, float* datt) override {
    tg::head_dot_backward<float>(rows, heads, width, x, att, dy, dx, datt);
  }
  void edge_softmax_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src, const float* a_dst, float slope,
                         float* alpha) override {
    tg::edge_softmax<float>(g.num_dst, g.indptr.data, g.indices.data, heads, a_src, a_dst, slope, alpha);
  }
  void edge_softmax_backward_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src, const float* a_dst,
                                  float slope, const float* alpha, const float* dalpha, float* ds) override {
    tg::edge_softmax_backward<float>(g.num_dst, g.indptr.data, g.indices.data, heads, a_src, a_dst, slope, alpha,
                                     dalpha, ds);
  }
  void aggregate_heads_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* w,
                            const float* x, float* y) override {
    tg::aggregate_heads<float>(g.num_dst, g.indptr.data, g.indices.data, ids(g), heads, width, w, x, y);
  }
  void edge_dot_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* dy, const float* x,
                     float* out) override {
    tg::edge_dot<float>(g.num_dst, g.indptr.data, g.indices.data, heads, width, dy, x, out);
  }
  void edge_sum_impl(const agg_csr_view& g, std::int64_t heads, const float* values, float* y) override {
    tg::edge_sum<float>(g.num_dst, g.indptr.data, ids(g), heads, values, y);
  }
  void elu_forward_impl(float* x, std::int64_t n) override { tg::elu_forward<float>(x, n); }
  void elu_backward_impl(const float* y, float* dy, std::int64_t n) override { tg::elu_backward<float>(y, dy, n); }
  void bias_relu_dropout_impl(float* y, std::int64_t rows, std::int64_t cols, const float* b, double p,
                              const counter_rng& rng) override {
    tg::bias_relu_dropout<float>(y, rows, cols, b, p, rng);
  }
  void relu_bias_backward_impl(const float* y, float* dy, std::int64_t rows, std::int64_t cols, float scale,
                               float* db) override {
    tg::relu_bias_backward<float>(y, dy, rows, cols, scale, db);
  }
  void scatter_rows_impl(const float* src, std::int64_t rows, std::int64_t dim, const std::int64_t* pos,
                         float* dst) override {
    const auto row = static_cast<std::size_t>(dim) * sizeof(float);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, 256), [&](const auto& r) {
      for (std::int64_t i = r.begin(); i < r.end(); ++i) std::memcpy(dst + pos[i] * dim, src + i * dim, row);
    });
  }

 private:
  static const std::int32_t* ids(const agg_csr_view& g) { return g.edge_ids.empty() ? nullptr : g.edge_ids.data; }
};

}  // namespace

backend& cpu_backend() {
  static cpu_backend_impl be;
  return be;
}

std::unique_ptr<backend> make_backend(device_kind kind, int device_id) {
  if (kind == device_kind::cuda) return make_cuda_backend(device_id);
  return std::make_unique<cpu_backend_impl>();
}

}  // namespace tg
