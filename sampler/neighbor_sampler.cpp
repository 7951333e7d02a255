#include "sampler/neighbor_sampler.hpp"

#include <cstdint>

#include "core/resources.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.hpp"
#include "sampler/sampling_math.hpp"

namespace tg {

std::vector<std::int64_t> parse_fanouts(const std::string& text) {
  std::vector<std::int64_t> f;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string tok = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      std::size_t used = 0;
      const long long v = std::stoll(tok, &used);
      if (used != tok.size()) throw std::invalid_argument(tok);
      f.push_back(v);
    } catch (const std::exception&) {
      throw input_error("--fanouts '" + text + "': '" + tok + "' is not an integer (write e.g. 15,10,5; -1 = all)");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

neighbor_sampler::neighbor_sampler(std::int64_t num_nodes, const std::int64_t* indptr, const void* indices,
                                   dtype index_dtype, std::vector<std::int64_t> fanouts, std::uint64_t seed)
    : num_nodes_(num_nodes),
      indptr_(indptr),
      indices_(indices),
      index_dtype_(index_dtype),
      fanouts_(std::move(fanouts)),
      seed_(seed) {
  if (fanouts_.empty()) throw input_error("--fanouts: at least one layer is needed");
  for (auto f : fanouts_)
    if (f == 0 || f < -1 || f > kMaxFanout)
      throw input_error("--fanouts: fanout " + std::to_string(f) + " is invalid: use a positive count up to " +
                        std::to_string(kMaxFanout) + ", or -1 for all neighbours");
  TG_EXPECTS(index_dtype == dtype::int32 || index_dtype == dtype::int64, "index dtype");
}

neighbor_sampler::neighbor_sampler(const dataset& d, std::vector<std::int64_t> fanouts, std::uint64_t seed)
    : neighbor_sampler(d.num_nodes(), d.indptr().as<std::int64_t>().data(), d.indices().raw(), d.indices().type(),
                       std::move(fanouts), seed) {
  // A mapped CSR larger than the memory this process may use is paged in on demand at random
  // places: one page per fault, not the kernel's read-around window, which would read ~32x more
  // from disk than sampling touches (measured: > 10x slower; bench/results/sampler_paged_cpu.md).
  const std::uint64_t csr = d.indptr().nbytes() + d.indices().nbytes();
  if (csr > usable_memory_bytes() / 10 * 8) {
    advise_access(d.indptr(), true);
    advise_access(d.indices(), true);
  }
}

void neighbor_sampler::set_node_keys(span<const std::int64_t> keys) {
  if (!keys.empty() && static_cast<std::int64_t>(keys.size()) != num_nodes_)
    throw input_error("node keys: " + std::to_string(keys.size()) + " entries for " + std::to_string(num_nodes_) +
                      " nodes");
  node_keys_ = keys;
}

void neighbor_sampler::reset_map(std::size_t expected) {
  std::size_t cap = 16;
  while (cap < 2 * expected) cap <<= 1;
  if (map_keys_.size() < cap) {
    map_keys_.assign(cap, -1);
    map_vals_.resize(cap);
  } else {
    std::fill(map_keys_.begin(), map_keys_.begin() + static_cast<std::ptrdiff_t>(cap), -1);
  }
  map_mask_ = cap - 1;
}

std::int32_t neighbor_sampler::local_id(std::int64_t global, block* b) {
  std::size_t h = static_cast<std::size_t>(mix64(static_cast<std::uint64_t>(global))) & map_mask_;
  while (true) {
    const std::int64_t k = map_keys_[h];
    if (k == global) return map_vals_[h];
    if (k == -1) {
      const auto id = static_cast<std::int32_t>(b->src_nodes.size());
      map_keys_[h] = global;
      map_vals_[h] = id;
      b->src_nodes.push_back(global);
      return id;
    }
    h = (h + 1) & map_mask_;
  }
}

// The serial relabelling's result (new sources numbered from nd in the order of their first edge),
// computed in parallel passes over the edges. map: the destinations' ids set, every other entry -1;
// during the passes an entry <= -2 means "claimed by edge -(entry) - 2".
void neighbor_sampler::relabel_parallel(std::int64_t ne, std::int64_t nd, std::int32_t* map, block* b) {
  const std::int64_t* picked = picked_.data();
  auto load = [](const std::int32_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); };
  constexpr std::int64_t chunk = 1 << 14;
  // Allocated before any claim is written: nothing below can throw and leave claims in the map (src
  // was reserved for nd + ne entries by the caller).
  const std::int64_t nchunks = (ne + chunk - 1) / chunk;
  std::vector<std::int64_t> first(static_cast<std::size_t>(nchunks) + 1, 0);
  // 1. Each unmapped node is claimed by its smallest edge index.
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, ne, chunk), [&](const auto& r) {
    for (std::int64_t e = r.begin(); e < r.end(); ++e) {
      std::int32_t* slot = map + picked[e];
      const auto mine = static_cast<std::int32_t>(-e - 2);
      std::int32_t cur = load(slot);
      while (cur == -1 || cur < mine)  // free, or claimed by a later edge
        if (__atomic_compare_exchange_n(slot, &cur, mine, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) break;
    }
  });
  // 2. First edges per fixed chunk, then their new ids in edge order.
  tbb::parallel_for(std::int64_t{0}, nchunks, [&](std::int64_t c) {
    std::int64_t n = 0;
    for (std::int64_t e = c * chunk, end = std::min(ne, e + chunk); e < end; ++e)
      n += load(map + picked[e]) == static_cast<std::int32_t>(-e - 2);
    first[static_cast<std::size_t>(c) + 1] = n;
  });
  for (std::int64_t c = 0; c < nchunks; ++c) first[c + 1] += first[c];
  std::vector<std::int64_t>& src = b->src_nodes;
  src.resize(static_cast<std::size_t>(nd + first[nchunks]));
  tbb::parallel_for(std::int64_t{0}, nchunks, [&](std::int64_t c) {
    std::int64_t id = nd + first[c];
    for (std::int64_t e = c * chunk, end = std::min(ne, e + chunk); e < end; ++e) {
      std::int32_t* slot = map + picked[e];
      if (load(slot) != static_cast<std::int32_t>(-e - 2)) continue;
      __atomic_store_n(slot, static_cast<std::int32_t>(id), __ATOMIC_RELAXED);
      src[static_cast<std::size_t>(id++)] = picked[e];
    }
  });
  // 3. Every edge's source id.
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, ne, chunk), [&](const auto& r) {
    for (std::int64_t e = r.begin(); e < r.end(); ++e) b->indices[e] = map[picked[e]];
  });
}

template <typename index_t>
void neighbor_sampler::sample_hop(int hop, std::int64_t epoch, std::int64_t batch, block* b) {
  // Prefetch distances, in destinations (kFar: their indptr entries, kNear: the first lines of their
  // rows) and in sampled edges (kMapAhead: their relabelling map slots). The nodes of a hop are random,
  // so hardware prefetchers cannot follow them. On the 1M-node community graph (sampler_bench, 2
  // threads, 15,10,5) 22-25M -> 36-37M sampled edges/s (distances without the map prefetch: 8/4
  // 32-34M, 16/8 30-32M, 32/16 33-35M, 64/32 28-31M; the map prefetch +1-3%); on cnr-2000, uk-2007-05
  // and Slashdot, whose CSR sits in cache, -1 to +9%. No value changes.
  constexpr std::int64_t kFar = 8, kNear = 4, kMapAhead = 32;
  const auto* idx = static_cast<const index_t*>(indices_);
  const std::int64_t fanout = fanouts_[hop];
  const std::int64_t nd = b->num_dst;
  const std::int64_t* dst = dst_buffer_.data();
  b->indptr.resize(static_cast<std::size_t>(nd) + 1);
  b->indptr[0] = 0;
  for (std::int64_t i = 0; i < nd; ++i) {
    if (i + kFar < nd) __builtin_prefetch(indptr_ + dst[i + kFar]);
    const std::int64_t v = dst[i];
    b->indptr[i + 1] = b->indptr[i] + sample_count(indptr_[v + 1] - indptr_[v], fanout);
  }
  const std::int64_t ne = b->indptr[nd];
  picked_.resize(static_cast<std::size_t>(ne));
  const counter_rng rng = hop_rng(seed_, epoch, batch, hop);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, nd, 64), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i < r.end(); ++i) {
      // indptr entries kFar destinations ahead, then (once those have arrived) rows kNear ahead
      if (i + kFar < r.end()) __builtin_prefetch(indptr_ + dst[i + kFar]);
      if (i + kNear < r.end()) {
        const std::int64_t w = dst[i + kNear];
        const char* row = reinterpret_cast<const char*>(idx + indptr_[w]);
        __builtin_prefetch(row);
        if ((indptr_[w + 1] - indptr_[w]) * static_cast<std::int64_t>(sizeof(index_t)) > 64)
          __builtin_prefetch(row + 64);
      }
      const std::int64_t v = dst[i];
      const std::int64_t start = indptr_[v], deg = indptr_[v + 1] - start;
      std::int64_t* out = picked_.data() + b->indptr[i];
      const std::int64_t k = b->indptr[i + 1] - b->indptr[i];
      select_positions(rng, node_keys_.empty() ? v : node_keys_[static_cast<std::size_t>(v)], deg, k, out);
      for (std::int64_t q = 0; q < k; ++q) out[q] = static_cast<std::int64_t>(idx[start + out[q]]);
    }
  });
  // Relabel in edge order: destinations keep their local ids, new sources are appended.
  b->src_nodes.resize(0);
  b->src_nodes.reserve(static_cast<std::size_t>(nd + ne));
  b->indices.resize(static_cast<std::size_t>(ne));
  if (num_nodes_ <= kDenseMapMaxNodes) {
    // A node-indexed map (one array read per lookup, no hashing), back to -1 after the hop.
    if (static_cast<std::int64_t>(dense_map_.size()) != num_nodes_)
      dense_map_.assign(static_cast<std::size_t>(num_nodes_), -1);
    std::int32_t* map = dense_map_.data();
    std::vector<std::int64_t>& src = b->src_nodes;
    auto id_of = [&](std::int64_t g) {
      std::int32_t& slot = map[g];
      if (slot < 0) {
        slot = static_cast<std::int32_t>(src.size());
        src.push_back(g);
      }
      return slot;
    };
    auto clear = [&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, src.size(), 1 << 14), [&](const auto& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) map[src[i]] = -1;
      });
    };
    for (std::int64_t i = 0; i < nd; ++i) {
      const std::int64_t v = dst_buffer_[static_cast<std::size_t>(i)];
      if (id_of(v) != i) {
        clear();
        throw input_error("seed node " + std::to_string(v) + " appears twice in a batch");
      }
    }
    if (ne >= kParallelRelabelMinEdges && ne < std::numeric_limits<std::int32_t>::max() - 2 &&
        tbb::this_task_arena::max_concurrency() >= parallel_relabel_min_threads_)
      relabel_parallel(ne, nd, map, b);
    else
      for (std::int64_t e = 0; e < ne; ++e) {
        if (e + kMapAhead < ne) __builtin_prefetch(map + picked_[static_cast<std::size_t>(e + kMapAhead)]);
        b->indices[e] = id_of(picked_[e]);
      }
    clear();
  } else {
    reset_map(static_cast<std::size_t>(nd + ne));
    for (std::int64_t i = 0; i < nd; ++i) {
      const std::int64_t v = dst_buffer_[static_cast<std::size_t>(i)];
      if (local_id(v, b) != i) throw input_error("seed node " + std::to_string(v) + " appears twice in a batch");
    }
    for (std::int64_t e = 0; e < ne; ++e) b->indices[e] = local_id(picked_[e], b);
  }
  b->src_degree.resize(b->src_nodes.size());
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, b->src_nodes.size(), 1 << 12), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      if (i + kFar < r.end()) __builtin_prefetch(indptr_ + b->src_nodes[i + kFar]);
      b->src_degree[i] = indptr_[b->src_nodes[i] + 1] - indptr_[b->src_nodes[i]];
    }
  });
}

void neighbor_sampler::sample(span<const std::int64_t> seeds, std::int64_t epoch, std::int64_t batch,
                              sampled_batch* out) {
  const int L = num_layers();
  out->blocks.resize(static_cast<std::size_t>(L));
  for (std::int64_t s : seeds)
    if (s < 0 || s >= num_nodes_)
      throw input_error("seed node " + std::to_string(s) + " is outside [0, " + std::to_string(num_nodes_) + ")");
  // Hop h fills block L-1-h; its destinations are the previous hop's sources.
  std::vector<std::int64_t> frontier(seeds.begin(), seeds.end());
  for (int hop = 0; hop < L; ++hop) {
    block* b = &out->blocks[static_cast<std::size_t>(L - 1 - hop)];
    dst_buffer_.swap(frontier);
    b->num_dst = static_cast<std::int64_t>(dst_buffer_.size());
    if (index_dtype_ == dtype::int32)
      sample_hop<std::int32_t>(hop, epoch, batch, b);
    else
      sample_hop<std::int64_t>(hop, epoch, batch, b);
    frontier.assign(b->src_nodes.begin(), b->src_nodes.end());
  }
}

}  // namespace tg
