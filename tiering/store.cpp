// The feature-store factory (tiering/store.hpp).
#include "tiering/store.hpp"

#include <cstdlib>
#include <string>

#include "tiering/cuda_feature_store.hpp"
#include "tiering/feature_store.hpp"

namespace tg {

std::unique_ptr<feature_store> make_feature_store(const dataset& d, std::int64_t g, std::int64_t c,
                                                  const store_options& o) {
  if (o.device == device_kind::cpu) return std::make_unique<tiered_store>(d, g, c, o.disk_readers, o.map_host_tier);
  cuda_tiered_store::options co;
  co.device = o.device_id;
  co.disk_readers = o.disk_readers;
  co.reserve_bytes = o.reserve_bytes;
  co.cpu_gather_copy = o.cpu_gather_copy;
  // An unprepared dataset's host tier (every row) is a pinned copy too, not the file's mapping pinned in
  // place: on an H200 machine (Firecracker VM, kernel 6.18, driver 580) cudaHostRegister of a 488 MiB
  // read-only file mapping never returned (a 195 MiB one did), while pinned copies of the same size
  // worked. TIERGNN_CUDA_REGISTER_FILE=1 asks for the in-place registration (no second copy in RAM).
  const char* reg = std::getenv("TIERGNN_CUDA_REGISTER_FILE");
  co.register_host_tier = o.map_host_tier && reg && std::string(reg) == "1";
  co.shared.replicated = o.shared_replicated;
  co.shared.k = o.shared_k;
  co.shared.rank = o.shared_rank;
  co.shared.all_gather = o.shared_all_gather;
  return std::make_unique<cuda_tiered_store>(d, g, c, co);
}

std::unique_ptr<feature_store> make_feature_store(const feature_file& f, std::int64_t g, std::int64_t c,
                                                  const store_options& o) {
  TG_EXPECTS(!o.map_host_tier && o.shared_replicated < 0, "a feature file's store copies its tiers and is not striped");
  if (o.device == device_kind::cpu) return std::make_unique<tiered_store>(f, g, c, o.disk_readers);
  cuda_tiered_store::options co;
  co.device = o.device_id;
  co.disk_readers = o.disk_readers;
  co.reserve_bytes = o.reserve_bytes;
  co.cpu_gather_copy = o.cpu_gather_copy;
  return std::make_unique<cuda_tiered_store>(f, g, c, co);
}

}  // namespace tg
