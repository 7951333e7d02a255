#pragma once
// The GNN model on the GPU (CUDA backend): the same layers, parameters and dropout masks as
// gnn_model (nn/model.hpp), with parameters, gradients, Adam moments and activations in device
// memory and every operation a CUDA kernel (kernels/gpu_kernels.hpp: cuBLAS for the dense layers,
// CSR aggregation by a custom kernel or cuSPARSE SpMM, whichever measured faster for the width).
// Activation buffers are a workspace that grows to the largest batch and is then reused: a warm
// model allocates nothing per batch.
//
// A batch arrives as a gpu_batch: its host blocks, the aggregation graphs of every layer (built on
// the host and uploaded; also their transposes, for backward), the gathered input features and the
// seeds' labels, all in device memory — prepared by the pipeline (train/gpu_pipeline.hpp) while the
// previous batch trains.
//
// g++-compiled (the CUDA calls go through core/gpu_memory.hpp and kernels/gpu_kernels.hpp): without
// the CUDA backend, constructing one throws cuda_error.
#include <cstdint>
#include <functional>
#include <utility>
#include <map>
#include <memory>
#include <vector>

#include "core/gpu_memory.hpp"
#include "kernels/adam.hpp"
#include "nn/model.hpp"
#include "sampler/block.hpp"
#include "tiering/ledger.hpp"
#include "train/checkpoint.hpp"
#include "multigpu/communicator.hpp"

namespace tg {

struct device_graph {
  std::int64_t num_dst = 0, num_src = 0, nnz = 0;
  gpu::device_buffer<std::int64_t> indptr;
  gpu::device_buffer<std::int32_t> indices;
  gpu::device_buffer<float> weights;
};

struct gpu_batch {
  std::int64_t epoch = 0, index = 0;
  std::int64_t global_rows = 0;          // seeds of the global batch (this rank has a slice of them)
  sampled_batch host;                    // the sampled blocks (host)
  std::vector<device_graph> g, gt;       // per layer: aggregation graph and its transpose
  gpu::device_buffer<float> x;           // input features, blocks[0].num_src x in_dim
  std::vector<std::int64_t> labels_host; // labels of the seeds
  gpu::device_buffer<std::int64_t> labels;
  traffic feature_traffic;
  double sample_s = 0, gather_s = 0, prepare_s = 0;
};

// Builds the aggregation graphs of `b` for the model kind (mean for sage, GCN normalisation for
// gcn; kernels/aggregate.hpp) and their transposes, and uploads them on `s`.
void upload_graphs(const model_config& cfg, gpu_batch* b, const gpu::stream& s);

class gpu_gnn_model {
 public:
  // Copies the configuration and parameters of `host` (and Adam moments from `opt` when given).
  gpu_gnn_model(const gnn_model& host, const optimizer_state* opt);
  ~gpu_gnn_model();
  gpu_gnn_model(const gpu_gnn_model&) = delete;
  gpu_gnn_model& operator=(const gpu_gnn_model&) = delete;

  // Copies parameters (and moments, when opt is given) back to the host model.
  void download(gnn_model* host, optimizer_state* opt) const;

  // Training forward on stream s; returns the device logits (seeds x classes).
  const float* forward(const gpu_batch& b, dropout_key key, const gpu::stream& s);
  // Gradients of every parameter from dlogits (device), overwriting them. layer_done(l), when
  // given, is called once layer l's gradient kernels are queued on s (layers L-1 down to 0), so a
  // data-parallel reduction of them can start behind the rest of the backward pass.
  void backward(const float* dlogits, const gpu::stream& s, const std::function<void(int)>& layer_done = {});
  // The device gradient buffers of layer l's parameters (pointer, element count).
  std::vector<std::pair<float*, std::size_t>> layer_grads(int layer);
  // One Adam step; first_layer / other_layers: the configurations of layer 0 and the rest (weight
  // decay may apply to the first layer only).
  void adam(const adam_config& first_layer, const adam_config& other_layers, std::int64_t step, const gpu::stream& s);

  // Sets every gradient to zero (a data-parallel rank with no seeds in a batch).
  void zero_grads(const gpu::stream& s);

  // Which aggregation implementation each width chose ("custom" or "cusparse"), for the report.
  std::map<std::int64_t, std::string> aggregation_choices() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tg
