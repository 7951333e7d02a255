#include "tiering/shared_traffic.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "core/error.hpp"
#include "sampler/rank_slice.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"

namespace tg {

traffic dp_replay_result::total(std::size_t plan) const {
  TG_EXPECTS(plan < per_gpu.size(), "plan index ", plan, " out of range");
  traffic t;
  for (const auto& g : per_gpu[plan]) t += g;
  return t;
}

nlohmann::json dp_replay_result::to_json(const std::vector<shared_tier_plan>& plans) const {
  TG_EXPECTS(plans.size() == per_gpu.size(), "one plan per ledger");
  nlohmann::json out = nlohmann::json::array();
  const double e = std::max(1, epochs);
  for (std::size_t p = 0; p < plans.size(); ++p) {
    nlohmann::json gpus = nlohmann::json::array();
    double h_sum = 0, h_max = 0, peer_sum = 0, peer_max = 0, local_sum = 0, rows_sum = 0;
    for (const auto& g : per_gpu[p]) {
      gpus.push_back(g.to_json());
      const double h = static_cast<double>(g.host_to_gpu_bytes()) / e, q = static_cast<double>(g.peer_bytes()) / e;
      h_sum += h, peer_sum += q;
      h_max = std::max(h_max, h), peer_max = std::max(peer_max, q);
      local_sum += static_cast<double>(g.gpu_rows), rows_sum += static_cast<double>(g.rows());
    }
    const double k = static_cast<double>(std::max<std::size_t>(1, per_gpu[p].size()));
    const traffic t = total(p);
    out.push_back({{"plan", plans[p].to_json()},
                   {"per_gpu", gpus},
                   {"per_epoch",
                    {{"host_to_gpu_bytes_per_gpu_mean", h_sum / k},
                     {"host_to_gpu_bytes_per_gpu_max", h_max},
                     {"peer_bytes_per_gpu_mean", peer_sum / k},
                     {"peer_bytes_per_gpu_max", peer_max},
                     {"host_to_gpu_bytes_all_gpus", static_cast<double>(t.host_to_gpu_bytes()) / e},
                     {"no_cache_bytes_per_gpu_mean", static_cast<double>(t.baseline_bytes()) / e / k}}},
                   {"local_hit_rate", rows_sum > 0 ? local_sum / rows_sum : 0.0},
                   {"gpu_hit_rate", t.any_gpu_hit_rate()}});
  }
  return {{"world", world},   {"epochs", epochs},   {"global_batches", global_batches},
          {"slices", slices}, {"seconds", seconds}, {"plans", out}};
}

namespace {

std::vector<std::int64_t> checked_train_ids(const dataset& d, const dp_replay_config& cfg) {
  std::vector<std::int64_t> ids = cfg.train_ids;
  if (ids.empty()) {
    if (!d.has("train_idx.npy") || d.get("train_idx.npy").count() == 0)
      throw input_error(at_input(d.dir(), "has no training split (train_idx.npy): give the training ids"));
    ids = d.get("train_idx.npy").to_int64();
  }
  const std::int64_t n = d.num_nodes();
  std::vector<bool> seen(static_cast<std::size_t>(n), false);
  for (std::int64_t v : ids) {
    if (v < 0 || v >= n)
      throw input_error(
          at_input(d.dir(), "training id " + std::to_string(v) + " is outside [0, " + std::to_string(n) + ")"));
    if (seen[static_cast<std::size_t>(v)])
      throw input_error(at_input(d.dir(), "training id " + std::to_string(v) + " appears twice"));
    seen[static_cast<std::size_t>(v)] = true;
  }
  return ids;
}

void check_hot_rank(const dataset& d, const std::vector<std::int64_t>& rank) {
  if (rank.empty()) return;
  if (d.has("order.npy"))
    throw input_error(
        at_input(d.dir(), "is a prepared dataset, whose ids are hot-first already: give no hot-first ranks"));
  const std::int64_t n = d.num_nodes();
  if (static_cast<std::int64_t>(rank.size()) != n)
    throw input_error("hot-first ranks: " + std::to_string(rank.size()) + " entries for " + std::to_string(n) +
                      " nodes");
  std::vector<bool> seen(static_cast<std::size_t>(n), false);
  for (std::int64_t r : rank) {
    if (r < 0 || r >= n || seen[static_cast<std::size_t>(r)])
      throw input_error("hot-first ranks are not a permutation of [0, " + std::to_string(n) + ")");
    seen[static_cast<std::size_t>(r)] = true;
  }
}

// One thread's state: its own sampler (samplers keep per-batch buffers), the batch, translated ids
// and one ledger per (plan, GPU).
struct replay_worker {
  neighbor_sampler sampler;
  sampled_batch batch;
  std::vector<std::int64_t> ids;
  std::vector<traffic> counts;
  std::int64_t slices = 0;
};

}  // namespace

dp_replay_result replay_data_parallel(const dataset& d, const dp_replay_config& cfg,
                                      const std::vector<shared_tier_plan>& plans) {
  const auto t0 = std::chrono::steady_clock::now();
  if (cfg.world < 1 || cfg.world > kMaxSharedGpus)
    throw input_error("data-parallel replay: world size " + std::to_string(cfg.world) + " must lie in [1, " +
                      std::to_string(kMaxSharedGpus) + "]");
  if (cfg.epochs < 1 || cfg.first_epoch < 0)
    throw input_error("data-parallel replay: epochs " + std::to_string(cfg.first_epoch) + " + " +
                      std::to_string(cfg.epochs) + ": give a first epoch >= 0 and at least one epoch");
  if (cfg.batch_size <= 0)
    throw input_error("data-parallel replay: batch size must be positive, got " + std::to_string(cfg.batch_size));
  if (plans.empty()) throw input_error("data-parallel replay: give at least one shared-tier plan to count");
  for (const auto& p : plans) {
    if (p.num_gpus() != cfg.world)
      throw input_error("data-parallel replay: a plan for " + std::to_string(p.num_gpus()) + " GPUs in a run of " +
                        std::to_string(cfg.world) + " ranks");
    if (p.num_nodes() != d.num_nodes())
      throw input_error(at_input(d.dir(), "has " + std::to_string(d.num_nodes()) + " nodes but a plan covers " +
                                              std::to_string(p.num_nodes())));
  }
  const std::vector<std::int64_t> train = checked_train_ids(d, cfg);
  check_hot_rank(d, cfg.hot_rank);
  // As train/trainer.cpp: a prepared dataset is sampled with its original ids as keys.
  const std::vector<std::int64_t> keys =
      d.has("order.npy") ? d.get("order.npy").to_int64() : std::vector<std::int64_t>{};
  neighbor_sampler proto(d, cfg.fanouts, cfg.seed);
  proto.set_node_keys(span<const std::int64_t>(keys));

  const int k = cfg.world;
  const std::size_t cells = plans.size() * static_cast<std::size_t>(k);
  tbb::enumerable_thread_specific<replay_worker> workers([&] {
    return replay_worker{proto, {}, {}, std::vector<traffic>(cells), 0};
  });
  dp_replay_result res;
  res.world = k;
  res.epochs = cfg.epochs;
  for (int e = cfg.first_epoch; e < cfg.first_epoch + cfg.epochs; ++e) {
    const batch_plan plan =
        plan_epoch(span<const std::int64_t>(train), cfg.batch_size, cfg.seed, e, true, span<const std::int64_t>(keys));
    const std::int64_t nb = plan.num_batches();
    res.global_batches += nb;
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, nb * k, 1), [&](const tbb::blocked_range<std::int64_t>& r) {
      replay_worker& w = workers.local();
      for (std::int64_t t = r.begin(); t < r.end(); ++t) {
        const std::int64_t b = t / k;
        const int rank = static_cast<int>(t % k);
        const span<const std::int64_t> global = plan.batch(b);
        const index_range mine = rank_slice(static_cast<std::int64_t>(global.size()), rank, k);
        if (mine.size() == 0) continue;
        w.sampler.sample(global.subspan(static_cast<std::size_t>(mine.begin), static_cast<std::size_t>(mine.size())), e,
                         b, &w.batch);
        span<const std::int64_t> in = w.batch.input_nodes();
        if (!cfg.hot_rank.empty()) {
          w.ids.resize(in.size());
          for (std::size_t i = 0; i < in.size(); ++i) w.ids[i] = cfg.hot_rank[static_cast<std::size_t>(in[i])];
          in = span<const std::int64_t>(w.ids);
        }
        for (std::size_t p = 0; p < plans.size(); ++p) w.counts[p * k + rank] += plans[p].count(in, rank);
        ++w.slices;
      }
    });
  }
  res.per_gpu.assign(plans.size(), std::vector<traffic>(static_cast<std::size_t>(k)));
  for (std::size_t p = 0; p < plans.size(); ++p)
    for (int g = 0; g < k; ++g) res.per_gpu[p][static_cast<std::size_t>(g)].row_bytes = plans[p].row_bytes();
  for (const auto& w : workers) {
    res.slices += w.slices;
    for (std::size_t p = 0; p < plans.size(); ++p)
      for (int g = 0; g < k; ++g)
        res.per_gpu[p][static_cast<std::size_t>(g)] += w.counts[p * k + static_cast<std::size_t>(g)];
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

sharing_comparison compare_sharing(const dataset& d, const dp_replay_config& cfg, shared_tier_config tier,
                                   span<const double> hot_first_scores) {
  tier.num_gpus = cfg.world;
  tier.num_nodes = d.num_nodes();
  sharing_comparison out;
  tier.peer_to_peer = false;
  out.replicated = plan_shared_tier(tier, hot_first_scores);
  tier.peer_to_peer = true;
  out.striped = plan_shared_tier(tier, hot_first_scores);
  out.replay = replay_data_parallel(d, cfg, {out.replicated, out.striped});
  return out;
}

}  // namespace tg
