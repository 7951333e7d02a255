#pragma once
// The mini-batch training loop, one for every backend (kernels/backend.hpp): seeded shuffled
// batches of training nodes, neighbour sampling, feature gather through the tiered store, forward /
// backward through the model, Adam — prepared by train/batch_pipeline.hpp (synchronously on the
// CPU, a producer thread two batches ahead on a GPU) and trained on the backend; per-epoch
// validation, final test metric, JSON-lines metrics, per-epoch atomic checkpoints with bit-exact
// resume, and a clean stop on Ctrl-C (after the current batch; the last checkpoint stays intact).
//
// Evaluation is either layer-wise full-neighbour inference (every node's layer-l output from all
// its in-neighbours, layer by layer: the standard for GraphSAGE) or sampled inference with the
// training fanouts.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "kernels/adam.hpp"
#include "nn/model.hpp"
#include "tiering/ledger.hpp"

namespace tg {

class communicator;

struct train_config {
  model_config model;  // num_layers is taken from fanouts
  std::vector<std::int64_t> fanouts{15, 10, 5};
  std::int64_t batch_size = 1024;
  int epochs = 10;
  // > 0: each epoch trains only its first max_batches batches (of the same shuffled order), to bound
  // a run at scale or a benchmark without shrinking the training split.
  std::int64_t max_batches = 0;
  adam_config adam{0.003, 0.9, 0.999, 1e-8, 0.0};
  std::string weight_decay_scope = "all";  // "all" or "first" (first layer only, as Kipf & Welling's GCN)
  std::uint64_t seed = 0;
  std::string eval_mode = "full";  // "full" or "sampled"
  std::int64_t eval_batch_size = 4096;
  int eval_every = 1;          // validate every N epochs (and after the last)
  std::string checkpoint_dir;  // empty: no checkpoints
  bool resume = false;
  bool overwrite_checkpoint = false;  // a checkpoint already in checkpoint_dir may be replaced (without resume)
  std::string metrics_path;           // JSON lines; empty: none
  std::string save_model_path;        // empty: do not save
  bool show_progress = true;
  std::string gpu_mem, host_mem;  // override the prepared plan's budgets (prepared datasets only)
  std::string replicate;          // sharded features: override the plan's replica budget per machine
  int disk_readers = 4;           // reader threads of the disk tier
  bool ignore_graph = false;      // train and evaluate with no edges: the model becomes an MLP baseline
  int stop_after_epochs = -1;     // testing aid: stop (as if interrupted) after this many epochs
  std::string device = "cpu";     // "cpu" or "cuda" (the whole mini-batch on the GPU, pipelined)
  communicator* comm = nullptr;   // data-parallel job (multigpu/communicator.hpp); null: one process
  double comm_timeout_s = 120;    // data-parallel: how long a rank waits for the others
  int device_id = 0;              // --device cuda: the GPU of this process (LOCAL_RANK in a job)
  std::string host_access =
      "zero-copy";          // cuda: host rows read by the kernel, or "copy" (CPU gather + DMA, a baseline)
  int pipeline_depth = -1;  // batches prepared ahead on a producer thread; -1: 0 on CPU, 2 on CUDA
  // Training batches sampled by the CPU sampler ("cpu"), or with --device cuda on the GPU: "gpu" (the
  // CSR in device memory, counted in the device-memory check) or "gpu-pinned" (the CSR in pinned host
  // memory read over PCIe, for graphs larger than the GPU). The same blocks either way.
  std::string sampler = "cpu";
};

struct epoch_report {
  int epoch = 0;
  double loss = 0, train_accuracy = 0, valid_metric = -1;
  double seconds = 0, sample_s = 0, gather_s = 0, compute_s = 0, optimizer_s = 0;
  double prepare_s = 0;            // aggregation graphs, labels (and uploads on a GPU)
  double prepare_host_s = 0;       // of prepare_s: the graphs built on the host
  double wait_s = 0, overlap = 0;  // pipelined: time waiting for the producer, share of its work hidden
  double comm_s = 0;               // data-parallel: gradient all-reduce
  std::int64_t batches = 0, sampled_edges = 0, input_nodes = 0;
  traffic feature_traffic;  // the gather's rows and bytes per tier
};

struct train_report {
  std::string metric;  // "accuracy" or "roc_auc"
  std::vector<epoch_report> epochs;
  double valid_metric = -1, test_metric = -1;
  int start_epoch = 0, end_epoch = 0;
  bool interrupted = false;
  int stop_signal = 0;  // the signal that stopped training early (SIGINT, SIGTERM or SIGHUP), else 0
};

// Validates the configuration against the dataset (labels, splits, fanouts, batch size, resume
// compatibility) before any work, then trains. Throws input_error for bad input, error for a NaN
// loss (naming epoch and batch).
train_report train(const dataset& d, const train_config& cfg);

// Evaluates a model on node ids (layer-wise full-neighbour or sampled inference); returns the
// logits (ids.size() x classes).
std::vector<float> evaluate_logits(const dataset& d, const gnn_model& m, const std::vector<std::int64_t>& ids,
                                   const train_config& cfg);

}  // namespace tg
