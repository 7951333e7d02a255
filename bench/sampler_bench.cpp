// sampler_bench: CPU throughput of the node-wise neighbour sampler (sampler/neighbor_sampler.hpp)
// over whole epochs of mini-batches, as training would drive it.
//
// For each dataset (a directory written by `tiergnn import`/`generate`), the training set is 10% of
// the nodes drawn at random with a fixed seed (std::mt19937_64, so it is the same on every
// machine). Each epoch is planned with plan_epoch (batch 1024, shuffled) and every batch is sampled
// with sampler::sample into one reused sampled_batch. For each fanout list and thread count
// (oneTBB global_control max_allowed_parallelism), one warm-up epoch (epoch 0: faults the mmapped
// CSR in and sizes the reused buffers) is followed by --epochs timed epochs; the thread counts take
// turns epoch by epoch, so drift in the machine's load hits them alike and their ratio is fair.
// Only the sample calls are timed (steady_clock around the epoch's batch loop); planning the
// epoch is timed separately. Reported per configuration, from the median timed epoch: sampled
// edges/s (all blocks' edges), batches/s, ns per sampled edge, and the mean number of input nodes
// (blocks[0] sources, the rows whose features a GPU would gather) and sampled edges per batch.
// On a shared machine a thread count may not get its cores, so each configuration also reports
// this process's CPU seconds per wall second over its timed epochs (getrusage), and each dataset
// and fanout list the share of all cores that other processes used during its timed epochs
// (/proc/stat busy time minus ours, over the whole interleaved phase: /proc/stat advances in
// scheduler ticks, too coarse for single epochs of a few milliseconds). A 2-thread speedup
// means something only where "others" is near 0%.
//
// Usage: sampler_bench --dataset DIR [--dataset DIR ...] [--json FILE] [--epochs E]
//          [--threads 1,2] [--fanouts 15,10,5 --fanouts 10,10] [--batch-size 1024]
//          [--train-fraction 0.1] [--seed S]
#include "bench/bench_util.hpp"
#include <sys/resource.h>
#include <unistd.h>

#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"

using nlohmann::json;

using tg::bench::base_name;
using tg::bench::join;
using tg::bench::split;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double load_1min() {
  std::ifstream in("/proc/loadavg");
  double l = -1;
  in >> l;
  return l;
}

std::string load_text() {
  std::ifstream in("/proc/loadavg");
  double a = -1, b = -1, c = -1;
  in >> a >> b >> c;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
  return buf;
}

std::int64_t mem_total_kib() {
  std::ifstream in("/proc/meminfo");
  std::string k;
  std::int64_t v = 0;
  in >> k >> v;
  return v;
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

std::vector<int> parse_threads(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const int t = std::atoi(item.c_str());
    if (t <= 0) {
      std::cerr << "sampler_bench: bad thread count '" << item << "'\n";
      std::exit(2);
    }
    out.push_back(t);
  }
  return out;
}

// The last path component, without trailing slashes.
// 10% (train_fraction) of the node ids, drawn without replacement with a fixed seed, sorted.

// CPU time of this process (all threads) and busy time of the whole machine (/proc/stat: user,
// nice, system, irq, softirq), in seconds. Their difference over the timed phase is the CPU time
// other processes took meanwhile, which tells whether a thread count really had its cores.
double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq) / tick;
}

struct epoch_result {
  double plan_seconds = 0, sample_seconds = 0;
  std::int64_t batches = 0, edges = 0, input_nodes = 0;
  double own_cpu_seconds = 0;  // during the sample loop
  double load_after = 0;
};

epoch_result run_epoch(tg::neighbor_sampler& s, const std::vector<std::int64_t>& train, std::int64_t batch_size,
                       std::uint64_t seed, std::int64_t epoch, tg::sampled_batch* out) {
  epoch_result r;
  auto t0 = clock_type::now();
  const tg::batch_plan plan = tg::plan_epoch(train, batch_size, seed, epoch);
  r.plan_seconds = seconds_since(t0);
  r.batches = plan.num_batches();
  const double own0 = own_cpu_seconds();
  t0 = clock_type::now();
  for (std::int64_t b = 0; b < r.batches; ++b) {
    s.sample(plan.batch(b), epoch, b, out);
    r.edges += out->num_sampled_edges();
    r.input_nodes += static_cast<std::int64_t>(out->input_nodes().size());
  }
  r.sample_seconds = seconds_since(t0);
  r.own_cpu_seconds = own_cpu_seconds() - own0;
  r.load_after = load_1min();
  return r;
}

json epoch_json(const epoch_result& e) {
  return {
      {"plan_seconds", e.plan_seconds},    {"sample_seconds", e.sample_seconds}, {"batches", e.batches},
      {"sampled_edges", e.edges},          {"input_nodes", e.input_nodes},       {"own_cpu_seconds", e.own_cpu_seconds},
      {"loadavg_1min_after", e.load_after}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> datasets;
  std::vector<std::vector<std::int64_t>> fanout_lists;
  std::string json_path, threads_text = "1,2";
  std::vector<std::string> memories = {"mapped"};
  std::vector<std::string> relabels = {"auto"};
  std::string advice;
  int epochs = 1;
  std::int64_t batch_size = 1024;
  double train_fraction = 0.1;
  std::uint64_t seed = 42;
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) {
          std::cerr << "sampler_bench: " << a << " needs a value\n";
          std::exit(2);
        }
        return argv[++i];
      };
      if (a == "--dataset")
        datasets.push_back(value());
      else if (a == "--json")
        json_path = value();
      else if (a == "--epochs")
        epochs = std::atoi(value().c_str());
      else if (a == "--threads")
        threads_text = value();
      else if (a == "--fanouts")
        fanout_lists.push_back(tg::parse_fanouts(value()));
      else if (a == "--batch-size")
        batch_size = std::atoll(value().c_str());
      else if (a == "--train-fraction")
        train_fraction = std::atof(value().c_str());
      else if (a == "--seed")
        seed = std::strtoull(value().c_str(), nullptr, 10);
      else if (a == "--memory")
        memories = tg::bench::split(value(), ',');
      else if (a == "--relabel")
        relabels = tg::bench::split(value(), ',');
      else if (a == "--advice")
        advice = value();
      else if (a == "-h" || a == "--help") {
        std::cout << "usage: sampler_bench --dataset DIR [--dataset DIR ...] [--json FILE] [--epochs E]\n"
                     "         [--threads 1,2] [--fanouts 15,10,5 --fanouts 10,10] [--batch-size 1024]\n"
                     "         [--train-fraction 0.1] [--seed S] [--memory mapped,anonymous]\n"
                     "         [--relabel auto,serial,parallel]\n"
                     "Samples whole epochs (after one warm-up epoch) of a random 10% training set and\n"
                     "reports sampled edges/s, batches/s, ns per sampled edge and input nodes per "
                     "batch.\n";
        return 0;
      } else {
        std::cerr << "sampler_bench: unknown argument " << a << "\n";
        return 2;
      }
    }
  } catch (const tg::error& e) {
    std::cerr << "sampler_bench: " << e.what() << "\n";
    return 2;
  }
  if (datasets.empty()) {
    std::cerr << "sampler_bench: give at least one --dataset DIR (see --help)\n";
    return 2;
  }
  if (epochs < 1 || batch_size < 1 || !(train_fraction > 0 && train_fraction <= 1)) {
    std::cerr << "sampler_bench: need --epochs >= 1, --batch-size >= 1, 0 < --train-fraction <= 1\n";
    return 2;
  }
  if (fanout_lists.empty()) fanout_lists = {{15, 10, 5}, {10, 10}};
  const std::vector<int> thread_counts = parse_threads(threads_text);
  tg::set_log_level(tg::log_level::warn);

  const std::string load_at_start = load_text();
  json runs = json::array();
  try {
    for (const std::string& dir : datasets) {
      const tg::dataset d = tg::dataset::open(dir);
      if (!advice.empty()) {
        // How the kernel pages the mapped CSR in (matters only when it does not fit in memory):
        // "random" = MADV_RANDOM, one page per fault instead of a read-around window.
        if (advice != "random" && advice != "normal") throw tg::input_error("--advice: random or normal");
        tg::advise_access(d.indptr(), advice == "random");
        tg::advise_access(d.indices(), advice == "random");
      }
      const std::vector<std::int64_t> train = tg::bench::random_ids(d.num_nodes(), train_fraction, seed);
      const std::string name = d.meta().name.empty() ? base_name(dir) : d.meta().name;
      const double graph_bytes = static_cast<double>(d.indptr().nbytes() + d.indices().nbytes());
      std::cerr << "sampler_bench: " << name << " (" << tg::format_count(static_cast<double>(d.num_nodes()))
                << " nodes, " << tg::format_count(static_cast<double>(d.num_edges())) << " arcs, CSR "
                << tg::format_bytes(graph_bytes) << "), " << train.size() << " training nodes" << std::endl;
      for (const auto& fanouts : fanout_lists) {
        struct config {
          int threads;
          std::string memory;   // "mapped": the dataset's mmapped CSR; "anonymous": a copy in process memory
          std::string relabel;  // "auto", or "serial" / "parallel" forced (the same ids either way)
          std::unique_ptr<tg::neighbor_sampler> sampler;
          tg::sampled_batch out;
          epoch_result warmup;
          std::vector<epoch_result> timed;
        };
        std::vector<config> configs;
        // The anonymous copy: the same CSR in process memory, for the mapped-vs-in-memory comparison.
        std::vector<std::int64_t> ip_copy;
        std::vector<std::uint8_t> ix_copy;
        if (std::find(memories.begin(), memories.end(), "anonymous") != memories.end()) {
          const auto ip = d.indptr().as<std::int64_t>();
          ip_copy.assign(ip.begin(), ip.end());
          const auto* ix = static_cast<const std::uint8_t*>(d.indices().raw());
          ix_copy.assign(ix, ix + d.indices().nbytes());
        }
        for (int t : thread_counts)
          for (const std::string& mem : memories)
            for (const std::string& rl : relabels) {
              if (mem != "mapped" && mem != "anonymous")
                throw tg::input_error("--memory: mapped or anonymous, not " + mem);
              if (rl != "auto" && rl != "serial" && rl != "parallel")
                throw tg::input_error("--relabel: auto, serial or parallel, not " + rl);
              config c;
              c.threads = t;
              c.memory = mem;
              c.relabel = rl;
              c.sampler = mem == "mapped"
                              ? std::make_unique<tg::neighbor_sampler>(d, fanouts, seed)
                              : std::make_unique<tg::neighbor_sampler>(d.num_nodes(), ip_copy.data(), ix_copy.data(),
                                                                       d.indices().type(), fanouts, seed);
              if (rl != "auto") c.sampler->set_parallel_relabel_min_threads(rl == "serial" ? 1 << 30 : 1);
              configs.push_back(std::move(c));
            }
        for (config& c : configs) {
          tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(c.threads));
          c.warmup = run_epoch(*c.sampler, train, batch_size, seed, 0, &c.out);
        }
        const double busy0 = machine_busy_seconds(), own0 = own_cpu_seconds();
        const auto phase0 = clock_type::now();
        for (int e = 1; e <= epochs; ++e)
          for (config& c : configs) {
            tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                                      static_cast<std::size_t>(c.threads));
            c.timed.push_back(run_epoch(*c.sampler, train, batch_size, seed, e, &c.out));
          }
        const double phase_seconds = seconds_since(phase0);
        const double other_cpu = std::max(0.0, machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0));
        const double cores = std::max(1u, std::thread::hardware_concurrency());
        double base_rate = 0;
        for (config& c : configs) {
          // Median timed epoch by sample time (the upper median for an even count).
          std::vector<epoch_result> sorted = c.timed;
          std::sort(sorted.begin(), sorted.end(),
                    [](const epoch_result& x, const epoch_result& y) { return x.sample_seconds < y.sample_seconds; });
          const epoch_result& m = sorted[sorted.size() / 2];
          const double eps = static_cast<double>(m.edges) / m.sample_seconds;
          if (base_rate == 0) base_rate = eps;
          json ej = json::array();
          double wall = 0, own = 0;
          for (const auto& e : c.timed) {
            ej.push_back(epoch_json(e));
            wall += e.sample_seconds;
            own += e.own_cpu_seconds;
          }
          runs.push_back(
              {{"dataset", name},
               {"dir", dir},
               {"nodes", d.num_nodes()},
               {"arcs", d.num_edges()},
               {"directed", d.meta().directed},
               {"index_dtype", std::string(tg::dtype_name(d.meta().index_dtype))},
               {"csr_bytes", graph_bytes},
               {"train_nodes", train.size()},
               {"batch_size", batch_size},
               {"fanouts", fanouts},
               {"threads", c.threads},
               {"memory", c.memory},
               {"relabel", c.relabel},
               {"batches_per_epoch", m.batches},
               {"sampled_edges_per_second", eps},
               {"batches_per_second", static_cast<double>(m.batches) / m.sample_seconds},
               {"ns_per_sampled_edge", 1e9 * m.sample_seconds / static_cast<double>(m.edges)},
               {"mean_input_nodes_per_batch", static_cast<double>(m.input_nodes) / static_cast<double>(m.batches)},
               {"mean_sampled_edges_per_batch", static_cast<double>(m.edges) / static_cast<double>(m.batches)},
               {"epoch_seconds_median", m.sample_seconds},
               {"plan_seconds_median", m.plan_seconds},
               {"speedup_vs_first_thread_count", eps / base_rate},
               // This process's CPU time per wall second over this configuration's
               // timed epochs (TBB workers that spin while waiting count too), and the
               // share of the machine's cores other processes used during the timed
               // phase of all thread counts of this dataset and fanout list.
               {"own_cpu_per_wall_second", own / wall},
               {"other_processes_cpu_share", other_cpu / (cores * phase_seconds)},
               {"timed_phase_seconds", phase_seconds},
               {"warmup_epoch", epoch_json(c.warmup)},
               {"timed_epochs", ej}});
        }
      }
    }
  } catch (const tg::error& e) {
    std::cerr << "sampler_bench: " << e.what() << "\n";
    return 1;
  }
  const std::string load_at_end = load_text();

  const unsigned hw = std::thread::hardware_concurrency();
  std::printf(
      "\nNeighbour sampling, batch %lld, %.0f%% of nodes as seeds, %d timed epoch(s) after 1 "
      "warm-up, "
      "%u hardware threads, load %s -> %s\n\n",
      static_cast<long long>(batch_size), 100 * train_fraction, epochs, hw, load_at_start.c_str(), load_at_end.c_str());
  std::printf("%-20s %9s %9s %-9s %3s %-16s %8s %10s %10s %8s %10s %12s %8s %8s %7s\n", "dataset", "nodes", "arcs",
              "fanouts", "thr", "memory", "batches", "Medges/s", "batches/s", "ns/edge", "inputs/b", "edges/b",
              "speedup", "cpu/wall", "others");
  for (const json& r : runs) {
    std::printf("%-20s %9s %9s %-9s %3d %-16s %8lld %10s %10s %8s %10s %12s %8s %8s %6s%%\n",
                r["dataset"].get<std::string>().c_str(), tg::format_count(r["nodes"].get<double>()).c_str(),
                tg::format_count(r["arcs"].get<double>()).c_str(),
                join(r["fanouts"].get<std::vector<std::int64_t>>()).c_str(), r["threads"].get<int>(),
                (r["memory"].get<std::string>() +
                 (r["relabel"].get<std::string>() == "auto" ? std::string() : "/" + r["relabel"].get<std::string>()))
                    .c_str(),
                static_cast<long long>(r["batches_per_epoch"].get<std::int64_t>()),
                fmt(r["sampled_edges_per_second"].get<double>() / 1e6, 2).c_str(),
                fmt(r["batches_per_second"].get<double>(), 1).c_str(),
                fmt(r["ns_per_sampled_edge"].get<double>(), 1).c_str(),
                fmt(r["mean_input_nodes_per_batch"].get<double>(), 0).c_str(),
                fmt(r["mean_sampled_edges_per_batch"].get<double>(), 0).c_str(),
                fmt(r["speedup_vs_first_thread_count"].get<double>(), 2).c_str(),
                fmt(r["own_cpu_per_wall_second"].get<double>(), 2).c_str(),
                fmt(100 * r["other_processes_cpu_share"].get<double>(), 0).c_str());
  }

  json doc = {{"benchmark", "neighbor_sampler"},
              {"machine",
               {{"nproc", hw},
                {"cpu_model", tg::bench::cpu_model()},
                {"mem_total_kib", mem_total_kib()},
                {"loadavg_at_start", load_at_start},
                {"loadavg_at_end", load_at_end}}},
              {"commit", tg::bench::source_commit(TIERGNN_SOURCE_DIR)},
              {"command", command},
              {"seed", seed},
              {"train_fraction", train_fraction},
              {"batch_size", batch_size},
              {"timed_epochs", epochs},
              {"runs", runs}};
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << doc.dump(2) << "\n";
    if (!out) {
      std::cerr << "sampler_bench: cannot write " << json_path << "\n";
      return 1;
    }
    std::cerr << "wrote " << json_path << "\n";
  }
  return 0;
}
