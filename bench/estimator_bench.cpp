// estimator_bench: how well each access-profiler estimator (tiering/profiler.hpp) ranks nodes for a
// static GPU feature cache, against the hindsight optimum of the run that follows.
//
// For each dataset, fanout list and training set, the `oracle` estimator counts, per node, the
// batches of the next --epochs epochs (the trainer's own seed, batches and draws) whose input nodes
// contain it. Caching the top k nodes of an estimator's ranking (score descending, ties by node id as
// the planner's stable sort breaks them) then hits
//     hit(k) = sum of oracle counts over the cached nodes / sum of all oracle counts,
// and the oracle's own ranking gives the best static hit rate. The table shows, per cache ratio
// (k = ratio x nodes), each estimator's hit rate as a percentage of the oracle's, with its cost:
// wall seconds, "x epoch" = seconds / seconds of `presample:1` in the same run (one presampling
// epoch, counted by the profiler's lean counter; shown from the row after presample:1 on), and edge
// passes (passes over the CSR, plus sampled edges / arcs for sampling estimators).
//
// Training sets: `random:F` = a fraction F of the nodes drawn with a fixed seed (std::mt19937_64 and
// a modulo-free partial Fisher-Yates, so the same set on every machine, as in sampler_bench);
// `range:S:F` = the contiguous ids [S*N, (S+F)*N) (locality-skewed: a web crawl's ids follow URLs).
//
// Usage: estimator_bench --dataset DIR [--dataset DIR ...] [--fanouts 15,10,5 --fanouts 10,10]
//          [--train random:0.1 --train range:0.4:0.02] [--batch-size 1024] [--epochs 10]
//          [--ratios 1,2,5,10,20,40] [--estimators degree,wrpr,vip,presample:1,...] [--seed S]
//          [--json FILE] [--dump DIR]
// --dump writes every score vector as DIR/<dataset>_<fanouts>_<train>_<estimator>.npy (float64), and
// the training ids as ..._train.npy.
#include "bench/bench_util.hpp"
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
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
#include "core/npy.hpp"
#include "core/progress.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiering/profiler.hpp"

using nlohmann::json;

using tg::bench::base_name;
using tg::bench::join;
using tg::bench::split;

namespace {

std::string safe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
  return s;
}

// A fraction of the node ids, drawn without replacement with a fixed seed, sorted.

// "random:F" or "range:S:F" (fractions of the node count).
std::vector<std::int64_t> training_set(const std::string& spec, std::int64_t n, std::uint64_t seed) {
  const auto parts = split(spec, ':');
  if (parts.size() == 2 && parts[0] == "random") return tg::bench::random_ids(n, std::atof(parts[1].c_str()), seed);
  if (parts.size() == 3 && parts[0] == "range") {
    const auto begin = static_cast<std::int64_t>(std::atof(parts[1].c_str()) * static_cast<double>(n));
    const auto len = static_cast<std::int64_t>(std::atof(parts[2].c_str()) * static_cast<double>(n));
    std::vector<std::int64_t> ids;
    for (std::int64_t i = begin; i < std::min(n, begin + len); ++i) ids.push_back(i);
    return ids;
  }
  throw tg::input_error("--train '" + spec + "': write random:F or range:S:F (fractions of the nodes)");
}

// Ranking by score descending, ties by node id (the planner's stable sort).
std::vector<std::int64_t> ranking(const std::vector<double>& score) {
  std::vector<std::int64_t> order(score.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return score[static_cast<std::size_t>(a)] > score[static_cast<std::size_t>(b)];
  });
  return order;
}

// Hit rate of caching the first k of `order`, for each k.
std::vector<double> hit_rates(const std::vector<std::int64_t>& order, const std::vector<double>& oracle,
                              const std::vector<std::int64_t>& ks) {
  double total = 0;
  for (double c : oracle) total += c;
  std::vector<double> out;
  for (std::int64_t k : ks) {
    double s = 0;
    for (std::int64_t i = 0; i < k; ++i) s += oracle[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])];
    out.push_back(total > 0 ? s / total : 0.0);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> datasets, trains;
  std::vector<std::vector<std::int64_t>> fanout_lists;
  std::string json_path, dump_dir;
  std::string estimators_text = "degree,wrpr,vip,presample:1,presample:2,presample:4";
  std::string ratios_text = "1,2,5,10,20,40";
  int epochs = 10;
  std::int64_t batch_size = 1024;
  std::uint64_t seed = 42;
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw tg::input_error(a + " needs a value");
        return argv[++i];
      };
      if (a == "--dataset")
        datasets.push_back(value());
      else if (a == "--fanouts")
        fanout_lists.push_back(tg::parse_fanouts(value()));
      else if (a == "--train")
        trains.push_back(value());
      else if (a == "--batch-size")
        batch_size = std::atoll(value().c_str());
      else if (a == "--epochs")
        epochs = std::atoi(value().c_str());
      else if (a == "--ratios")
        ratios_text = value();
      else if (a == "--estimators")
        estimators_text = value();
      else if (a == "--seed")
        seed = std::strtoull(value().c_str(), nullptr, 10);
      else if (a == "--json")
        json_path = value();
      else if (a == "--dump")
        dump_dir = value();
      else if (a == "-h" || a == "--help") {
        std::string names;
        for (const auto& n : tg::estimator_names()) names += " " + n;
        std::cout << "usage: estimator_bench --dataset DIR [--dataset DIR ...] [--fanouts 15,10,5 ...]\n"
                     "         [--train random:0.1 | range:S:F ...] [--batch-size 1024] [--epochs 10]\n"
                     "         [--ratios 1,2,5,10,20,40] [--estimators LIST] [--seed S] [--json FILE]\n"
                     "         [--dump DIR]\n"
                     "Hit rate of caching each estimator's top nodes, as % of the oracle's.\n"
                     "Estimators:"
                  << names << "\n";
        return 0;
      } else {
        throw tg::input_error("unknown argument " + a);
      }
    }
  } catch (const tg::error& e) {
    std::cerr << "estimator_bench: " << e.what() << "\n";
    return 2;
  }
  if (datasets.empty()) {
    std::cerr << "estimator_bench: give at least one --dataset DIR (see --help)\n";
    return 2;
  }
  if (fanout_lists.empty()) fanout_lists = {{15, 10, 5}, {10, 10}};
  if (trains.empty()) trains = {"random:0.1"};
  const auto estimators = split(estimators_text, ',');
  std::vector<double> ratios;
  for (const auto& r : split(ratios_text, ',')) ratios.push_back(std::atof(r.c_str()));
  tg::set_log_level(tg::log_level::warn);

  json runs = json::array();
  try {
    for (const std::string& dir : datasets) {
      const tg::dataset d = tg::dataset::open(dir);
      const std::string name = d.meta().name.empty() ? base_name(dir) : d.meta().name;
      const std::int64_t n = d.num_nodes();
      std::vector<std::int64_t> ks;
      for (double r : ratios)
        ks.push_back(std::min<std::int64_t>(n, static_cast<std::int64_t>(r / 100 * static_cast<double>(n))));
      for (const std::string& train_spec : trains) {
        for (const auto& fanouts : fanout_lists) {
          tg::profile_config cfg;
          cfg.train_ids = training_set(train_spec, n, seed);
          cfg.fanouts = fanouts;
          cfg.batch_size = batch_size;
          cfg.seed = seed;
          cfg.run_epochs = epochs;
          std::printf("\n%s (%s nodes, %s arcs%s) fanouts %s, batch %lld, train %s (%zu nodes), oracle %d epochs\n",
                      name.c_str(), tg::format_count(static_cast<double>(n)).c_str(),
                      tg::format_count(static_cast<double>(d.num_edges())).c_str(),
                      d.meta().directed ? ", directed" : "", join(fanouts).c_str(), static_cast<long long>(batch_size),
                      train_spec.c_str(), cfg.train_ids.size(), epochs);
          std::fflush(stdout);
          const tg::profile_result oracle = tg::profile(d, cfg, "oracle");
          const std::vector<double> best = hit_rates(ranking(oracle.score), oracle.score, ks);
          const std::string prefix = safe(name) + "_" + safe(join(fanouts)) + "_" + safe(train_spec) + "_";
          if (!dump_dir.empty()) {
            tg::write_npy(dump_dir + "/" + prefix + "oracle.npy", tg::span<const double>(oracle.score));
            tg::write_npy(dump_dir + "/" + prefix + "train.npy", tg::span<const std::int64_t>(cfg.train_ids));
          }
          std::printf("%-22s %8s %8s %7s", "estimator", "seconds", "x epoch", "passes");
          for (double r : ratios) std::printf(" %6s%%", tg::format_count(r).c_str());
          std::printf("\n%-22s %8.3f %8s %7.1f", "oracle (hit rate %)", oracle.seconds, "", oracle.edge_passes);
          for (double h : best) std::printf(" %7.1f", 100 * h);
          std::printf("\n");
          double epoch_seconds = 0;
          json rows = json::array();
          for (const std::string& spec : estimators) {
            const tg::profile_result r = tg::profile(d, cfg, spec);
            if (spec == "presample:1") epoch_seconds = r.seconds;
            const std::vector<double> hits = hit_rates(ranking(r.score), oracle.score, ks);
            std::vector<double> pct;
            for (std::size_t i = 0; i < hits.size(); ++i) pct.push_back(best[i] > 0 ? 100 * hits[i] / best[i] : 100.0);
            std::printf("%-22s %8.3f %8s %7.2f", spec.c_str(), r.seconds,
                        epoch_seconds > 0 ? tg::format_count(r.seconds / epoch_seconds).c_str() : "", r.edge_passes);
            for (double p : pct) std::printf(" %7.1f", p);
            std::printf("\n");
            std::fflush(stdout);
            rows.push_back({{"estimator", spec},
                            {"seconds", r.seconds},
                            {"edge_passes", r.edge_passes},
                            {"hit_rate", hits},
                            {"percent_of_oracle", pct},
                            {"details", r.details}});
            if (!dump_dir.empty())
              tg::write_npy(dump_dir + "/" + prefix + safe(spec) + ".npy", tg::span<const double>(r.score));
          }
          runs.push_back(
              {{"dataset", name},
               {"dir", dir},
               {"nodes", n},
               {"arcs", d.num_edges()},
               {"directed", d.meta().directed},
               {"fanouts", fanouts},
               {"batch_size", batch_size},
               {"train", train_spec},
               {"train_nodes", cfg.train_ids.size()},
               {"seed", seed},
               {"oracle_epochs", epochs},
               {"cache_ratios_percent", ratios},
               {"oracle", {{"seconds", oracle.seconds}, {"edge_passes", oracle.edge_passes}, {"hit_rate", best}}},
               {"estimators", rows}});
        }
      }
    }
  } catch (const tg::error& e) {
    std::cerr << "estimator_bench: " << e.what() << "\n";
    return 1;
  }
  if (!json_path.empty()) {
    json doc = {{"benchmark", "estimator_hit_rate"},
                {"machine", {{"nproc", std::thread::hardware_concurrency()}, {"cpu_model", tg::bench::cpu_model()}}},
                {"commit", tg::bench::source_commit(TIERGNN_SOURCE_DIR)},
                {"command", command},
                {"runs", runs}};
    std::ofstream out(json_path);
    out << doc.dump(2) << "\n";
  }
  return 0;
}
