// tiergnn embedding API: the tiered feature store, CPU backend (tg::tiered_store) or CUDA backend
// (tg::cuda_tiered_store), with a ledger per store.
#include <algorithm>
#include <mutex>

#include "api/internal.hpp"
#include "core/gpu_memory.hpp"
#include "tiering/cuda_feature_store.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/plan_file.hpp"
#include "tiergnn/feature_store.hpp"

namespace tiergnn {

using detail::translate;

struct feature_store::impl {
  dataset d;
  std::string device = "cpu";
  int device_id = -1;
  std::unique_ptr<tg::tiered_store> cpu;
  std::unique_ptr<tg::cuda_tiered_store> cuda;
  std::mutex cuda_mu;  // the CUDA store reuses per-batch scratch: one gather at a time
  mutable std::mutex mu;
  tg::traffic ledger;

  std::int64_t row_bytes() const { return cpu ? cpu->row_bytes() : cuda->row_bytes(); }
};

namespace {

int parse_device(const std::string& s) {
  if (s == "cpu") return -1;
  if (s == "cuda") return 0;
  if (s.rfind("cuda:", 0) == 0) {
    try {
      std::size_t used = 0;
      const int id = std::stoi(s.substr(5), &used);
      if (used == s.size() - 5 && id >= 0) return id;
    } catch (const std::exception&) {
    }
  }
  throw tg::input_error("feature store: unknown device \"" + s + "\": use cpu, cuda or cuda:N");
}

}  // namespace

feature_store::feature_store(const dataset& d, const store_options& opt) : impl_(std::make_unique<impl>()) {
  translate([&] {
    if (d.feature_dim() <= 0) throw tg::input_error(tg::at_input(d.path(), "has no features (features.npy) to serve"));
    impl_->d = d;
    impl_->device_id = parse_device(opt.device);
    impl_->device = impl_->device_id < 0 ? "cpu" : "cuda:" + std::to_string(impl_->device_id);
    std::int64_t g = opt.g, c = opt.c;
    if (g < 0 && c < 0) {
      g = 0;
      c = d.num_nodes();
      if (tg::plan_file::present(d.internals()->d)) {
        const tg::plan_file pf = tg::plan_file::load(d.internals()->d);
        g = pf.plan.g();
        c = pf.plan.c();
      }
    }
    if (impl_->device_id < 0) {
      impl_->cpu = std::make_unique<tg::tiered_store>(d.internals()->d, g, c, opt.disk_readers);
    } else {
      tg::cuda_tiered_store::options o;
      o.device = impl_->device_id;
      o.disk_readers = opt.disk_readers;
      o.reserve_bytes = opt.reserve_bytes;
      impl_->cuda = std::make_unique<tg::cuda_tiered_store>(d.internals()->d, g, c, o);
    }
    impl_->ledger.row_bytes = impl_->row_bytes();
  });
}

feature_store::feature_store(const dataset& d, int disk_readers)
    : feature_store(d, store_options{"cpu", disk_readers, -1, -1, 0}) {}

feature_store::feature_store(const dataset& d, std::int64_t g, std::int64_t c, int disk_readers)
    : feature_store(d, store_options{"cpu", disk_readers, g, c, 0}) {
  if (g < 0 || c < 0) throw error(error::kind::input, "feature store: tier boundaries must be >= 0");
}

feature_store::~feature_store() = default;
feature_store::feature_store(feature_store&&) noexcept = default;
feature_store& feature_store::operator=(feature_store&&) noexcept = default;

std::int64_t feature_store::num_rows() const { return impl_->cpu ? impl_->cpu->num_rows() : impl_->cuda->num_rows(); }
std::int64_t feature_store::dim() const { return impl_->cpu ? impl_->cpu->dim() : impl_->cuda->dim(); }
std::int64_t feature_store::row_bytes() const { return impl_->row_bytes(); }
std::int64_t feature_store::g() const { return impl_->cpu ? impl_->cpu->g() : impl_->cuda->g(); }
std::int64_t feature_store::c() const { return impl_->cpu ? impl_->cpu->c() : impl_->cuda->c(); }
const std::string& feature_store::device() const { return impl_->device; }
int feature_store::device_id() const { return impl_->device_id; }

void feature_store::gather(const std::int64_t* ids, std::size_t count, float* out) const {
  translate([&] {
    tg::traffic t;
    const tg::span<const std::int64_t> s(ids, count);
    if (impl_->cpu) {
      impl_->cpu->gather(s, out, &t);
    } else {
      std::lock_guard<std::mutex> lock(impl_->cuda_mu);
      impl_->cuda->gather(s, out, &t);
    }
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->ledger += t;
  });
}

gathered_rows feature_store::gather(const std::int64_t* ids, std::size_t count) const {
  return translate([&] {
    gathered_rows r;
    r.rows = static_cast<std::int64_t>(count);
    r.dim = dim();
    r.device_id = impl_->device_id;
    const std::size_t elems = std::max<std::size_t>(1, count * static_cast<std::size_t>(r.dim));
    if (impl_->cpu) {
      auto buf = std::shared_ptr<float>(new float[elems], std::default_delete<float[]>());
      r.data = buf.get();
      r.owner = buf;
    } else {
      tg::gpu::set_device(impl_->device_id);
      auto buf = std::make_shared<tg::gpu::device_buffer<float>>(elems);
      r.data = buf->data();
      r.owner = buf;
    }
    gather(ids, count, r.data);
    return r;
  });
}

traffic feature_store::traffic() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  tiergnn::traffic t;
  t.batches = impl_->ledger.batches;
  t.gpu_rows = impl_->ledger.gpu_rows;
  t.host_rows = impl_->ledger.host_rows;
  t.disk_rows = impl_->ledger.disk_rows;
  t.row_bytes = impl_->row_bytes();
  return t;
}

void feature_store::reset_traffic() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ledger = tg::traffic{};
  impl_->ledger.row_bytes = impl_->row_bytes();
}

array_view feature_store::tier(const std::string& which) {
  return translate([&] {
    if (!impl_->cpu)
      throw tg::input_error("feature store: tier views are host memory; this store's tiers live on " + impl_->device);
    std::uint8_t* data = nullptr;
    std::int64_t rows = 0;
    if (which == "gpu") {
      data = impl_->cpu->tier_data(0);
      rows = impl_->cpu->g();
    } else if (which == "host") {
      data = impl_->cpu->tier_data(1);
      rows = impl_->cpu->c() - impl_->cpu->g();
    } else {
      throw tg::input_error("feature store: unknown tier \"" + which + "\": use gpu or host (disk rows live in the file)");
    }
    array_view v;
    v.data = data;
    v.type = detail::public_dtype(impl_->d.internals()->d.meta().feature_dtype);
    v.shape = {rows, impl_->cpu->dim()};
    v.writable = true;
    return v;
  });
}

}  // namespace tiergnn
