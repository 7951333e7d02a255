// tiergnn embedding API: the tiered feature store (CPU backend) with a ledger per store.
#include <mutex>

#include "api/internal.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/plan_file.hpp"
#include "tiergnn/feature_store.hpp"

namespace tiergnn {

using detail::translate;

struct feature_store::impl {
  dataset d;
  std::unique_ptr<tg::tiered_store> store;
  mutable std::mutex mu;
  tg::traffic ledger;
};

namespace {
void require_features(const dataset& d) {
  if (d.feature_dim() <= 0)
    throw tg::input_error(tg::at_input(d.path(), "has no features (features.npy) to serve"));
}
}  // namespace

feature_store::feature_store(const dataset& d, int disk_readers) : impl_(std::make_unique<impl>()) {
  translate([&] {
    require_features(d);
    impl_->d = d;
    std::int64_t g = 0, c = d.num_nodes();
    if (tg::plan_file::present(d.internals()->d)) {
      const tg::plan_file pf = tg::plan_file::load(d.internals()->d);
      g = pf.plan.g();
      c = pf.plan.c();
    }
    impl_->store = std::make_unique<tg::tiered_store>(d.internals()->d, g, c, disk_readers);
    impl_->ledger.row_bytes = impl_->store->row_bytes();
  });
}

feature_store::feature_store(const dataset& d, std::int64_t g, std::int64_t c, int disk_readers)
    : impl_(std::make_unique<impl>()) {
  translate([&] {
    require_features(d);
    impl_->d = d;
    impl_->store = std::make_unique<tg::tiered_store>(d.internals()->d, g, c, disk_readers);
    impl_->ledger.row_bytes = impl_->store->row_bytes();
  });
}

feature_store::~feature_store() = default;
feature_store::feature_store(feature_store&&) noexcept = default;
feature_store& feature_store::operator=(feature_store&&) noexcept = default;

std::int64_t feature_store::num_rows() const { return impl_->store->num_rows(); }
std::int64_t feature_store::dim() const { return impl_->store->dim(); }
std::int64_t feature_store::row_bytes() const { return impl_->store->row_bytes(); }
std::int64_t feature_store::g() const { return impl_->store->g(); }
std::int64_t feature_store::c() const { return impl_->store->c(); }
const char* feature_store::device() const { return "cpu"; }

void feature_store::gather(const std::int64_t* ids, std::size_t count, float* out) const {
  translate([&] {
    tg::traffic t;
    impl_->store->gather(tg::span<const std::int64_t>(ids, count), out, &t);
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->ledger += t;
  });
}

traffic feature_store::traffic() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  tiergnn::traffic t;
  t.batches = impl_->ledger.batches;
  t.gpu_rows = impl_->ledger.gpu_rows;
  t.host_rows = impl_->ledger.host_rows;
  t.disk_rows = impl_->ledger.disk_rows;
  t.row_bytes = impl_->store->row_bytes();
  return t;
}

void feature_store::reset_traffic() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ledger = tg::traffic{};
  impl_->ledger.row_bytes = impl_->store->row_bytes();
}

array_view feature_store::tier(const std::string& which) {
  return translate([&] {
    std::uint8_t* data = nullptr;
    std::int64_t rows = 0;
    if (which == "gpu") {
      data = impl_->store->tier_data(0);
      rows = impl_->store->g();
    } else if (which == "host") {
      data = impl_->store->tier_data(1);
      rows = impl_->store->c() - impl_->store->g();
    } else {
      throw tg::input_error("feature store: unknown tier \"" + which + "\": use gpu or host (disk rows live in the file)");
    }
    array_view v;
    v.data = data;
    v.type = detail::public_dtype(impl_->d.internals()->d.meta().feature_dtype);
    v.shape = {rows, impl_->store->dim()};
    v.writable = true;
    return v;
  });
}

}  // namespace tiergnn
