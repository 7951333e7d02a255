#pragma once
// The compute backend (DESIGN.md §5): one declaration of every operation the models and the
// training loop need, with two implementations — CPU (kernels/cpu/backend.cpp, over the oneTBB /
// BLAS kernels of kernels/*.hpp) and CUDA (kernels/cuda/backend.cpp, over kernels/gpu_kernels.hpp:
// cuBLAS, a CSR kernel or cuSPARSE, fused element-wise kernels) — chosen once by make_backend().
// The model (nn/model.hpp), the optimizer and the epoch loop (train/) are written once over it;
// tests/kernels/backend_ops_test.cpp runs every operation of every available backend against the
// CPU backend with a per-operation tolerance (ggml's test-backend-ops).
//
// A backend object is also the resource handle (RAFT's `resources`): the device and, on CUDA, the
// stream its operations are queued on. Operations read and write memory of the backend's kind
// (host for CPU, device for CUDA); views carry their memory kind and every operation checks it, so
// a host pointer handed to the CUDA backend is an error, not a crash.
//
// Ordering: on one backend object, operations run in call order. copy_from_host may still be
// reading its source when it returns (the source must stay valid until synchronize()); copy_to_host
// returns when the data has arrived. On CPU everything completes before the call returns.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/rng.hpp"
#include "kernels/adam.hpp"

namespace tg {

enum class device_kind { cpu, cuda };
const char* to_string(device_kind k);
// "cpu" or "cuda"; throws input_error naming `flag` otherwise.
device_kind parse_device_kind(const std::string& s, const std::string& flag = "--device");

// Non-owning view of `size` elements of T in memory of one kind.
template <typename T>
struct tensor_view {
  T* data = nullptr;
  std::int64_t size = 0;
  memory_kind kind = memory_kind::host;

  operator tensor_view<const T>() const { return {data, size, kind}; }  // NOLINT: views convert like pointers
  tensor_view slice(std::int64_t offset, std::int64_t n) const { return {data + offset, n, kind}; }
  bool empty() const { return size == 0; }
};

// A host view (for the CPU backend and for callers' host data).
template <typename T>
tensor_view<T> host_view(T* p, std::int64_t n) {
  return {p, n, memory_kind::host};
}

// A block's weighted CSR (kernels/aggregate.hpp's agg_graph) in backend memory; weights empty means
// every weight is one. edge_ids (a transposed graph's; may be empty) map each entry to the edge's
// position in the graph it was transposed from (the attention operations read per-edge values
// through them).
struct agg_csr_view {
  std::int64_t num_dst = 0, num_src = 0, nnz = 0;
  tensor_view<const std::int64_t> indptr;  // num_dst + 1
  tensor_view<const std::int32_t> indices;
  tensor_view<const float> weights;
  tensor_view<const std::int32_t> edge_ids;
};

class backend {
 public:
  virtual ~backend() = default;
  virtual device_kind device() const = 0;
  virtual int device_id() const { return 0; }
  // The memory every operation reads and writes.
  virtual memory_kind memory() const = 0;
  // True when backend memory is ordinary host memory (the CPU backend): callers may then use host
  // data in place instead of copying it.
  bool host_memory() const { return memory() == memory_kind::host; }
  // "cpu (2 threads)" or "cuda:0 NVIDIA H100 ...".
  virtual std::string name() const = 0;
  // The CUDA stream operations are queued on (a cudaStream_t), null on CPU.
  virtual void* stream_handle() const { return nullptr; }

  // --- Buffers (bytes). Zero bytes allocate nothing and return null.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* p) noexcept = 0;
  virtual void copy_from_host(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, std::size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;  // within backend memory
  virtual void fill_zero(void* dst, std::size_t bytes) = 0;
  // Waits for every queued operation.
  virtual void synchronize() = 0;

  // --- Operations (float32, row-major). Each checks here, once for every backend, that its views
  // are backend memory and large enough, then runs the backend's implementation.
  // C[m x n] = alpha * op(A) * op(B) + beta * C
  void matmul(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
              tensor_view<const float> a, std::int64_t lda, tensor_view<const float> b, std::int64_t ldb, float beta,
              tensor_view<float> c, std::int64_t ldc);
  // C[m x n] = op(A1) * op(B1) + op(A2) * op(B2) + beta * C: the same as matmul(A1, B1, beta) then
  // matmul(A2, B2, 1), bit for bit; a backend may do it in one pass over C (the CPU does).
  void matmul_sum2(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k1,
                   tensor_view<const float> a1, std::int64_t lda1, tensor_view<const float> b1, std::int64_t ldb1,
                   std::int64_t k2, tensor_view<const float> a2, std::int64_t lda2, tensor_view<const float> b2,
                   std::int64_t ldb2, float beta, tensor_view<float> c, std::int64_t ldc);
  // y[v, :] = sum_{e in row v} w_e x[src_e, :] (num_dst x dim). Backward is the same operation on the
  // transposed graph (kernels/aggregate.hpp's transpose), so each output row sums in a fixed order.
  void aggregate(const agg_csr_view& g, tensor_view<const float> x, std::int64_t dim, tensor_view<float> y);
  // y[i, :] += b
  void bias_forward(tensor_view<float> y, std::int64_t rows, std::int64_t cols, tensor_view<const float> b);
  // db = column sums of dy, rows in order
  void bias_backward(tensor_view<const float> dy, std::int64_t rows, std::int64_t cols, tensor_view<float> db);
  void relu_forward(tensor_view<float> x);
  // dy[i] = 0 where the forward output y[i] <= 0, else dy[i] * scale (kernels/elementwise.hpp: with
  // the output after dropout and scale dropout_scale(p), ReLU's and dropout's backward in one pass)
  void relu_backward(tensor_view<const float> y, tensor_view<float> dy, float scale = 1.0f);
  // A hidden layer's epilogue, fused: y = dropout(relu(y + b)) with p (0: no dropout), and its
  // backward dy = relu_backward(y, dy, scale), db = column sums of dy. Bit for bit the separate
  // operations in sequence (what a backend without a fused kernel runs).
  void bias_relu_dropout(tensor_view<float> y, std::int64_t rows, std::int64_t cols, tensor_view<const float> b,
                         double p, const counter_rng& rng);
  void relu_bias_backward(tensor_view<const float> y, tensor_view<float> dy, std::int64_t rows, std::int64_t cols,
                          float scale, tensor_view<float> db);
  // Counter-based masks (kernels/elementwise.hpp): every backend drops the same elements.
  void dropout_forward(tensor_view<float> x, double p, const counter_rng& rng);
  void dropout_backward(tensor_view<float> dx, double p, const counter_rng& rng);
  // Fused log-softmax + NLL over `rows` rows: row_loss[i] = -log softmax(z_i)[y_i] and, when dlogits
  // is not empty, dlogits = (softmax - onehot) / normalizer (rows when 0). Labels must lie in
  // [0, classes) (callers check them on the host, where they come from).
  void softmax_nll(tensor_view<const float> logits, std::int64_t rows, std::int64_t classes,
                   tensor_view<const std::int64_t> labels, tensor_view<float> dlogits, tensor_view<float> row_loss,
                   std::int64_t normalizer);
  // --- Graph attention (kernels/attention.hpp): `heads` heads of `width` columns; node rows are
  // heads * width wide, per-node and per-edge attention values heads wide. g.edge_ids, when not
  // empty, say where each entry's per-edge value is (a transposed block).
  // y[r, k] = <x[r, head k], att[head k]>  (rows x heads)
  void head_dot(std::int64_t rows, std::int64_t heads, std::int64_t width, tensor_view<const float> x,
                tensor_view<const float> att, tensor_view<float> y);
  // dx[r, head k] += dy[r, k] * att[head k] (dx may be empty: skipped); datt = sum_r dy[r, k] x[r, head k]
  void head_dot_backward(std::int64_t rows, std::int64_t heads, std::int64_t width, tensor_view<const float> x,
                         tensor_view<const float> att, tensor_view<const float> dy, tensor_view<float> dx,
                         tensor_view<float> datt);
  // alpha (nnz x heads) = per-row softmax of LeakyReLU(a_src[src] + a_dst[dst], slope)
  void edge_softmax(const agg_csr_view& g, std::int64_t heads, tensor_view<const float> a_src,
                    tensor_view<const float> a_dst, float slope, tensor_view<float> alpha);
  // ds = gradient of the scores a_src[src] + a_dst[dst] given dalpha (nnz x heads)
  void edge_softmax_backward(const agg_csr_view& g, std::int64_t heads, tensor_view<const float> a_src,
                             tensor_view<const float> a_dst, float slope, tensor_view<const float> alpha,
                             tensor_view<const float> dalpha, tensor_view<float> ds);
  // y[v, head k] = sum over v's row of w[edge, k] * x[src, head k]
  void aggregate_heads(const agg_csr_view& g, std::int64_t heads, std::int64_t width, tensor_view<const float> w,
                       tensor_view<const float> x, tensor_view<float> y);
  // out[e, k] = <dy[dst_e, head k], x[src_e, head k]>  (nnz x heads, in g's order)
  void edge_dot(const agg_csr_view& g, std::int64_t heads, std::int64_t width, tensor_view<const float> dy,
                tensor_view<const float> x, tensor_view<float> out);
  // y[v, k] = sum over v's row of values[edge, k]
  void edge_sum(const agg_csr_view& g, std::int64_t heads, tensor_view<const float> values, tensor_view<float> y);
  // ELU (alpha 1) in place; backward from the forward output y: dy *= y > 0 ? 1 : y + 1
  void elu_forward(tensor_view<float> x);
  void elu_backward(tensor_view<const float> y, tensor_view<float> dy);
  // --- Rows. dst[pos[i], :] = src[i, :] for i < rows (rows x dim float32; positions distinct and
  // within dst's rows, which the caller guarantees: callers build them from their own ids). How a
  // gather assembled from several sources (the sharded feature store's local, replicated and
  // fetched rows) puts each row where the batch wants it.
  void scatter_rows(tensor_view<const float> src, std::int64_t rows, std::int64_t dim,
                    tensor_view<const std::int64_t> pos, tensor_view<float> dst);
  // One Adam step (kernels/adam.hpp) on param.size parameters; step counts from 1.
  void adam_step(tensor_view<float> param, tensor_view<const float> grad, tensor_view<float> m, tensor_view<float> v,
                 const adam_config& cfg, std::int64_t step);

  // Per-operation profile (TIERGNN_PROFILE_OPS=1 for `tiergnn train`): while on, every operation
  // first waits for the work queued before it, then for itself, and adds its wall time to its entry
  // ("matmul NT", "aggregate 256", ...). A profiled GPU run loses all overlap between operations: it
  // shows where the time goes, not how long an unprofiled run takes.
  struct op_stat {
    std::int64_t calls = 0;
    double seconds = 0;
  };
  void set_profiling(bool on) { profiling_.store(on, std::memory_order_relaxed); }
  std::map<std::string, op_stat> op_profile() const {
    const std::lock_guard<std::mutex> lock(profile_mu_);
    return profile_;
  }
  void reset_op_profile() {
    const std::lock_guard<std::mutex> lock(profile_mu_);
    profile_.clear();
  }

  // Throws error when `v` is not backend memory or holds fewer than `need` elements (every
  // operation checks its views with it; callers that hand views on do too).
  template <typename T>
  void expect(const tensor_view<T>& v, std::int64_t need, const char* op, const char* arg) const {
    if (need > 0 && v.kind != memory() && !(memory() == memory_kind::host && v.kind == memory_kind::pinned))
      throw error(std::string("backend ") + to_string(device()) + ": " + op + " got " + std::string(to_string(v.kind)) +
                  " memory for '" + arg + "', which needs " + std::string(to_string(memory())) + " memory");
    if (v.size < need)
      throw error(std::string("backend ") + to_string(device()) + ": " + op + ": '" + arg + "' holds " +
                  std::to_string(v.size) + " elements, the operation needs " + std::to_string(need));
  }

 protected:
  // Times one operation into the profile when profiling is on (a no-op otherwise): `tag` and `num`,
  // when given, name the variant ("NT", a width).
  class op_scope {
   public:
    op_scope(backend& be, const char* op, const char* tag = nullptr, std::int64_t num = -1);
    ~op_scope();
    op_scope(const op_scope&) = delete;
    op_scope& operator=(const op_scope&) = delete;

   private:
    backend* be_;
    const char *op_, *tag_;
    std::int64_t num_;
    double t0_ = 0;
  };

  // Elements a row-major rows x cols matrix with leading dimension ld spans.
  static std::int64_t matrix_extent(std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    return rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0;
  }

  // --- The implementations, called with checked views.
  virtual void matmul_impl(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                           const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                           std::int64_t ldc) = 0;
  // Two matmul_impl calls unless a backend has better.
  virtual void matmul_sum2_impl(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k1, const float* a1,
                                std::int64_t lda1, const float* b1, std::int64_t ldb1, std::int64_t k2, const float* a2,
                                std::int64_t lda2, const float* b2, std::int64_t ldb2, float beta, float* c,
                                std::int64_t ldc) {
    matmul_impl(ta, tb, m, n, k1, 1.0f, a1, lda1, b1, ldb1, beta, c, ldc);
    matmul_impl(ta, tb, m, n, k2, 1.0f, a2, lda2, b2, ldb2, 1.0f, c, ldc);
  }
  virtual void aggregate_impl(const agg_csr_view& g, const float* x, std::int64_t dim, float* y) = 0;
  virtual void bias_forward_impl(float* y, std::int64_t rows, std::int64_t cols, const float* b) = 0;
  virtual void bias_backward_impl(const float* dy, std::int64_t rows, std::int64_t cols, float* db) = 0;
  virtual void relu_forward_impl(float* x, std::int64_t n) = 0;
  virtual void relu_backward_impl(const float* y, float* dy, std::int64_t n, float scale) = 0;
  virtual void dropout_forward_impl(float* x, std::int64_t n, double p, const counter_rng& rng) = 0;
  virtual void dropout_backward_impl(float* dx, std::int64_t n, double p, const counter_rng& rng) = 0;
  virtual void softmax_nll_impl(const float* logits, std::int64_t rows, std::int64_t classes,
                                const std::int64_t* labels, float* dlogits, float* row_loss,
                                std::int64_t normalizer) = 0;
  virtual void adam_step_impl(float* param, const float* grad, float* m, float* v, std::int64_t n,
                              const adam_config& cfg, std::int64_t step) = 0;
  virtual void head_dot_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x,
                             const float* att, float* y) = 0;
  virtual void head_dot_backward_impl(std::int64_t rows, std::int64_t heads, std::int64_t width, const float* x,
                                      const float* att, const float* dy, float* dx, float* datt) = 0;
  virtual void edge_softmax_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src, const float* a_dst,
                                 float slope, float* alpha) = 0;
  virtual void edge_softmax_backward_impl(const agg_csr_view& g, std::int64_t heads, const float* a_src,
                                          const float* a_dst, float slope, const float* alpha, const float* dalpha,
                                          float* ds) = 0;
  virtual void aggregate_heads_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* w,
                                    const float* x, float* y) = 0;
  virtual void edge_dot_impl(const agg_csr_view& g, std::int64_t heads, std::int64_t width, const float* dy,
                             const float* x, float* out) = 0;
  virtual void edge_sum_impl(const agg_csr_view& g, std::int64_t heads, const float* values, float* y) = 0;
  virtual void elu_forward_impl(float* x, std::int64_t n) = 0;
  virtual void elu_backward_impl(const float* y, float* dy, std::int64_t n) = 0;
  virtual void scatter_rows_impl(const float* src, std::int64_t rows, std::int64_t dim, const std::int64_t* pos,
                                 float* dst) = 0;
  // The fused epilogues; by default the separate operations in sequence.
  virtual void bias_relu_dropout_impl(float* y, std::int64_t rows, std::int64_t cols, const float* b, double p,
                                      const counter_rng& rng) {
    bias_forward_impl(y, rows, cols, b);
    relu_forward_impl(y, rows * cols);
    if (p > 0) dropout_forward_impl(y, rows * cols, p, rng);
  }
  virtual void relu_bias_backward_impl(const float* y, float* dy, std::int64_t rows, std::int64_t cols, float scale,
                                       float* db) {
    relu_backward_impl(y, dy, rows * cols, scale);
    bias_backward_impl(dy, rows, cols, db);
  }

 private:
  std::atomic<bool> profiling_{false};  // set by the training thread, read by the pipeline's too
  mutable std::mutex profile_mu_;
  std::map<std::string, op_stat> profile_;
};

// The process-wide CPU backend.
backend& cpu_backend();
// A CPU backend, or a CUDA backend on `device_id` with a stream of its own (throws cuda_error
// without the CUDA backend or a device).
std::unique_ptr<backend> make_backend(device_kind kind, int device_id = 0);

// How the CUDA backend aggregates a weighted block: whichever of its CSR kernel and cuSPARSE SpMM
// measured faster on the first real shape of each width and mean row length (the default), or always one of them
// (tests compare each path with the CPU backend).
enum class cuda_aggregation { autotune, csr_kernel, cusparse };
std::unique_ptr<backend> make_cuda_backend(int device_id, cuda_aggregation aggregation = cuda_aggregation::autotune);

// A growable buffer of T in a backend's memory (move-only). reserve() never shrinks and keeps no
// contents when it grows: buffers are workspaces, filled after they are sized.
template <typename T>
class tensor {
 public:
  tensor() = default;
  explicit tensor(backend& be, std::size_t n = 0) : be_(&be) { reserve(n); }
  tensor(const tensor&) = delete;
  tensor& operator=(const tensor&) = delete;
  tensor(tensor&& o) noexcept
      : be_(o.be_),
        data_(std::exchange(o.data_, nullptr)),
        capacity_(std::exchange(o.capacity_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  tensor& operator=(tensor&& o) noexcept {
    if (this != &o) {
      release();
      be_ = o.be_;
      data_ = std::exchange(o.data_, nullptr);
      capacity_ = std::exchange(o.capacity_, 0);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~tensor() { release(); }

  void bind(backend& be) {
    if (be_ != &be) {
      release();
      be_ = &be;
    }
  }
  // Sets the size to n, growing the allocation when needed (contents are then undefined).
  void resize(std::size_t n) {
    reserve(n);
    size_ = n;
  }
  // Grows by half again when it has to grow twice, so batches of varying size settle quickly (on a
  // GPU a reallocation synchronizes the device).
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    TG_EXPECTS(be_ != nullptr, "tensor::reserve on a tensor bound to no backend");
    const std::size_t want = capacity_ ? std::max(n, capacity_ + capacity_ / 2) : n;
    release();
    data_ = static_cast<T*>(be_->allocate(want * sizeof(T)));
    capacity_ = want;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  memory_kind kind() const { return be_ ? be_->memory() : memory_kind::host; }
  tensor_view<T> view() { return {data_, static_cast<std::int64_t>(size_), kind()}; }
  tensor_view<const T> view() const { return {data_, static_cast<std::int64_t>(size_), kind()}; }
  // Resizes to n and copies n elements from host memory (asynchronously on CUDA: see the header).
  void assign_from_host(const T* src, std::size_t n) {
    resize(n);
    if (n) be_->copy_from_host(data_, src, n * sizeof(T));
  }
  void copy_to_host(T* dst) const {
    if (size_) be_->copy_to_host(dst, data_, size_ * sizeof(T));
  }

 private:
  void release() {
    if (data_ && be_) be_->deallocate(data_);
    data_ = nullptr;
    capacity_ = 0;
    size_ = 0;
  }
  backend* be_ = nullptr;
  T* data_ = nullptr;
  std::size_t capacity_ = 0, size_ = 0;
};

}  // namespace tg
