// multigpu_traffic: host -> GPU feature traffic per GPU when k data-parallel GPUs share the hot
// tier (tiering/shared_tier.hpp) by (a) replication only, or (b) replication + striping over a
// peer-to-peer clique, at the same per-GPU feature budget.
//
// For each dataset: a random training set (a fraction of the nodes whose counter-based key falls
// below it, split seed S: the same set as `tiergnn bench traffic --random-train-set`), ranked
// hot-first by an estimator (default: prepare's), exactly the ids `tiergnn prepare` would give
// (the renumbered copy is not written; the replay maps ids through the ranking, which a test checks
// against a prepared dataset). Then, for each GPU count k and budget (a share of the feature bytes,
// per GPU), both plans are counted on one replay of --epochs epochs of data-parallel training
// (tiering/shared_traffic.hpp: each global batch split by rank_slice, each rank sampling its slice
// with the run's seed). The striped plan's bands are chosen from estimator scores, never from the
// measured counts: the planner's p_i are one GPU's reads, so for k ranks the estimator is run again
// with the per-rank batch ceil(batch / k) (ids keep the global ranking, as a prepared dataset
// would). To check that choice, the same replay also counts a sweep r = 0, B/4, B/2, 3B/4, B (s
// filling the rest of the budget) and reports which r had the lowest measured interconnect cost per
// GPU, host->GPU bytes + (1 - w) x peer bytes (the planner's model), and how the planner's r
// compares. Peer weights (--peer-weights): 0.8 models an NVLink clique, 0.3 peer reads over PCIe
// P2P. Numbers are per GPU per epoch: mean over the GPUs (max in the JSON).
//
// Usage: multigpu_traffic --dataset DIR [--dataset DIR ...] [--gpus 1,2,4,8] [--budgets 5,10]
//          [--epochs 10] [--fanouts 15,10,5] [--batch-size 1024] [--seed 0] [--train-fraction 0.1]
//          [--split-seed 0] [--row-bytes 512] [--peer-weights 0.8,0.3] [--estimator hybrid] [--json
//          FILE]
#include "bench/bench_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "tiering/shared_tier.hpp"
#include "tiering/shared_traffic.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiering/plan.hpp"
#include "tiering/prepare.hpp"
#include "tiering/profiler.hpp"

using nlohmann::json;

using tg::bench::base_name;
using tg::bench::join;
using tg::bench::split;

namespace {

// The random training set of `tiergnn bench traffic --random-train-set`
// (tiering/traffic_bench.cpp).
std::vector<std::int64_t> random_train(std::int64_t n, double fraction, std::uint64_t split_seed) {
  const tg::counter_rng rng(split_seed, tg::stream_id(0x7472616eull /* "tran" */));
  std::vector<std::int64_t> ids;
  for (std::int64_t v = 0; v < n; ++v)
    if (rng.uniform(static_cast<std::uint64_t>(v)) < fraction) ids.push_back(v);
  return ids;
}

std::string bytes(double b) {
  return tg::format_bytes(b);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> datasets;
  std::string gpus_text = "1,2,4,8", budgets_text = "5,10", json_path, estimator = tg::kDefaultEstimator;
  std::vector<std::int64_t> fanouts{15, 10, 5};
  int epochs = 10;
  std::int64_t batch_size = 1024, row_bytes = 512;
  std::uint64_t seed = 0, split_seed = 0;
  double train_fraction = 0.1;
  std::string peer_weights_text = "0.8,0.3";
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
      else if (a == "--gpus")
        gpus_text = value();
      else if (a == "--budgets")
        budgets_text = value();
      else if (a == "--epochs")
        epochs = std::atoi(value().c_str());
      else if (a == "--fanouts")
        fanouts = tg::parse_fanouts(value());
      else if (a == "--batch-size")
        batch_size = std::atoll(value().c_str());
      else if (a == "--seed")
        seed = std::strtoull(value().c_str(), nullptr, 10);
      else if (a == "--train-fraction")
        train_fraction = std::atof(value().c_str());
      else if (a == "--split-seed")
        split_seed = std::strtoull(value().c_str(), nullptr, 10);
      else if (a == "--row-bytes")
        row_bytes = std::atoll(value().c_str());
      else if (a == "--peer-weights")
        peer_weights_text = value();
      else if (a == "--estimator")
        estimator = value();
      else if (a == "--json")
        json_path = value();
      else if (a == "-h" || a == "--help") {
        std::cout << "usage: multigpu_traffic --dataset DIR [--dataset DIR ...] [--gpus 1,2,4,8] "
                     "[--budgets 5,10]\n"
                     "         [--epochs 10] [--fanouts 15,10,5] [--batch-size 1024] [--seed 0]\n"
                     "         [--train-fraction 0.1] [--split-seed 0] [--row-bytes 512] "
                     "[--peer-weights 0.8,0.3]\n"
                     "         [--estimator hybrid] [--json FILE]\n"
                     "Per-GPU host->GPU feature bytes per epoch of k data-parallel GPUs: "
                     "replication only vs\n"
                     "replication + striping over a P2P clique, at equal per-GPU budgets (% of the "
                     "feature bytes).\n";
        return 0;
      } else {
        throw tg::input_error("unknown argument " + a);
      }
    }
    if (datasets.empty()) throw tg::input_error("give at least one --dataset DIR (see --help)");
    if (epochs < 1) throw tg::input_error("--epochs must be at least 1");
    if (!(train_fraction > 0 && train_fraction <= 1)) throw tg::input_error("--train-fraction must lie in (0, 1]");
  } catch (const tg::error& e) {
    std::cerr << "multigpu_traffic: " << e.what() << "\n";
    return 2;
  }
  std::vector<int> gpus;
  for (const auto& g : split(gpus_text, ',')) gpus.push_back(std::atoi(g.c_str()));
  std::vector<double> budgets, peer_weights;
  for (const auto& w : split(peer_weights_text, ',')) peer_weights.push_back(std::atof(w.c_str()));
  for (const auto& b : split(budgets_text, ',')) budgets.push_back(std::atof(b.c_str()));
  tg::set_log_level(tg::log_level::warn);

  json runs = json::array();
  try {
    for (double w : peer_weights)
      if (!(w >= 0 && w <= 1)) throw tg::input_error("--peer-weights: " + std::to_string(w) + " must lie in [0, 1]");
    for (const std::string& dir : datasets) {
      const tg::dataset d = tg::dataset::open(dir);
      const std::string name = d.meta().name.empty() ? base_name(dir) : d.meta().name;
      const std::int64_t n = d.num_nodes();
      tg::profile_config pc;
      pc.train_ids = random_train(n, train_fraction, split_seed);
      pc.fanouts = fanouts;
      pc.batch_size = batch_size;
      pc.seed = seed;
      pc.run_epochs = epochs;
      const tg::profile_result prof = tg::profile(d, pc, estimator);
      const std::vector<std::int64_t> order = tg::rank_nodes(prof.score);
      std::vector<std::int64_t> rank(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) rank[static_cast<std::size_t>(order[i])] = i;
      const double feature_bytes = static_cast<double>(n) * static_cast<double>(row_bytes);
      std::printf(
          "\n%s: %s nodes, %s arcs, %zu training nodes, fanouts %s, batch %lld, %d epochs, "
          "%lld-byte rows "
          "(features %s); estimator %s (%.2f s)\n",
          name.c_str(), tg::format_count(static_cast<double>(n)).c_str(),
          tg::format_count(static_cast<double>(d.num_edges())).c_str(), pc.train_ids.size(),
          json(fanouts).dump().c_str(), static_cast<long long>(batch_size), epochs, static_cast<long long>(row_bytes),
          bytes(feature_bytes).c_str(), estimator.c_str(), prof.seconds);
      const char* head = "%-7s %2s %4s %9s %9s | %11s %11s %6s | %11s | %5s %5s %5s | %11s | %5s %5s %6s | %6s\n";
      std::printf(head, "budget", "k", "w", "repl rows", "striped", "h2d repl", "h2d +stripe", "saved", "peer", "loc.r",
                  "loc.s", "gpu.s", "no cache", "r/B", "best", "cost", "replay");
      std::printf(head, "per GPU", "", "", "", "", "per GPU/ep", "per GPU/ep", "", "per GPU/ep", "%", "%", "%",
                  "per GPU/ep", "plan", "swept", "vs best", "s");
      // The planner's curve for k ranks: one rank's reads, i.e. the estimator at the per-rank
      // batch.
      std::vector<std::vector<double>> slice_scores(gpus.size());
      for (std::size_t gi = 0; gi < gpus.size(); ++gi) {
        const int k = gpus[gi];
        if (k < 1) throw tg::input_error("--gpus: " + std::to_string(k) + " GPUs");
        tg::profile_config pk = pc;
        pk.batch_size = (batch_size + k - 1) / k;
        const tg::profile_result pr = k == 1 ? prof : tg::profile(d, pk, estimator);
        slice_scores[gi].resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i)
          slice_scores[gi][static_cast<std::size_t>(i)] = pr.score[static_cast<std::size_t>(order[i])];
      }
      json results = json::array();
      for (double pct : budgets)
        for (std::size_t gi = 0; gi < gpus.size(); ++gi) {
          const int k = gpus[gi];
          const std::vector<double>& curve = slice_scores[gi];
          tg::shared_tier_config tc;
          tc.num_nodes = n;
          tc.row_bytes = row_bytes;
          tc.num_gpus = k;
          tc.gpu_budget_bytes = static_cast<std::uint64_t>(std::floor(pct / 100.0 * feature_bytes));
          tc.peer_to_peer = false;
          // Plans: [0] replication only, [1 .. W] the planner's for each peer weight, then the
          // sweep.
          std::vector<tg::shared_tier_plan> plans{tg::plan_shared_tier(tc, curve)};
          tc.peer_to_peer = true;
          for (double w : peer_weights) {
            tc.peer_weight = w;
            plans.push_back(tg::plan_shared_tier(tc, curve));
          }
          const std::size_t sweep_begin = plans.size();
          const std::int64_t budget_rows = plans[0].budget_rows();
          if (k > 1)
            for (double f : {0.0, 0.25, 0.5, 0.75, 1.0}) {
              const auto r = static_cast<std::int64_t>(std::llround(f * static_cast<double>(budget_rows)));
              plans.emplace_back(tc, r,
                                 std::min<std::int64_t>(static_cast<std::int64_t>(k) * (budget_rows - r), n - r));
            }
          tg::dp_replay_config rc;
          rc.train_ids = pc.train_ids;
          rc.fanouts = fanouts;
          rc.batch_size = batch_size;
          rc.seed = seed;
          rc.epochs = epochs;
          rc.world = k;
          rc.hot_rank = rank;
          const tg::dp_replay_result res = tg::replay_data_parallel(d, rc, plans);
          json rj = res.to_json(plans);
          for (std::size_t p = sweep_begin; p < plans.size(); ++p) rj["plans"][p].erase("per_gpu");  // kept small
          auto h2d = [&](std::size_t p) {
            return rj["plans"][p]["per_epoch"]["host_to_gpu_bytes_per_gpu_mean"].get<double>();
          };
          auto peer = [&](std::size_t p) {
            return rj["plans"][p]["per_epoch"]["peer_bytes_per_gpu_mean"].get<double>();
          };
          auto frac = [&](std::size_t p) {
            return budget_rows > 0 ? static_cast<double>(plans[p].replicated_rows()) / static_cast<double>(budget_rows)
                                   : 1.0;
          };
          const double ha = h2d(0);
          const double none = rj["plans"][0]["per_epoch"]["no_cache_bytes_per_gpu_mean"].get<double>();
          json sweep = json::array();
          for (std::size_t p = sweep_begin; p < plans.size(); ++p)
            sweep.push_back({{"replicated_rows", plans[p].replicated_rows()},
                             {"striped_rows", plans[p].striped_rows()},
                             {"host_to_gpu_bytes_per_gpu_per_epoch", h2d(p)},
                             {"peer_bytes_per_gpu_per_epoch", peer(p)}});
          json striped = json::array();
          for (std::size_t wi = 0; wi < peer_weights.size(); ++wi) {
            const double w = peer_weights[wi];
            const std::size_t p = 1 + wi;
            // Measured interconnect cost in host-read bytes: host->GPU + (1 - w) x peer.
            auto cost = [&](std::size_t q) { return h2d(q) + (1.0 - w) * peer(q); };
            double best_cost = -1, best_f = 1.0;
            for (std::size_t q = sweep_begin; q < plans.size(); ++q)
              if (best_cost < 0 || cost(q) < best_cost) best_cost = cost(q), best_f = frac(q);
            const double vs_best = best_cost > 0 ? 100.0 * (cost(p) / best_cost - 1.0) : 0.0;
            const double hb = h2d(p);
            const json& b = rj["plans"][p];
            const tg::shared_tier_prediction pred = plans[p].predict(curve);
            char best_txt[16] = "-", vs_txt[16] = "-";
            if (k > 1) {
              std::snprintf(best_txt, sizeof best_txt, "%.2f", best_f);
              std::snprintf(vs_txt, sizeof vs_txt, "%+.1f%%", vs_best);
            }
            std::printf(
                "%6.1f%% %2d %4.2f %9lld %9lld | %11s %11s %5.1f%% | %11s | %5.1f %5.1f %5.1f | "
                "%11s | %5.2f %5s %6s | %6.2f\n",
                pct, k, w, static_cast<long long>(plans[p].replicated_rows()),
                static_cast<long long>(plans[p].striped_rows()), bytes(ha).c_str(), bytes(hb).c_str(),
                ha > 0 ? 100.0 * (1.0 - hb / ha) : 0.0, bytes(peer(p)).c_str(),
                100.0 * rj["plans"][0]["local_hit_rate"].get<double>(), 100.0 * b["local_hit_rate"].get<double>(),
                100.0 * b["gpu_hit_rate"].get<double>(), bytes(none).c_str(), frac(p), best_txt, vs_txt, res.seconds);
            striped.push_back({{"peer_weight", w},
                               {"plan", plans[p].to_json()},
                               {"host_to_gpu_bytes_per_gpu_per_epoch", hb},
                               {"peer_bytes_per_gpu_per_epoch", peer(p)},
                               {"saved_vs_replication", ha > 0 ? 1.0 - hb / ha : 0.0},
                               {"local_hit_rate", b["local_hit_rate"]},
                               {"gpu_hit_rate", b["gpu_hit_rate"]},
                               {"predicted", {{"local", pred.local}, {"peer", pred.peer}, {"host", pred.host}}},
                               {"replicated_fraction", frac(p)},
                               {"sweep_best_replicated_fraction", k > 1 ? json(best_f) : json()},
                               {"cost_vs_sweep_best", k > 1 ? json(vs_best / 100.0) : json()}});
          }
          std::fflush(stdout);
          results.push_back({{"gpus", k},
                             {"budget_percent_per_gpu", pct},
                             {"budget_bytes_per_gpu", tc.gpu_budget_bytes},
                             {"no_cache_bytes_per_gpu_per_epoch", none},
                             {"replicated",
                              {{"plan", plans[0].to_json()},
                               {"host_to_gpu_bytes_per_gpu_per_epoch", ha},
                               {"local_hit_rate", rj["plans"][0]["local_hit_rate"]}}},
                             {"striped", striped},
                             {"sweep", sweep},
                             {"replay", rj}});
        }
      runs.push_back(
          {{"dataset", name},
           {"dir", dir},
           {"nodes", n},
           {"arcs", d.num_edges()},
           {"directed", d.meta().directed},
           {"train_nodes", pc.train_ids.size()},
           {"row_bytes", row_bytes},
           {"estimator", {{"name", estimator}, {"seconds", prof.seconds}, {"edge_passes", prof.edge_passes}}},
           {"results", results}});
    }
  } catch (const tg::error& e) {
    std::cerr << "multigpu_traffic: " << e.what() << "\n";
    return 1;
  }
  std::printf(
      "\nh2d: host->GPU bytes per GPU per epoch (mean over the GPUs); saved: striping's cut of it; "
      "peer: bytes each\n"
      "GPU reads from peers per epoch; loc.r / loc.s: share of a GPU's input rows in its own "
      "memory (replication\n"
      "only / with striping); gpu.s: in its own or a peer's memory. w: peer weight. r/B plan: the "
      "planner's\n"
      "replicated share of a GPU's budget; best swept: the r/B in {0, .25, .5, .75, 1} with the "
      "lowest measured\n"
      "h2d + (1 - w) x peer; cost vs best: the planner's measured cost against that sweep "
      "point's.\n");
  if (!json_path.empty()) {
    json doc = {{"benchmark", "multigpu_traffic"},
                {"machine", {{"nproc", std::thread::hardware_concurrency()}, {"cpu_model", tg::bench::cpu_model()}}},
                {"commit", tg::bench::source_commit(TIERGNN_SOURCE_DIR)},
                {"command", command},
                {"config",
                 {{"fanouts", fanouts},
                  {"batch_size", batch_size},
                  {"epochs", epochs},
                  {"seed", seed},
                  {"train_fraction", train_fraction},
                  {"split_seed", split_seed},
                  {"row_bytes", row_bytes},
                  {"peer_weights", peer_weights},
                  {"estimator", estimator},
                  {"gpus", gpus},
                  {"budget_percent", budgets}}},
                {"runs", runs}};
    std::ofstream out(json_path);
    out << doc.dump(1) << "\n";
    if (!out) {
      std::cerr << "multigpu_traffic: cannot write " << json_path << "\n";
      return 1;
    }
  }
  return 0;
}
