#pragma once
// The traffic ledger (DESIGN.md §4): rows and bytes that each batch's feature gather takes from each
// tier, per batch and per epoch, next to what a no-cache baseline would move (every input row of the
// batch from host memory to the GPU; a batch's input nodes are distinct, and an id a caller requests
// twice in one gather is counted twice). Counts depend only on the ids and the tier boundaries,
// so they are exact and identical for any backend and thread count.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace tg {

struct traffic {
  std::int64_t batches = 0;
  std::int64_t gpu_rows = 0, host_rows = 0, disk_rows = 0;  // rows served by each tier
  std::int64_t peer_rows = 0;  // multi-GPU shared tier: rows read from a peer GPU's stripe (NVLink/PCIe P2P)
  // Features sharded across machines (multigpu/sharded_store.hpp): rows owned by another machine,
  // served from this machine's replica of them (replica_rows, host memory) or fetched over the
  // network in the batch's exchange (remote_rows); network_bytes: what this rank's gathers moved
  // over the network (the ids it asked for plus the rows it received).
  std::int64_t replica_rows = 0, remote_rows = 0, network_bytes = 0;
  std::int64_t row_bytes = 0;
  // The size of a replicated or remote row where it differs from row_bytes (0: the same): a sharded
  // store holds and exchanges float16 rows as float32.
  std::int64_t exchange_row_bytes = 0;

  std::int64_t rows() const { return gpu_rows + peer_rows + host_rows + disk_rows + replica_rows + remote_rows; }
  std::int64_t peer_bytes() const { return peer_rows * row_bytes; }
  std::int64_t other_machines_bytes() const {
    return (replica_rows + remote_rows) * (exchange_row_bytes > 0 ? exchange_row_bytes : row_bytes);
  }
  // Bytes that cross into the GPU: host rows (host -> GPU), disk rows (disk -> host -> GPU), and
  // replicated or remote rows of a sharded store (host memory -> GPU).
  std::int64_t host_to_gpu_bytes() const { return (host_rows + disk_rows) * row_bytes + other_machines_bytes(); }
  std::int64_t disk_to_host_bytes() const { return disk_rows * row_bytes; }
  std::int64_t gpu_bytes() const { return gpu_rows * row_bytes; }
  // The no-cache baseline: every input row from host memory (other machines' rows at their size).
  std::int64_t baseline_bytes() const {
    return (rows() - replica_rows - remote_rows) * row_bytes + other_machines_bytes();
  }
  double gpu_hit_rate() const { return rows() ? static_cast<double>(gpu_rows) / rows() : 0.0; }
  // Share of rows served by some GPU: this one's tier or a peer's stripe (multi-GPU shared tier).
  double any_gpu_hit_rate() const { return rows() ? static_cast<double>(gpu_rows + peer_rows) / rows() : 0.0; }
  // Share of the baseline's host -> GPU bytes that the GPU tier saves.
  double reduction() const { return rows() ? 1.0 - static_cast<double>(host_to_gpu_bytes()) / baseline_bytes() : 0.0; }

  traffic& operator+=(const traffic& o);
  nlohmann::json to_json() const;
  // "gpu 62.1% of rows (1.2 GiB), host->gpu 0.8 GiB, disk->host 0.1 GiB; 71% less than no cache (2.7 GiB)"
  std::string summary() const;
};

}  // namespace tg
