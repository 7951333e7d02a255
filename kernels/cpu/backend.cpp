// The CPU backend (kernels/backend.hpp): every operation is the oneTBB / BLAS kernel of
// kernels/*.hpp on host memory, so results are bitwise reproducible whatever the thread count.
#include <tbb/info.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/aggregate.hpp"
#include "kernels/backend.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/loss.hpp"
#include "kernels/matmul.hpp"

namespace tg {

const char* to_string(device_kind k) { return k == device_kind::cuda ? "cuda" : "cpu"; }

device_kind parse_device_kind(const std::string& s, const std::string& flag) {
  if (s == "cpu") return device_kind::cpu;
  if (s == "cuda") return device_kind::cuda;
  throw input_error(flag + " '" + s + "': choose cpu or cuda");
}

namespace {

class cpu_backend_impl final : public backend {
 public:
  device_kind device() const override { return device_kind::cpu; }
  memory_kind memory() const override { return memory_kind::host; }
  std::string name() const override {
    return "cpu (" + std::to_string(tbb::info::default_concurrency()) + " threads)";
  }

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

  void matmul(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, tensor_view<const float> a,
              std::int64_t lda, tensor_view<const float> b, std::int64_t ldb, float beta, tensor_view<float> c,
              std::int64_t ldc) override {
    expect(a, matrix_extent(ta ? k : m, ta ? m : k, lda), "matmul", "a");
    expect(b, matrix_extent(tb ? n : k, tb ? k : n, ldb), "matmul", "b");
    expect(c, matrix_extent(m, n, ldc), "matmul", "c");
    tg::matmul<float>(ta, tb, m, n, k, alpha, a.data, lda, b.data, ldb, beta, c.data, ldc);
  }
  void aggregate(const agg_csr_view& g, tensor_view<const float> x, std::int64_t dim, tensor_view<float> y) override {
    expect(g.indptr, g.num_dst + 1, "aggregate", "indptr");
    expect(g.indices, g.nnz, "aggregate", "indices");
    if (!g.weights.empty()) expect(g.weights, g.nnz, "aggregate", "weights");
    expect(x, g.nnz > 0 ? g.num_src * dim : 0, "aggregate", "x");
    expect(y, g.num_dst * dim, "aggregate", "y");
    aggregate_csr<float>(g.num_dst, g.indptr.data, g.indices.data, g.weights.empty() ? nullptr : g.weights.data, x.data,
                         dim, y.data);
  }
  void bias_forward(tensor_view<float> y, std::int64_t rows, std::int64_t cols, tensor_view<const float> b) override {
    expect(y, rows * cols, "bias_forward", "y");
    expect(b, rows > 0 ? cols : 0, "bias_forward", "b");
    tg::bias_forward<float>(y.data, rows, cols, b.data);
  }
  void bias_backward(tensor_view<const float> dy, std::int64_t rows, std::int64_t cols, tensor_view<float> db) override {
    expect(dy, rows * cols, "bias_backward", "dy");
    expect(db, cols, "bias_backward", "db");
    tg::bias_backward<float>(dy.data, rows, cols, db.data);
  }
  void relu_forward(tensor_view<float> x) override {
    expect(x, x.size, "relu_forward", "x");
    tg::relu_forward<float>(x.data, x.size);
  }
  void relu_backward(tensor_view<const float> y, tensor_view<float> dy) override {
    expect(dy, dy.size, "relu_backward", "dy");
    expect(y, dy.size, "relu_backward", "y");
    tg::relu_backward<float>(y.data, dy.data, dy.size);
  }
  void dropout_forward(tensor_view<float> x, double p, const counter_rng& rng) override {
    expect(x, x.size, "dropout_forward", "x");
    tg::dropout_forward<float>(x.data, x.size, p, rng);
  }
  void dropout_backward(tensor_view<float> dx, double p, const counter_rng& rng) override {
    expect(dx, dx.size, "dropout_backward", "dx");
    tg::dropout_backward<float>(dx.data, dx.size, p, rng);
  }
  void softmax_nll(tensor_view<const float> logits, std::int64_t rows, std::int64_t classes,
                   tensor_view<const std::int64_t> labels, tensor_view<float> dlogits, tensor_view<float> row_loss,
                   std::int64_t normalizer) override {
    expect(logits, rows * classes, "softmax_nll", "logits");
    expect(labels, rows, "softmax_nll", "labels");
    expect(row_loss, rows, "softmax_nll", "row_loss");
    if (!dlogits.empty()) expect(dlogits, rows * classes, "softmax_nll", "dlogits");
    softmax_nll_rows<float>(logits.data, rows, classes, labels.data, dlogits.empty() ? nullptr : dlogits.data, nullptr,
                            row_loss.data, normalizer);
  }
  void adam_step(tensor_view<float> param, tensor_view<const float> grad, tensor_view<float> m, tensor_view<float> v,
                 const adam_config& cfg, std::int64_t step) override {
    const std::int64_t n = param.size;
    expect(param, n, "adam_step", "param");
    expect(grad, n, "adam_step", "grad");
    expect(m, n, "adam_step", "m");
    expect(v, n, "adam_step", "v");
    tg::adam_step<float>(param.data, grad.data, m.data, v.data, n, cfg, step);
  }
};

}  // namespace

backend& cpu_backend() {
  static cpu_backend_impl be;
  return be;
}

std::unique_ptr<backend> make_cuda_backend(int device_id);  // kernels/cuda/backend.cpp

std::unique_ptr<backend> make_backend(device_kind kind, int device_id) {
  if (kind == device_kind::cuda) return make_cuda_backend(device_id);
  return std::make_unique<cpu_backend_impl>();
}

}  // namespace tg
