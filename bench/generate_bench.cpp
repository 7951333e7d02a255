// generate_bench: throughput and memory of the R-MAT generator (datasets/generate.hpp) end to end
// (edge generation, CSR build through the spill file, validation and checksums at commit), at
// about 10M and 100M edges, and what 1B edges would need on the same machine.
//
// Each size runs in a fresh child process (this program re-executed with --child), so its peak RSS
// (getrusage ru_maxrss) belongs to that size alone. ru_maxrss counts the pages of the memory-mapped
// indices.npy that the CSR build touches (file-backed, reclaimable by the kernel), so the child
// also samples RssAnon from /proc/self/status: the anonymous memory, which is what must fit in RAM.
//
// Usage: generate_bench [--sizes 20:10,23:12] [--dir TMP] [--json FILE] [--seed S]
#include "bench/bench_util.hpp"
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "datasets/generate.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct size_spec {
  int scale = 20, edge_factor = 10;
};

std::int64_t status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atoll(line.c_str() + field.size() + 1);
  return -1;
}

// Samples RssAnon every few milliseconds and keeps the maximum.
class anon_peak_sampler {
 public:
  anon_peak_sampler()
      : thread_([this] {
          while (!stop_.load()) {
            peak_ = std::max<std::int64_t>(peak_.load(), status_kib("RssAnon"));
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }) {}
  std::int64_t stop() {
    stop_ = true;
    thread_.join();
    return std::max<std::int64_t>(peak_.load(), status_kib("RssAnon"));
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> peak_{0};
  std::thread thread_;
};

std::uint64_t dir_bytes(const std::string& dir) {
  std::uint64_t b = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) b += e.file_size();
  return b;
}

// One size, in this (child) process; prints one JSON line on stdout.
int run_child(const size_spec& s, std::uint64_t seed, const std::string& dir) {
  tg::set_log_level(tg::log_level::error);
  anon_peak_sampler sampler;
  tg::rmat_options o;
  o.scale = s.scale;
  o.edge_factor = s.edge_factor;
  o.seed = seed;
  const std::string out = dir + "/rmat-s" + std::to_string(s.scale) + "-ef" + std::to_string(s.edge_factor);
  const auto t0 = std::chrono::steady_clock::now();
  tg::generate_rmat(o, out, true);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::int64_t anon_kib = sampler.stop();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const tg::dataset d = tg::dataset::open(out);
  const std::int64_t edges = static_cast<std::int64_t>(s.edge_factor) << s.scale;
  json r = {{"scale", s.scale},
            {"edge_factor", s.edge_factor},
            {"nodes", d.num_nodes()},
            {"input_edges", edges},
            {"stored_arcs", d.num_edges()},
            {"duplicates_removed", d.meta().source["edges"]["duplicates_removed"]},
            {"seconds", secs},
            {"edges_per_second", static_cast<double>(edges) / secs},
            {"peak_rss_bytes", static_cast<std::int64_t>(ru.ru_maxrss) * 1024},
            {"peak_anon_rss_bytes", anon_kib * 1024},
            {"spill_bytes", edges * 16},
            {"dataset_bytes", dir_bytes(out)},
            {"index_bytes_per_arc", static_cast<int>(tg::dtype_size(d.meta().index_dtype))}};
  tg::remove_tree(out);
  std::cout << r.dump() << std::endl;
  return 0;
}

std::string self_exe() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string("generate_bench");
}

std::vector<size_spec> parse_sizes(const std::string& text) {
  std::vector<size_spec> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_spec s;
    if (std::sscanf(item.c_str(), "%d:%d", &s.scale, &s.edge_factor) != 2) {
      std::cerr << "generate_bench: bad size '" << item << "' (want SCALE:EDGE_FACTOR)\n";
      std::exit(2);
    }
    out.push_back(s);
  }
  return out;
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::string sizes_text = "20:10,23:12", dir, json_path;
  std::uint64_t seed = 1;
  bool child = false;
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "generate_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sizes")
      sizes_text = value();
    else if (a == "--dir")
      dir = value();
    else if (a == "--json")
      json_path = value();
    else if (a == "--seed")
      seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--child")
      child = true;
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: generate_bench [--sizes SCALE:EF,...] [--dir TMP] [--json FILE] [--seed S]\n"
                   "Generates R-MAT graphs (default 20:10 ~10M edges, 23:12 ~100M edges), each in a\n"
                   "fresh process, and reports edges/s, peak RSS and an extrapolation to 1B edges.\n";
      return 0;
    } else {
      std::cerr << "generate_bench: unknown argument " << a << "\n";
      return 2;
    }
  }
  const std::vector<size_spec> sizes = parse_sizes(sizes_text);
  if (child) return run_child(sizes.at(0), seed, dir);

  bool own_dir = false;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "tiergnn-genbench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
    own_dir = true;
  }
  const unsigned threads = std::thread::hardware_concurrency();
  // Other work on a shared machine skews timings: record the load when the runs start.
  double load_at_start = -1;
  {
    std::ifstream in("/proc/loadavg");
    in >> load_at_start;
  }
  std::vector<json> runs;
  for (const size_spec& s : sizes) {
    const std::string cmd = self_exe() + " --child --sizes " + std::to_string(s.scale) + ":" +
                            std::to_string(s.edge_factor) + " --seed " + std::to_string(seed) + " --dir '" + dir + "'";
    std::cerr << "generate_bench: scale " << s.scale << ", edge factor " << s.edge_factor << " ("
              << tg::format_count(static_cast<double>(s.edge_factor) * std::ldexp(1.0, s.scale)) << " edges) ..."
              << std::endl;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
      std::perror("popen");
      return 1;
    }
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (pclose(p) != 0 || out.empty()) {
      std::cerr << "generate_bench: child failed for scale " << s.scale << ":\n" << out;
      return 1;
    }
    runs.push_back(json::parse(out));
  }
  if (own_dir) tg::remove_tree(dir);

  // Extrapolation to the Graph500 scale-26 graph (edge factor 16): 2^26 nodes, 2^30 ~ 1.07B edges,
  // at the rate of the largest run. Disk: the spill holds each edge as two int64 (16 B) and
  // coexists with indices.npy while the CSR is built. Anonymous RAM: fitted as fixed + per-node
  // bytes through the runs (csr_builder keeps 16-24 B per node: degree counters, indptr, row
  // lengths), plus fixed buffers.
  const json& big = runs.back();
  const int x_scale = 26, x_ef = 16;
  const double xn = std::ldexp(1.0, x_scale), xe = xn * x_ef;
  const double rate = big["edges_per_second"].get<double>();
  const int ib = big["index_bytes_per_arc"].get<int>();
  double per_node = 24, fixed = 0;
  if (runs.size() >= 2) {
    const json& small = runs.front();
    const double n0 = small["nodes"].get<double>(), n1 = big["nodes"].get<double>();
    const double a0 = small["peak_anon_rss_bytes"].get<double>(), a1 = big["peak_anon_rss_bytes"].get<double>();
    if (n1 > n0) {
      per_node = (a1 - a0) / (n1 - n0);
      fixed = a0 - per_node * n0;
    }
  } else {
    fixed = big["peak_anon_rss_bytes"].get<double>() - per_node * big["nodes"].get<double>();
  }
  const double stored_fraction = big["stored_arcs"].get<double>() / big["input_edges"].get<double>();
  json x = {{"scale", x_scale},
            {"edge_factor", x_ef},
            {"nodes", xn},
            {"edges", xe},
            {"seconds_at_measured_rate", xe / rate},
            {"spill_bytes", 16 * xe},
            {"indices_bytes_upper_bound", ib * xe},
            {"indices_bytes_after_dedup_estimate", ib * xe * stored_fraction},
            {"indptr_bytes", 8 * (xn + 1)},
            {"peak_disk_bytes", 16 * xe + ib * xe + 8 * (xn + 1)},
            {"anon_ram_bytes_fit", fixed + per_node * xn},
            {"anon_ram_fit", {{"fixed_bytes", fixed}, {"bytes_per_node", per_node}}},
            {"node_array_bytes_model", 24 * xn},
            {"note",
             "time assumes the rate of the largest run holds (the CSR scatter gets more cache-miss "
             "bound as N grows); the indices.npy mapping adds up to its size in reclaimable page "
             "cache to RSS"}};

  std::printf(
      "\nR-MAT generation (Graph500 a=0.57 b=0.19 c=0.19, scrambled ids, duplicates removed), "
      "%u hardware threads\n\n",
      threads);
  std::printf("%-12s %10s %12s %12s %9s %10s %12s %14s %12s\n", "graph", "nodes", "edges", "stored arcs", "seconds",
              "Medges/s", "peak RSS", "peak anon RSS", "dataset");
  for (const json& r : runs) {
    const std::string name =
        "s" + std::to_string(r["scale"].get<int>()) + "-ef" + std::to_string(r["edge_factor"].get<int>());
    std::printf("%-12s %10s %12s %12s %9s %10s %12s %14s %12s\n", name.c_str(),
                tg::format_count(r["nodes"].get<double>()).c_str(),
                tg::format_count(r["input_edges"].get<double>()).c_str(),
                tg::format_count(r["stored_arcs"].get<double>()).c_str(), fmt(r["seconds"].get<double>()).c_str(),
                fmt(r["edges_per_second"].get<double>() / 1e6, 2).c_str(),
                tg::format_bytes(r["peak_rss_bytes"].get<double>()).c_str(),
                tg::format_bytes(r["peak_anon_rss_bytes"].get<double>()).c_str(),
                tg::format_bytes(r["dataset_bytes"].get<double>()).c_str());
  }
  std::printf("\nExtrapolated to scale %d, edge factor %d (%s nodes, %s edges):\n", x_scale, x_ef,
              tg::format_count(xn).c_str(), tg::format_count(xe).c_str());
  std::printf("  time at %.2f Medges/s   %s s (%.1f min)\n", rate / 1e6, fmt(xe / rate, 0).c_str(), xe / rate / 60);
  std::printf("  disk: spill %s + indices %s + indptr %s = %s peak while building\n", tg::format_bytes(16 * xe).c_str(),
              tg::format_bytes(ib * xe).c_str(), tg::format_bytes(8 * (xn + 1)).c_str(),
              tg::format_bytes(16 * xe + ib * xe + 8 * (xn + 1)).c_str());
  std::printf("  anonymous RAM: %s (fit: %s fixed + %.1f B/node); node arrays alone %s (24 B/node)\n",
              tg::format_bytes(fixed + per_node * xn).c_str(), tg::format_bytes(fixed).c_str(), per_node,
              tg::format_bytes(24 * xn).c_str());

  json doc = {{"benchmark", "generate_rmat"},
              {"machine",
               {{"nproc", threads},
                {"loadavg_1min_at_start", load_at_start},
                {"cpu_model", tg::bench::cpu_model()},
                {"mem_total_kib",
                 [] {
                   std::ifstream in("/proc/meminfo");
                   std::string k;
                   std::int64_t v = 0;
                   in >> k >> v;
                   return v;
                 }()}}},
              {"commit", tg::bench::source_commit(TIERGNN_SOURCE_DIR)},
              {"command", command},
              {"seed", seed},
              {"runs", runs},
              {"extrapolation_1b", x}};
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << doc.dump(2) << "\n";
    if (!out) {
      std::cerr << "generate_bench: cannot write " << json_path << "\n";
      return 1;
    }
    std::cerr << "wrote " << json_path << "\n";
  }
  return 0;
}
