// The CUDA backend (kernels/backend.hpp): every operation is a kernel of kernels/gpu_kernels.hpp
// queued on the backend's own stream of one device. Aggregation picks, once per feature width,
// whichever of the custom CSR kernel and cuSPARSE SpMM measured faster on the first real shape.
//
// g++-compiled: the CUDA calls go through core/gpu_memory.hpp and kernels/gpu_kernels.hpp, whose
// stubs throw cuda_error in a build without the CUDA backend, so this file is the same in both.
#include <map>
#include <memory>
#include <string>

#include "core/device.hpp"
#include "core/gpu_memory.hpp"
#include "kernels/backend.hpp"
#include "kernels/gpu_kernels.hpp"

namespace tg {

namespace {

gpu::stream stream_on(int device) {
  gpu::set_device(device);
  return gpu::stream();
}

class cuda_backend final : public backend {
 public:
  explicit cuda_backend(int device) : device_(device), stream_(stream_on(device)) {}
  device_kind device() const override { return device_kind::cuda; }
  int device_id() const override { return device_; }
  memory_kind memory() const override { return memory_kind::device; }
  std::string name() const override { return "cuda:" + std::to_string(device_) + " " + cuda_device_name(device_); }
  void* stream_handle() const override { return stream_.handle(); }

  void* allocate(std::size_t bytes) override { return gpu::device_malloc(bytes); }
  void deallocate(void* p) noexcept override { gpu::device_free(p); }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) gpu::copy_async(dst, src, bytes, stream_);
  }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    if (!bytes) return;
    gpu::copy_async(dst, src, bytes, stream_);
    stream_.synchronize();
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    if (bytes && dst != src) gpu::copy_async(dst, src, bytes, stream_);
  }
  void fill_zero(void* dst, std::size_t bytes) override {
    if (bytes) gpu::memset_async(dst, 0, bytes, stream_);
  }
  void synchronize() override { stream_.synchronize(); }

  void matmul(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, tensor_view<const float> a,
              std::int64_t lda, tensor_view<const float> b, std::int64_t ldb, float beta, tensor_view<float> c,
              std::int64_t ldc) override {
    expect(a, matrix_extent(ta ? k : m, ta ? m : k, lda), "matmul", "a");
    expect(b, matrix_extent(tb ? n : k, tb ? k : n, ldb), "matmul", "b");
    expect(c, matrix_extent(m, n, ldc), "matmul", "c");
    gpu::matmul(ta, tb, m, n, k, alpha, a.data, lda, b.data, ldb, beta, c.data, ldc, stream_.handle());
  }
  void aggregate(const agg_csr_view& g, tensor_view<const float> x, std::int64_t dim, tensor_view<float> y) override {
    expect(g.indptr, g.num_dst + 1, "aggregate", "indptr");
    expect(g.indices, g.nnz, "aggregate", "indices");
    if (!g.weights.empty()) expect(g.weights, g.nnz, "aggregate", "weights");
    expect(x, g.nnz > 0 ? g.num_src * dim : 0, "aggregate", "x");
    expect(y, g.num_dst * dim, "aggregate", "y");
    const gpu::agg_graph_view v{g.num_dst, g.num_src, g.nnz, g.indptr.data, g.indices.data,
                                g.weights.empty() ? nullptr : g.weights.data};
    // cuSPARSE needs weights and 32-bit offsets; the custom kernel handles everything else.
    const bool can_sparse = v.weights && g.nnz > 0 && g.nnz < (std::int64_t{1} << 31);
    if (!can_sparse) {
      gpu::aggregate_forward(v, x.data, dim, y.data, stream_.handle());
      return;
    }
    offsets32_.reserve(static_cast<std::size_t>(g.num_dst + 1));
    auto it = use_cusparse_.find(dim);
    if (it == use_cusparse_.end()) {
      gpu::event t0, t1, t2;
      t0.record(stream_);
      gpu::aggregate_forward(v, x.data, dim, y.data, stream_.handle());
      t1.record(stream_);
      gpu::aggregate_forward_cusparse(v, x.data, dim, y.data, offsets32_.data(), stream_.handle());
      t2.record(stream_);
      t2.synchronize();
      it = use_cusparse_.emplace(dim, t2.elapsed_ms_since(t1) < t1.elapsed_ms_since(t0)).first;
    }
    if (it->second)
      gpu::aggregate_forward_cusparse(v, x.data, dim, y.data, offsets32_.data(), stream_.handle());
    else
      gpu::aggregate_forward(v, x.data, dim, y.data, stream_.handle());
  }
  void bias_forward(tensor_view<float> y, std::int64_t rows, std::int64_t cols, tensor_view<const float> b) override {
    expect(y, rows * cols, "bias_forward", "y");
    expect(b, rows > 0 ? cols : 0, "bias_forward", "b");
    gpu::bias_forward(y.data, rows, cols, b.data, stream_.handle());
  }
  void bias_backward(tensor_view<const float> dy, std::int64_t rows, std::int64_t cols, tensor_view<float> db) override {
    expect(dy, rows * cols, "bias_backward", "dy");
    expect(db, cols, "bias_backward", "db");
    gpu::bias_backward(dy.data, rows, cols, db.data, stream_.handle());
  }
  void relu_forward(tensor_view<float> x) override {
    expect(x, x.size, "relu_forward", "x");
    gpu::relu_forward(x.data, x.size, stream_.handle());
  }
  void relu_backward(tensor_view<const float> y, tensor_view<float> dy) override {
    expect(dy, dy.size, "relu_backward", "dy");
    expect(y, dy.size, "relu_backward", "y");
    gpu::relu_backward(y.data, dy.data, dy.size, stream_.handle());
  }
  void dropout_forward(tensor_view<float> x, double p, const counter_rng& rng) override {
    expect(x, x.size, "dropout_forward", "x");
    gpu::dropout_forward(x.data, x.size, p, rng, stream_.handle());
  }
  void dropout_backward(tensor_view<float> dx, double p, const counter_rng& rng) override {
    expect(dx, dx.size, "dropout_backward", "dx");
    gpu::dropout_backward(dx.data, dx.size, p, rng, stream_.handle());
  }
  void softmax_nll(tensor_view<const float> logits, std::int64_t rows, std::int64_t classes,
                   tensor_view<const std::int64_t> labels, tensor_view<float> dlogits, tensor_view<float> row_loss,
                   std::int64_t normalizer) override {
    expect(logits, rows * classes, "softmax_nll", "logits");
    expect(labels, rows, "softmax_nll", "labels");
    expect(row_loss, rows, "softmax_nll", "row_loss");
    if (!dlogits.empty()) expect(dlogits, rows * classes, "softmax_nll", "dlogits");
    gpu::softmax_nll(logits.data, rows, classes, labels.data, dlogits.empty() ? nullptr : dlogits.data, nullptr,
                     row_loss.data, stream_.handle(), normalizer);
  }
  void adam_step(tensor_view<float> param, tensor_view<const float> grad, tensor_view<float> m, tensor_view<float> v,
                 const adam_config& cfg, std::int64_t step) override {
    const std::int64_t n = param.size;
    expect(param, n, "adam_step", "param");
    expect(grad, n, "adam_step", "grad");
    expect(m, n, "adam_step", "m");
    expect(v, n, "adam_step", "v");
    gpu::adam_step(param.data, grad.data, m.data, v.data, n, cfg, step, stream_.handle());
  }

 private:
  int device_ = 0;
  gpu::stream stream_;
  gpu::device_buffer<std::int32_t> offsets32_;
  std::map<std::int64_t, bool> use_cusparse_;  // per width, decided by measuring both once
};

}  // namespace

std::unique_ptr<backend> make_cuda_backend(int device_id) {
  if (!cuda_compiled()) throw cuda_error("--device cuda: this tiergnn was built without the CUDA backend");
  if (device_id < 0 || device_id >= cuda_device_count())
    throw cuda_error("--device cuda: GPU " + std::to_string(device_id) + " is not available (" +
                     std::to_string(cuda_device_count()) + " visible)");
  return std::make_unique<cuda_backend>(device_id);
}

}  // namespace tg
