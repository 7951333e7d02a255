#pragma once
// Where the ranks of a data-parallel job run, and what that means for the GPU feature tier
// (DESIGN.md §4, multi-GPU): ranks on one machine whose GPUs all reach each other peer-to-peer
// form a clique that can share one hot tier — the hottest band replicated on every GPU, the next
// striped across them (row r on GPU r mod k) and read over NVLink / PCIe P2P; otherwise every GPU
// holds the same rows.
#include <cstdint>

#include "multigpu/communicator.hpp"
#include "tiering/store.hpp"

namespace tg {

// True on every rank when all ranks run on one host and `device` reaches every other rank's GPU
// peer-to-peer (a collective: every rank must call it).
bool same_host_p2p_clique(communicator& comm, int device);

// Plans the shared GPU tier of a job with one GPU per rank: the plan's GPU rows (*g) are each GPU's
// budget. On a P2P clique, sets the store's shared band and widens *g (and *c) to the striped end.
// Rank 0 logs the plan. A collective.
void plan_shared_gpu_tier(communicator& comm, int device, std::int64_t num_nodes, std::int64_t row_bytes,
                          std::int64_t* g, std::int64_t* c, store_options* o);

}  // namespace tg
