// tiergnn embedding API: datasets, plans, profile and prepare over the internal modules.
#include <memory>

#include "api/internal.hpp"
#include "core/json_text.hpp"
#include "core/progress.hpp"
#include "tiering/ledger.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/prepare.hpp"
#include "tiering/profiler.hpp"

namespace tiergnn {

std::string version() {
  return std::to_string(kVersionMajor) + "." + std::to_string(kVersionMinor) + "." + std::to_string(kVersionPatch);
}

std::size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::int32:
      return 4;
    case dtype::int64:
      return 8;
    case dtype::float16:
      return 2;
    case dtype::float32:
      return 4;
    case dtype::float64:
      return 8;
    case dtype::uint8:
      return 1;
  }
  return 0;
}

const char* dtype_name(dtype t) {
  switch (t) {
    case dtype::int32:
      return "int32";
    case dtype::int64:
      return "int64";
    case dtype::float16:
      return "float16";
    case dtype::float32:
      return "float32";
    case dtype::float64:
      return "float64";
    case dtype::uint8:
      return "uint8";
  }
  return "?";
}

std::string traffic::summary() const {
  tg::traffic t;
  t.batches = batches;
  t.gpu_rows = gpu_rows;
  t.host_rows = host_rows;
  t.disk_rows = disk_rows;
  t.peer_rows = peer_rows;
  t.row_bytes = row_bytes;
  return t.summary();
}

namespace detail {

tiergnn::dtype public_dtype(tg::dtype t) {
  switch (t) {
    case tg::dtype::int32:
      return dtype::int32;
    case tg::dtype::int64:
      return dtype::int64;
    case tg::dtype::float16:
      return dtype::float16;
    case tg::dtype::float32:
      return dtype::float32;
    case tg::dtype::float64:
      return dtype::float64;
    case tg::dtype::uint8:
      return dtype::uint8;
    default:
      break;
  }
  throw error(error::kind::internal, "array of unsupported dtype " + std::string(tg::dtype_name(t)));
}

array_view view_of(const tg::npy_array& a) {
  array_view v;
  v.data = a.raw();
  v.type = public_dtype(a.type());
  v.shape = a.shape();
  v.writable = false;
  return v;
}

}  // namespace detail

using detail::translate;

dataset dataset::open(const std::string& dir) {
  return translate([&] {
    auto p = std::make_shared<impl>();
    p->d = tg::dataset::open(dir);
    if (p->d.has("order.npy")) p->order = p->d.get("order.npy").to_int64();
    dataset out;
    out.impl_ = std::move(p);
    return out;
  });
}

const std::string& dataset::path() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return self.d.dir();
}
const std::string& dataset::name() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return self.d.meta().name;
}
std::int64_t dataset::num_nodes() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return self.d.num_nodes();
}
std::int64_t dataset::num_edges() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return self.d.num_edges();
}
bool dataset::directed() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return self.d.meta().directed;
}
std::int64_t dataset::feature_dim() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return self.d.meta().feature_dim;
}
std::int64_t dataset::num_classes() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return self.d.meta().num_classes;
}
bool dataset::prepared() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return translate([&] { return self.d.has("order.npy") && tg::plan_file::present(self.d); });
}

namespace {
array_view optional_view(const tg::dataset& d, const char* file) {
  return d.has(file) ? detail::view_of(d.get(file)) : array_view{};
}
}  // namespace

array_view dataset::indptr() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return detail::view_of(self.d.indptr());
}
array_view dataset::indices() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return detail::view_of(self.d.indices());
}
array_view dataset::features() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  if (self.d.meta().feature_shards > 0)
    throw error(error::kind::input, self.d.dir() + ": the features are sharded across " +
                                        std::to_string(self.d.meta().feature_shards) +
                                        " machines (prepare --shards): no single array holds them; train it with one "
                                        "rank per shard (tiergnn launch / mpirun)");
  return optional_view(self.d, "features.npy");
}
array_view dataset::labels() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return optional_view(self.d, "labels.npy");
}
array_view dataset::order() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  return optional_view(self.d, "order.npy");
}

array_view dataset::split(const std::string& which) const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  if (which == "train") return optional_view(self.d, "train_idx.npy");
  if (which == "valid" || which == "val") return optional_view(self.d, "valid_idx.npy");
  if (which == "test") return optional_view(self.d, "test_idx.npy");
  throw error(error::kind::input, "unknown split \"" + which + "\": use train, valid or test");
}

std::optional<tiergnn::plan> dataset::plan() const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  if (!translate([&] { return tg::plan_file::present(self.d); })) return std::nullopt;
  return translate([&] {
    const tg::plan_file pf = tg::plan_file::load(self.d);
    tiergnn::plan p;
    p.num_nodes = pf.plan.num_nodes;
    p.row_bytes = pf.plan.row_bytes;
    p.g = pf.plan.g();
    p.c = pf.plan.c();
    p.estimator = pf.plan.estimator;
    p.gpu_budget = pf.plan.gpu_budget;
    p.host_budget = pf.plan.host_budget;
    p.reserve_bytes = pf.plan.reserve_bytes;
    p.predicted_gpu_hit_rate = pf.predicted_hit_rate(p.g);
    p.json = tg::json_text(pf.json, 2);
    return std::optional<tiergnn::plan>(std::move(p));
  });
}

void dataset::check(bool checksums) const {
  auto& self = *detail::live(impl_, "tiergnn::dataset");
  translate([&] {
    self.d.verify_files();  // check() reads every byte: a file cut short would fault, not report
    tg::dataset::check_options o;
    o.checksums = checksums;
    self.d.check(o);
  });
}

void set_stop_flag(const std::atomic<bool>* flag) {
  tg::set_stop_flag(flag);
}

profile_result profile(const dataset& d, const profile_options& opt) {
  return detail::translate_options([&] {
    const tg::dataset& ds = detail::internals(d).d;
    ds.verify_files();  // a file cut short since the dataset opened would fault while profiling (R12-F6)
    tg::profile_config pc;
    if (!opt.train_ids.empty()) {
      pc.train_ids = opt.train_ids;
    } else {
      if (!ds.has("train_idx.npy"))
        throw tg::input_error(
            tg::at_input(ds.dir(), "has no training split (train_idx.npy): pass train_ids to profile"));
      if (ds.get("train_idx.npy").count() == 0)
        throw tg::input_error(
            tg::at_input(ds.dir(), "has an empty training split (train_idx.npy): pass train_ids to profile"));
      pc.train_ids = ds.get("train_idx.npy").to_int64();
    }
    pc.fanouts = opt.fanouts;
    pc.batch_size = opt.batch_size;
    pc.seed = opt.seed;
    pc.run_epochs = opt.run_epochs;
    if (opt.max_batches < 0)
      throw tg::input_error("max_batches must be >= 0 (0: every batch of the epoch), got " +
                            std::to_string(opt.max_batches));
    pc.max_batches = opt.max_batches;
    tg::profile_result r = tg::profile(ds, pc, opt.estimator);
    profile_result out;
    out.estimator = r.estimator;
    out.scores = std::move(r.score);
    out.seconds = r.seconds;
    out.edge_passes = r.edge_passes;
    out.details_json = tg::json_text(r.details);
    return out;
  });
}

std::vector<std::string> estimator_names() {
  return tg::estimator_names();
}

dataset prepare(const dataset& src, const std::string& out_dir, const prepare_options& opt) {
  return detail::translate_options([&] {
    tg::prepare_config pc;
    pc.estimator = opt.estimator;
    pc.gpu_mem = opt.gpu_mem;
    pc.host_mem = opt.host_mem;
    pc.fanouts = opt.fanouts;
    pc.batch_size = opt.batch_size;
    pc.seed = opt.seed;
    pc.run_epochs = opt.run_epochs;
    pc.hidden = opt.hidden;
    pc.model = opt.model;
    pc.heads = opt.heads;
    pc.out_heads = opt.out_heads;
    pc.overwrite = opt.overwrite;
    if (opt.max_batches < 0)
      throw tg::input_error("max_batches must be >= 0 (0: every batch of the epoch), got " +
                            std::to_string(opt.max_batches));
    pc.max_batches = opt.max_batches;
    detail::internals(src).d.verify_files();  // likewise while profiling and renumbering (R12-F6)
    const tg::prepare_report r = tg::prepare_dataset(detail::internals(src).d, pc, out_dir);
    return dataset::open(r.out_dir);
  });
}

}  // namespace tiergnn
