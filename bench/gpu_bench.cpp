// GPU benchmarks for bench/gpu_check.sh (CUDA part 1): bandwidth ceilings, tiered gather
// throughput, and GPU sampler throughput, measured in one run on one card.
//
//   ceilings  pinned host -> device cudaMemcpy and device -> device copy bandwidth (256 MiB, best of 10)
//   gather    rows of 256 B, 512 B and 1 KiB (float32), --gather-mib (1024) MiB of features per row size written to
//             --work; 1M random ids per batch; tiers all-GPU, all-host (zero-copy) and mixed (20% GPU,
//             80% host); GB/s of rows delivered by the kernel (device events around the launch;
//             median of 10) and end to end (gather() with its host-side work), and as a fraction of
//             the matching ceiling (GPU tier: device copy; host tier and mixed: pinned H2D)
//   sampler   a dataset (--sampler-dataset, e.g. a generated R-MAT graph with 100M+ edges): GPU
//             sampler with the CSR in device memory and in pinned host memory, fanouts 15,10,5,
//             batch 1024, --batches batches of a random 10% training set; sampled edges per second;
//             the CPU sampler (all cores of this machine) on the same batches for reference
//
// Usage: gpu_bench --work DIR [--parts ceilings,gather,sampler] [--gather-mib 1024] [--sampler-dataset DIR]
//                  [--sampler-batch-sizes 1024,...] [--batches 100] [--json FILE]
// (--batches counts batches of 1024 seeds: a larger batch size runs proportionally fewer)
// (the gather part needs the ceilings and measures them itself when --parts leaves them out)
// Prints a table; writes JSON with the card, the machine and the numbers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_util.hpp"
#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "sampler/batcher.hpp"
#include "sampler/cuda_sampler.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiering/cuda_feature_store.hpp"

using namespace tg;
using clk = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::string write_rows(const std::string& dir, std::int64_t n, std::int64_t dim) {
  dataset_writer w(dir, true);
  w.put("indptr.npy", std::vector<std::int64_t>(static_cast<std::size_t>(n) + 1, 0));
  w.put("indices.npy", std::vector<std::int32_t>{});
  std::vector<float> f(static_cast<std::size_t>(n * dim));
  std::mt19937 rng(1);
  for (auto& x : f) x = static_cast<float>(rng() % 1000) * 0.001f;
  w.put("features.npy", dtype::float32, {n, dim}, f.data());
  auto& m = w.meta();
  m.name = "gather-" + std::to_string(dim * 4) + "B";
  m.num_nodes = n;
  m.feature_dim = dim;
  return w.commit();
}

}  // namespace

int main(int argc, char** argv) {
  std::string work, sampler_dataset, json_path, parts = "ceilings,gather,sampler";
  std::int64_t batches = 100, gather_mib = 1024;
  std::vector<std::int64_t> batch_sizes{1024};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--work")
      work = argv[i + 1];
    else if (k == "--sampler-dataset")
      sampler_dataset = argv[i + 1];
    else if (k == "--batches")
      batches = std::stoll(argv[i + 1]);
    else if (k == "--json")
      json_path = argv[i + 1];
    else if (k == "--parts")
      parts = argv[i + 1];
    else if (k == "--gather-mib")
      gather_mib = std::stoll(argv[i + 1]);
    else if (k == "--sampler-batch-sizes") {
      batch_sizes.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string x; std::getline(list, x, ',');) batch_sizes.push_back(std::stoll(x));
    } else {
      std::fprintf(stderr, "gpu_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (work.empty()) {
    std::fprintf(stderr,
                 "usage: gpu_bench --work DIR [--parts ceilings,gather,sampler] [--gather-mib 1024] "
                 "[--sampler-dataset DIR] [--sampler-batch-sizes 1024,...] [--batches 100] [--json FILE]\n");
    return 2;
  }
  if (cuda_device_count() == 0) {
    std::fprintf(stderr, "gpu_bench: no CUDA device (%s)\n", cuda_compiled() ? "none visible" : "built without CUDA");
    return 3;
  }
  try {
    nlohmann::json out;
    out["card"] = cuda_device_name(0);
    out["cpu"] = bench::cpu_model();
    out["commit"] = bench::source_commit(TIERGNN_SOURCE_DIR);
    const auto wants = [&](const char* part) {
      return ("," + parts + ",").find(std::string(",") + part + ",") != std::string::npos;
    };
    double h2d = 0, d2d = 0;
    if (wants("ceilings") || wants("gather")) {
      h2d = gpu::measure_h2d_bandwidth(256 << 20, 10);
      d2d = gpu::measure_d2d_bandwidth(256 << 20, 10);
      out["ceilings_gbps"] = {{"pinned_h2d", h2d}, {"d2d_copy", d2d}};
      std::printf("card: %s\nceilings: pinned H2D %.1f GB/s, device copy %.1f GB/s\n",
                  out["card"].get<std::string>().c_str(), h2d, d2d);
      if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";  // each part as soon as it ends
    }

    if (wants("gather")) {
      std::printf("\n%-6s %-6s %12s %12s %9s\n", "row", "tiers", "kernel GB/s", "e2e GB/s", "ceiling");
      const std::int64_t batch = 1 << 20;
      for (std::int64_t row_bytes : {256, 512, 1024}) {
        const std::int64_t n = (gather_mib << 20) / row_bytes, dim = row_bytes / 4;
        const dataset ds = dataset::open(write_rows(work + "/rows" + std::to_string(row_bytes), n, dim));
        std::mt19937_64 rng(7);
        std::uniform_int_distribution<std::int64_t> u(0, n - 1);
        std::vector<std::int64_t> ids(static_cast<std::size_t>(batch));
        for (auto& x : ids) x = u(rng);
        gpu::device_buffer<float> outbuf(static_cast<std::size_t>(batch * dim));
        struct mode {
          const char* name;
          std::int64_t g, c;
          double ceiling;
        };
        for (const mode& md : {mode{"gpu", n, n, d2d}, mode{"host", 0, n, h2d}, mode{"mixed", n / 5, n, h2d}}) {
          cuda_tiered_store s(ds, md.g, md.c, {});
          std::vector<double> kernel, e2e;
          for (int r = 0; r < 11; ++r) {
            const auto t0 = clk::now();
            s.gather(ids, outbuf.data());
            const double sec = std::chrono::duration<double>(clk::now() - t0).count();
            if (r == 0) continue;  // warm-up
            kernel.push_back(s.last_kernel_ms() * 1e-3);
            e2e.push_back(sec);
          }
          const double bytes = static_cast<double>(batch * row_bytes);
          const double kg = bytes / median(kernel) / 1e9, eg = bytes / median(e2e) / 1e9;
          std::printf("%-6lld %-6s %12.1f %12.1f %8.0f%%\n", static_cast<long long>(row_bytes), md.name, kg, eg,
                      100 * kg / md.ceiling);
          out["gather"].push_back({{"row_bytes", row_bytes},
                                   {"tiers", md.name},
                                   {"g", md.g},
                                   {"c", md.c},
                                   {"ids", batch},
                                   {"kernel_gbps", kg},
                                   {"end_to_end_gbps", eg},
                                   {"fraction_of_ceiling", kg / md.ceiling},
                                   {"host_tier", s.host_tier_mode()}});
        }
        remove_tree(ds.dir());
      }
      if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
    }

    if (wants("sampler") && !sampler_dataset.empty()) {
      const dataset ds = dataset::open(sampler_dataset);
      const std::vector<std::int64_t> fan{15, 10, 5};
      std::mt19937_64 rng(42);
      std::vector<std::int64_t> train;
      for (std::int64_t v = 0; v < ds.num_nodes(); ++v)
        if (rng() % 10 == 0) train.push_back(v);
      out["sampler"]["dataset"] = ds.meta().name;
      out["sampler"]["num_edges"] = ds.num_edges();
      // One row per batch size: the GPU's fixed cost per batch (launches, the waits for each hop's
      // sizes) shows as throughput rising with the batch; the first size is the headline figure.
      for (std::size_t si = 0; si < batch_sizes.size(); ++si) {
        const std::int64_t bs = batch_sizes[si];
        const batch_plan plan = plan_epoch(span<const std::int64_t>(train), bs, 0, 0);
        const std::int64_t nb =
            std::min<std::int64_t>(std::max<std::int64_t>(1, batches * 1024 / bs), plan.num_batches());
        std::printf("\nsampler: %s, %lld nodes, %lld edges, fanouts 15,10,5, batch %lld, %lld batches\n",
                    ds.meta().name.c_str(), static_cast<long long>(ds.num_nodes()),
                    static_cast<long long>(ds.num_edges()), static_cast<long long>(bs), static_cast<long long>(nb));
        nlohmann::json row;
        row["batch_size"] = bs;
        row["batches"] = nb;
        {
          neighbor_sampler cpu(ds, fan, 0);
          sampled_batch sb;
          cpu.sample(plan.batch(0), 0, 0, &sb);  // warm-up
          std::int64_t edges = 0;
          const auto t0 = clk::now();
          const std::int64_t ncpu = std::min<std::int64_t>(nb, std::max<std::int64_t>(1, 30 * 1024 / bs));
          for (std::int64_t b = 0; b < ncpu; ++b) {
            cpu.sample(plan.batch(b), 0, b, &sb);
            edges += sb.num_sampled_edges();
          }
          const double sec = std::chrono::duration<double>(clk::now() - t0).count();
          std::printf("%-26s %10.1f M edges/s  (%.0f sampled edges a batch, %.2f ms a batch)\n", "CPU (all cores)",
                      edges / sec / 1e6, static_cast<double>(edges) / ncpu, 1e3 * sec / ncpu);
          row["cpu_edges_per_s"] = edges / sec;
          row["cpu_batches"] = ncpu;
          row["edges_per_batch"] = static_cast<double>(edges) / ncpu;
        }
        for (csr_placement where : {csr_placement::device, csr_placement::pinned_host}) {
          const char* name = where == csr_placement::device ? "GPU, CSR in device" : "GPU, CSR in pinned host";
          cuda_neighbor_sampler g(ds, fan, 0, where);
          for (std::int64_t b = 0; b < std::min<std::int64_t>(3, nb); ++b) g.sample_on_device(plan.batch(b), 0, b);
          std::int64_t edges = 0;
          const auto t0 = clk::now();
          for (std::int64_t b = 0; b < nb; ++b) edges += g.sample_on_device(plan.batch(b), 0, b);
          const double sec = std::chrono::duration<double>(clk::now() - t0).count();
          std::printf("%-26s %10.1f M edges/s  (%.2f ms a batch)\n", name, edges / sec / 1e6, 1e3 * sec / nb);
          const bool dev = where == csr_placement::device;
          row[dev ? "gpu_device_edges_per_s" : "gpu_pinned_edges_per_s"] = edges / sec;
          row[dev ? "gpu_device_ms_per_batch" : "gpu_pinned_ms_per_batch"] = 1e3 * sec / nb;
        }
        if (si == 0)
          for (const auto& [key, value] : row.items()) out["sampler"][key] = value;
        out["sampler"]["by_batch_size"].push_back(row);
      }
    }
    if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
    return 0;
  } catch (const tg::error& e) {
    std::fprintf(stderr, "gpu_bench: %s\n", e.what());
    return 1;
  }
}
