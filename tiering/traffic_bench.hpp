#pragma once
// `tiergnn bench traffic`: how much CPU -> GPU feature traffic each estimator's placement saves.
// For one dataset and training configuration the oracle counts (the exact number of batches that
// read each node over the run, with the run's own seed) are the ground truth; a placement that
// caches the top k rows of an estimator's ranking on the GPU serves the reads of those rows, so its
// hit rate is sum(oracle[top k]) / sum(oracle), and the oracle's own ranking is the hindsight-
// optimal static placement. Host -> GPU bytes per epoch are the misses times the row size; the
// no-cache baseline moves every read.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"

namespace tg {

struct traffic_bench_config {
  std::vector<std::string> estimators;                             // empty: every estimator
  std::vector<double> ratios{0.01, 0.02, 0.05, 0.10, 0.20, 0.40};  // GPU cache as a share of the feature bytes
  std::vector<std::int64_t> fanouts{15, 10, 5};
  std::int64_t batch_size = 1024;
  std::uint64_t seed = 0;
  int epochs = 10;               // run length
  std::int64_t max_batches = 0;  // > 0: the run trains only the first max_batches batches of each epoch
  double train_fraction = 0.10;  // when the dataset has no train_idx.npy (or random_train is set)
  bool random_train = false;     // use a random training set even when the dataset has a split
  std::uint64_t split_seed = 0;
  // A contiguous training set instead: the nodes with ids in [begin * N, end * N) (0 <= begin < end
  // <= 1). Ids of web crawls follow URL order, so a contiguous range is a locality-skewed split.
  bool contiguous_train = false;
  double range_begin = 0, range_end = 0;
  std::int64_t row_bytes = 0;  // 0: the dataset's feature row (512 = 128 float32 when it has none)
};

struct traffic_bench_row {
  std::string estimator;
  double seconds = 0, edge_passes = 0;
  double presample_epochs = 0;            // seconds / presample_epoch_seconds: the cost in presampling epochs
  std::vector<double> hit_rate;           // per ratio
  std::vector<double> of_oracle;          // hit_rate / oracle hit rate, per ratio
  std::vector<double> host_to_gpu_bytes;  // per epoch, per ratio
};

struct traffic_bench_result {
  std::string dataset;
  traffic_bench_config config;
  std::int64_t num_nodes = 0, train_nodes = 0, row_bytes = 0;
  double reads_per_epoch = 0;  // rows the no-cache baseline moves per epoch
  std::string train_set;       // how the training set was chosen, in words
  // The cost unit: the time of one presampling epoch (presample:1) on the same graph and threads.
  // Every time is the fastest of up to three runs when one run takes under a second.
  double presample_epoch_seconds = 0;
  std::vector<traffic_bench_row> rows;  // the oracle first

  nlohmann::json to_json() const;
  std::string table() const;
  // A line chart (hit rate vs cache ratio, one line per estimator) as a standalone SVG document.
  std::string svg() const;
};

traffic_bench_result run_traffic_bench(const dataset& d, const traffic_bench_config& cfg);

}  // namespace tg
