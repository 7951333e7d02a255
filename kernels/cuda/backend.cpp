// The CUDA backend (kernels/backend.hpp): every operation is a kernel of kernels/gpu_kernels.hpp
// queued on the backend's own stream of one device. Every call makes that device current for its
// duration and restores the caller's (gpu::device_scope), so the backend works from any thread and
// never moves the caller's current device. Aggregation picks, once per feature width,
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
  const gpu::device_scope on(device);
  return gpu::stream();
}

class cuda_backend final : public backend {
 public:
  cuda_backend(int device, cuda_aggregation force) : device_(device), force_(force), stream_(stream_on(device)) {}
  device_kind device() const override { return device_kind::cuda; }
  int device_id() const override { return device_; }
  memory_kind memory() const override { return memory_kind::device; }
  std::string name() const override { return "cuda:" + std::to_string(device_) + " " + cuda_device_name(device_); }
  void* stream_handle() const override { return stream_.handle(); }

  void* allocate(std::size_t bytes) override {
    const auto scope = on();
    return gpu::device_malloc(bytes);
  }
  void deallocate(void* p) noexcept override {
    if (!p) return;
    try {
      const auto scope = on();
      gpu::device_free(p);
    } catch (...) {
      gpu::device_free(p);  // cudaFree finds the allocation's device itself (unified addressing)
    }
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    if (!bytes) return;
    const auto scope = on();
    gpu::copy_async(dst, src, bytes, stream_);
  }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    if (!bytes) return;
    const auto scope = on();
    gpu::copy_async(dst, src, bytes, stream_);
    stream_.synchronize();
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    if (!bytes || dst == src) return;
    const auto scope = on();
    gpu::copy_async(dst, src, bytes, stream_);
  }
  void fill_zero(void* dst, std::size_t bytes) override {
    if (!bytes) return;
    const auto scope = on();
    gpu::memset_async(dst, 0, bytes, stream_);
  }
  void synchronize() override {
    const auto scope = on();
    stream_.synchronize();
  }

 protected:
  void matmul_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                   std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                   std::int64_t ldc) override {
    const auto scope = on();
    gpu::matmul(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream_.handle());
  }
  void aggregate_impl(const agg_csr_view& g, const float* x, std::int64_t dim, float* y) override {
    const auto scope = on();
    const gpu::agg_graph_view v{g.num_dst,     g.num_src,      g.nnz,
                                g.indptr.data, g.indices.data, g.weights.empty() ? nullptr : g.weights.data};
    // cuSPARSE needs weights and 32-bit offsets; the custom kernel handles everything else.
    const bool can_sparse = v.weights && g.nnz > 0 && g.nnz < (std::int64_t{1} << 31);
    if (!can_sparse) {
      gpu::aggregate_forward(v, x, dim, y, stream_.handle());
      return;
    }
    if (force_ != cuda_aggregation::autotune) {
      if (force_ == cuda_aggregation::cusparse)
        gpu::aggregate_forward_cusparse(v, x, dim, y, sparse_scratch_, stream_.handle());
      else
        gpu::aggregate_forward(v, x, dim, y, stream_.handle());
      return;
    }
    // Decided per width and per mean row length (in powers of two): a forward block (few rows, many
    // edges each) and its transpose in backward (many rows, few edges) may favour different paths.
    int row_len_class = 0;
    for (std::int64_t per_row = g.nnz / std::max<std::int64_t>(1, g.num_dst); per_row > 0 && row_len_class < 31;
         per_row >>= 1)
      ++row_len_class;
    const std::int64_t key = dim * 32 + row_len_class;
    auto it = use_cusparse_.find(key);
    if (it == use_cusparse_.end()) {  // measure both on this (real) shape once per class, keep the faster
      gpu::event t0, t1, t2;
      t0.record(stream_);
      gpu::aggregate_forward(v, x, dim, y, stream_.handle());
      t1.record(stream_);
      gpu::aggregate_forward_cusparse(v, x, dim, y, sparse_scratch_, stream_.handle());
      t2.record(stream_);
      t2.synchronize();
      it = use_cusparse_.emplace(key, t2.elapsed_ms_since(t1) < t1.elapsed_ms_since(t0)).first;
    }
    if (it->second)
      gpu::aggregate_forward_cusparse(v, x, dim, y, sparse_scratch_, stream_.handle());
    else
      gpu::aggregate_forward(v, x, dim, y, stream_.handle());
  }
  void bias_forward_impl(float* y, std::int64_t rows, std::int64_t cols, const float* b) override {
    const auto scope = on();
    gpu::bias_forward(y, rows, cols, b, stream_.handle());
  }
  void bias_backward_impl(const float* dy, std::int64_t rows, std::int64_t cols, float* db) override {
    const auto scope = on();
    gpu::bias_backward(dy, rows, cols, db, stream_.handle());
  }
  void relu_forward_impl(float* x, std::int64_t n) override {
    const auto scope = on();
    gpu::relu_forward(x, n, stream_.handle());
  }
  void relu_backward_impl(const float* y, float* dy, std::int64_t n, float scale) override {
    const auto scope = on();
    gpu::relu_backward(y, dy, n, stream_.handle(), scale);
  }
  void dropout_forward_impl(float* x, std::int64_t n, double p, const counter_rng& rng) override {
    const auto scope = on();
    gpu::dropout_forward(x, n, p, rng, stream_.handle());
  }
  void dropout_backward_impl(float* dx, std::int64_t n, double p, const counter_rng& rng) override {
    const auto scope = on();
    gpu::dropout_backward(dx, n, p, rng, stream_.handle());
  }
  void softmax_nll_impl(const float* logits, std::int64_t rows, std::int64_t classes, const std::int64_t* labels,
                        float* dlogits, float* row_loss, std::int64_t normalizer) override {
    const auto scope = on();
    gpu::softmax_nll(logits, rows, classes, labels, dlogits, nullptr, row_loss, stream_.handle(), normalizer);
  }
  void adam_step_impl(float* param, const float* grad, float* m, float* v, std::int64_t n, const adam_config& cfg,
                      std::int64_t step) override {
    const auto scope = on();
    gpu::adam_step(param, grad, m, v, n, cfg, step, stream_.handle());
  }
  void head_dot_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x, const float* att,
                     float* y) override {
    const auto scope = on();
    gpu::head_dot(rows, heads, width, x, att, y, stream_.handle());
  }
  void head_dot_backward_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x,
                              const float* att, const float* dy, float* dx, float* datt) override {
    const auto scope = on();
    gpu::head_dot_backward(rows, heads, width, x, att, dy, dx, datt, stream_.handle());
  }
  void edge_softmax_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src, const float* a_dst, float slope,
                         float* alpha) override {
    const auto scope = on();
    gpu::edge_softmax(view_of(g), heads, a_src, a_dst, slope, alpha, stream_.handle());
  }
  void edge_softmax_backward_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src, const float* a_dst,
                                  float slope, const float* alpha, const float* dalpha, float* ds) override {
    const auto scope = on();
    gpu::edge_softmax_backward(view_of(g), heads, a_src, a_dst, slope, alpha, dalpha, ds, stream_.handle());
  }
  void aggregate_heads_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* w,
                            const float* x, float* y) override {
    const auto scope = on();
    gpu::aggregate_heads(view_of(g), heads, width, w, x, y, stream_.handle());
  }
  void edge_dot_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* dy, const float* x,
                     float* out) override {
    const auto scope = on();
    gpu::edge_dot(view_of(g), heads, width, dy, x, out, stream_.handle());
  }
  void edge_sum_impl(const agg_csr_view& g, std::int64_t heads, const float* values, float* y) override {
    const auto scope = on();
    gpu::edge_sum(view_of(g), heads, values, y, stream_.handle());
  }
  void elu_forward_impl(float* x, std::int64_t n) override {
    const auto scope = on();
    gpu::elu_forward(x, n, stream_.handle());
  }
  void elu_backward_impl(const float* y, float* dy, std::int64_t n) override {
    const auto scope = on();
    gpu::elu_backward(y, dy, n, stream_.handle());
  }
  void scatter_rows_impl(const float* src, std::int64_t rows, std::int64_t dim, const std::int64_t* pos,
                         float* dst) override {
    const auto scope = on();
    gpu::scatter_rows(src, rows, dim, pos, dst, stream_.handle());
  }

 private:
  gpu::device_scope on() const { return gpu::device_scope(device_); }
  static gpu::agg_graph_view view_of(const agg_csr_view& g) {
    return {g.num_dst,
            g.num_src,
            g.nnz,
            g.indptr.data,
            g.indices.data,
            g.weights.empty() ? nullptr : g.weights.data,
            g.edge_ids.empty() ? nullptr : g.edge_ids.data};
  }

  int device_ = 0;
  cuda_aggregation force_;
  gpu::stream stream_;
  gpu::cusparse_scratch sparse_scratch_;       // grown on first use, then reused: a warm model allocates nothing
  std::map<std::int64_t, bool> use_cusparse_;  // per width and row-length class, decided by measuring both once
};

}  // namespace

std::unique_ptr<backend> make_cuda_backend(int device_id, cuda_aggregation aggregation) {
  if (!cuda_compiled()) throw cuda_error("--device cuda: this tiergnn was built without the CUDA backend");
  if (device_id < 0 || device_id >= cuda_device_count())
    throw cuda_error("--device cuda: GPU " + std::to_string(device_id) + " is not available (" +
                     std::to_string(cuda_device_count()) + " visible)");
  return std::make_unique<cuda_backend>(device_id, aggregation);
}

}  // namespace tg
