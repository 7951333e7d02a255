#pragma once
// The batch producer of the training loop (DESIGN.md §3): for each batch of an epoch's plan, this
// rank's slice of the seeds is sampled, its input features gathered through the feature store into
// backend memory, its aggregation graphs built (and uploaded) and its labels placed beside them.
// The epoch loop (train/trainer.cpp) is the same for every backend; only the depth differs:
//   depth 0   synchronous: next() prepares the batch on the calling thread (the CPU default);
//   depth k   two threads prepare up to k batches ahead into k slots reused across batches while
//             the caller trains (the CUDA default, 2): a sampling thread samples up to k batches
//             ahead into host buffers of its own, and the producer thread takes them in order,
//             gathers their features and builds and uploads their graphs. So sampling overlaps
//             gathering and preparing as well as the GPU's compute: on an H200 with 16 cores the
//             producer's sampling and preparing, done one after the other, left the GPU waiting
//             2.0-2.4 s of a 2.9-3.3 s epoch (bench/results/gpu_check_h200.md).
// Results do not depend on the depth: every batch's sample is keyed by (seed, epoch, batch) and the
// caller consumes batches in order. A store whose rows land in host memory (the sharded store) feeding
// a device backend gathers into host staging, then one copy moves the rows to the device.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/backend.hpp"
#include "nn/batch_graphs.hpp"
#include "sampler/batcher.hpp"
#include "sampler/block_sampler.hpp"
#include "tiering/ledger.hpp"
#include "tiering/store.hpp"

namespace tg {

struct prepared_batch {
  std::int64_t epoch = 0, index = 0;
  std::int64_t global_rows = 0;  // seeds of the global batch (this rank holds a slice of them)
  sampled_batch host;            // the sampled blocks (empty when this rank's slice is)
  batch_graphs graphs;           // per layer, with transposes
  tensor<float> x;               // input features, blocks[0].num_src x dim
  std::vector<float> x_staging;  // a host-memory store feeding device memory: its rows, then one copy
  std::vector<std::int64_t> labels_host;
  tensor<std::int64_t> labels;
  traffic feature_traffic;
  double sample_s = 0, gather_s = 0, prepare_s = 0;
  double prepare_host_s = 0;  // of prepare_s: building the graphs on the host (the rest: labels, uploads, wait)
  std::int64_t rows() const { return static_cast<std::int64_t>(labels_host.size()); }
};

class batch_pipeline {
 public:
  struct options {
    aggregator kind = aggregator::mean;
    const self_loop_index* self_loops = nullptr;  // gcn: the sampled graph's (batch_graphs::build)
    int rank = 0, world = 1;                      // data-parallel: this rank's slice of each global batch
    int depth = 0;                                // 0: synchronous; k > 0: a producer thread k batches ahead
  };
  // `be` is the backend batches are prepared on (a CUDA one has its own upload stream); the store
  // must write `be`'s memory. Every reference must outlive the pipeline.
  batch_pipeline(block_sampler& sampler, feature_store& store, backend& be, const std::vector<std::int64_t>& labels,
                 const options& o);
  ~batch_pipeline();
  batch_pipeline(const batch_pipeline&) = delete;
  batch_pipeline& operator=(const batch_pipeline&) = delete;

  // Starts producing `plan`'s batches (the plan must outlive the epoch).
  void start_epoch(const batch_plan& plan, int epoch);
  // The next batch in order; valid until release(). Rethrows a failure of the producer.
  prepared_batch& next();
  // The batch from next() may be reused (the caller's backend work on it must be finished).
  void release();
  // Ends the epoch (early too: an interrupt or an error), joining the producer.
  void finish_epoch();
  // Seconds the producer worked this epoch (sample + gather + prepare), for the overlap figure.
  double producer_busy_s() const { return busy_s_; }

 private:
  // Samples batch b's slice of the seeds into `out` (empty when this rank's slice is); seconds taken.
  double sample_into(std::int64_t b, sampled_batch* out);
  // Gathers, prepares and labels batch b, whose sample is in s.host.
  void complete(std::int64_t b, prepared_batch& s);
  // Both, on the calling thread (depth 0).
  void produce(std::int64_t b, prepared_batch& s);
  void run_sampler();
  void run_producer();

  block_sampler& sampler_;
  feature_store& store_;
  backend& be_;
  const std::vector<std::int64_t>& labels_;
  options o_;
  std::vector<std::unique_ptr<prepared_batch>> slots_;
  const batch_plan* plan_ = nullptr;
  int epoch_ = 0;
  std::int64_t next_batch_ = 0;  // synchronous mode
  int current_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> ready_, free_;
  // The sampling thread's buffers: free ones, and sampled ones in batch order with their seconds.
  std::vector<std::unique_ptr<sampled_batch>> samples_;
  std::vector<double> sample_secs_;
  std::deque<int> samples_free_, samples_ready_;
  bool stop_ = false;
  std::exception_ptr failure_;
  double busy_s_ = 0;
  std::thread sampler_thread_, producer_;
};

}  // namespace tg
