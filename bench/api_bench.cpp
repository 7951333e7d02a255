// Per-batch cost of the embedding API from C++: sampling and gathering one epoch's batches through
// tiergnn::sampler and tiergnn::feature_store (the same library the Python module links), for the
// Python-overhead comparison (bench/python_overhead.py).
// Usage: api_bench DATASET [--fanouts 15,10,5] [--batch-size 1024] [--batches N] [--epoch E] [--repeat R]
// Prints one JSON object: seconds for sample and gather over the batches, and their counts. With
// --repeat R, also `gather_reused_s`: the batches' gathers alone, R rounds into one reused output
// buffer (as the trainer gathers), the fastest round: the row copy without page faults.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <tiergnn/tiergnn.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: api_bench DATASET [--fanouts 15,10,5] [--batch-size 1024] [--batches N] [--epoch E] "
                 "[--repeat R]\n");
    return 2;
  }
  std::vector<std::int64_t> fanouts{15, 10, 5};
  std::int64_t batch_size = 1024, max_batches = 50, epoch = 0, repeat = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--fanouts") {
      fanouts.clear();
      std::stringstream ss(v);
      for (std::string t; std::getline(ss, t, ',');) fanouts.push_back(std::stoll(t));
    } else if (k == "--batch-size") {
      batch_size = std::stoll(v);
    } else if (k == "--batches") {
      max_batches = std::stoll(v);
    } else if (k == "--epoch") {
      epoch = std::stoll(v);
    } else if (k == "--repeat") {
      repeat = std::stoll(v);
    } else {
      std::fprintf(stderr, "api_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    const auto ds = tiergnn::dataset::open(argv[1]);
    const auto train = ds.split("train");
    const std::vector<std::int64_t> ids(train.as<std::int64_t>(), train.as<std::int64_t>() + train.size());
    tiergnn::sampler s(ds, fanouts, 0);
    tiergnn::feature_store fs(ds);
    auto batches = s.epoch_batches(ids, batch_size, epoch);
    if (static_cast<std::int64_t>(batches.size()) > max_batches) batches.resize(static_cast<std::size_t>(max_batches));
    // Warm-up, untimed: starts oneTBB's workers and touches the pages (the Python side warms up too).
    for (std::size_t b = 0; b < std::min<std::size_t>(3, batches.size()); ++b) {
      const tiergnn::batch mb = s.sample(batches[b], epoch, static_cast<std::int64_t>(b));
      std::unique_ptr<float[]> w(new float[mb.input_nodes().size() * static_cast<std::size_t>(fs.dim())]);
      fs.gather(mb.input_nodes().data(), mb.input_nodes().size(), w.get());
    }
    fs.reset_traffic();
    using clk = std::chrono::steady_clock;
    double t_sample = 0, t_gather = 0;
    std::int64_t edges = 0, rows = 0;
    for (std::size_t b = 0; b < batches.size(); ++b) {
      const auto t0 = clk::now();
      const tiergnn::batch mb = s.sample(batches[b], epoch, static_cast<std::int64_t>(b));
      const auto t1 = clk::now();
      const auto& in = mb.input_nodes();
      // As the module does: a fresh, uninitialised output buffer per batch.
      std::unique_ptr<float[]> x(new float[in.size() * static_cast<std::size_t>(fs.dim())]);
      fs.gather(in.data(), in.size(), x.get());
      const auto t2 = clk::now();
      t_sample += std::chrono::duration<double>(t1 - t0).count();
      t_gather += std::chrono::duration<double>(t2 - t1).count();
      edges += mb.num_sampled_edges();
      rows += static_cast<std::int64_t>(in.size());
    }
    double t_reused = 0;
    if (repeat > 0) {
      std::vector<std::vector<std::int64_t>> inputs;
      std::size_t most = 0;
      for (std::size_t b = 0; b < batches.size(); ++b) {
        const tiergnn::batch mb = s.sample(batches[b], epoch, static_cast<std::int64_t>(b));
        inputs.emplace_back(mb.input_nodes().begin(), mb.input_nodes().end());
        most = std::max(most, inputs.back().size());
      }
      std::vector<float> x(most * static_cast<std::size_t>(fs.dim()), 0.0f);
      for (std::int64_t r = 0; r < repeat; ++r) {
        const auto t0 = clk::now();
        for (const auto& in : inputs) fs.gather(in.data(), in.size(), x.data());
        const double t = std::chrono::duration<double>(clk::now() - t0).count();
        t_reused = r == 0 ? t : std::min(t_reused, t);
      }
    }
    std::printf(
        "{\"batches\": %zu, \"sample_s\": %.6f, \"gather_s\": %.6f, \"gather_reused_s\": %.6f, "
        "\"sampled_edges\": %lld, \"rows\": %lld}\n",
        batches.size(), t_sample, t_gather, t_reused, static_cast<long long>(edges), static_cast<long long>(rows));
    return 0;
  } catch (const tiergnn::error& e) {
    std::fprintf(stderr, "api_bench: %s\n", e.what());
    return 1;
  }
}
