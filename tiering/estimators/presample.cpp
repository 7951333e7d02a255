// Sampling-based estimators: run the real batcher and sampler and count, per node, the batches whose
// input nodes (blocks[0] sources) contain it.
//
// `presample:K` is GNNLab's pre-sampling hotness (PreSC; Yang et al., "GNNLab: A Factored System for
// Sample-based GNN Training over GPUs", EuroSys'22): K epochs sampled on a seed stream of its own
// (seed ^ kPresampleTag, for batches and draws), so it estimates the run that follows without
// replaying that run's own draws; score = count / K.
// `oracle` replays the run that follows exactly: the trainer's seed, plan_epoch batches and epochs
// 0..run_epochs-1 (train/trainer.cpp samples batch b of epoch e with sampler.sample(
// plan_epoch(train, B, seed, e).batch(b), e, b)); score = count / run_epochs, the hindsight optimum
// of a static placement. Evaluation only.
//
// Batches of an epoch run in parallel, each thread with its own sampler and buffers; the sampler's
// own parallel loop runs isolated so a waiting thread cannot pick up another batch and reuse its
// buffers. Counts are integer atomics, so the result does not depend on the schedule.
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "core/progress.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

batch_counts count_batches(const graph_ref& g, const profile_config& cfg, std::uint64_t seed,
                           std::int64_t total_batches, const std::string& label) {
  struct worker {
    neighbor_sampler sampler;
    sampled_batch batch;
  };
  const neighbor_sampler proto(g.num_nodes, g.indptr, g.indices, g.index_type, cfg.fanouts, seed);
  tbb::enumerable_thread_specific<worker> workers(worker{proto, {}});
  const auto n = static_cast<std::size_t>(g.num_nodes);
  std::unique_ptr<std::atomic<std::int64_t>[]> cnt(new std::atomic<std::int64_t>[n]());
  std::atomic<std::int64_t> edges{0};
  batch_counts out;
  const std::int64_t per_epoch = batches_per_epoch(cfg);
  progress prog(label, total_batches, "batches");
  for (std::int64_t e = 0; per_epoch > 0 && out.batches < total_batches; ++e) {
    const batch_plan plan = plan_epoch(span<const std::int64_t>(cfg.train_ids), cfg.batch_size, seed, e);
    const std::int64_t nb = std::min(plan.num_batches(), total_batches - out.batches);
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, nb, 1), [&](const auto& r) {
      worker& w = workers.local();
      for (std::int64_t b = r.begin(); b < r.end(); ++b) {
        tbb::this_task_arena::isolate([&] { w.sampler.sample(plan.batch(b), e, b, &w.batch); });
        for (std::int64_t u : w.batch.input_nodes())
          cnt[static_cast<std::size_t>(u)].fetch_add(1, std::memory_order_relaxed);
        edges.fetch_add(w.batch.num_sampled_edges(), std::memory_order_relaxed);
        prog.add(1);
      }
    });
    out.batches += nb;
  }
  prog.finish();
  out.count.resize(n);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t u) { out.count[u] = cnt[u].load(std::memory_order_relaxed); });
  out.sampled_edges = edges.load();
  return out;
}

namespace {
// Scores in batches per epoch: count / (batches sampled / batches per epoch).
estimate from_counts(const graph_ref& g, const profile_config& cfg, const batch_counts& c) {
  estimate out;
  out.score.resize(c.count.size());
  const double epochs = static_cast<double>(c.batches) / static_cast<double>(std::max<std::int64_t>(1, batches_per_epoch(cfg)));
  const double inv = c.batches > 0 ? 1.0 / epochs : 0.0;
  tbb::parallel_for(std::size_t{0}, c.count.size(), [&](std::size_t u) { out.score[u] = static_cast<double>(c.count[u]) * inv; });
  const std::int64_t e = g.num_edges();
  out.edge_passes = e > 0 ? static_cast<double>(c.sampled_edges) / static_cast<double>(e) : 0.0;
  out.details["epochs"] = epochs;
  out.details["batches"] = c.batches;
  out.details["sampled_edges"] = c.sampled_edges;
  return out;
}
}  // namespace

std::int64_t presample_batches(const profile_config& cfg, double epochs) {
  const auto nb = static_cast<double>(batches_per_epoch(cfg));
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(epochs * nb)));
}

estimate estimate_presample(const graph_ref& g, const profile_config& cfg, double epochs) {
  const std::uint64_t seed = cfg.seed ^ kPresampleTag;
  estimate out = from_counts(g, cfg, count_batches(g, cfg, seed, presample_batches(cfg, epochs), "presampling"));
  out.details["seed"] = seed;
  return out;
}

estimate estimate_oracle(const graph_ref& g, const profile_config& cfg) {
  const std::int64_t total = batches_per_epoch(cfg) * cfg.run_epochs;
  estimate out = from_counts(g, cfg, count_batches(g, cfg, cfg.seed, total, "oracle sampling"));
  out.details["seed"] = cfg.seed;
  return out;
}

}  // namespace tg::estimators
