// tiergnn embedding API: the tiered feature store (tiering/store.hpp: the CPU or the CUDA
// implementation, built by its factory), with a ledger per store.
#include <algorithm>
#include <mutex>

#include "api/internal.hpp"
#include "core/device.hpp"
#include "core/gpu_memory.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/store.hpp"
#include "tiering/plan_file.hpp"
#include "tiergnn/feature_store.hpp"

namespace tiergnn {

using detail::translate;

struct feature_store::impl {
  dataset d;
  std::string device = "cpu";
  int device_id = -1;
  std::unique_ptr<tg::feature_store> store;
  tg::tiered_store* cpu = nullptr;  // the CPU store, whose tiers are host memory (tier views)
  std::mutex gather_mu;             // the CUDA store reuses per-batch scratch: one gather at a time
  mutable std::mutex mu;
  tg::traffic ledger;
};

namespace {

int parse_device(const std::string& s) {
  return tg::parse_device_spec(s, "feature store");
}

}  // namespace

feature_store::feature_store(const dataset& d, const store_options& opt) : impl_(std::make_unique<impl>()) {
  impl& self = *impl_;
  translate([&] {
    if (d.feature_dim() <= 0) throw tg::input_error(tg::at_input(d.path(), "has no features (features.npy) to serve"));
    // The store reads features.npy (and plan.json) by name: they must be the files the dataset opened.
    detail::internals(d).d.verify_files();
    self.d = d;
    self.device_id = parse_device(opt.device);
    self.device = self.device_id < 0 ? "cpu" : "cuda:" + std::to_string(self.device_id);
    if (self.device_id >= 0) {  // before any CUDA call: the request and the cause, not a raw CUDA failure
      const int gpus = tg::cuda_device_count();
      if (!tg::cuda_compiled())
        throw tg::cuda_error("feature store: device " + opt.device + ": this build has no CUDA backend");
      if (gpus == 0)
        throw tg::cuda_error("feature store: device " + opt.device +
                             ": no usable GPU (no CUDA device is visible, or the driver is missing or too old)");
      if (self.device_id >= gpus)
        throw tg::cuda_error("feature store: device " + opt.device + ": this machine has only " + std::to_string(gpus) +
                             " GPU(s), cuda:0 to cuda:" + std::to_string(gpus - 1));
    }
    std::int64_t g = opt.g, c = opt.c;
    const std::int64_t n = d.num_nodes();
    // -1, -1: the plan's tiers (or everything in host memory); otherwise 0 <= g <= c <= N.
    if (!(g == -1 && c == -1) && !(0 <= g && g <= c && c <= n))
      throw tg::input_error("feature store: tier boundaries g=" + std::to_string(g) + ", c=" + std::to_string(c) +
                            " must satisfy 0 <= g <= c <= " + std::to_string(n) +
                            " (the rows; g GPU rows, c - g host rows, the rest on disk), or both be -1 for the "
                            "plan's");
    if (opt.disk_readers <= 0 || opt.disk_readers > 1024)
      throw tg::input_error("feature store: disk_readers must lie in [1, 1024], as train --disk-readers (got " +
                            std::to_string(opt.disk_readers) + ")");
    if (g < 0 && c < 0) {
      g = 0;
      c = d.num_nodes();
      if (tg::plan_file::present(detail::internals(d).d)) {
        const tg::plan_file pf = tg::plan_file::load(detail::internals(d).d);
        g = pf.plan.g();
        c = pf.plan.c();
      }
    }
    tg::store_options o;
    o.device = self.device_id < 0 ? tg::device_kind::cpu : tg::device_kind::cuda;
    o.device_id = std::max(0, self.device_id);
    o.disk_readers = opt.disk_readers;
    o.reserve_bytes = opt.reserve_bytes;
    self.store = tg::make_feature_store(detail::internals(d).d, g, c, o);
    self.cpu = dynamic_cast<tg::tiered_store*>(self.store.get());
    self.ledger.row_bytes = self.store->row_bytes();
  });
}

feature_store::feature_store(const dataset& d, int disk_readers)
    : feature_store(d, store_options{"cpu", disk_readers, -1, -1, 0}) {}

feature_store::feature_store(const dataset& d, std::int64_t g, std::int64_t c, int disk_readers)
    : feature_store(d, store_options{"cpu", disk_readers, g, c, 0}) {}

feature_store::~feature_store() = default;
feature_store::feature_store(feature_store&&) noexcept = default;
feature_store& feature_store::operator=(feature_store&&) noexcept = default;

std::int64_t feature_store::num_rows() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return self.store->num_rows();
}
std::int64_t feature_store::dim() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return self.store->dim();
}
std::int64_t feature_store::row_bytes() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return self.store->row_bytes();
}
std::int64_t feature_store::g() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return self.store->g();
}
std::int64_t feature_store::c() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return self.store->c();
}
const std::string& feature_store::device() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return self.device;
}
int feature_store::device_id() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return self.device_id;
}

void feature_store::gather(const std::int64_t* ids, std::size_t count, float* out) const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  translate([&] {
    tg::traffic t;
    const tg::span<const std::int64_t> s(ids, count);
    {
      std::unique_lock<std::mutex> one_at_a_time(self.gather_mu, std::defer_lock);
      if (!self.cpu) one_at_a_time.lock();
      const tg::tensor_view<float> o{out, static_cast<std::int64_t>(count) * self.store->dim(),
                                     self.store->output_memory()};
      self.store->gather(s, o, &t);
    }
    std::lock_guard<std::mutex> lock(self.mu);
    self.ledger += t;
  });
}

gathered_rows feature_store::gather(const std::int64_t* ids, std::size_t count) const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return translate([&] {
    gathered_rows r;
    r.rows = static_cast<std::int64_t>(count);
    r.dim = dim();
    r.device_id = self.device_id;
    const std::size_t elems = std::max<std::size_t>(1, count * static_cast<std::size_t>(r.dim));
    if (self.cpu) {
      auto buf = std::shared_ptr<float>(new float[elems], std::default_delete<float[]>());
      r.data = buf.get();
      r.owner = buf;
    } else {
      const tg::gpu::device_scope on(self.device_id);  // the caller's current device is left as it was
      auto buf = std::make_shared<tg::gpu::device_buffer<float>>(elems);
      r.data = buf->data();
      r.owner = buf;
    }
    gather(ids, count, r.data);
    return r;
  });
}

traffic feature_store::traffic() const {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  std::lock_guard<std::mutex> lock(self.mu);
  tiergnn::traffic t;
  t.batches = self.ledger.batches;
  t.gpu_rows = self.ledger.gpu_rows;
  t.host_rows = self.ledger.host_rows;
  t.disk_rows = self.ledger.disk_rows;
  t.peer_rows = self.ledger.peer_rows;
  t.row_bytes = self.store->row_bytes();
  return t;
}

void feature_store::reset_traffic() {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  std::lock_guard<std::mutex> lock(self.mu);
  self.ledger = tg::traffic{};
  self.ledger.row_bytes = self.store->row_bytes();
}

array_view feature_store::tier(const std::string& which) {
  auto& self = *detail::live(impl_, "tiergnn::feature_store");
  return translate([&] {
    if (!self.cpu)
      throw tg::input_error("feature store: tier views are host memory; this store's tiers live on " + self.device);
    std::uint8_t* data = nullptr;
    std::int64_t rows = 0;
    if (which == "gpu") {
      data = self.cpu->tier_data(0);
      rows = self.cpu->g();
    } else if (which == "host") {
      data = self.cpu->tier_data(1);
      rows = self.cpu->c() - self.cpu->g();
    } else {
      throw tg::input_error("feature store: unknown tier \"" + which +
                            "\": use gpu or host (disk rows live in the file)");
    }
    array_view v;
    v.data = data;
    v.type = detail::public_dtype(detail::internals(self.d).d.meta().feature_dtype);
    v.shape = {rows, self.cpu->dim()};
    v.writable = true;
    return v;
  });
}

}  // namespace tiergnn
