#include "tiering/ledger.hpp"

#include <cstdio>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace tg {

traffic& traffic::operator+=(const traffic& o) {
  TG_EXPECTS(row_bytes == 0 || o.row_bytes == 0 || row_bytes == o.row_bytes, "ledgers of different row sizes");
  if (row_bytes == 0) row_bytes = o.row_bytes;
  TG_EXPECTS(exchange_row_bytes == 0 || o.exchange_row_bytes == 0 || exchange_row_bytes == o.exchange_row_bytes,
             "ledgers of different exchanged row sizes");
  if (exchange_row_bytes == 0) exchange_row_bytes = o.exchange_row_bytes;
  batches += o.batches;
  gpu_rows += o.gpu_rows;
  peer_rows += o.peer_rows;
  host_rows += o.host_rows;
  disk_rows += o.disk_rows;
  replica_rows += o.replica_rows;
  remote_rows += o.remote_rows;
  network_bytes += o.network_bytes;
  return *this;
}

nlohmann::json traffic::to_json() const {
  nlohmann::json j = {{"batches", batches},
                      {"rows", {{"gpu", gpu_rows}, {"peer", peer_rows}, {"host", host_rows}, {"disk", disk_rows}}},
                      {"bytes",
                       {{"gpu", gpu_bytes()},
                        {"peer", peer_bytes()},
                        {"host_to_gpu", host_to_gpu_bytes()},
                        {"disk_to_host", disk_to_host_bytes()},
                        {"no_cache_host_to_gpu", baseline_bytes()}}},
                      {"gpu_hit_rate", gpu_hit_rate()},
                      {"reduction_vs_no_cache", reduction()}};
  if (replica_rows > 0 || remote_rows > 0 || network_bytes > 0) {
    j["rows"]["replica"] = replica_rows;
    j["rows"]["remote"] = remote_rows;
    j["bytes"]["network"] = network_bytes;
  }
  return j;
}

std::string traffic::summary() const {
  char b[320];
  std::snprintf(b, sizeof b,
                "gpu tier %.1f%% of rows (%s), host->gpu %s, disk->host %s; %.1f%% less than no cache (%s)",
                100.0 * gpu_hit_rate(), format_bytes(static_cast<double>(gpu_bytes())).c_str(),
                format_bytes(static_cast<double>(host_to_gpu_bytes())).c_str(),
                format_bytes(static_cast<double>(disk_to_host_bytes())).c_str(), 100.0 * reduction(),
                format_bytes(static_cast<double>(baseline_bytes())).c_str());
  std::string out = b;
  if (peer_rows > 0)
    out += "; peer GPUs " +
           std::to_string(rows() ? 100.0 * static_cast<double>(peer_rows) / static_cast<double>(rows()) : 0.0)
               .substr(0, 4) +
           "% of rows (" + format_bytes(static_cast<double>(peer_bytes())) + ")";
  if (replica_rows > 0 || remote_rows > 0 || network_bytes > 0) {
    char r[200];
    const double all = static_cast<double>(rows());
    std::snprintf(r, sizeof r,
                  "; other machines' rows %.1f%% of rows (%.1f%% from local replicas, %.1f%% fetched; network %s)",
                  rows() ? 100.0 * static_cast<double>(replica_rows + remote_rows) / all : 0.0,
                  rows() ? 100.0 * static_cast<double>(replica_rows) / all : 0.0,
                  rows() ? 100.0 * static_cast<double>(remote_rows) / all : 0.0,
                  format_bytes(static_cast<double>(network_bytes)).c_str());
    out += r;
  }
  return out;
}

}  // namespace tg
