// CUDA tiered store (tiering/cuda_feature_store.hpp). Host-side orchestration only: the CUDA calls
// go through core/gpu_memory.hpp and the kernel launcher, so this file is compiled by g++ and, in a
// build without the CUDA backend, fails cleanly at construction through their stubs.
#include "tiering/cuda_feature_store.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "tiering/disk_reader.hpp"
#include "tiering/gpu_budget.hpp"
#include "tiering/tiered_gather.hpp"

namespace tg {

struct cuda_tiered_store::impl {
  std::int64_t rows = 0, dim = 0, row_bytes = 0, g = 0, c = 0;
  dtype type = dtype::float32;
  int device = 0;
  std::string host_mode;
  gpu::stream stream;
  gpu::device_buffer<std::uint8_t> gpu_tier;
  gpu::pinned_buffer<std::uint8_t> host_tier;  // copied host tier
  gpu::host_registration host_registered;      // or the file's mapping pinned in place
  const void* host_tier_device = nullptr;
  std::unique_ptr<disk_row_reader> disk;
  // Per-batch scratch, grown as needed and reused.
  gpu::pinned_buffer<std::int64_t> ids_pinned;
  gpu::device_buffer<std::int64_t> ids_device;
  gpu::pinned_buffer<std::int32_t> slot_pinned;
  gpu::device_buffer<std::int32_t> slot_device;
  gpu::pinned_buffer<std::uint8_t> staging;
  gpu::device_buffer<unsigned long long> counters;
  gpu::pinned_buffer<unsigned long long> counters_host;
  gpu::device_buffer<float> out_scratch;
  std::vector<std::pair<std::int64_t, std::size_t>> disk_rows;
  bool copy_path = false;
  // Shared hot tier: this GPU's stripe, the peers' (opened over CUDA IPC), and the table of k
  // stripe pointers the kernel indexes.
  std::int64_t replicated = -1;
  int k = 1, me = 0;
  gpu::device_buffer<std::uint8_t> stripe;
  std::vector<void*> peer_ptrs;
  gpu::device_buffer<const void*> stripe_table;
  ~impl() {
    for (void* p : peer_ptrs) gpu::ipc_close(p);
  }
  gpu::device_buffer<std::uint8_t> staging_device;  // the copy path's device copy of the staged rows
  std::unique_ptr<gpu::event> kernel_start, kernel_stop;
  double last_kernel_ms = 0;
};

cuda_tiered_store::cuda_tiered_store(const dataset& d, std::int64_t g, std::int64_t c, const options& opt)
    : impl_(std::make_unique<impl>()) {
  const feature_file f = feature_file::of(d);
  init(f, g, c, opt, d.get("features.npy").raw(), d.dir());
}

cuda_tiered_store::cuda_tiered_store(const feature_file& f, std::int64_t g, std::int64_t c, const options& opt)
    : impl_(std::make_unique<impl>()) {
  options o = opt;
  o.register_host_tier = false;  // no mapping of the file to register: the host tier is a pinned copy
  init(f, g, c, o, nullptr, f.path);
}

void cuda_tiered_store::init(const feature_file& f, std::int64_t g, std::int64_t c, const options& opt,
                             const void* mapped, const std::string& where) {
  auto& m = *impl_;
  m.rows = f.rows;
  if (g < 0 || g > c || c > m.rows)
    throw input_error("tier boundaries g=" + std::to_string(g) + ", c=" + std::to_string(c) +
                      " are not within 0 <= g <= c <= " + std::to_string(m.rows));
  m.type = f.type;
  if (m.type != dtype::float32 && m.type != dtype::float16)
    throw input_error(at_input(f.path, "features must be float32 or float16 for the CUDA store"));
  m.dim = f.dim;
  m.row_bytes = m.dim * static_cast<std::int64_t>(dtype_size(m.type));
  m.g = g;
  m.c = c;
  m.copy_path = opt.cpu_gather_copy;
  if (cuda_device_count() == 0) throw cuda_error("the CUDA feature store needs a CUDA device, and none is available");
  if (opt.device < 0 || opt.device >= cuda_device_count())
    throw cuda_error("the CUDA feature store: GPU " + std::to_string(opt.device) + " is not available (" +
                     std::to_string(cuda_device_count()) + " visible)");
  m.device = opt.device;
  // Everything below is created on the store's device; the caller's current device is restored.
  const gpu::device_scope on(m.device);
  const bool striped = opt.shared.replicated >= 0 && opt.shared.k > 1;
  if (striped) {
    if (opt.shared.replicated > g || opt.shared.rank < 0 || opt.shared.rank >= opt.shared.k || !opt.shared.all_gather)
      throw input_error("shared GPU tier: replicated rows " + std::to_string(opt.shared.replicated) +
                        " must lie in [0, g=" + std::to_string(g) + "] and rank " + std::to_string(opt.shared.rank) +
                        " in [0, " + std::to_string(opt.shared.k) + "), with a communicator");
    m.replicated = opt.shared.replicated;
    m.k = opt.shared.k;
    m.me = opt.shared.rank;
  }
  // This rank's rows of the striped band: ids first, first + k, ... below g with id mod k == me.
  const std::int64_t first = striped ? m.replicated + ((m.me - m.replicated % m.k) % m.k + m.k) % m.k : 0;
  const std::int64_t stripe_rows = striped && g > first ? (g - first + m.k - 1) / m.k : 0;
  const std::int64_t resident_rows = striped ? m.replicated + stripe_rows : g;
  // The promise: check the GPU tier against free device memory before allocating anything.
  const auto tier_bytes = static_cast<std::uint64_t>(resident_rows) * static_cast<std::uint64_t>(m.row_bytes);
  check_gpu_fit(tier_bytes, opt.reserve_bytes, gpu::device_memory_info().free, where);
  const std::int64_t full_rows = striped ? m.replicated : g;  // rows [0, full_rows) live in gpu_tier

  m.disk = std::make_unique<disk_row_reader>(f, opt.disk_readers);
  m.stream = gpu::stream();
  // GPU tier: read from the file into pinned memory in slices, copied to the device.
  // Tier and staging buffers are padded to 16 bytes: the gather kernel reads rows in 16-byte chunks.
  m.gpu_tier = gpu::device_buffer<std::uint8_t>(gpu::padded_bytes(static_cast<std::size_t>(full_rows * m.row_bytes)));
  const std::int64_t slice = std::max<std::int64_t>(1, (64 << 20) / std::max<std::int64_t>(1, m.row_bytes));
  {
    gpu::pinned_buffer<std::uint8_t> bounce(
        static_cast<std::size_t>(std::min(std::max<std::int64_t>(full_rows, 1), slice) * m.row_bytes));
    for (std::int64_t r = 0; r < full_rows; r += slice) {
      const std::int64_t k = std::min(slice, full_rows - r);
      m.stream.synchronize();  // the bounce buffer is free again
      m.disk->read_range(r, k, bounce.data());
      gpu::copy_async(m.gpu_tier.data() + r * m.row_bytes, bounce.data(), static_cast<std::size_t>(k * m.row_bytes),
                      m.stream);
    }
    m.stream.synchronize();
  }
  if (striped) {
    // This rank's stripe: rows first + j k, read in slices through a pinned bounce buffer.
    m.stripe = gpu::device_buffer<std::uint8_t>(
        gpu::padded_bytes(static_cast<std::size_t>(std::max<std::int64_t>(stripe_rows, 1) * m.row_bytes)));
    gpu::pinned_buffer<std::uint8_t> bounce(
        static_cast<std::size_t>(std::min(std::max<std::int64_t>(stripe_rows, 1), slice) * m.row_bytes));
    std::vector<std::pair<std::int64_t, std::size_t>> rows;
    for (std::int64_t j0 = 0; j0 < stripe_rows; j0 += slice) {
      const std::int64_t cnt = std::min(slice, stripe_rows - j0);
      rows.clear();
      for (std::int64_t j = 0; j < cnt; ++j) rows.emplace_back(first + (j0 + j) * m.k, static_cast<std::size_t>(j));
      m.stream.synchronize();
      m.disk->read(rows, bounce.data());
      gpu::copy_async(m.stripe.data() + j0 * m.row_bytes, bounce.data(), static_cast<std::size_t>(cnt * m.row_bytes),
                      m.stream);
    }
    m.stream.synchronize();
    // Exchange IPC handles and open the peers' stripes.
    std::vector<std::uint8_t> mine(gpu::kIpcHandleBytes), all(gpu::kIpcHandleBytes * static_cast<std::size_t>(m.k));
    gpu::ipc_handle(m.stripe.data(), mine.data());
    opt.shared.all_gather(mine.data(), mine.size(), all.data());
    std::vector<const void*> table(static_cast<std::size_t>(m.k));
    for (int q = 0; q < m.k; ++q) {
      if (q == m.me) {
        table[static_cast<std::size_t>(q)] = m.stripe.data();
      } else {
        void* p = gpu::ipc_open(all.data() + static_cast<std::size_t>(q) * gpu::kIpcHandleBytes);
        m.peer_ptrs.push_back(p);
        table[static_cast<std::size_t>(q)] = p;
      }
    }
    m.stripe_table = gpu::device_buffer<const void*>(table.size());
    gpu::copy_async(m.stripe_table.data(), table.data(), table.size() * sizeof(const void*), m.stream);
    m.stream.synchronize();
  }
  // Host tier: pinned and mapped, read zero-copy by the kernel (or staged by CPU threads on the
  // copy path). Registering the file's mapping in place needs read-only registration to avoid
  // copying its pages; host_registration falls back to a writable registration and says so.
  if (opt.register_host_tier && mapped && !opt.cpu_gather_copy && c > g) {
    const auto* base = static_cast<const std::uint8_t*>(mapped) + g * m.row_bytes;
    m.host_registered = gpu::host_registration(base, static_cast<std::size_t>((c - g) * m.row_bytes), true);
    m.host_tier_device = m.host_registered.device_data();
    m.host_mode = m.host_registered.mode() == gpu::host_registration::mode_kind::read_only
                      ? "the features file's mapping, registered read-only in place (zero-copy)"
                      : "the features file's mapping, registered writable (its pages pinned as private copies; the "
                        "device cannot register read-only)";
  } else {
    m.host_tier = gpu::pinned_buffer<std::uint8_t>(gpu::padded_bytes(static_cast<std::size_t>((c - g) * m.row_bytes)));
    m.disk->read_range(g, c - g, m.host_tier.data());
    m.host_tier_device = m.host_tier.device_data();
    m.host_mode = opt.cpu_gather_copy ? "a pinned copy, gathered by CPU threads and copied to the device per batch"
                                      : "a pinned copy, read zero-copy by the gather kernel";
  }
  m.kernel_start = std::make_unique<gpu::event>();
  m.kernel_stop = std::make_unique<gpu::event>();
  m.counters = gpu::device_buffer<unsigned long long>(4);
  m.counters_host = gpu::pinned_buffer<unsigned long long>(4);
}

cuda_tiered_store::~cuda_tiered_store() = default;

std::int64_t cuda_tiered_store::num_rows() const {
  return impl_->rows;
}
std::int64_t cuda_tiered_store::dim() const {
  return impl_->dim;
}
std::int64_t cuda_tiered_store::row_bytes() const {
  return impl_->row_bytes;
}
std::int64_t cuda_tiered_store::g() const {
  return impl_->g;
}
std::int64_t cuda_tiered_store::c() const {
  return impl_->c;
}
std::string cuda_tiered_store::host_tier_mode() const {
  return impl_->host_mode;
}
int cuda_tiered_store::device() const {
  return impl_->device;
}
const void* cuda_tiered_store::stream_handle() const {
  return impl_->stream.handle();
}
double cuda_tiered_store::last_kernel_ms() const {
  return impl_->last_kernel_ms;
}

void cuda_tiered_store::gather(span<const std::int64_t> ids, float* out_device, traffic* counts) {
  auto& m = *impl_;
  const auto n = ids.size();
  m.disk_rows.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t id = ids[i];
    if (id < 0 || id >= m.rows)
      throw input_error("feature store: id " + std::to_string(id) + " at position " + std::to_string(i) +
                        " is outside [0, " + std::to_string(m.rows) + ")");
    if (id >= m.c || (m.copy_path && id >= m.g)) m.disk_rows.emplace_back(id, i);
  }
  if (n == 0) {
    if (counts) {
      traffic t;
      t.batches = 1;
      t.row_bytes = m.row_bytes;
      *counts += t;
    }
    return;
  }
  const gpu::device_scope on(m.device);
  m.stream.synchronize();  // the previous batch no longer reads the pinned scratch
  m.ids_pinned.reserve(n);
  m.ids_device.reserve(n);
  std::memcpy(m.ids_pinned.data(), ids.data(), n * sizeof(std::int64_t));
  gpu::copy_async(m.ids_device.data(), m.ids_pinned.data(), n * sizeof(std::int64_t), m.stream);

  tiered_gather_args a;
  if (!m.disk_rows.empty()) {
    // Disk rows: staging slot k holds the k-th disk row in output order; readers fill it sorted by id.
    m.slot_pinned.reserve(n);
    m.slot_device.reserve(n);
    m.staging.reserve(gpu::padded_bytes(m.disk_rows.size() * static_cast<std::size_t>(m.row_bytes)));
    std::fill(m.slot_pinned.data(), m.slot_pinned.data() + n, -1);
    for (std::size_t k = 0; k < m.disk_rows.size(); ++k) {
      m.slot_pinned.data()[m.disk_rows[k].second] = static_cast<std::int32_t>(k);
      m.disk_rows[k].second = k;
    }
    std::sort(m.disk_rows.begin(), m.disk_rows.end());
    if (m.copy_path) {
      // Host rows: CPU threads copy them from the pinned host tier; disk rows: the reader pool.
      std::vector<std::pair<std::int64_t, std::size_t>> from_disk;
      std::vector<std::pair<std::int64_t, std::size_t>> from_host;
      for (const auto& r : m.disk_rows) (r.first >= m.c ? from_disk : from_host).push_back(r);
      const std::size_t rb = static_cast<std::size_t>(m.row_bytes);
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, from_host.size(), 256), [&](const auto& r) {
        for (std::size_t k = r.begin(); k < r.end(); ++k)
          std::memcpy(m.staging.data() + from_host[k].second * rb,
                      m.host_tier.data() + static_cast<std::size_t>(from_host[k].first - m.g) * rb, rb);
      });
      if (!from_disk.empty()) m.disk->read(from_disk, m.staging.data());
      const std::size_t bytes = m.disk_rows.size() * rb;
      m.staging_device.reserve(gpu::padded_bytes(bytes));
      gpu::copy_async(m.staging_device.data(), m.staging.data(), bytes, m.stream);
      a.staging = m.staging_device.data();
      a.host_via_staging = true;
    } else {
      m.disk->read(m.disk_rows, m.staging.data());
      a.staging = m.staging.device_data();
    }
    gpu::copy_async(m.slot_device.data(), m.slot_pinned.data(), n * sizeof(std::int32_t), m.stream);
    a.slot = m.slot_device.data();
  }
  gpu::memset_async(m.counters.data(), 0, 4 * sizeof(unsigned long long), m.stream);
  if (m.replicated >= 0) {
    a.r = m.replicated;
    a.k = m.k;
    a.me = m.me;
    a.stripes = m.stripe_table.data();
  }
  a.ids = m.ids_device.data();
  a.n = static_cast<std::int64_t>(n);
  a.g = m.g;
  a.c = m.c;
  a.gpu_tier = m.gpu_tier.data();
  a.host_tier = m.host_tier_device;
  a.dim = m.dim;
  a.type = m.type;
  a.out = out_device;
  a.counts = m.counters.data();
  m.kernel_start->record(m.stream);
  tiered_gather_cuda(a, m.stream.handle());
  m.kernel_stop->record(m.stream);
  gpu::copy_async(m.counters_host.data(), m.counters.data(), 4 * sizeof(unsigned long long), m.stream);
  m.stream.synchronize();
  m.last_kernel_ms = m.kernel_stop->elapsed_ms_since(*m.kernel_start);
  if (counts) {
    traffic t;
    t.batches = 1;
    t.row_bytes = m.row_bytes;
    t.gpu_rows = static_cast<std::int64_t>(m.counters_host.data()[0]);
    t.host_rows = static_cast<std::int64_t>(m.counters_host.data()[1]);
    t.disk_rows = static_cast<std::int64_t>(m.counters_host.data()[2]);
    t.peer_rows = static_cast<std::int64_t>(m.counters_host.data()[3]);
    *counts += t;
  }
}

void cuda_tiered_store::gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) {
  TG_EXPECTS(out.kind == memory_kind::device, "the CUDA feature store writes device memory, not ", to_string(out.kind));
  TG_EXPECTS(out.size >= static_cast<std::int64_t>(ids.size()) * dim(), "feature store: the output holds ", out.size,
             " floats, the gather needs ", static_cast<std::int64_t>(ids.size()) * dim());
  gather(ids, out.data, counts);
}

void cuda_tiered_store::gather_to_host(span<const std::int64_t> ids, float* out, traffic* counts) {
  auto& m = *impl_;
  const std::size_t elems = ids.size() * static_cast<std::size_t>(m.dim);
  const gpu::device_scope on(m.device);
  m.out_scratch.reserve(elems);
  gather(ids, m.out_scratch.data(), counts);
  gpu::copy_async(out, m.out_scratch.data(), elems * sizeof(float), m.stream);
  m.stream.synchronize();
}

}  // namespace tg
