// Where the ranks of a job run, and the shared GPU tier that follows (multigpu/topology.hpp).
#include "multigpu/topology.hpp"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/device.hpp"
#include "core/gpu_memory.hpp"
#include "core/log.hpp"
#include "tiering/shared_tier.hpp"

namespace tg {

bool same_host_p2p_clique(communicator& comm, int device) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a of the host name
  for (const char* p = host; *p; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  std::vector<std::uint64_t> hosts(static_cast<std::size_t>(comm.size()));
  comm.all_gather(&h, sizeof h, hosts.data());
  bool p2p = true;
  for (int q = 0; q < comm.size(); ++q) {
    p2p = p2p && hosts[static_cast<std::size_t>(q)] == h;
    if (p2p && q != device && q < cuda_device_count()) p2p = gpu::can_access_peer(device, q);
  }
  double votes = p2p ? 1 : 0;
  comm.all_reduce_sum(&votes, 1);
  return votes == comm.size();
}

void plan_shared_gpu_tier(communicator& comm, int device, std::int64_t num_nodes, std::int64_t row_bytes,
                          std::int64_t* g, std::int64_t* c, store_options* o) {
  shared_tier_config sc;
  sc.num_nodes = num_nodes;
  sc.row_bytes = row_bytes;
  sc.num_gpus = comm.size();
  sc.gpu_budget_bytes = static_cast<std::uint64_t>(*g) * static_cast<std::uint64_t>(row_bytes);
  sc.peer_to_peer = same_host_p2p_clique(comm, device);
  const shared_tier_plan sp = plan_shared_tier(sc);
  if (comm.rank() == 0)
    log_info("shared GPU tier over ", comm.size(), " GPUs",
             sc.peer_to_peer ? " (peer-to-peer clique)" : " (no P2P: replicated)", ":\n", sp.describe());
  if (sp.striped_rows() > 0) {
    o->shared_replicated = sp.replicated_rows();
    o->shared_k = comm.size();
    o->shared_rank = comm.rank();
    communicator* cc = &comm;
    o->shared_all_gather = [cc](const void* send, std::size_t bytes, void* recv) { cc->all_gather(send, bytes, recv); };
    *g = sp.striped_end();
    *c = std::max(*c, *g);
  }
}

}  // namespace tg
