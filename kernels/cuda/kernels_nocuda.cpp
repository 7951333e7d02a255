// kernels/gpu_kernels.hpp without the CUDA backend.
#include "core/error.hpp"
#include "kernels/gpu_kernels.hpp"

namespace tg::gpu {

namespace {
[[noreturn]] void no_cuda() {
  throw cuda_error("this tiergnn was built without the CUDA backend");
}
}  // namespace

void matmul(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, std::int64_t, const float*,
            std::int64_t, float, float*, std::int64_t, void*) {
  no_cuda();
}
void aggregate_forward(const agg_graph_view&, const float*, std::int64_t, float*, void*) {
  no_cuda();
}
void aggregate_forward_cusparse(const agg_graph_view&, const float*, std::int64_t, float*, cusparse_scratch&, void*) {
  no_cuda();
}
void bias_forward(float*, std::int64_t, std::int64_t, const float*, void*) {
  no_cuda();
}
void bias_backward(const float*, std::int64_t, std::int64_t, float*, void*) {
  no_cuda();
}
void relu_forward(float*, std::int64_t, void*) {
  no_cuda();
}
void relu_backward(const float*, float*, std::int64_t, void*, float) {
  no_cuda();
}
void dropout_forward(float*, std::int64_t, double, const counter_rng&, void*) {
  no_cuda();
}
void dropout_backward(float*, std::int64_t, double, const counter_rng&, void*) {
  no_cuda();
}
void softmax_nll(const float*, std::int64_t, std::int64_t, const std::int64_t*, float*, float*, float*, void*,
                 std::int64_t) {
  no_cuda();
}
void scale(float*, std::int64_t, float, void*) {
  no_cuda();
}
void adam_step(float*, const float*, float*, float*, std::int64_t, const adam_config&, std::int64_t, void*) {
  no_cuda();
}

void head_dot(std::int64_t, std::int64_t, std::int64_t, const float*, const float*, float*, void*) {
  no_cuda();
}
void head_dot_backward(std::int64_t, std::int64_t, std::int64_t, const float*, const float*, const float*, float*,
                       float*, void*) {
  no_cuda();
}
void edge_softmax(const agg_graph_view&, std::int64_t, const float*, const float*, float, float*, void*) {
  no_cuda();
}
void edge_softmax_backward(const agg_graph_view&, std::int64_t, const float*, const float*, float, const float*,
                           const float*, float*, void*) {
  no_cuda();
}
void aggregate_heads(const agg_graph_view&, std::int64_t, std::int64_t, const float*, const float*, float*, void*) {
  no_cuda();
}
void edge_dot(const agg_graph_view&, std::int64_t, std::int64_t, const float*, const float*, float*, void*) {
  no_cuda();
}
void edge_sum(const agg_graph_view&, std::int64_t, const float*, float*, void*) {
  no_cuda();
}
void elu_forward(float*, std::int64_t, void*) {
  no_cuda();
}
void elu_backward(const float*, float*, std::int64_t, void*) {
  no_cuda();
}
void scatter_rows(const float*, std::int64_t, std::int64_t, const std::int64_t*, float*, void*) {
  no_cuda();
}

}  // namespace tg::gpu
