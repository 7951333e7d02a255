// Sampling-based estimators: replay the batcher and sampler and count, per node, the batches whose
// input nodes (blocks[0] sources) contain it.
//
// `presample:K` is GNNLab's pre-sampling hotness (PreSC; Yang et al., "GNNLab: A Factored System for
// Sample-based GNN Training over GPUs", EuroSys'22): K epochs (a fraction samples the first batches
// of an epoch) on a seed stream of its own (seed ^ kPresampleTag, for batches and draws), so it
// estimates the run that follows without replaying that run's own draws; score = count / K.
// `oracle` replays the run that follows exactly: the trainer's seed, plan_epoch batches and epochs
// 0..run_epochs-1 (train/trainer.cpp samples batch b of epoch e with sampler.sample(
// plan_epoch(train, B, seed, e).batch(b), e, b)); score = count / run_epochs, the hindsight optimum
// of a static placement. Evaluation only.
//
// count_batches also runs cvip (cvip.cpp): the same batches and the same draws for the first hops,
// the last hops in expectation (soft_hop), counts in fixed point.
//
// Counting needs only the set of input nodes, not the blocks, so a batch is expanded here by a lean
// frontier walk (reach_batch) that makes exactly the draws neighbor_sampler makes — the same
// select_positions and hop_rng of sampler/sampling_math.hpp, keyed by (seed, epoch, batch, hop,
// node) — but skips relabelling, block CSRs and degrees: on cnr-2000 (15,10,5) it counts an epoch
// in ~0.08 s where neighbor_sampler takes ~0.13 s (2 threads). A test checks its counts against
// neighbor_sampler's blocks. Batches run in parallel, one bitmap and member list per thread; counts
// are integer atomics, so the result does not depend on the schedule.
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/progress.hpp"
#include "core/resources.hpp"
#include "sampler/batcher.hpp"
#include "sampler/sampling_math.hpp"
#include "tiering/estimators/estimators.hpp"

namespace tg::estimators {

namespace {

// A soft node's probability so far and the product of the current hop's miss factors, side by
// side: one cache line per visit (6% faster on the billion-arc R-MAT, where these arrays live in DRAM).
struct soft_state {
  float prob = 0.0f;
  float miss = 1.0f;
};

// The test "is this node's state the initial one" compares its 8 bytes at once (prob is never -0
// or NaN), one integer compare where two float compares cost two branches.
inline std::uint64_t state_bits(const soft_state& st) {
  std::uint64_t b;
  std::memcpy(&b, &st, sizeof b);
  return b;
}
const std::uint64_t kInitialStateBits = state_bits(soft_state{});
inline bool is_initial(const soft_state& st) {
  return state_bits(st) == kInitialStateBits;
}

// One thread's buffers: a bitmap of the nodes reached by the current batch (cleared through the
// member list afterwards, so a batch costs what it samples, not N) and the member list itself.
struct reach_worker {
  std::vector<std::uint64_t> seen;
  std::vector<std::int64_t> members;
  std::vector<std::int64_t> positions;
  // Expected mode (cvip.cpp): nodes that a batch reads with a probability below 1 ("soft") and every
  // node's soft_state (which also tells whether the node is listed yet, see soft_add).
  std::vector<std::int64_t> soft;
  std::vector<soft_state> state;
  std::vector<std::int64_t> soft_expanders;  // a hop's soft nodes that were not certain when it began
  // window_noise, per block of kNoiseBlock ids (its followed node): the current hop's sum of
  // ((1 - f) / f)^2 (1 - pi + rho) over the entries read, and the variance of its probability so far.
  std::vector<float> noise_lv, noise_vp;
  double rho = 0;  // the relative variance var(p) / p^2 of the soft expanders' p, this hop
};

// One hop in expectation (derivation in cvip.cpp). Expanders: the certain members S_h (weight 1)
// and the soft nodes found so far (weight = their probability). Each expander v with k of deg
// entries to draw reads m = min(deg, soft_rows * k) entries of its row, each with probability m /
// deg (all of them; or, before the last hop, a systematic sample floor(u0 + j deg / m) with u0
// uniform; at the last hop a window of m consecutive entries from a uniform start, wrapping round)
// and multiplies every listed node's miss factor by 1 - weight * k / m. A certain expander that
// takes its whole row makes its entries certain. Afterwards each soft node's probability is
// 1 - (1 - p) * miss; after the last hop the caller computes it (count_batches_typed), saving a
// pass. Returns the row entries read.
//
// Memory access (the cost here: rows, soft states and counts are at random places in arrays far
// larger than the caches on big graphs). Rows and states are prefetched 8 and 16 expanders ahead.
// At the last hop, which reads most of the entries (90% on an R-MAT of 8.4M nodes, fanouts
// 15,10,5), a window touches one or two cache lines of the row where a systematic sample of a long
// row touches m: each entry is still read with probability m / deg, so every node's expected factor,
// and with it the estimator's expectation, is unchanged, and at the last hop the nodes read together
// are only counted, so their dependence does not propagate. Before the last hop it would: neighbours
// listed side by side (web crawls list a site's pages together) then expand together, and a window
// there cost up to 0.6 points of the oracle on cnr-2000 where the last hop alone cost none.
// Single-thread estimator time on that R-MAT (268M arcs, 17 batches): 3.17 s -> 2.05 s with the
// prefetches -> 1.71 s with the last-hop window -> 1.36 s with the last hop's probabilities left to
// the count pass (presample:1: 0.44 s) -> 1.25 s with the noise followed (cvip.cpp) -> 1.15 s with
// the soft list written through a raw pointer and the state tested as one integer (cnr-2000: -11%).
// Not worth it (measured): huge pages for the states (TLB misses are not the cost), regrouping the
// last hop's updates by id range, each worker's counts kept in its states (-4% more on the R-MAT,
// none on cnr-2000, for 8 more bytes per node and worker), prefetching each entry's
// state a chunk of rows ahead; a soft expander reading entries in proportion to its probability
// (m = ceil(R' k p), the variance-optimal split of a fixed number of entries): at R' = R, 5-30% fewer
// entries but 0.08 points lower on average (-0.49 at worst) and no faster on the 40 recorded
// settings (the time goes per expander, not per entry there); at R' = 6 the same entries and quality.
// Nor can low-probability soft expanders be skipped by roulette (expand with probability p / theta,
// weight theta): on the R-MAT of 134M arcs no last-hop expander had p < 0.1 (an entry of a
// subsampled row is read with factor 1 - k / m = 1 - 1 / R), so there was nothing to skip.
template <typename index_t, bool Track, typename Visit>
std::int64_t soft_hop(const graph_ref& g, std::int64_t fanout, const counter_rng& rng, std::size_t frontier,
                      std::int64_t soft_rows, bool last, reach_worker* w, Visit& visit) {
  const auto* idx = static_cast<const index_t*>(g.indices);
  // A node is new to the batch's soft list while its state is the initial one (prob 0, miss 1): once
  // listed, its miss is below 1 until the hop ends and its probability above 0 after it. The state
  // is the one line an entry touches (a bitmap beside it cost a second random access per entry).
  // The list grows through a raw pointer, with room for an expander's m entries made before its row
  // is read (push_back's capacity test and the reloads it forced cost ~5% of a hop); its size is set
  // after the hop's expansions.
  soft_state* const state = w->state.data();
  std::size_t len = w->soft.size();
  std::int64_t* list = w->soft.data();
  auto make_room = [&](std::int64_t m) {
    if (w->soft.size() < len + static_cast<std::size_t>(m)) {
      w->soft.resize(std::max(2 * w->soft.size(), len + static_cast<std::size_t>(m)));
      list = w->soft.data();
    }
  };
  auto soft_add = [&](std::int64_t u, float factor) {
    soft_state& st = state[static_cast<std::size_t>(u)];
    if (is_initial(st)) list[len++] = u;
    st.miss *= factor;
  };
  // The same for the batches whose noise is followed (kept apart: the loops of the others stay lean).
  auto soft_add_lv = [&](std::int64_t u, float factor, float lv) {
    soft_add(u, factor);
    if (noise_followed(u)) w->noise_lv[static_cast<std::size_t>(u >> kNoiseBlockShift)] += lv;
  };
  std::int64_t edges = 0;
  auto expand = [&](std::int64_t v, float weight) {
    const std::int64_t start = g.indptr[v], deg = g.indptr[v + 1] - start;
    const std::int64_t k = sample_count(deg, fanout);
    if (k == deg && weight >= 1.0f) {
      for (std::int64_t q = 0; q < deg; ++q) visit(static_cast<std::int64_t>(idx[start + q]));
      edges += deg;
      return;
    }
    const std::int64_t m = std::min(deg, soft_rows * k);
    if (m == 0) return;
    const float factor = 1.0f - weight * static_cast<float>(static_cast<double>(k) / static_cast<double>(m));
    if (factor >= 1.0f) return;  // a chance below float resolution
    // window_noise: each entry is read with probability pi = m / deg, and then multiplies its node's
    // miss by f. Independent factors g = f^I (I ~ Bernoulli(pi)) have Var g = pi (1 - pi) (1 - f)^2,
    // and the product's variance is close to the sum of each one's times the others' squares, which
    // is miss^2 / f^2 for a factor read: so each entry read adds ((1 - f) / f)^2 (1 - pi), and the
    // caller multiplies by miss^2 (an unbiased estimate of the variance when one entry is read). A
    // soft expander's own probability p is noisy too (relative variance rho, the hop's mean), and
    // 1 - f = p k / m with it: each entry it reads adds ((1 - f) / f)^2 rho as well.
    float lv = 0.0f;
    if constexpr (Track) {
      const double r = (1.0 - static_cast<double>(factor)) / static_cast<double>(factor);
      lv = static_cast<float>(
          r * r * ((1.0 - static_cast<double>(m) / static_cast<double>(deg)) + (weight < 1.0f ? w->rho : 0.0)));
    }
    make_room(m);
    // Each entry read: with the noise followed (this batch's instantiation) or not.
    auto add = [&](std::int64_t q) {
      if constexpr (Track)
        soft_add_lv(static_cast<std::int64_t>(idx[start + q]), factor, lv);
      else
        soft_add(static_cast<std::int64_t>(idx[start + q]), factor);
    };
    if (m == deg) {
      for (std::int64_t q = 0; q < deg; ++q) add(q);
    } else if (last) {
      const auto s0 =
          static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(v) << 24, static_cast<std::uint64_t>(deg)));
      const std::int64_t first = std::min(m, deg - s0);
      for (std::int64_t j = 0; j < first; ++j) add(s0 + j);
      for (std::int64_t j = 0; j < m - first; ++j) add(j);
    } else {
      const double step = static_cast<double>(deg) / static_cast<double>(m);
      const double u0 = rng.uniform(static_cast<std::uint64_t>(v) << 24) * step;
      for (std::int64_t j = 0; j < m; ++j)
        add(std::min(static_cast<std::int64_t>(u0 + static_cast<double>(j) * step), deg - 1));
    }
    edges += m;
  };
  // Soft nodes expand with their probability unless they were certain members when the hop began
  // (those expand once, below, with weight 1). Taken before the members expand: a soft node that a
  // member's whole row makes certain now joins S_{h+1}, but is in S_h only with its probability and
  // draws at this hop with it; and a soft node whose probability has rounded to 1 in float (a hub
  // many rows list) is not certain and still draws.
  w->soft_expanders.clear();
  for (std::int64_t v : w->soft)
    if (!((w->seen[static_cast<std::size_t>(v) >> 6] >> (v & 63)) & 1)) w->soft_expanders.push_back(v);
  // Members may grow (visit) while they expand: indexed, never through a saved pointer.
  for (std::size_t i = 0; i < frontier; ++i) {
    if (i + 16 < frontier) __builtin_prefetch(&g.indptr[w->members[i + 16]]);
    if (i + 8 < frontier) __builtin_prefetch(&idx[g.indptr[w->members[i + 8]]]);
    expand(w->members[i], 1.0f);
  }
  const std::int64_t* se = w->soft_expanders.data();
  const std::size_t num_se = w->soft_expanders.size();
  for (std::size_t i = 0; i < num_se; ++i) {
    if (i + 16 < num_se) {
      __builtin_prefetch(&g.indptr[se[i + 16]]);
      __builtin_prefetch(&w->state[static_cast<std::size_t>(se[i + 16])]);
    }
    if (i + 8 < num_se) __builtin_prefetch(&idx[g.indptr[se[i + 8]]]);
    expand(se[i], w->state[static_cast<std::size_t>(se[i])].prob);
  }
  w->soft.resize(len);
  if (last) return edges;
  const std::int64_t* soft = w->soft.data();
  const std::size_t num_soft = w->soft.size();
  double sum_vp = 0, sum_p2 = 0;  // over the followed soft nodes: rho for the next hop
  for (std::size_t i = 0; i < num_soft; ++i) {
    if (i + 16 < num_soft) __builtin_prefetch(&w->state[static_cast<std::size_t>(soft[i + 16])], 1);
    const std::int64_t u = soft[i];
    const auto su = static_cast<std::size_t>(u);
    const bool certain = (w->seen[su >> 6] >> (u & 63)) & 1;
    soft_state& st = w->state[su];
    if (Track && noise_followed(u)) {  // the variance of the new probability 1 - (1 - p) miss
      const auto b = static_cast<std::size_t>(u >> kNoiseBlockShift);
      const float q = (1.0f - st.prob) * st.miss;
      w->noise_vp[b] = certain ? 0.0f : st.miss * st.miss * w->noise_vp[b] + q * q * w->noise_lv[b];
      w->noise_lv[b] = 0.0f;
      if (!certain) {
        const double p = 1.0 - static_cast<double>(q);
        sum_vp += w->noise_vp[b];
        sum_p2 += p * p;
      }
    }
    st.prob = certain ? 1.0f : 1.0f - (1.0f - st.prob) * st.miss;
    st.miss = 1.0f;
  }
  w->rho = sum_p2 > 0 ? sum_vp / sum_p2 : 0.0;
  return edges;
}

// Input nodes of one batch, exactly as neighbor_sampler::sample finds them: every node of S_h is a
// destination of hop h+1 and draws select_positions(hop_rng(seed, epoch, batch, h), v, deg, k) of
// its row; S_{h+1} = S_h plus the drawn sources. The draws depend only on (seed, epoch, batch, hop,
// node), never on the order nodes are visited, so the member set equals the sampler's blocks[0]
// sources. Returns the number of sampled edges.
template <typename index_t, bool Track>
std::int64_t reach_batch(const graph_ref& g, const std::vector<std::int64_t>& fanouts, std::uint64_t seed,
                         std::int64_t epoch, std::int64_t batch, span<const std::int64_t> seeds, reach_worker* w,
                         const sampling_budget& budget) {
  const auto* idx = static_cast<const index_t*>(g.indices);
  auto visit = [&](std::int64_t u) {
    std::uint64_t& word = w->seen[static_cast<std::size_t>(u) >> 6];
    const std::uint64_t bit = std::uint64_t{1} << (u & 63);
    if (word & bit) return;
    word |= bit;
    w->members.push_back(u);
  };
  w->members.clear();
  w->soft.clear();
  w->rho = 0;
  for (std::int64_t s : seeds) visit(s);
  std::int64_t edges = 0;
  const std::size_t first_soft = fanouts.size() - std::min(fanouts.size(), static_cast<std::size_t>(budget.soft_hops));
  for (std::size_t h = 0; h < fanouts.size(); ++h) {
    const counter_rng rng = hop_rng(seed, epoch, batch, static_cast<int>(h));
    const std::size_t frontier = w->members.size();
    if (h >= first_soft) {
      const bool last = h + 1 == fanouts.size();
      const std::int64_t rows = last && budget.soft_rows_last > 0 ? budget.soft_rows_last : budget.soft_rows;
      edges += soft_hop<index_t, Track>(g, fanouts[h], rng, frontier, std::max<std::int64_t>(1, rows), last, w, visit);
      continue;
    }
    for (std::size_t i = 0; i < frontier; ++i) {
      const std::int64_t v = w->members[i];
      const std::int64_t start = g.indptr[v], deg = g.indptr[v + 1] - start;
      const std::int64_t k = sample_count(deg, fanouts[h]);
      w->positions.resize(static_cast<std::size_t>(k));
      select_positions(rng, v, deg, k, w->positions.data());
      for (std::int64_t q = 0; q < k; ++q)
        visit(static_cast<std::int64_t>(idx[start + w->positions[static_cast<std::size_t>(q)]]));
      edges += k;
    }
  }
  return edges;
}

template <typename index_t>
batch_counts count_batches_typed(const graph_ref& g, const profile_config& cfg, std::uint64_t seed,
                                 const sampling_budget& budget, const std::string& label) {
  const auto n = static_cast<std::size_t>(g.num_nodes);
  const bool soft = budget.soft_hops > 0;
  const bool track = soft && budget.window_noise;
  const std::size_t blocks = (n + kNoiseBlock - 1) / kNoiseBlock;
  tbb::enumerable_thread_specific<reach_worker> workers([n, soft, track, blocks] {
    reach_worker w;
    w.seen.assign((n + 63) / 64, 0);
    if (soft) {
      w.state.assign(n, soft_state{});
    }
    if (track) {
      w.noise_lv.assign(blocks, 0.0f);
      w.noise_vp.assign(blocks, 0.0f);
    }
    return w;
  });
  // Expected counts are fixed-point: kSoftCountScale units per batch.
  const std::int64_t unit = soft ? kSoftCountScale : 1;
  std::unique_ptr<std::atomic<std::int64_t>[]> cnt(new std::atomic<std::int64_t>[n]());
  // window_noise: variances of the followed nodes' counts, in fixed point (kNoiseScale per batch^2).
  constexpr double kNoiseScale = static_cast<double>(std::int64_t{1} << 40);
  std::unique_ptr<std::atomic<std::int64_t>[]> var(track ? new std::atomic<std::int64_t>[blocks]() : nullptr);
  // Noise is estimated on every kNoiseEvery-th batch of an epoch (the batches are alike: their
  // seeds are a random split) and scaled to all of them: a quarter of its cost.
  constexpr std::int64_t kNoiseEvery = 4;
  std::int64_t noise_batches = 0;
  std::atomic<std::int64_t> edges{0};
  batch_counts out;
  const std::int64_t per_epoch = trained_batches_per_epoch(cfg);
  // Epoch moments: the counts at the last epoch boundary, to take each whole epoch's count.
  std::vector<std::int64_t> at_boundary;
  if (budget.epoch_moments) {
    at_boundary.assign(n, 0);
    out.epoch_sq.assign(n, 0.0);
  }
  const bool by_edges = budget.edge_budget > 0;
  // With an edge budget the batch count is known after the first round (edges per batch so far);
  // until then the total is the cap.
  progress prog(label, budget.max_batches, "batches");
  auto done = [&] {
    if (budget.max_batches > 0 && out.batches >= budget.max_batches) return true;
    return by_edges && out.batches >= budget.min_batches && static_cast<double>(edges.load()) >= budget.edge_budget;
  };
  // Expected mode keeps ~8.1 bytes per node per worker: at most an eighth of usable memory for
  // them (fewer workers, never a different result; batches are independent).
  int max_workers = tbb::this_task_arena::max_concurrency();
  if (soft) {
    const double per_worker =
        static_cast<double>(n) * (sizeof(soft_state) + 0.125 + (track ? 2.0 * sizeof(float) / kNoiseBlock : 0.0)) + 1.0;
    const double allowed = static_cast<double>(usable_memory_bytes()) / 8.0 / per_worker;
    max_workers = static_cast<int>(std::clamp(allowed, 1.0, static_cast<double>(max_workers)));
  }
  tbb::task_arena arena(max_workers);
  arena.execute([&] {
    for (std::int64_t e = 0; per_epoch > 0 && !done(); ++e) {
      const batch_plan plan = plan_epoch(span<const std::int64_t>(cfg.train_ids), cfg.batch_size, seed, e);
      const std::int64_t epoch_batches = std::min(plan.num_batches(), per_epoch);
      for (std::int64_t b0 = 0; b0 < epoch_batches && !done();) {
        std::int64_t b1 = epoch_batches;
        if (by_edges) b1 = std::min(b1, b0 + std::max<std::int64_t>(1, budget.round));
        if (budget.max_batches > 0) b1 = std::min(b1, b0 + budget.max_batches - out.batches);
        tbb::parallel_for(tbb::blocked_range<std::int64_t>(b0, b1, 1), [&](const auto& r) {
          reach_worker& w = workers.local();
          for (std::int64_t b = r.begin(); b < r.end(); ++b) {
            const bool tracked = track && b % kNoiseEvery == 0;
            // Batches whose noise is followed run their own instantiation: the others' loops stay lean.
            const std::int64_t k =
                tracked ? reach_batch<index_t, true>(g, cfg.fanouts, seed, e, b, plan.batch(b), &w, budget)
                        : reach_batch<index_t, false>(g, cfg.fanouts, seed, e, b, plan.batch(b), &w, budget);
            // Soft nodes before the members (a certain node is counted once, below), with the last
            // hop's probabilities 1 - (1 - p) miss (soft_hop leaves them to this pass). Fixed point:
            // p 2^20 is exact in a double, so floor(x + 0.5) is llround(x) without a libm call.
            const std::int64_t* soft = w.soft.data();
            const std::size_t num_soft = w.soft.size();
            for (std::size_t i = 0; i < num_soft; ++i) {
              if (i + 16 < num_soft) {
                __builtin_prefetch(&w.state[static_cast<std::size_t>(soft[i + 16])], 1);
                __builtin_prefetch(&cnt[static_cast<std::size_t>(soft[i + 16])], 1);
              }
              const std::int64_t u = soft[i];
              const auto su = static_cast<std::size_t>(u);
              soft_state& st = w.state[su];
              const bool certain = (w.seen[su >> 6] >> (u & 63)) & 1;
              if (!certain) {
                const float p = 1.0f - (1.0f - st.prob) * st.miss;
                cnt[su].fetch_add(static_cast<std::int64_t>(static_cast<double>(p) * static_cast<double>(unit) + 0.5),
                                  std::memory_order_relaxed);
              }
              if (tracked && noise_followed(u)) {
                // Var of 1 - (1 - p) miss: the last hop's entries (through miss) and the earlier
                // hops' (through p), as soft_hop propagates them.
                const auto b = static_cast<std::size_t>(u >> kNoiseBlockShift);
                const double q = static_cast<double>((1.0f - st.prob) * st.miss), mi = st.miss;
                const double v =
                    q * q * static_cast<double>(w.noise_lv[b]) + mi * mi * static_cast<double>(w.noise_vp[b]);
                if (!certain && v > 0)
                  var[b].fetch_add(static_cast<std::int64_t>(v * kNoiseScale + 0.5), std::memory_order_relaxed);
                w.noise_lv[b] = w.noise_vp[b] = 0.0f;
              }
              st = soft_state{};
            }
            for (std::int64_t u : w.members) {
              cnt[static_cast<std::size_t>(u)].fetch_add(unit, std::memory_order_relaxed);
              w.seen[static_cast<std::size_t>(u) >> 6] = 0;
            }
            edges.fetch_add(k, std::memory_order_relaxed);
            prog.add(1);
          }
        });
        out.batches += b1 - b0;
        if (track) noise_batches += (b1 + kNoiseEvery - 1) / kNoiseEvery - (b0 + kNoiseEvery - 1) / kNoiseEvery;
        b0 = b1;
        if (budget.epoch_moments && b0 == epoch_batches) {  // a whole epoch: fold its counts in
          tbb::parallel_for(std::size_t{0}, n, [&](std::size_t u) {
            const std::int64_t now = cnt[u].load(std::memory_order_relaxed);
            const double x = static_cast<double>(now - at_boundary[u]) / static_cast<double>(unit);
            out.epoch_sq[u] += x * x;
            at_boundary[u] = now;
          });
          ++out.whole_epochs;
        }
        if (by_edges && edges.load() > 0) {
          const double per_batch = static_cast<double>(edges.load()) / static_cast<double>(out.batches);
          std::int64_t need = std::max<std::int64_t>(
              budget.min_batches, static_cast<std::int64_t>(std::ceil(budget.edge_budget / per_batch)));
          const std::int64_t r = std::max<std::int64_t>(1, budget.round);
          need = (need + r - 1) / r * r;  // sampling stops at the end of a round
          if (budget.max_batches > 0) need = std::min(need, budget.max_batches);
          prog.set_total(std::max(need, out.batches));
        }
      }
    }
  });
  prog.finish();
  out.count.resize(n);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t u) { out.count[u] = cnt[u].load(std::memory_order_relaxed); });
  if (track && noise_batches > 0) {
    out.noise.resize(blocks);
    const double scale = static_cast<double>(out.batches) / static_cast<double>(noise_batches) / kNoiseScale;
    tbb::parallel_for(std::size_t{0}, blocks, [&](std::size_t b) {
      out.noise[b] = static_cast<double>(var[b].load(std::memory_order_relaxed)) * scale;
    });
  }
  out.sampled_edges = edges.load();
  out.unit = unit;
  return out;
}

}  // namespace

batch_counts count_batches(const graph_ref& g, const profile_config& cfg, std::uint64_t seed,
                           const sampling_budget& budget, const std::string& label) {
  return g.index_type == dtype::int32 ? count_batches_typed<std::int32_t>(g, cfg, seed, budget, label)
                                      : count_batches_typed<std::int64_t>(g, cfg, seed, budget, label);
}

estimate scores_from_counts(const graph_ref& g, const profile_config& cfg, const batch_counts& c) {
  estimate out;
  out.score.resize(c.count.size());
  const double epochs =
      static_cast<double>(c.batches) / static_cast<double>(std::max<std::int64_t>(1, trained_batches_per_epoch(cfg)));
  tbb::parallel_for(std::size_t{0}, c.count.size(), [&](std::size_t u) {
    out.score[u] = c.batches > 0 ? static_cast<double>(c.count[u]) / static_cast<double>(c.unit) / epochs : 0.0;
  });
  const std::int64_t e = g.num_edges();
  out.edge_passes = e > 0 ? static_cast<double>(c.sampled_edges) / static_cast<double>(e) : 0.0;
  out.details["epochs"] = epochs;
  out.details["batches"] = c.batches;
  out.details["sampled_edges"] = c.sampled_edges;
  return out;
}

std::int64_t presample_batches(const profile_config& cfg, double epochs) {
  const auto nb = static_cast<double>(trained_batches_per_epoch(cfg));
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(epochs * nb)));
}

estimate estimate_presample(const graph_ref& g, const profile_config& cfg, double epochs) {
  const std::uint64_t seed = cfg.seed ^ kPresampleTag;
  sampling_budget budget;
  budget.max_batches = presample_batches(cfg, epochs);
  estimate out = scores_from_counts(g, cfg, count_batches(g, cfg, seed, budget, "presampling"));
  out.details["seed"] = seed;
  return out;
}

estimate estimate_oracle(const graph_ref& g, const profile_config& cfg) {
  sampling_budget budget;
  budget.max_batches = trained_batches_per_epoch(cfg) * cfg.run_epochs;
  estimate out = scores_from_counts(g, cfg, count_batches(g, cfg, cfg.seed, budget, "oracle sampling"));
  out.details["seed"] = cfg.seed;
  return out;
}

}  // namespace tg::estimators
