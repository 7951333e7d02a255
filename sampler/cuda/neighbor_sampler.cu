// GPU neighbour sampler (sampler/cuda_sampler.hpp): node-wise uniform sampling without replacement
// (GraphSAGE, Hamilton et al. NIPS'17) that yields exactly the blocks of the CPU sampler
// (sampler/neighbor_sampler.cpp) for the same (seed, epoch, batch, hop, node keys).
//
// Per hop, on the sampler's stream, for destinations dst[0..nd):
//   1. counts[i] = sample_count(deg(dst[i]), fanout), counts[nd] = 0; an exclusive scan over nd + 1
//      entries is the block indptr, and indptr[nd] = ne (read back to size the buffers).
//   2. One thread per destination draws its positions with the shared Floyd sampler
//      (select_positions, sampler/sampling_math.hpp) and maps them through the CSR indices. The
//      results go straight after the destinations, so cand[0..nd) = dst and cand[nd + e] = the
//      source of edge e: candidate positions are the CPU sampler's visiting order.
//   3. Relabelling: a stable radix sort of (node id, position) pairs groups equal ids with their
//      positions increasing, so each run's head carries the node's first position. Marking those
//      first positions in a flag array indexed by position and taking an exclusive scan gives each
//      unique node its rank in order of first appearance (destinations, being distinct and first,
//      keep ranks 0..nd-1); that rank is the local id. A scan of the head flags numbers the runs,
//      so every candidate finds its run's rank; edge candidates write it to indices[e].
//   4. src_degree from the CSR indptr. The sources become the next hop's destinations.
// All steps are deterministic, so the output does not depend on scheduling. The blocks stay in
// per-layer device buffers; sample() copies them to the host. Scratch buffers (and CUB's temporary
// storage) only grow, so a warm sampler allocates nothing per batch.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>
#include <utility>

#include "core/cuda/check.cuh"
#include "core/device.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "sampler/cuda_sampler.hpp"
#include "sampler/sampling_math.hpp"

namespace tg {

namespace {

constexpr int kThreads = 256;

unsigned int grid_for(std::int64_t n) {
  return static_cast<unsigned int>((n + kThreads - 1) / kThreads);
}

__device__ std::int64_t thread_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// counts[i] = edges drawn for destination i; counts[nd] = 0 so that an exclusive scan over nd + 1
// entries ends with the total.
__global__ void count_kernel(const std::int64_t* dst, std::int64_t nd, const std::int64_t* indptr, std::int64_t fanout,
                             std::int64_t* counts) {
  const std::int64_t i = thread_index();
  if (i > nd) return;
  if (i == nd) {
    counts[nd] = 0;
    return;
  }
  const std::int64_t v = dst[i];
  counts[i] = sample_count(indptr[v + 1] - indptr[v], fanout);
}

// One thread per destination: positions by Floyd's algorithm (as the CPU sampler), then global ids.
template <typename index_t>
__global__ void draw_kernel(counter_rng rng, const std::int64_t* dst, std::int64_t nd, const std::int64_t* indptr,
                            const index_t* indices, const std::int64_t* node_keys, const std::int64_t* block_indptr,
                            std::int64_t* picked) {
  const std::int64_t i = thread_index();
  if (i >= nd) return;
  const std::int64_t v = dst[i];
  const std::int64_t start = indptr[v], deg = indptr[v + 1] - start;
  std::int64_t* out = picked + block_indptr[i];
  const std::int64_t k = block_indptr[i + 1] - block_indptr[i];
  select_positions(rng, node_keys ? node_keys[v] : v, deg, k, out);
  for (std::int64_t q = 0; q < k; ++q) out[q] = static_cast<std::int64_t>(indices[start + out[q]]);
}

__global__ void iota_kernel(std::int64_t* out, std::int64_t n) {
  const std::int64_t i = thread_index();
  if (i < n) out[i] = i;
}

// Over the candidates sorted by node id: head[j] = 1 where a run of equal ids starts, and the run's
// first position (its head's, the sort being stable) is flagged in is_first.
__global__ void mark_heads_kernel(const std::uint64_t* sorted_key, const std::int64_t* sorted_pos, std::int64_t m,
                                  std::int64_t* head, std::int64_t* is_first) {
  const std::int64_t j = thread_index();
  if (j >= m) return;
  const bool h = j == 0 || sorted_key[j] != sorted_key[j - 1];
  head[j] = h ? 1 : 0;
  if (h) is_first[sorted_pos[j]] = 1;
}

// Heads: the run's local id is the rank of its first position; the head writes the source node.
// run_id is the inclusive scan of the head flags (1-based).
__global__ void rank_runs_kernel(const std::uint64_t* sorted_key, const std::int64_t* sorted_pos,
                                 const std::int64_t* head, const std::int64_t* run_id, const std::int64_t* rank_at,
                                 std::int64_t m, std::int64_t* run_rank, std::int64_t* src_nodes) {
  const std::int64_t j = thread_index();
  if (j >= m || head[j] == 0) return;
  const std::int64_t r = rank_at[sorted_pos[j]];
  run_rank[run_id[j] - 1] = r;
  src_nodes[r] = static_cast<std::int64_t>(sorted_key[j]);
}

// Every edge candidate (position nd + e) takes its run's local id.
__global__ void write_indices_kernel(const std::int64_t* sorted_pos, const std::int64_t* run_id,
                                     const std::int64_t* run_rank, std::int64_t m, std::int64_t nd,
                                     std::int32_t* indices) {
  const std::int64_t j = thread_index();
  if (j >= m) return;
  const std::int64_t p = sorted_pos[j];
  if (p >= nd) indices[p - nd] = static_cast<std::int32_t>(run_rank[run_id[j] - 1]);
}

__global__ void degree_kernel(const std::int64_t* nodes, std::int64_t n, const std::int64_t* indptr,
                              std::int64_t* degree) {
  const std::int64_t i = thread_index();
  if (i >= n) return;
  const std::int64_t v = nodes[i];
  degree[i] = indptr[v + 1] - indptr[v];
}

void validate_fanouts(const std::vector<std::int64_t>& fanouts) {
  if (fanouts.empty()) throw input_error("fanouts: at least one layer is needed");
  for (auto f : fanouts)
    if (f == 0 || f < -1 || f > kMaxFanout)
      throw input_error("fanout " + std::to_string(f) + " is invalid: use a positive count up to " +
                        std::to_string(kMaxFanout) + ", or -1 for all neighbours");
}

// Bits needed for node ids in [0, num_nodes): the radix sort skips the rest.
int key_bits(std::int64_t num_nodes) {
  int bits = 1;
  while (bits < 63 && (std::uint64_t{1} << bits) < static_cast<std::uint64_t>(num_nodes)) ++bits;
  return bits;
}

}  // namespace

// One block's arrays on the device (layout as tg::block), grown and reused across batches.
struct device_block {
  gpu::device_buffer<std::int64_t> src_nodes, indptr, src_degree;
  gpu::device_buffer<std::int32_t> indices;
  std::int64_t num_dst = 0, num_src = 0, num_edges = 0;
};

struct cuda_neighbor_sampler::impl {
  impl(std::int64_t num_nodes_, const std::int64_t* host_indptr, const void* host_indices, dtype index_dtype_,
       std::vector<std::int64_t> fanouts_, std::uint64_t seed_, csr_placement where_)
      : num_nodes(num_nodes_),
        index_dtype(index_dtype_),
        fanouts(std::move(fanouts_)),
        seed(seed_),
        where(where_),
        end_bit(key_bits(num_nodes_)),
        scalar(1),
        blocks(fanouts.size()) {
    const auto n1 = static_cast<std::size_t>(num_nodes) + 1;
    const auto index_bytes = static_cast<std::size_t>(host_indptr[num_nodes]) * dtype_size(index_dtype);
    if (where == csr_placement::device) {
      indptr_dev = gpu::device_buffer<std::int64_t>(n1);
      indices_dev = gpu::device_buffer<std::uint8_t>(index_bytes);
      gpu::copy_async(indptr_dev.data(), host_indptr, n1 * sizeof(std::int64_t), stream);
      gpu::copy_async(indices_dev.data(), host_indices, index_bytes, stream);
      stream.synchronize();
      indptr = indptr_dev.data();
      indices = indices_dev.data();
    } else {
      indptr_pinned = gpu::pinned_buffer<std::int64_t>(n1);
      indices_pinned = gpu::pinned_buffer<std::uint8_t>(index_bytes);
      std::memcpy(indptr_pinned.data(), host_indptr, n1 * sizeof(std::int64_t));
      if (index_bytes > 0) std::memcpy(indices_pinned.data(), host_indices, index_bytes);
      indptr = indptr_pinned.device_data();
      indices = indices_pinned.device_data();
    }
  }
  ~impl() {
    // After an exception work may still be queued; let it finish before the buffers are freed.
    if (stream.handle()) (void)cudaStreamSynchronize(cuda_stream());
  }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  cudaStream_t cuda_stream() const { return static_cast<cudaStream_t>(stream.handle()); }

  // Grows a buffer, first letting queued work that may still use the old allocation finish.
  template <typename buffer_t>
  void grow(buffer_t& b, std::size_t n) {
    if (n <= b.size()) return;
    stream.synchronize();
    b.reserve(n);
  }

  // call(temp, bytes) is a CUB device algorithm on our stream: size query, then the run.
  template <typename F>
  void run_cub(F&& call) {
    std::size_t bytes = 0;
    TG_CUDA_TRY(call(nullptr, bytes));
    grow(cub_temp, std::max<std::size_t>(bytes, 1));
    bytes = cub_temp.size();
    TG_CUDA_TRY(call(cub_temp.data(), bytes));
  }

  // Reads one device value on the host (waits for the stream).
  std::int64_t read_scalar(const std::int64_t* device_value) {
    gpu::copy_async(scalar.data(), device_value, sizeof(std::int64_t), stream);
    stream.synchronize();
    return scalar.data()[0];
  }

  void set_keys(span<const std::int64_t> keys) {
    stream.synchronize();  // queued draws may still read the old keys
    node_keys = nullptr;
    if (keys.empty()) return;
    const std::size_t n = keys.size();
    if (where == csr_placement::device) {
      if (keys_dev.size() < n) keys_dev = gpu::device_buffer<std::int64_t>(n);
      gpu::copy_async(keys_dev.data(), keys.data(), n * sizeof(std::int64_t), stream);
      stream.synchronize();
      node_keys = keys_dev.data();
    } else {
      if (keys_pinned.size() < n) keys_pinned = gpu::pinned_buffer<std::int64_t>(n);
      std::memcpy(keys_pinned.data(), keys.data(), n * sizeof(std::int64_t));
      node_keys = keys_pinned.device_data();
    }
  }

  // Checks the seeds as the CPU sampler does (range first, then duplicates), then samples every hop
  // into `blocks` and waits for the device.
  void run(span<const std::int64_t> seed_nodes, std::int64_t epoch, std::int64_t batch) {
    for (std::int64_t s : seed_nodes)
      if (s < 0 || s >= num_nodes)
        throw input_error("seed node " + std::to_string(s) + " is outside [0, " + std::to_string(num_nodes) + ")");
    {
      std::unordered_set<std::int64_t> seen;
      seen.reserve(seed_nodes.size());
      for (std::int64_t s : seed_nodes)
        if (!seen.insert(s).second) throw input_error("seed node " + std::to_string(s) + " appears twice in a batch");
    }
    const auto n = seed_nodes.size();
    stream.synchronize();  // after an earlier failure a copy from seeds_host may still be queued
    grow(seeds_host, n);
    grow(seeds, n);
    if (n > 0) std::memcpy(seeds_host.data(), seed_nodes.data(), n * sizeof(std::int64_t));
    gpu::copy_async(seeds.data(), seeds_host.data(), n * sizeof(std::int64_t), stream);

    // Hop h fills block L-1-h; its destinations are the previous hop's sources.
    const int L = static_cast<int>(fanouts.size());
    const std::int64_t* dst = seeds.data();
    auto nd = static_cast<std::int64_t>(n);
    for (int hop = 0; hop < L; ++hop) {
      device_block& b = blocks[static_cast<std::size_t>(L - 1 - hop)];
      if (index_dtype == dtype::int32)
        sample_hop<std::int32_t>(hop, epoch, batch, dst, nd, b);
      else
        sample_hop<std::int64_t>(hop, epoch, batch, dst, nd, b);
      dst = b.src_nodes.data();
      nd = b.num_src;
    }
    stream.synchronize();
  }

  template <typename index_t>
  void sample_hop(int hop, std::int64_t epoch, std::int64_t batch, const std::int64_t* dst, std::int64_t nd,
                  device_block& b) {
    const cudaStream_t s = cuda_stream();
    const std::int64_t fanout = fanouts[static_cast<std::size_t>(hop)];
    const auto und = static_cast<std::size_t>(nd);
    b.num_dst = nd;
    grow(b.indptr, und + 1);
    if (nd == 0) {
      gpu::memset_async(b.indptr.data(), 0, sizeof(std::int64_t), stream);
      b.num_edges = 0;
      b.num_src = 0;
      return;
    }

    // Block CSR: per-destination counts, exclusive scan over nd + 1 entries (the last is 0).
    grow(counts, und + 1);
    count_kernel<<<grid_for(nd + 1), kThreads, 0, s>>>(dst, nd, indptr, fanout, counts.data());
    TG_CUDA_CHECK_LAUNCH();
    std::int64_t* block_indptr = b.indptr.data();
    run_cub([&](void* t, std::size_t& bytes) {
      return cub::DeviceScan::ExclusiveSum(t, bytes, counts.data(), block_indptr, nd + 1, s);
    });
    const std::int64_t ne = read_scalar(block_indptr + nd);
    b.num_edges = ne;

    // Candidates in the CPU sampler's visiting order: destinations, then the source of each edge.
    const std::int64_t m = nd + ne;
    const auto um = static_cast<std::size_t>(m);
    grow(cand_key, um);
    grow(cand_pos, um);
    grow(sorted_key, um);
    grow(sorted_pos, um);
    grow(head, um);
    grow(run_id, um);
    grow(run_rank, um);
    grow(is_first, um + 1);
    grow(rank_at, um + 1);
    grow(b.src_nodes, um);
    grow(b.indices, static_cast<std::size_t>(ne));
    gpu::copy_async(cand_key.data(), dst, und * sizeof(std::int64_t), stream);
    draw_kernel<index_t><<<grid_for(nd), kThreads, 0, s>>>(hop_rng(seed, epoch, batch, hop), dst, nd, indptr,
                                                           static_cast<const index_t*>(indices), node_keys,
                                                           block_indptr, cand_key.data() + nd);
    TG_CUDA_CHECK_LAUNCH();
    iota_kernel<<<grid_for(m), kThreads, 0, s>>>(cand_pos.data(), m);
    TG_CUDA_CHECK_LAUNCH();

    // Group equal ids; stability keeps each group's positions increasing. Ids are in [0, N), so
    // their bits read as unsigned are the same and only end_bit of them need sorting.
    const auto* keys_in = reinterpret_cast<const std::uint64_t*>(cand_key.data());
    run_cub([&](void* t, std::size_t& bytes) {
      return cub::DeviceRadixSort::SortPairs(t, bytes, keys_in, sorted_key.data(),
                                             static_cast<const std::int64_t*>(cand_pos.data()), sorted_pos.data(), m, 0,
                                             end_bit, s);
    });

    // Local id of a node = rank of its first position among all first positions.
    gpu::memset_async(is_first.data(), 0, (um + 1) * sizeof(std::int64_t), stream);
    mark_heads_kernel<<<grid_for(m), kThreads, 0, s>>>(sorted_key.data(), sorted_pos.data(), m, head.data(),
                                                       is_first.data());
    TG_CUDA_CHECK_LAUNCH();
    run_cub([&](void* t, std::size_t& bytes) {
      return cub::DeviceScan::InclusiveSum(t, bytes, head.data(), run_id.data(), m, s);
    });
    run_cub([&](void* t, std::size_t& bytes) {
      return cub::DeviceScan::ExclusiveSum(t, bytes, is_first.data(), rank_at.data(), m + 1, s);
    });
    const std::int64_t num_src = read_scalar(rank_at.data() + m);
    b.num_src = num_src;
    grow(b.src_degree, static_cast<std::size_t>(num_src));
    rank_runs_kernel<<<grid_for(m), kThreads, 0, s>>>(sorted_key.data(), sorted_pos.data(), head.data(), run_id.data(),
                                                      rank_at.data(), m, run_rank.data(), b.src_nodes.data());
    TG_CUDA_CHECK_LAUNCH();
    if (ne > 0) {
      write_indices_kernel<<<grid_for(m), kThreads, 0, s>>>(sorted_pos.data(), run_id.data(), run_rank.data(), m, nd,
                                                            b.indices.data());
      TG_CUDA_CHECK_LAUNCH();
    }
    degree_kernel<<<grid_for(num_src), kThreads, 0, s>>>(b.src_nodes.data(), num_src, indptr, b.src_degree.data());
    TG_CUDA_CHECK_LAUNCH();
  }

  void copy_out(sampled_batch* out) {
    out->blocks.resize(blocks.size());
    for (std::size_t l = 0; l < blocks.size(); ++l) {
      const device_block& d = blocks[l];
      block& h = out->blocks[l];
      h.num_dst = d.num_dst;
      h.src_nodes.resize(static_cast<std::size_t>(d.num_src));
      h.indptr.resize(static_cast<std::size_t>(d.num_dst) + 1);
      h.indices.resize(static_cast<std::size_t>(d.num_edges));
      h.src_degree.resize(static_cast<std::size_t>(d.num_src));
      gpu::copy_async(h.src_nodes.data(), d.src_nodes.data(), h.src_nodes.size() * sizeof(std::int64_t), stream);
      gpu::copy_async(h.indptr.data(), d.indptr.data(), h.indptr.size() * sizeof(std::int64_t), stream);
      gpu::copy_async(h.indices.data(), d.indices.data(), h.indices.size() * sizeof(std::int32_t), stream);
      gpu::copy_async(h.src_degree.data(), d.src_degree.data(), h.src_degree.size() * sizeof(std::int64_t), stream);
    }
    stream.synchronize();
  }

  std::int64_t num_nodes;
  dtype index_dtype;
  std::vector<std::int64_t> fanouts;
  std::uint64_t seed;
  csr_placement where;
  int end_bit;
  int device = gpu::current_device();
  gpu::stream stream;  // on `device`, which is current while the members are built

  // The CSR, in device memory or mapped pinned host memory; indptr/indices are device addresses.
  gpu::device_buffer<std::int64_t> indptr_dev;
  gpu::device_buffer<std::uint8_t> indices_dev;
  gpu::pinned_buffer<std::int64_t> indptr_pinned;
  gpu::pinned_buffer<std::uint8_t> indices_pinned;
  const std::int64_t* indptr = nullptr;
  const void* indices = nullptr;
  // Node keys for the draws (null: the node id), placed like the CSR.
  gpu::device_buffer<std::int64_t> keys_dev;
  gpu::pinned_buffer<std::int64_t> keys_pinned;
  const std::int64_t* node_keys = nullptr;

  gpu::pinned_buffer<std::int64_t> seeds_host;
  gpu::device_buffer<std::int64_t> seeds;
  gpu::pinned_buffer<std::int64_t> scalar;
  std::vector<device_block> blocks;  // blocks[0] = input side, as sampled_batch

  // Per-hop scratch.
  gpu::device_buffer<std::int64_t> counts, cand_key, cand_pos, sorted_pos, head, run_id, run_rank, is_first, rank_at;
  gpu::device_buffer<std::uint64_t> sorted_key;
  gpu::device_buffer<std::uint8_t> cub_temp;
};

cuda_neighbor_sampler::cuda_neighbor_sampler(std::int64_t num_nodes, const std::int64_t* indptr, const void* indices,
                                             dtype index_dtype, std::vector<std::int64_t> fanouts, std::uint64_t seed,
                                             csr_placement where) {
  validate_fanouts(fanouts);
  TG_EXPECTS(index_dtype == dtype::int32 || index_dtype == dtype::int64, "index dtype");
  TG_EXPECTS(num_nodes >= 0 && indptr != nullptr, "CSR with ", num_nodes, " nodes");
  if (cuda_device_count() == 0)
    throw cuda_error("GPU sampling needs a CUDA device and this machine has none (use the CPU sampler)");
  impl_ = std::make_unique<impl>(num_nodes, indptr, indices, index_dtype, std::move(fanouts), seed, where);
}

cuda_neighbor_sampler::cuda_neighbor_sampler(const dataset& d, std::vector<std::int64_t> fanouts, std::uint64_t seed,
                                             csr_placement where)
    : cuda_neighbor_sampler(d.num_nodes(), d.indptr().as<std::int64_t>().data(), d.indices().raw(), d.indices().type(),
                            std::move(fanouts), seed, where) {}

cuda_neighbor_sampler::~cuda_neighbor_sampler() = default;

void cuda_neighbor_sampler::set_node_keys(span<const std::int64_t> keys) {
  if (!keys.empty() && static_cast<std::int64_t>(keys.size()) != impl_->num_nodes)
    throw input_error("node keys: " + std::to_string(keys.size()) + " entries for " + std::to_string(impl_->num_nodes) +
                      " nodes");
  const gpu::device_scope scope(impl_->device);
  impl_->set_keys(keys);
}

int cuda_neighbor_sampler::num_layers() const {
  return static_cast<int>(impl_->fanouts.size());
}

csr_placement cuda_neighbor_sampler::placement() const {
  return impl_->where;
}

void cuda_neighbor_sampler::sample(span<const std::int64_t> seeds, std::int64_t epoch, std::int64_t batch,
                                   sampled_batch* out) {
  const gpu::device_scope scope(impl_->device);
  impl_->run(seeds, epoch, batch);
  impl_->copy_out(out);
}

std::int64_t cuda_neighbor_sampler::sample_on_device(span<const std::int64_t> seeds, std::int64_t epoch,
                                                     std::int64_t batch) {
  const gpu::device_scope scope(impl_->device);
  impl_->run(seeds, epoch, batch);
  std::int64_t edges = 0;
  for (const auto& b : impl_->blocks) edges += b.num_edges;
  return edges;
}

}  // namespace tg
