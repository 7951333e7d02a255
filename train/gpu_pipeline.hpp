#pragma once
// `tiergnn train --device cuda`: one epoch of mini-batches on the GPU, pipelined. A producer thread
// samples batch i+1 (and i+2: the queue holds two prepared batches), gathers its input features
// through the CUDA tiered store straight into device memory (disk rows read by the store's reader
// pool on host threads), builds and uploads its aggregation graphs and labels, each on the
// producer's streams, while the consumer trains batch i on the compute stream (forward, fused
// log-softmax + NLL, backward, Adam, all on the GPU). Per-batch buffers live in two slots reused
// across batches, so a warm epoch allocates nothing. Results do not depend on the overlap: every
// batch's sample, dropout masks and update are keyed by (seed, epoch, batch) and applied in order.
//
// Reported per epoch: sample, gather, prepare (graphs + uploads) and compute seconds, the time the
// GPU loop waited for the producer, and the overlap achieved: the share of the producer's work
// that ran hidden behind compute.
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dataset.hpp"
#include "core/progress.hpp"
#include "core/span.hpp"
#include "nn/model.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "train/checkpoint.hpp"
#include "train/trainer.hpp"

namespace tg {

struct gpu_epoch_totals {
  double loss_sum = 0, correct = 0;
  std::int64_t seen = 0;
  bool interrupted = false;
};

class gpu_epoch_runner {
 public:
  // g, c: tier boundaries for the CUDA store; reserve_bytes: device memory training needs beside the
  // GPU tier (checked before anything is allocated). labels: per node (dataset ids).
  gpu_epoch_runner(const dataset& d, const train_config& cfg, const gnn_model& model, const optimizer_state& opt,
                   std::int64_t g, std::int64_t c, std::uint64_t reserve_bytes, const std::vector<std::int64_t>& labels,
                   std::int64_t num_classes);
  ~gpu_epoch_runner();

  // Trains one epoch of `plan`'s batches with `sampler`; fills the report's timings and traffic.
  gpu_epoch_totals run_epoch(neighbor_sampler& sampler, const batch_plan& plan, int epoch, epoch_report* er,
                             progress* bar, const std::atomic<bool>& interrupted);

  // Copies parameters and Adam moments back to the host (for evaluation and checkpoints).
  void download(gnn_model* model, optimizer_state* opt) const;
  std::int64_t step() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tg
