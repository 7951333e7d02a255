// The `tiergnn._tiergnn` extension: the embedding API (include/tiergnn/) for Python. Arrays leave
// as nanobind ndarrays, which implement the DLPack protocol: numpy.from_dlpack / torch.from_dlpack
// wrap them without copying, and each keeps alive the object that owns its memory (the dataset's
// mappings, the batch, the gathered buffer, or the store). The GIL is released while sampling and
// gathering. Argument checking that Python users see (dtypes, shapes) happens in tiergnn/__init__.py.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <signal.h>

#include <algorithm>
#include <exception>
#include <atomic>
#include <memory>

#include "tiergnn/tiergnn.hpp"

namespace nb = nanobind;

namespace {

// Ctrl-C during a long call (profile, prepare): Python's SIGINT handler only sets a flag that the
// interpreter reads between bytecodes, which a call running C++ with the GIL released never reaches.
// For the call's length a C handler sets g_ctrl_c instead, which tiergnn's progress steps read
// (tiergnn::set_stop_flag): the call stops, removes its partial output and raises KeyboardInterrupt.
// A Ctrl-C that arrived after the work's last step is handed back to Python as it would have been.
// SIGTERM (a scheduler's time limit, `kill`), where it would end the process (its default action),
// stops the call the same way, and once the partial output is removed it is raised again: the
// process ends as it would have, without the call's litter.
std::atomic<bool> g_ctrl_c{false};
std::atomic<int> g_stop_signal{0};
extern "C" void on_ctrl_c(int sig) {
  g_stop_signal.store(sig);
  g_ctrl_c.store(true);
}

class ctrl_c_scope {  // constructed and destroyed with the GIL held
 public:
  ctrl_c_scope() {
    if (depth_++ > 0) return;  // nested or concurrent calls share the first one's handler
    g_ctrl_c.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_ctrl_c;
    sigemptyset(&sa.sa_mask);
    g_stop_signal.store(0);
    installed_ = ::sigaction(SIGINT, &sa, &old_) == 0;
    term_installed_ = ::sigaction(SIGTERM, nullptr, &old_term_) == 0 && old_term_.sa_handler == SIG_DFL &&
                      ::sigaction(SIGTERM, &sa, nullptr) == 0;
    tiergnn::set_stop_flag(&g_ctrl_c);
  }
  ~ctrl_c_scope() {
    if (--depth_ > 0) return;
    tiergnn::set_stop_flag(nullptr);
    if (installed_) ::sigaction(SIGINT, &old_, nullptr);
    if (term_installed_) ::sigaction(SIGTERM, &old_term_, nullptr);
    if (g_stop_signal.exchange(0) == SIGTERM) ::raise(SIGTERM);  // the default action, now
    // Unwinding: the call stopped (its error becomes KeyboardInterrupt) or failed otherwise.
    if (g_ctrl_c.exchange(false) && std::uncaught_exceptions() == 0) PyErr_SetInterrupt();
  }
  ctrl_c_scope(const ctrl_c_scope&) = delete;
  ctrl_c_scope& operator=(const ctrl_c_scope&) = delete;

 private:
  static inline int depth_ = 0;  // guarded by the GIL
  static inline struct sigaction old_ {};
  static inline bool installed_ = false;
  static inline struct sigaction old_term_ {};
  static inline bool term_installed_ = false;
};

using ro_array = nb::ndarray<nb::array_api, nb::ro>;
using rw_array = nb::ndarray<nb::array_api>;
using ids_array = nb::ndarray<const std::int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using out_array = nb::ndarray<float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

nb::dlpack::dtype dl_dtype(tiergnn::dtype t) {
  switch (t) {
    case tiergnn::dtype::int32:
      return nb::dtype<std::int32_t>();
    case tiergnn::dtype::int64:
      return nb::dtype<std::int64_t>();
    case tiergnn::dtype::float16:
      return {static_cast<std::uint8_t>(nb::dlpack::dtype_code::Float), 16, 1};
    case tiergnn::dtype::float32:
      return nb::dtype<float>();
    case tiergnn::dtype::float64:
      return nb::dtype<double>();
    case tiergnn::dtype::uint8:
      return nb::dtype<std::uint8_t>();
  }
  return nb::dtype<std::uint8_t>();
}

template <typename Array>
nb::object to_array(const tiergnn::array_view& v, nb::handle owner) {
  if (v.empty()) return nb::none();
  std::vector<size_t> shape(v.shape.begin(), v.shape.end());
  return nb::cast(Array(const_cast<void*>(v.data), shape.size(), shape.data(), owner, nullptr, dl_dtype(v.type),
                        nb::device::cpu::value));
}

template <typename T>
nb::object vector_array(const std::vector<T>& v, nb::handle owner) {
  const size_t shape[1] = {v.size()};
  return nb::cast(rw_array(const_cast<T*>(v.data()), 1, shape, owner, nullptr, nb::dtype<T>(), nb::device::cpu::value));
}

// A sampled batch shared by its Python Batch and Block objects.
struct py_batch {
  std::shared_ptr<tiergnn::batch> b;
};
struct py_block {
  std::shared_ptr<tiergnn::batch> b;
  std::size_t i = 0;
  const tiergnn::block& get() const { return b->blocks[i]; }
};

// The store, plus the number of live tier views (close() refuses while there are any). Gathers
// run without the GIL on a pinned reference (pin(), taken with the GIL held): close() drops the
// store's own reference, and a gather still running in another thread finishes on the store, which
// is freed when the last one returns.
struct py_store {
  std::shared_ptr<tiergnn::feature_store> fs;
  std::shared_ptr<std::atomic<int>> views = std::make_shared<std::atomic<int>>(0);
  tiergnn::dataset ds;

  tiergnn::feature_store& get() const {
    if (!fs) throw tiergnn::error(tiergnn::error::kind::input, "feature store: the store is closed");
    return *fs;
  }
  std::shared_ptr<const tiergnn::feature_store> pin() const {
    get();
    return fs;
  }
};

nb::dict traffic_dict(const tiergnn::traffic& t) {
  nb::dict d;
  d["batches"] = t.batches;
  d["gpu_rows"] = t.gpu_rows;
  d["host_rows"] = t.host_rows;
  d["disk_rows"] = t.disk_rows;
  d["peer_rows"] = t.peer_rows;
  d["rows"] = t.rows();
  d["row_bytes"] = t.row_bytes;
  d["host_to_gpu_bytes"] = t.host_to_gpu_bytes();
  d["disk_to_host_bytes"] = t.disk_to_host_bytes();
  d["baseline_bytes"] = t.baseline_bytes();
  d["gpu_hit_rate"] = t.gpu_hit_rate();
  d["reduction"] = t.reduction();
  d["summary"] = t.summary();
  return d;
}

}  // namespace

NB_MODULE(_tiergnn, m) {
  m.doc() = "tiergnn: tiered feature store, neighbour sampling and hot-first datasets (C++ core)";
  m.attr("__version__") = tiergnn::version();
  // Arrays handed to other frameworks may still be alive at interpreter exit (torch tensors made
  // from them); their owners are then freed after nanobind's leak check, which is not a leak.
  nb::set_leak_warnings(false);

  // Raised for budgets that cannot be met (a MemoryError); never thrown from C++ as such.
  struct budget_exception : std::exception {};
  static nb::object budget_error = nb::exception<budget_exception>(m, "BudgetError", PyExc_MemoryError);
  struct device_exception : std::exception {};
  static nb::object device_error = nb::exception<device_exception>(m, "DeviceError", PyExc_RuntimeError);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const tiergnn::error& e) {
      switch (e.code()) {
        case tiergnn::error::kind::input:
          PyErr_SetString(PyExc_ValueError, e.what());
          break;
        case tiergnn::error::kind::budget:
          PyErr_SetString(budget_error.ptr(), e.what());
          break;
        case tiergnn::error::kind::io:
          PyErr_SetString(PyExc_OSError, e.what());
          break;
        case tiergnn::error::kind::interrupted:
          PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
          break;
        case tiergnn::error::kind::device:
          PyErr_SetString(device_error.ptr(), e.what());
          break;
        default:
          PyErr_SetString(PyExc_RuntimeError, e.what());
          break;
      }
    }
  });

  nb::class_<tiergnn::dataset>(m, "Dataset")
      .def(
          "__init__",
          [](tiergnn::dataset* self, const std::string& path) {
            new (self) tiergnn::dataset(tiergnn::dataset::open(path));
          },
          nb::arg("path"))
      .def_prop_ro("path", &tiergnn::dataset::path)
      .def_prop_ro("name", &tiergnn::dataset::name)
      .def_prop_ro("num_nodes", &tiergnn::dataset::num_nodes)
      .def_prop_ro("num_edges", &tiergnn::dataset::num_edges)
      .def_prop_ro("directed", &tiergnn::dataset::directed)
      .def_prop_ro("feature_dim", &tiergnn::dataset::feature_dim)
      .def_prop_ro("num_classes", &tiergnn::dataset::num_classes)
      .def_prop_ro("prepared", &tiergnn::dataset::prepared)
      .def_prop_ro("indptr",
                   [](nb::handle self) { return to_array<ro_array>(nb::cast<tiergnn::dataset&>(self).indptr(), self); })
      .def_prop_ro(
          "indices",
          [](nb::handle self) { return to_array<ro_array>(nb::cast<tiergnn::dataset&>(self).indices(), self); })
      .def_prop_ro(
          "features",
          [](nb::handle self) { return to_array<ro_array>(nb::cast<tiergnn::dataset&>(self).features(), self); })
      .def_prop_ro("labels",
                   [](nb::handle self) { return to_array<ro_array>(nb::cast<tiergnn::dataset&>(self).labels(), self); })
      .def_prop_ro("order",
                   [](nb::handle self) { return to_array<ro_array>(nb::cast<tiergnn::dataset&>(self).order(), self); })
      .def(
          "split",
          [](nb::handle self, const std::string& which) {
            return to_array<ro_array>(nb::cast<tiergnn::dataset&>(self).split(which), self);
          },
          nb::arg("which"))
      .def("plan",
           [](const tiergnn::dataset& d) -> nb::object {
             auto p = d.plan();
             if (!p) return nb::none();
             nb::dict r;
             r["g"] = p->g;
             r["c"] = p->c;
             r["num_nodes"] = p->num_nodes;
             r["row_bytes"] = p->row_bytes;
             r["estimator_name"] = p->estimator;
             r["gpu_budget"] = p->gpu_budget;
             r["host_budget"] = p->host_budget;
             r["reserve_bytes"] = p->reserve_bytes;
             r["predicted_gpu_hit_rate"] = p->predicted_gpu_hit_rate;
             r["json"] = p->json;
             return r;
           })
      .def("check", &tiergnn::dataset::check, nb::arg("checksums") = true, nb::call_guard<nb::gil_scoped_release>());

  m.def("estimator_names", &tiergnn::estimator_names);

  m.def(
      "profile",
      [](const tiergnn::dataset& d, const std::string& estimator, std::vector<std::int64_t> fanouts,
         std::int64_t batch_size, std::uint64_t seed, int run_epochs, std::vector<std::int64_t> train_ids,
         std::int64_t max_batches) {
        tiergnn::profile_options o;
        o.estimator = estimator;
        o.fanouts = std::move(fanouts);
        o.batch_size = batch_size;
        o.seed = seed;
        o.run_epochs = run_epochs;
        o.train_ids = std::move(train_ids);
        o.max_batches = max_batches;
        auto r = std::make_unique<tiergnn::profile_result>();
        {
          ctrl_c_scope ctrl_c;
          nb::gil_scoped_release g;
          *r = tiergnn::profile(d, o);
        }
        nb::dict out;
        out["estimator"] = r->estimator;
        out["seconds"] = r->seconds;
        out["edge_passes"] = r->edge_passes;
        out["details_json"] = r->details_json;
        // The scores stay in the vector the profiler filled; a capsule frees it with the array.
        auto* scores = new std::vector<double>(std::move(r->scores));
        nb::capsule owner(scores, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
        out["scores"] = vector_array(*scores, owner);
        return out;
      },
      nb::arg("dataset"), nb::arg("estimator"), nb::arg("fanouts"), nb::arg("batch_size"), nb::arg("seed"),
      nb::arg("run_epochs"), nb::arg("train_ids"), nb::arg("max_batches"));

  m.def(
      "prepare",
      [](const tiergnn::dataset& src, const std::string& out, const std::string& estimator, const std::string& gpu_mem,
         const std::string& host_mem, std::vector<std::int64_t> fanouts, std::int64_t batch_size, std::uint64_t seed,
         int run_epochs, std::int64_t hidden, bool overwrite, std::int64_t max_batches, const std::string& model,
         int heads, int out_heads) {
        tiergnn::prepare_options o;
        o.estimator = estimator;
        o.gpu_mem = gpu_mem;
        o.host_mem = host_mem;
        o.fanouts = std::move(fanouts);
        o.batch_size = batch_size;
        o.seed = seed;
        o.run_epochs = run_epochs;
        o.hidden = hidden;
        o.overwrite = overwrite;
        o.max_batches = max_batches;
        o.model = model;
        o.heads = heads;
        o.out_heads = out_heads;
        ctrl_c_scope ctrl_c;
        nb::gil_scoped_release g;
        return tiergnn::prepare(src, out, o);
      },
      nb::arg("src"), nb::arg("out"), nb::arg("estimator"), nb::arg("gpu_mem"), nb::arg("host_mem"), nb::arg("fanouts"),
      nb::arg("batch_size"), nb::arg("seed"), nb::arg("run_epochs"), nb::arg("hidden"), nb::arg("overwrite"),
      nb::arg("max_batches"), nb::arg("model"), nb::arg("heads"), nb::arg("out_heads"));

  nb::class_<py_block>(m, "Block")
      .def_prop_ro("num_dst", [](const py_block& b) { return b.get().num_dst; })
      .def_prop_ro("num_src", [](const py_block& b) { return b.get().num_src(); })
      .def_prop_ro("num_edges", [](const py_block& b) { return b.get().num_edges(); })
      .def_prop_ro("src_nodes",
                   [](nb::handle self) { return vector_array(nb::cast<py_block&>(self).get().src_nodes, self); })
      .def_prop_ro("indptr", [](nb::handle self) { return vector_array(nb::cast<py_block&>(self).get().indptr, self); })
      .def_prop_ro("indices",
                   [](nb::handle self) { return vector_array(nb::cast<py_block&>(self).get().indices, self); })
      .def_prop_ro("src_degree",
                   [](nb::handle self) { return vector_array(nb::cast<py_block&>(self).get().src_degree, self); })
      .def("__repr__", [](const py_block& b) {
        return "Block(num_src=" + std::to_string(b.get().num_src()) + ", num_dst=" + std::to_string(b.get().num_dst) +
               ", num_edges=" + std::to_string(b.get().num_edges()) + ")";
      });

  nb::class_<py_batch>(m, "Batch")
      .def_prop_ro("blocks",
                   [](const py_batch& b) {
                     nb::list l;
                     for (std::size_t i = 0; i < b.b->blocks.size(); ++i) l.append(nb::cast(py_block{b.b, i}));
                     return l;
                   })
      .def_prop_ro("num_sampled_edges", [](const py_batch& b) { return b.b->num_sampled_edges(); })
      .def("__len__", [](const py_batch& b) { return b.b->blocks.size(); });

  nb::class_<tiergnn::sampler>(m, "Sampler")
      .def(nb::init<const tiergnn::dataset&, std::vector<std::int64_t>, std::uint64_t>(), nb::arg("dataset"),
           nb::arg("fanouts"), nb::arg("seed"))
      .def_prop_ro("fanouts", &tiergnn::sampler::fanouts)
      .def_prop_ro("seed", &tiergnn::sampler::seed)
      .def(
          "sample",
          [](const tiergnn::sampler& s, ids_array seeds, std::int64_t epoch, std::int64_t batch) {
            auto b = std::make_shared<tiergnn::batch>();
            {
              nb::gil_scoped_release g;
              *b = s.sample(seeds.data(), seeds.shape(0), epoch, batch);
            }
            return py_batch{std::move(b)};
          },
          nb::arg("seeds"), nb::arg("epoch"), nb::arg("batch"))
      .def(
          "epoch_batches",
          [](const tiergnn::sampler& s, ids_array train_ids, std::int64_t batch_size, std::int64_t epoch) {
            std::vector<std::int64_t> ids(train_ids.data(), train_ids.data() + train_ids.shape(0));
            nb::gil_scoped_release g;
            return s.epoch_batches(ids, batch_size, epoch);
          },
          nb::arg("train_ids"), nb::arg("batch_size"), nb::arg("epoch"));

  nb::class_<py_store>(m, "FeatureStore")
      .def(
          "__init__",
          [](py_store* self, const tiergnn::dataset& d, int disk_readers, std::int64_t g, std::int64_t c,
             const std::string& device, std::uint64_t reserve_bytes) {
            new (self) py_store();
            self->ds = d;
            tiergnn::store_options o;
            o.device = device;
            o.disk_readers = disk_readers;
            o.g = g;
            o.c = c;
            o.reserve_bytes = reserve_bytes;
            nb::gil_scoped_release rel;
            self->fs = std::make_shared<tiergnn::feature_store>(d, o);
          },
          nb::arg("dataset"), nb::arg("disk_readers") = 4, nb::arg("g") = -1, nb::arg("c") = -1,
          nb::arg("device") = "cpu", nb::arg("reserve_bytes") = 0)
      .def_prop_ro("num_rows", [](const py_store& s) { return s.get().num_rows(); })
      .def_prop_ro("dim", [](const py_store& s) { return s.get().dim(); })
      .def_prop_ro("row_bytes", [](const py_store& s) { return s.get().row_bytes(); })
      .def_prop_ro("g", [](const py_store& s) { return s.get().g(); })
      .def_prop_ro("c", [](const py_store& s) { return s.get().c(); })
      .def_prop_ro("device", [](const py_store& s) { return s.get().device(); })
      .def_prop_ro("closed", [](const py_store& s) { return !s.fs; })
      .def(
          "gather",
          [](const py_store& s, ids_array ids) {
            const std::shared_ptr<const tiergnn::feature_store> pinned = s.pin();
            const tiergnn::feature_store& fs = *pinned;
            const std::size_t n = ids.shape(0);
            auto* rows = new tiergnn::gathered_rows();
            nb::capsule owner(rows, [](void* p) noexcept { delete static_cast<tiergnn::gathered_rows*>(p); });
            {
              nb::gil_scoped_release g;
              *rows = fs.gather(ids.data(), n);
            }
            // Host memory for a CPU store; device memory (a CUDA tensor through DLPack) for a CUDA store.
            const size_t shape[2] = {n, static_cast<size_t>(rows->dim)};
            const int dev_type = rows->device_id < 0 ? nb::device::cpu::value : nb::device::cuda::value;
            return rw_array(rows->data, 2, shape, owner, nullptr, nb::dtype<float>(), dev_type,
                            std::max(0, rows->device_id));
          },
          nb::arg("ids"))
      .def(
          "gather_into",
          [](const py_store& s, ids_array ids, out_array out) {
            const std::shared_ptr<const tiergnn::feature_store> pinned = s.pin();
            const tiergnn::feature_store& fs = *pinned;
            if (fs.device_id() >= 0)
              throw tiergnn::error(tiergnn::error::kind::input,
                                   "feature store: out= takes host memory; this store gathers on " + fs.device() +
                                       " (call gather(ids) for a CUDA tensor)");
            const std::size_t n = ids.shape(0);
            if (out.shape(0) < n || out.shape(1) != static_cast<std::size_t>(fs.dim()))
              throw tiergnn::error(tiergnn::error::kind::input,
                                   "feature store: out has shape (" + std::to_string(out.shape(0)) + ", " +
                                       std::to_string(out.shape(1)) + "), needs at least (" + std::to_string(n) + ", " +
                                       std::to_string(fs.dim()) + ")");
            nb::gil_scoped_release g;
            fs.gather(ids.data(), n, out.data());
          },
          nb::arg("ids"), nb::arg("out"))
      .def_prop_ro("traffic", [](const py_store& s) { return traffic_dict(s.get().traffic()); })
      .def("reset_traffic", [](py_store& s) { s.get().reset_traffic(); })
      .def(
          "tier",
          [](nb::handle self, const std::string& which) {
            py_store& s = nb::cast<py_store&>(self);
            const tiergnn::array_view v = s.get().tier(which);
            // The owner keeps the store object alive and counts as a live view until freed.
            struct view_owner {
              nb::object store;
              std::shared_ptr<std::atomic<int>> views;
            };
            auto* vo = new view_owner{nb::borrow(self), s.views};
            ++*vo->views;
            nb::capsule owner(vo, [](void* p) noexcept {
              auto* o = static_cast<view_owner*>(p);
              --*o->views;
              nb::gil_scoped_acquire g;
              delete o;
            });
            return to_array<rw_array>(v, owner);
          },
          nb::arg("which"))
      .def_prop_ro("live_views", [](const py_store& s) { return s.views->load(); })
      .def("close", [](py_store& s) {
        if (!s.fs) return;
        if (s.views->load() > 0)
          throw std::runtime_error("feature store: " + std::to_string(s.views->load()) +
                                   " tier view(s) still refer to this store's memory; delete them before close()");
        s.fs.reset();
      });
}
