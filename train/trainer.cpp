#include "train/trainer.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <functional>
#include <limits>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>

#include "core/json_text.hpp"
#include "core/error.hpp"
#include "core/dataset.hpp"
#include "core/temp_files.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
#include "kernels/loss.hpp"
#include "sampler/batcher.hpp"
#include "sampler/cuda_sampler.hpp"
#include "core/gpu_memory.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "sampler/rank_slice.hpp"
#include "sampler/self_loops.hpp"
#include "train/checkpoint.hpp"
#include "train/batch_pipeline.hpp"
#include "multigpu/gradient_reducer.hpp"
#include "multigpu/topology.hpp"
#include "nn/optimizer.hpp"
#include "multigpu/communicator.hpp"
#include "multigpu/sharded_store.hpp"
#include "tiering/budget.hpp"
#include "core/device.hpp"
#include "train/metrics.hpp"
#include "core/output_file.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/plan.hpp"
#include "tiering/store.hpp"
#include "tiering/plan_file.hpp"

namespace tg {

namespace {

// A hidden layer's output width and GAT's heads, for the memory reserve (tiering/plan.hpp).
std::int64_t hidden_width(const model_config& m) {
  return reserve_model_of(m.kind, m.hidden, m.heads, m.out_heads).width;
}
std::int64_t attention_heads(const model_config& m) {
  return reserve_model_of(m.kind, m.hidden, m.heads, m.out_heads).attention_heads;
}

// --metrics written to a hidden temporary sibling and renamed into place by commit(). A run that
// fails (an exception) after finishing epochs keeps their lines, as the checkpoint keeps their model;
// one that fails before finishing any leaves the previous file as it was.
struct metrics_output {
  std::string path, tmp;
  std::ofstream out;
  bool committed = false;
  int epoch_lines = 0;           // lines of epochs this run finished
  std::uint64_t good_bytes = 0;  // the file's bytes up to its last complete, flushed line
  bool recovered = false;        // the file begins with lines recovered from a stopped run's temporary
  // resume: the run continues after epoch `start` of a checkpoint whose header recorded `tail`: its
  // last epoch line's {"epoch", "loss", "seconds"}; null when that run wrote no metrics; discarded
  // when the checkpoint predates the record.
  void open(const std::string& p, bool resume, int start, const nlohmann::json& tail) {
    path = p;
    tmp = temp_sibling(p);
    name_temp(tmp, p);
    std::vector<std::string> kept;
    if (resume) kept = resumed_lines(p, start, tail, &recovered);
    register_temp(tmp);
    out.open(tmp, std::ios::trunc);
    if (!out)
      throw input_error(at_input(p, std::string("cannot open the metrics file for writing: ") + std::strerror(errno)));
    for (const std::string& line : kept) out << line << '\n';
    out.flush();
    if (!out) {
      recovered = false;  // nothing to keep: the stopped run's temporary stays for a later resume
      throw io_error(at_input(p, "cannot copy it to append this run's lines (is the disk full?)"));
    }
    good_bytes = static_cast<std::uint64_t>(out.tellp());
    remove_stale_temps(p);  // left by runs that were killed; what this resume needed of them is copied
  }

  // On --resume the file begins with the lines of the checkpointed run's epochs 1..start (its
  // "final" line left out: the file ends with this run's). They are found where that run wrote them:
  // this file, or the temporary of a run that was stopped before it could rename it into place (the
  // newest first). The run's block is the lines of epochs 1..start that end at the line the
  // checkpoint recorded; lines of another run (one that replaced the file meanwhile) or of epochs
  // after the checkpoint are left out, with a warning (they were all copied, and a resumed file
  // could list epochs 1-5 of another run before this one's 3-4).
  static std::vector<std::string> resumed_lines(const std::string& p, int start, const nlohmann::json& tail,
                                                bool* recovered) {
    std::vector<std::string> sources = stale_temps(p);
    std::reverse(sources.begin(), sources.end());  // newest temporary first
    std::error_code ec;
    const bool file_exists = std::filesystem::is_regular_file(p, ec);
    if (file_exists) sources.insert(sources.begin(), p);
    struct line_info {
      std::string text;
      int epoch = 0;  // 0: not an epoch line (the "final" line, or not JSON)
      nlohmann::json j;
    };
    auto read_lines = [](const std::string& f) {
      std::vector<line_info> v;
      std::ifstream in(f);
      if (!in) throw io_error(at_input(f, "cannot read it to continue the run's metrics"));
      for (std::string line; std::getline(in, line);) {
        line_info li;
        try {
          li.j = nlohmann::json::parse(line, json_depth_limit_for(f), false);
        } catch (const input_error&) {  // nested past reason: not an epoch's line, left out like junk
          li.j = nlohmann::json(nlohmann::json::value_t::discarded);
        }
        if (li.j.is_object() && !li.j.contains("final") && li.j.contains("epoch") && li.j["epoch"].is_number_integer())
          li.epoch = li.j["epoch"].get<int>();
        li.text = std::move(line);
        v.push_back(std::move(li));
      }
      return v;
    };
    const std::string name = "--metrics " + printable_text(p);
    const std::vector<line_info> file = file_exists ? read_lines(p) : std::vector<line_info>();  // read once
    std::size_t file_lines = 0;  // epoch lines in the file itself, to tell what was left out
    for (const auto& li : file) file_lines += li.epoch > 0 ? 1 : 0;
    std::vector<std::string> kept;
    std::size_t kept_from_file = 0;
    if (tail.is_discarded()) {
      // A checkpoint from before the record: its epochs' lines as the file has them, in order.
      for (const auto& li : file)
        if (li.epoch >= 1 && li.epoch <= start) kept.push_back(li.text);
      kept_from_file = kept.size();
    } else if (tail.is_object()) {
      // A number of a JSON object, NaN when absent or not a number (NaN equals nothing).
      auto num = [](const nlohmann::json& o, const char* key) {
        const auto it = o.find(key);
        return it != o.end() && it->is_number() ? it->get<double>() : std::numeric_limits<double>::quiet_NaN();
      };
      const int tail_epoch = tail.at("epoch").get<int>();  // validated when the checkpoint was read
      bool found = false;
      for (std::size_t s = 0; s < sources.size() && !found; ++s) {
        const std::vector<line_info> temp = sources[s] == p ? std::vector<line_info>() : read_lines(sources[s]);
        const std::vector<line_info>& v = sources[s] == p ? file : temp;
        for (std::size_t i = v.size(); i-- > 0 && !found;) {
          if (v[i].epoch != tail_epoch || num(v[i].j, "loss") != num(tail, "loss") ||
              num(v[i].j, "seconds") != num(tail, "seconds"))
            continue;
          // The recorded last line, then back through epochs start - 1, ..., 1 of the same block.
          found = true;
          std::vector<std::string> block = {v[i].text};
          int want = v[i].epoch - 1;
          for (std::size_t k = i; k-- > 0 && want >= 1;)
            if (v[k].epoch == want) {
              block.push_back(v[k].text);
              --want;
            } else if (v[k].epoch > 0) {
              break;  // another run's line: the block ends here
            }
          kept.assign(block.rbegin(), block.rend());
          if (want >= 1)
            log_warn(name, ": the lines of epochs 1 to ", want,
                     " of the run being resumed are not there; the file continues without them");
          if (sources[s] == p) {
            kept_from_file = kept.size();
          } else {
            *recovered = true;
            log_info(name, ": the lines of epochs ", want + 1, " to ", v[i].epoch, " were recovered from ",
                     printable_text(sources[s]), ", left by a run that was stopped before it could write the file");
          }
        }
      }
      if (!found && start > 0)
        log_warn(name,
                 file_exists ? ": the lines of epochs 1 to " + std::to_string(start) +
                                   " of the run being resumed are not in it (it holds another run's, or that "
                                   "run wrote its metrics elsewhere)"
                             : std::string(" does not exist, nor a temporary that a stopped run left beside it"),
                 "; this run's lines start at epoch ", start + 1);
    } else if (start > 0) {  // null: the run being resumed wrote no metrics
      log_warn(name, ": the run being resumed wrote no --metrics; this run's lines start at epoch ", start + 1);
    }
    if (file_lines > kept_from_file)
      log_warn(name, ": ", file_lines - kept_from_file,
               " epoch line(s) in it that are not the resumed run's epochs 1 to ", start,
               " (another run's, or later epochs) are left out of the resumed file");
    return kept;
  }
  // salvage: the stream failed (a full disk): the file keeps its complete lines (good_bytes), as
  // --help promises for a run that fails after finishing an epoch (R15-F7: they were deleted).
  void commit(bool salvage = false) {
    out.close();
    if (!out) {
      if (!salvage) throw io_error(at_input(path, "write failed (is the disk full?)"));
      if (::truncate(tmp.c_str(), static_cast<off_t>(good_bytes)) != 0) throw_errno("truncate", path);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw io_error(
          at_input(path, std::string("cannot rename the finished file into place: ") + std::strerror(errno)));
    unregister_temp(tmp);
    committed = true;
  }
  ~metrics_output() {
    // Lines recovered from a stopped run's temporary (now removed) are kept as well: they exist nowhere else.
    if (!tmp.empty() && !committed && (epoch_lines > 0 || recovered) && good_bytes > 0 &&
        std::uncaught_exceptions() > 0) {
      try {
        commit(true);
        log_info("the metrics of the ", epoch_lines, " epoch(s) this run finished are in ", path);
      } catch (const std::exception&) {  // the run's own error is the one to report
      }
    }
    if (tmp.empty() || committed) return;
    out.close();
    std::remove(tmp.c_str());
    unregister_temp(tmp);
  }
};

// The first stop signal that arrived during training (0: none); shared with the CPU communicator's
// waits (core/progress.hpp).
std::atomic<int>& g_stop_signal = pending_stop_signal();
extern "C" void on_stop_request(int sig) {
  int none = 0;
  g_stop_signal.compare_exchange_strong(none, sig);
}

// For the duration of training, Ctrl-C (SIGINT), SIGTERM (sent by `timeout`, batch schedulers at
// their time limit, `docker stop`, `kill`) and SIGHUP stop it at the next batch, keeping the
// checkpoint, metrics and output of the finished epochs; the previous handlers (which remove
// temporary outputs and end the process) come back afterwards.
class stop_signal_guard {
 public:
  stop_signal_guard() {
    g_stop_signal.store(0);
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      installed_[i] = catch_unless_ignored(kSignals[i], on_stop_request, &old_[i]);
  }
  ~stop_signal_guard() {
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      if (installed_[i]) sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[std::size(kSignals)]{};
  bool installed_[std::size(kSignals)]{};
};

// The advice of a divergence message: a smaller --lr, or a smaller --weight-decay where the decay is
// large enough to blow the weights up by itself (lr x decay near 1 or more).
std::string divergence_advice(const train_config& cfg) {
  return cfg.adam.weight_decay * cfg.adam.lr >= 0.5 || cfg.adam.weight_decay >= 1e3
             ? "Try a smaller --weight-decay (" + number_text(cfg.adam.weight_decay) + ") or --lr."
             : "Try a smaller --lr.";
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct labelled_splits {
  std::vector<std::int64_t> labels, train, valid, test;
  std::int64_t num_classes = 0;
};

std::vector<std::int64_t> load_split(const dataset& d, const char* file) {
  return d.has(file) ? d.get(file).to_int64() : std::vector<std::int64_t>{};
}

labelled_splits load_splits(const dataset& d) {
  labelled_splits s;
  if (!d.meta().has_labels())
    throw input_error(at_input(d.dir(), "the dataset has no labels (labels.npy): training needs a labelled dataset"));
  if (!d.has("train_idx.npy"))
    throw input_error(at_input(d.dir(), "the dataset has no training split (train_idx.npy)"));
  if (d.get("train_idx.npy").count() == 0)
    throw input_error(
        at_input(d.dir() + "/train_idx.npy", "the training split is empty: there is nothing to train on"));
  s.num_classes = d.meta().num_classes;
  if (s.num_classes < 2)
    throw input_error(at_input(d.dir(), "a classifier needs at least 2 classes, but meta.json's num_classes is " +
                                            std::to_string(s.num_classes) + ": nothing to learn"));
  s.labels = d.get("labels.npy").to_int64();
  s.train = load_split(d, "train_idx.npy");
  s.valid = load_split(d, "valid_idx.npy");
  s.test = load_split(d, "test_idx.npy");
  for (const auto* split : {&s.train, &s.valid, &s.test})
    for (std::int64_t v : *split) {
      if (v < 0 || v >= d.num_nodes())
        throw input_error(at_input(
            d.dir(), "split node " + std::to_string(v) + " is outside [0, " + std::to_string(d.num_nodes()) + ")"));
      const std::int64_t l = s.labels[v];
      if (l < 0 || l >= s.num_classes)
        throw input_error(at_input(d.dir() + "/labels.npy", "label " + std::to_string(l) + " of split node " +
                                                                std::to_string(v) + " is outside [0, " +
                                                                std::to_string(s.num_classes) + ")"));
    }
  return s;
}

double score(const std::vector<float>& logits, const std::vector<std::int64_t>& ids,
             const std::vector<std::int64_t>& labels, std::int64_t classes) {
  if (ids.empty()) return -1;
  std::vector<std::int64_t> y(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) y[i] = labels[ids[i]];
  if (classes == 2) {
    // ROC-AUC ranks positives against negatives: over one class it is undefined (NaN, printed "n/a",
    // null in the metrics file), not the 0.5 of a coin.
    if (std::all_of(y.begin(), y.end(), [&](std::int64_t l) { return l == y[0]; }))
      return std::numeric_limits<double>::quiet_NaN();
    std::vector<float> s(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) s[i] = logits[2 * i + 1] - logits[2 * i];
    return roc_auc(s, y);
  }
  return accuracy(logits.data(), static_cast<std::int64_t>(ids.size()), classes, y.data());
}

nlohmann::json settings_json(const train_config& cfg) {
  return {{"fanouts", cfg.fanouts},
          {"batch_size", cfg.batch_size},
          {"max_batches", cfg.max_batches},
          {"seed", cfg.seed},
          {"lr", cfg.adam.lr},
          {"weight_decay", cfg.adam.weight_decay},
          {"weight_decay_scope", cfg.weight_decay_scope},
          {"ignore_graph", cfg.ignore_graph},
          {"beta1", cfg.adam.beta1},
          {"beta2", cfg.adam.beta2},
          {"eps", cfg.adam.eps}};
}

// Fixed-point below 1e12, scientific above (a diverging loss of 6.4e33 was cut to 31 digits).
std::string fmt(double x, int prec = 4) {
  char b[64];
  std::snprintf(b, sizeof b, std::isfinite(x) && std::fabs(x) >= 1e12 ? "%.*e" : "%.*f", prec, x);
  return b;
}

// A metric in the --metrics file: null where it was not computed (no such split, --eval none: -1
// inside) or is undefined (ROC-AUC over one class: NaN), never a number outside [0, 1].
nlohmann::json metric_json(double x) {
  return std::isfinite(x) && x >= 0 ? nlohmann::json(x) : nlohmann::json(nullptr);
}

// A validation or test metric as printed: NaN is ROC-AUC over a split holding one class.
std::string metric_text(double x, const labelled_splits& sp, const std::vector<std::int64_t>& split) {
  if (!std::isnan(x)) return x >= 0 ? fmt(x) : std::string("n/a");
  return "n/a (every node of this split has label " + std::to_string(sp.labels[split.front()]) + ")";
}

// TIERGNN_PROFILE_OPS=1: the training loop's backend operations timed one by one (backend::op_scope),
// logged when the loop ends, largest first.
struct op_profiling {
  backend& be;
  bool on;
  op_profiling(backend& b, bool enable) : be(b), on(enable) {
    if (!on) return;
    be.reset_op_profile();
    be.set_profiling(true);
    log_info(
        "TIERGNN_PROFILE_OPS=1: every backend operation waits for the work queued before it and for itself, so "
        "this run is slower than an unprofiled one");
  }
  ~op_profiling() {
    if (on) be.set_profiling(false);
  }
  op_profiling(const op_profiling&) = delete;
  op_profiling& operator=(const op_profiling&) = delete;
  void report() {
    if (!on) return;
    be.set_profiling(false);
    std::vector<std::pair<std::string, backend::op_stat>> rows;
    double total = 0;
    for (const auto& [name, s] : be.op_profile()) {
      rows.emplace_back(name, s);
      total += s.seconds;
    }
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    log_info("operations on ", be.name(), " (TIERGNN_PROFILE_OPS=1): ", fmt(total, 3), " s in all");
    for (const auto& [name, s] : rows) {
      char line[200];
      std::snprintf(line, sizeof line, "  %-26s %9lld calls %10.3f s %9.3f ms a call %6.1f%%", name.c_str(),
                    static_cast<long long>(s.calls), s.seconds, 1e3 * s.seconds / static_cast<double>(s.calls),
                    total > 0 ? 100 * s.seconds / total : 0.0);
      log_info(line);
    }
  }
};

// Device memory --sampler gpu / gpu-pinned holds: with gpu, the CSR and the node keys (keys: a prepared
// dataset's); either way the sampler's per-batch scratch, ~100 bytes per candidate of its largest hop
// (frontier + sampled edges: not capped by the graph's nodes, so -1 fanouts count every edge) and ~12
// per candidate kept in the device blocks.
std::uint64_t gpu_sampler_bytes(const dataset& d, const train_config& cfg, bool keys) {
  if (cfg.sampler == "cpu") return 0;
  const auto nodes = static_cast<double>(d.num_nodes()), edges = static_cast<double>(d.num_edges());
  double n = std::min(static_cast<double>(cfg.batch_size), nodes), most = 0, kept = 0;
  for (std::int64_t f : cfg.fanouts) {
    const double ne = f < 0 ? edges : std::min(edges, n * static_cast<double>(f));
    most = std::max(most, n + ne);
    kept += n + ne;
    n = std::min(nodes, n + ne);
  }
  double bytes = 100 * most + 12 * kept;
  if (cfg.sampler == "gpu")
    bytes += (nodes + 1) * sizeof(std::int64_t) + static_cast<double>(d.indices().nbytes()) +
             (keys ? nodes * sizeof(std::int64_t) : 0.0);
  return static_cast<std::uint64_t>(bytes);
}

// The sampler's view of the graph: the dataset's CSR, or (ignore_graph) the same nodes without edges.
struct graph_for_sampling {
  std::vector<std::int64_t> empty_indptr;
  std::int32_t dummy = 0;
  neighbor_sampler make(const dataset& d, const std::vector<std::int64_t>& fanouts, std::uint64_t seed, bool ignore) {
    if (!ignore) return neighbor_sampler(d, fanouts, seed);
    empty_indptr.assign(static_cast<std::size_t>(d.num_nodes()) + 1, 0);
    return neighbor_sampler(d.num_nodes(), empty_indptr.data(), &dummy, dtype::int32, fanouts, seed);
  }
};

}  // namespace

namespace {

// Rows [slice] of a batch computed on every rank, gathered in rank order into out (n x width floats).
void all_gather_rows(communicator& comm, std::int64_t n, std::int64_t width, const float* mine, float* out) {
  const int world = comm.size();
  const index_range own = rank_slice(n, comm.rank(), world);
  const std::int64_t most = (n + world - 1) / world;
  std::vector<float> send(static_cast<std::size_t>(most * width), 0.0f),
      all(static_cast<std::size_t>(most * width * world));
  std::copy_n(mine, own.size() * width, send.data());
  comm.all_gather(send.data(), send.size() * sizeof(float), all.data());
  for (int r = 0; r < world; ++r) {
    const index_range their = rank_slice(n, r, world);
    std::copy_n(all.data() + static_cast<std::size_t>(r) * send.size(), their.size() * width,
                out + their.begin * width);
  }
}

// Thrown by evaluate_with when `stop` says so between evaluation batches (a stop signal during a
// long full-graph evaluation); the trainer skips that evaluation.
struct evaluation_stopped {};

// Evaluation through `features`. With a communicator (a data-parallel job), every rank computes
// its slice of each evaluation batch (the store's gathers are collective) and the slices are
// gathered, so every rank returns all the logits; the samples are keyed by the batch as on one
// process, so the result is the same.
// Without one, `stop` (when given) is polled between evaluation batches: it throws evaluation_stopped
// (with one, the ranks would have to agree, and the batches are collective).
// `tick`, when given, runs between evaluation batches too (a job's lead: heartbeats to the waiting ranks).
std::vector<float> evaluate_with(const dataset& d, const gnn_model& m, const std::vector<std::int64_t>& ids,
                                 const train_config& cfg, feature_store& features, communicator* comm,
                                 const std::atomic<int>* stop = nullptr, const std::function<void()>& tick = {}) {
  const auto check_stop = [&] {
    if (!comm && stop != nullptr && stop->load() != 0) throw evaluation_stopped{};
    if (tick) tick();
  };
  const std::int64_t classes = m.config().num_classes;
  const int rank = comm ? comm->rank() : 0, world = comm ? comm->size() : 1;
  const std::vector<std::int64_t> keys =
      d.has("order.npy") ? d.get("order.npy").to_int64() : std::vector<std::int64_t>{};
  std::vector<float> out(ids.size() * static_cast<std::size_t>(classes));
  const std::int64_t eb = std::max<std::int64_t>(1, cfg.eval_batch_size);
  const auto gather = [&](span<const std::int64_t> rows, std::vector<float>* x) {
    x->resize(rows.size() * static_cast<std::size_t>(features.dim()));
    features.gather(rows, host_view(x->data(), static_cast<std::int64_t>(x->size())), nullptr);
  };
  if (cfg.eval_mode == "sampled") {
    graph_for_sampling gs;
    neighbor_sampler s = gs.make(d, cfg.fanouts, cfg.seed ^ 0x6576616cull /* "eval" */, cfg.ignore_graph);
    s.set_node_keys(span<const std::int64_t>(keys));
    sampled_batch sb;
    std::vector<float> x, mine;
    gnn_model& mm = const_cast<gnn_model&>(m);  // forward(train=false) keeps no state
    for (std::size_t b0 = 0; b0 < ids.size(); b0 += static_cast<std::size_t>(eb)) {
      check_stop();
      const std::size_t n = std::min(ids.size() - b0, static_cast<std::size_t>(eb));
      const index_range own = rank_slice(static_cast<std::int64_t>(n), rank, world);
      mine.clear();
      if (own.size() > 0) {
        // Every chunk is keyed as batch 0: a node's draws then depend on (seed, hop, node) alone, so the
        // metric does not depend on --eval-batch-size (a memory knob) or on the rank count.
        s.sample(span<const std::int64_t>(ids.data() + b0 + own.begin, static_cast<std::size_t>(own.size())), 0, 0,
                 &sb);
        gather(sb.input_nodes(), &x);
        const auto& logits = mm.forward(sb, x.data(), false, dropout_key{});
        mine.assign(logits.begin(), logits.end());
      } else if (features.collective()) {
        gather(span<const std::int64_t>(), &x);  // serve the other ranks' rows
      }
      float* dst = out.data() + static_cast<std::ptrdiff_t>(b0 * classes);
      if (comm)
        all_gather_rows(*comm, static_cast<std::int64_t>(n), classes, mine.data(), dst);
      else
        std::copy(mine.begin(), mine.end(), dst);
    }
    return out;
  }
  // Layer-wise full-neighbour inference over all nodes.
  const std::int64_t n = d.num_nodes();
  graph_for_sampling gs;
  neighbor_sampler full = gs.make(d, {-1}, 0, cfg.ignore_graph);
  sampled_batch sb;
  std::vector<float> prev, cur, x, mine;
  std::vector<std::int64_t> seeds;
  for (int l = 0; l < m.config().num_layers; ++l) {
    const std::int64_t din = m.layer_in_dim(l), dout = m.layer_out_dim(l);
    cur.assign(static_cast<std::size_t>(n * dout), 0.0f);
    for (std::int64_t s0 = 0; s0 < n; s0 += eb) {
      check_stop();
      const std::int64_t cnt = std::min(eb, n - s0);
      const index_range own = rank_slice(cnt, rank, world);
      // One process writes its rows in place; a rank computes its slice, then the slices are gathered.
      if (comm) mine.assign(static_cast<std::size_t>(own.size() * dout), 0.0f);
      float* rows = comm ? mine.data() : cur.data() + s0 * dout;
      if (own.size() > 0) {
        seeds.resize(static_cast<std::size_t>(own.size()));
        std::iota(seeds.begin(), seeds.end(), s0 + own.begin);
        full.sample(span<const std::int64_t>(seeds), 0, 0, &sb);
        const block& b = sb.blocks[0];
        if (l == 0) {
          gather(span<const std::int64_t>(b.src_nodes), &x);
        } else {
          x.resize(static_cast<std::size_t>(b.num_src() * din));
          for (std::int64_t i = 0; i < b.num_src(); ++i)
            std::copy_n(prev.data() + b.src_nodes[i] * din, din, x.data() + i * din);
        }
        m.layer_forward(l, b, x.data(), rows);
      } else if (l == 0 && features.collective()) {
        gather(span<const std::int64_t>(), &x);
      }
      if (comm) all_gather_rows(*comm, cnt, dout, mine.data(), cur.data() + s0 * dout);
    }
    prev.swap(cur);
  }
  for (std::size_t i = 0; i < ids.size(); ++i)
    std::copy_n(prev.data() + ids[i] * classes, classes, out.data() + i * classes);
  return out;
}

// Every row read in place from the mapped features file (the store with every row in its host tier);
// `stop` as in evaluate_with.
std::vector<float> evaluate_unsharded(const dataset& d, const gnn_model& m, const std::vector<std::int64_t>& ids,
                                      const train_config& cfg, const std::atomic<int>* stop,
                                      const std::function<void()>& tick = {}) {
  tiered_store features(d, 0, d.num_nodes(), cfg.disk_readers, true);
  return evaluate_with(d, m, ids, cfg, features, nullptr, stop, tick);
}

// An unsharded job's evaluation: the lead evaluates alone (one copy of every layer's outputs for all
// N nodes, not one per rank) while the other ranks wait in lead_evaluation_follow. Between its
// evaluation batches the lead broadcasts a heartbeat once a second (a quarter of --comm-timeout if
// that is shorter), so a waiting rank's timeout bounds a hang, not the evaluation (a long one had
// timed the followers out; an evaluation batch itself must take less than the timeout);
// at the end it broadcasts done, or stopped when a stop signal arrived (every rank then skips the
// evaluation together).
enum : std::int32_t { kEvalDone = 0, kEvalGoing = 1, kEvalStopped = 2 };

std::function<void()> lead_evaluation_tick(communicator& comm, double timeout_s,
                                           std::chrono::steady_clock::time_point* last) {
  const auto every = std::chrono::duration<double>(std::min(1.0, timeout_s / 4));
  return [&comm, last, every] {
    std::int32_t flag = kEvalGoing;
    if (g_stop_signal.load() != 0) {
      flag = kEvalStopped;
      comm.broadcast(&flag, sizeof flag, 0);
      throw evaluation_stopped{};
    }
    if (std::chrono::steady_clock::now() - *last < every) return;
    comm.broadcast(&flag, sizeof flag, 0);
    *last = std::chrono::steady_clock::now();
  };
}

void lead_evaluation_done(communicator& comm) {
  std::int32_t flag = kEvalDone;
  comm.broadcast(&flag, sizeof flag, 0);
}

// A rank other than the lead: waits until the lead's evaluation ends; evaluation_stopped if it was stopped.
void lead_evaluation_follow(communicator& comm) {
  for (;;) {
    std::int32_t flag = kEvalDone;
    comm.broadcast(&flag, sizeof flag, 0);
    if (flag == kEvalDone) return;
    if (flag == kEvalStopped) throw evaluation_stopped{};
  }
}
}  // namespace

std::vector<float> evaluate_logits(const dataset& d, const gnn_model& m, const std::vector<std::int64_t>& ids,
                                   const train_config& cfg) {
  // GCN: the dataset's self-loops, for this evaluation, where the caller set none.
  std::optional<self_loop_index> loops;
  auto& mm = const_cast<gnn_model&>(m);  // (set and reset around a pass that keeps no other state)
  if (aggregator_of(m.config()) == aggregator::gcn && !cfg.ignore_graph && !m.self_loops() &&
      d.meta().self_loops != 0) {
    loops.emplace(d);
    mm.set_self_loops(&*loops);
  }
  struct reset {
    gnn_model& m;
    bool set;
    ~reset() {
      if (set) m.set_self_loops(nullptr);
    }
  } const restore{mm, loops.has_value()};
  return evaluate_unsharded(d, m, ids, cfg, nullptr);
}

namespace {

// Every rank must hold the same parameters: compares a hash of their bytes across ranks.
void check_identical_parameters(communicator* comm, const gnn_model& model, int epoch) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the parameter bytes
  for (const auto& p : model.params()) {
    const auto* b = reinterpret_cast<const unsigned char*>(p.value.data());
    for (std::size_t i = 0; i < p.value.size() * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  std::vector<std::uint64_t> all(static_cast<std::size_t>(comm->size()));
  comm->all_gather(&h, sizeof h, all.data());
  for (int r = 1; r < comm->size(); ++r)
    if (all[static_cast<std::size_t>(r)] != all[0])
      throw error("data-parallel training: after epoch " + std::to_string(epoch) + " rank " + std::to_string(r) +
                  " holds different parameters than rank 0 (a bug: every rank applies the same reduced update)");
}

// Every option checked before any work; fills the model's layer count from the fanouts.
void validate_config(train_config& cfg) {
  if (cfg.batch_size <= 0) throw input_error("--batch-size must be positive, got " + std::to_string(cfg.batch_size));
  if (cfg.max_batches < 0) throw input_error("--max-batches must be positive, got " + std::to_string(cfg.max_batches));
  if (cfg.epochs < 0) throw input_error("--epochs must not be negative");
  if (cfg.eval_mode != "full" && cfg.eval_mode != "sampled" && cfg.eval_mode != "none")
    throw input_error("--eval '" + cfg.eval_mode + "': choose full, sampled or none");
  if (!(cfg.adam.lr > 0) || !std::isfinite(cfg.adam.lr))
    throw input_error("--lr must be a positive finite number, got " + number_text(cfg.adam.lr));
  if (!(cfg.adam.weight_decay >= 0) || !std::isfinite(cfg.adam.weight_decay))
    throw input_error("--weight-decay must be a finite number >= 0, got " + number_text(cfg.adam.weight_decay));
  if (cfg.eval_every < 1) throw input_error("--eval-every must be at least 1, got " + std::to_string(cfg.eval_every));
  if (cfg.eval_batch_size < 1)
    throw input_error("--eval-batch-size must be at least 1, got " + std::to_string(cfg.eval_batch_size));
  if (cfg.disk_readers < 1 || cfg.disk_readers > 1024)
    throw input_error("--disk-readers must lie in [1, 1024], got " + std::to_string(cfg.disk_readers));
  if (cfg.fanouts.empty()) throw input_error("--fanouts needs at least one layer");
  // --overwrite-checkpoint means nothing without a checkpoint, and the opposite of --resume (which won).
  if (cfg.overwrite_checkpoint && cfg.checkpoint_dir.empty())
    throw input_error("--overwrite-checkpoint needs --checkpoint DIR (the checkpoint it may replace)");
  if (cfg.overwrite_checkpoint && cfg.resume)
    throw input_error("--resume continues the checkpoint and --overwrite-checkpoint starts over: give one of them");
  if (cfg.weight_decay_scope != "all" && cfg.weight_decay_scope != "first")
    throw input_error("--weight-decay-scope '" + cfg.weight_decay_scope + "': choose all or first");
  if (cfg.device != "cpu" && cfg.device != "cuda")
    throw input_error("--device '" + cfg.device + "': choose cpu or cuda");
  const bool on_gpu = cfg.device == "cuda";
  // The device as the user spelt it (cuda:N; plain cuda is GPU 0, or the rank's LOCAL_RANK in a job).
  const std::string device_text = cfg.device_id > 0 ? "cuda:" + std::to_string(cfg.device_id) : std::string("cuda");
  if (on_gpu && cuda_device_count() == 0)
    throw input_error("--device " + device_text + ": " +
                      (cuda_compiled() ? "no CUDA device is available on this machine"
                                       : "this tiergnn was built without the CUDA backend") +
                      "; use --device cpu");
  if (on_gpu && cfg.ignore_graph) throw input_error("--ignore-graph runs on the CPU only; drop --device cuda");
  if (cfg.pipeline_depth > 16)
    throw input_error("--prefetch " + std::to_string(cfg.pipeline_depth) + ": at most 16 batches ahead");
  if (cfg.host_access != "zero-copy" && cfg.host_access != "copy")
    throw input_error("--host-access '" + cfg.host_access + "': choose zero-copy or copy");
  if (cfg.host_access == "copy" && !on_gpu)
    throw input_error("--host-access copy chooses how host-tier rows reach the GPU: it needs --device cuda");
  if (cfg.sampler != "cpu" && cfg.sampler != "gpu" && cfg.sampler != "gpu-pinned")
    throw input_error("--sampler '" + cfg.sampler + "': choose cpu, gpu or gpu-pinned");
  if (cfg.sampler != "cpu" && !on_gpu)
    throw input_error("--sampler " + cfg.sampler + " samples on the GPU: it needs --device cuda");
  if (on_gpu && (cfg.device_id < 0 || cfg.device_id >= cuda_device_count()))
    throw input_error("--device " + device_text + ": this process should use GPU " + std::to_string(cfg.device_id) +
                      " (cuda:N, or LOCAL_RANK in a job) but only " + std::to_string(cuda_device_count()) +
                      " are visible (GPUs 0 to " + std::to_string(cuda_device_count() - 1) + ")");
  if (cfg.model.num_layers > 0 && cfg.model.num_layers != static_cast<int>(cfg.fanouts.size()))
    throw input_error("--fanouts has " + std::to_string(cfg.fanouts.size()) + " entries but the model has " +
                      std::to_string(cfg.model.num_layers) + " layers: give one fanout per layer");
  cfg.model.num_layers = static_cast<int>(cfg.fanouts.size());
}

struct tier_layout {
  std::vector<std::int64_t> node_keys;  // prepared: new id -> original id (the sampler's keys)
  std::int64_t g = 0, c = 0;            // rows [0, g) GPU tier, [g, c) host tier, the rest disk
};

// The tiers a run uses: a prepared dataset's plan (or --gpu-mem / --host-mem over it), checked
// against the budgets with this run's training memory; an unprepared dataset keeps every row in
// host memory. Prints the plan.
// Sharded features: the tiers are this rank's shard's (`rank`), in rows of the shard.
tier_layout plan_tiers(const dataset& d, const train_config& cfg, std::int64_t row_bytes, std::int64_t num_classes,
                       int rank) {
  // A prepared (renumbered) dataset is served by the tiered feature store under its plan, and
  // sampled with the original ids as keys, so it trains exactly as the original dataset would.
  tier_layout t;
  t.c = d.num_nodes();
  const std::int64_t feature_dim = d.meta().feature_dim;
  if (plan_file::present(d)) {
    const plan_file pf = plan_file::load(d);
    const nlohmann::json planned = pf.json.value("training", nlohmann::json::object());  // the run it was made for
    tier_plan tp = pf.plan;
    if (!pf.shards.empty()) {
      const shard_info& si =
          pf.shards[static_cast<std::size_t>(std::min<int>(rank, static_cast<int>(pf.shards.size()) - 1))];
      tp.num_nodes = si.rows();
      tp.gpu_rows = si.gpu_rows;
      tp.host_rows = si.host_rows;
    }
    reserve_estimate reserve = estimate_reserve(d.num_nodes(), feature_dim, row_bytes, cfg.fanouts, cfg.batch_size,
                                                hidden_width(cfg.model), num_classes, attention_heads(cfg.model));
    reserve.other_bytes = gpu_sampler_bytes(d, cfg, true);
    // Sharded: a GPU rank also holds its feature exchange's buffers (as prepare --shards sized them).
    const std::uint64_t exchange =
        pf.shards.empty() ? 0
                          : sharded_exchange_bytes(reserve.input_rows, feature_dim, static_cast<int>(pf.shards.size()));
    reserve.input_bytes += exchange;
    if (!cfg.gpu_mem.empty() || !cfg.host_mem.empty()) {
      // The budget not given keeps the plan's (plan.json records "N% of the feature bytes" or bytes
      // as "1.50 GiB"; a GPU byte budget also exactly).
      auto given_or_plan = [](const std::string& given, std::string planned, const char* fallback) {
        if (!given.empty()) return given;
        const std::string share = " of the feature bytes";
        if (planned.size() > share.size() && planned.compare(planned.size() - share.size(), share.size(), share) == 0)
          planned.resize(planned.size() - share.size());
        return !planned.empty() ? planned : std::string(fallback);
      };
      // Byte budgets from their exact numbers ("B": 50 bytes is not read as an ambiguous share).
      const std::string planned_gpu =
          pf.plan.gpu_budget_bytes > 0 ? std::to_string(pf.plan.gpu_budget_bytes) + "B" : pf.plan.gpu_budget;
      const std::string planned_host =
          pf.plan.host_budget_bytes > 0 ? std::to_string(pf.plan.host_budget_bytes) + "B" : pf.plan.host_budget;
      const budget gpu = parse_budget(given_or_plan(cfg.gpu_mem, planned_gpu, "0"), "--gpu-mem");
      const budget host = parse_budget(given_or_plan(cfg.host_mem, planned_host, "100%"), "--host-mem");
      check_gpu_budget_for_exchange(gpu, reserve.total() - exchange, exchange, static_cast<int>(pf.shards.size()),
                                    "--gpu-mem");
      tp = size_tiers(tp.num_nodes, row_bytes, gpu, host, reserve.total());
      tp.estimator = pf.plan.estimator;
    } else if (pf.plan.gpu_budget_bytes > 0) {
      const std::uint64_t budget_bytes = pf.plan.gpu_budget_bytes;
      // The plan's training settings against this run's: the usual cause (a larger --hidden or
      // --batch-size than prepare was given).
      // Settings as the user writes them: --model (plans before it was recorded were sized for sage),
      // --hidden per head, GAT's heads.
      const auto planned_for = [&]() -> std::string {
        const nlohmann::json& tr = planned;
        if (!tr.is_object() || !tr.contains("hidden") || !tr.contains("batch_size")) return std::string();
        const auto settings = [](const std::string& model, const std::string& hidden, const std::string& heads,
                                 const std::string& out_heads, const std::string& fanouts, const std::string& batch) {
          return "--model " + model + " --hidden " + hidden +
                 (model == "gat" ? " --heads " + heads + " --out-heads " + out_heads : std::string()) + " --fanouts " +
                 fanouts + " --batch-size " + batch;
        };
        // As written in plan.json (checksummed, but a hand-edited value may have any type).
        const auto text = [&](const char* key, const std::string& missing) {
          if (!tr.contains(key)) return missing;
          return tr[key].is_string() ? tr[key].get<std::string>() : tr[key].dump();
        };
        std::string planned_fanouts = text("fanouts", "?");
        std::string run_fanouts = nlohmann::json(cfg.fanouts).dump();
        for (std::string* f : {&planned_fanouts, &run_fanouts})  // [15,10,5] as the option is written: 15,10,5
          if (f->size() >= 2 && f->front() == '[' && f->back() == ']') *f = f->substr(1, f->size() - 2);
        return " (the plan was prepared for " +
               settings(text("model", "sage"), text("hidden", "?"), text("heads", "4"), text("out_heads", "1"),
                        planned_fanouts, text("batch_size", "?")) +
               "; this run uses " +
               settings(cfg.model.kind, std::to_string(cfg.model.hidden), std::to_string(cfg.model.heads),
                        std::to_string(cfg.model.out_heads), run_fanouts, std::to_string(cfg.batch_size)) +
               ")";
      };
      const std::uint64_t need = static_cast<std::uint64_t>(tp.g() * row_bytes) + reserve.total();
      if (need > budget_bytes)
        throw budget_error("the prepared GPU tier (" + format_bytes(static_cast<double>(tp.g() * row_bytes)) +
                           ") plus this run's training memory (" + format_bytes(static_cast<double>(reserve.total())) +
                           ") exceed the --gpu-mem budget of " + format_bytes(static_cast<double>(budget_bytes)) +
                           " by " + format_bytes(static_cast<double>(need - budget_bytes)) + planned_for() +
                           ": pass train a --gpu-mem of at least " + format_bytes(static_cast<double>(need)) +
                           " (or a share such as 10%, which sizes the GPU tier anew), or re-run prepare with this "
                           "run's settings (--model, --hidden, --heads, --out-heads, --fanouts, --batch-size)");
    }
    // The prediction holds for the run the plan was made for: a run with other sampling settings reads
    // other nodes, so the prediction is then only indicative, and said so.
    const auto plan_differs = [&]() -> std::string {
      const nlohmann::json& tr = planned;
      std::string diff;
      auto note = [&](const char* key, const std::string& option, const nlohmann::json& now) {
        if (tr.is_object() && tr.contains(key) && tr[key] != now)
          diff += (diff.empty() ? "" : ", ") + option + " " + tr[key].dump() + " (this run " + now.dump() + ")";
      };
      note("fanouts", "--fanouts", nlohmann::json(cfg.fanouts));
      note("batch_size", "--batch-size", nlohmann::json(cfg.batch_size));
      note("seed", "--seed", nlohmann::json(cfg.seed));
      note("max_batches", "--max-batches", nlohmann::json(cfg.max_batches));
      return diff.empty() ? std::string()
                          : " for the run the plan was made for (" + diff +
                                "): this run samples otherwise, so take the prediction as indicative only";
    };
    t.node_keys = d.get("order.npy").to_int64();
    t.g = tp.g();
    t.c = tp.c();
    log_info("tier plan (estimator ", tp.estimator, "; GPU budget ", tp.gpu_budget, ", host budget ", tp.host_budget,
             ", training reserve ~", format_bytes(static_cast<double>(reserve.total())), "):\n", describe(tp),
             "  predicted GPU hit rate ",
             // Sharded: this rank's GPU tier holds every K-th of the hottest K * g rows.
             fmt(100.0 * (pf.shards.empty() ? pf.predicted_hit_rate(t.g)
                                            : pf.predicted_hit_rate(t.g * static_cast<std::int64_t>(pf.shards.size())) /
                                                  static_cast<double>(pf.shards.size())),
                 1),
             "% of feature reads", plan_differs(),
             cfg.device == "cuda" ? ""
                                  : "\n  --device cpu: the GPU tier is held in host memory; the traffic lines count "
                                    "the bytes a --device cuda run of this plan moves between the tiers");
  } else if (!cfg.gpu_mem.empty() || !cfg.host_mem.empty()) {
    throw input_error(
        "--gpu-mem / --host-mem place features in tiers, which needs a prepared dataset: run "
        "tiergnn prepare " +
        d.dir() + " -o DIR first");
  }
  return t;
}

// --resume: the checkpoint's parameters and Adam state, after checking it belongs to this dataset,
// "key: checkpoint V, this run W" for every top-level key whose values differ.
std::string json_differences(const nlohmann::json& saved, const nlohmann::json& now,
                             const std::string& saved_is = "checkpoint", const std::string& now_is = "this run") {
  if (!saved.is_object() || !now.is_object())
    return saved_is + " " + json_text(saved) + ", " + now_is + " " + json_text(now);
  std::string out;
  auto add = [&](const std::string& key, const nlohmann::json& a, const nlohmann::json& b) {
    out += (out.empty() ? "" : "; ") + key + ": " + saved_is + " " + (a.is_null() ? "(none)" : json_text(a)) + ", " +
           now_is + " " + (b.is_null() ? "(none)" : json_text(b));
  };
  for (const auto& [key, a] : saved.items()) {
    const nlohmann::json b = now.value(key, nlohmann::json());
    if (a != b) add(key, a, b);
  }
  for (const auto& [key, b] : now.items())
    if (!saved.contains(key)) add(key, nlohmann::json(), b);
  return out;
}

// model and settings; returns the epoch to start from. Otherwise prepares the checkpoint directory
// (refusing to replace a checkpoint without --overwrite-checkpoint) and returns 0.
int restore_or_start(const dataset& d, const train_config& cfg, const std::string& ckpt_path,
                     const nlohmann::json& identity, bool lead, int world, gnn_model* model, adam_optimizer* opt,
                     nlohmann::json* metrics_tail) {
  if (cfg.resume && world > 1 && !lead) return 0;  // the lead's checkpoint arrives by share_resumed_state
  std::error_code ec;
  if (!ckpt_path.empty() && std::filesystem::exists(ckpt_path, ec) && !std::filesystem::is_regular_file(ckpt_path, ec))
    throw input_error(at_input(ckpt_path,
                               "is not a regular file (a checkpoint is one file); remove it or name another "
                               "--checkpoint directory"));
  if (cfg.resume) {
    if (ckpt_path.empty()) throw input_error("--resume needs --checkpoint DIR");
    if (!std::filesystem::exists(ckpt_path))
      throw input_error(at_input(cfg.checkpoint_dir, "--resume: no checkpoint.tgck in this directory"));
    checkpoint c = read_checkpoint(ckpt_path);
    if (c.header.value("dataset", nlohmann::json()) != identity)
      throw input_error(at_input(
          ckpt_path,
          "was written for dataset '" +
              (c.header.contains("dataset") ? c.header["dataset"].value("name", std::string("?")) : std::string("?")) +
              "', not for " + d.dir() + " ('" + printable_text(d.meta().name) + "'): counts or checksums differ" +
              (d.has("order.npy") ? std::string(" (") + d.dir() +
                                        " is a prepared, renumbered copy: a checkpoint continues only on the dataset "
                                        "it was written for, the original or this copy)"
                                  : std::string())));
    if (c.header.value("model", nlohmann::json()) != model->config().to_json())
      throw input_error(at_input(
          ckpt_path, "was written for another model: " +
                         json_differences(c.header.value("model", nlohmann::json()), model->config().to_json()) +
                         "; resuming needs the same"));
    if (c.header.value("settings", nlohmann::json()) != settings_json(cfg))
      throw input_error(
          at_input(ckpt_path, "was written with other training settings: " +
                                  json_differences(c.header.value("settings", nlohmann::json()), settings_json(cfg)) +
                                  "; resuming needs the same"));
    // Each of K data-parallel processes trains its own slice of every batch: a checkpoint continues only
    // with as many (checkpoints from before this was recorded are not checked).
    if (const int ranks = c.header.value("ranks", 0); ranks > 0 && ranks != world)
      throw input_error(at_input(ckpt_path, "was written by a run of " + std::to_string(ranks) +
                                                " data-parallel process(es); this run has " + std::to_string(world) +
                                                ": resuming needs the same number (tiergnn launch -n " +
                                                std::to_string(ranks) + ")"));
    if (!c.header.value("has_optimizer", false))
      throw input_error(at_input(ckpt_path, "holds no optimizer state: it is a saved model, not a checkpoint"));
    if (c.values.size() != model->params().size())
      throw input_error(at_input(ckpt_path, "holds " + std::to_string(c.values.size()) +
                                                " parameter arrays, the model has " +
                                                std::to_string(model->params().size())));
    if (!c.header.contains("epoch"))
      throw input_error(at_input(ckpt_path, "not a valid tiergnn checkpoint: header: no epoch"));
    optimizer_state st;
    st.step = c.header.at("step").get<std::int64_t>();
    for (std::size_t i = 0; i < model->params().size(); ++i) {
      if (c.values[i].size() != model->params()[i].value.size())
        throw input_error(at_input(ckpt_path, "parameter " + model->params()[i].name + " has the wrong size"));
      model->params()[i].value = std::move(c.values[i]);
    }
    st.m = std::move(c.m);
    st.v = std::move(c.v);
    model->push_params();
    opt->load(std::move(st));
    const int start = c.header.at("epoch").get<int>();
    if (start > cfg.epochs)
      throw input_error(at_input(ckpt_path, "is already after epoch " + std::to_string(start) + ", beyond --epochs " +
                                                std::to_string(cfg.epochs) +
                                                ": give --epochs at least that to continue it (--epochs counts from "
                                                "the start of the run, not from the checkpoint)"));
    log_info("resuming from ", ckpt_path, " after epoch ", start);
    *metrics_tail = c.header.contains("metrics_tail") ? c.header["metrics_tail"]
                                                      : nlohmann::json(nlohmann::json::value_t::discarded);
    return start;
  } else if (!ckpt_path.empty() && lead) {
    if (std::filesystem::exists(ckpt_path) && !cfg.overwrite_checkpoint)
      throw input_error(at_input(cfg.checkpoint_dir,
                                 "already holds a checkpoint: continue it with --resume, or start "
                                 "over with --overwrite-checkpoint"));
    // One level, as every other output: a mistyped parent is not created.
    std::error_code ec;
    if (!std::filesystem::is_directory(cfg.checkpoint_dir, ec)) {
      const std::string parent = parent_dir(cfg.checkpoint_dir);
      if (!std::filesystem::is_directory(parent, ec))
        throw input_error(
            at_input(cfg.checkpoint_dir, "cannot be created: its parent " + parent + " is not an existing directory"));
      if (!std::filesystem::create_directory(cfg.checkpoint_dir, ec) && ec)
        throw input_error(at_input(cfg.checkpoint_dir, "cannot be created: " + ec.message()));
    }
  }
  return 0;
}
}  // namespace

// The settings every rank of a data-parallel job must share beyond those a checkpoint records: the
// loop's (how many epochs, how and how often it evaluates, whether it resumes) and the device kind.
nlohmann::json job_settings_json(const train_config& cfg) {
  return {{"epochs", cfg.epochs},         {"eval", cfg.eval_mode},
          {"eval_every", cfg.eval_every}, {"eval_batch_size", cfg.eval_batch_size},
          {"resume", cfg.resume},         {"device", cfg.device}};
}

// Every rank of a job must train the same dataset with the same model and settings. Nothing else
// would notice a rank given another dataset, a prepared copy from another prepare run (its rows in
// another order), other options (a reduction of another size hangs until --comm-timeout), or a
// process of another job that shares MASTER_PORT: they trained on, or were blamed on a hang. Compared
// once, before anything else the ranks exchange; every rank throws the same error.
void check_same_job(communicator& comm, const dataset& d, const nlohmann::json& identity, const gnn_model& model,
                    const train_config& cfg) {
  const nlohmann::json job = {{"dataset", identity},
                              {"model", model.config().to_json()},
                              {"settings", settings_json(cfg)},
                              {"loop", job_settings_json(cfg)}};
  std::string mine = json_text(nlohmann::json{{"dir", d.dir()}, {"job", job}});
  const int world = comm.size();
  std::uint64_t len = mine.size();
  std::vector<std::uint64_t> lens(static_cast<std::size_t>(world));
  comm.all_gather(&len, sizeof len, lens.data());
  const std::uint64_t most = *std::max_element(lens.begin(), lens.end());
  mine.resize(static_cast<std::size_t>(most), ' ');
  std::vector<char> all(static_cast<std::size_t>(most) * static_cast<std::size_t>(world));
  comm.all_gather(mine.data(), static_cast<std::size_t>(most), all.data());
  std::vector<nlohmann::json> rec(static_cast<std::size_t>(world));
  for (int r = 0; r < world; ++r) {
    rec[static_cast<std::size_t>(r)] =
        nlohmann::json::parse(all.begin() + static_cast<std::ptrdiff_t>(most) * r,
                              all.begin() + static_cast<std::ptrdiff_t>(most) * r +
                                  static_cast<std::ptrdiff_t>(lens[static_cast<std::size_t>(r)]),
                              nullptr, false);
    if (rec[static_cast<std::size_t>(r)].is_discarded() || !rec[static_cast<std::size_t>(r)].contains("job"))
      throw input_error("data-parallel job: rank " + std::to_string(r) +
                        " sent no readable description of its run (another program, or another tiergnn version, "
                        "on MASTER_PORT?)");
  }
  const nlohmann::json& lead = rec[0]["job"];
  for (int r = 1; r < world; ++r) {
    const nlohmann::json& other = rec[static_cast<std::size_t>(r)]["job"];
    if (other == lead) continue;
    const std::string who = "rank " + std::to_string(r), of0 = "rank 0";
    const std::string dir0 = rec[0].value("dir", std::string("?")),
                      dirr = rec[static_cast<std::size_t>(r)].value("dir", std::string("?"));
    std::string what;
    if (other.value("dataset", nlohmann::json()) != lead.value("dataset", nlohmann::json())) {
      const nlohmann::json a = lead.value("dataset", nlohmann::json()), b = other.value("dataset", nlohmann::json());
      std::string arrays;
      const nlohmann::json ca = a.value("crc32", nlohmann::json::object()),
                           cb = b.value("crc32", nlohmann::json::object());
      for (const auto& [file, crc] : ca.items())
        if (cb.value(file, nlohmann::json()) != crc) arrays += (arrays.empty() ? "" : ", ") + file;
      for (const auto& [file, crc] : cb.items())
        if (!ca.contains(file)) arrays += (arrays.empty() ? "" : ", ") + file;
      nlohmann::json counts_a = a, counts_b = b;
      counts_a.erase("crc32");
      counts_b.erase("crc32");
      what = who + " trains dataset " + dirr + " and " + of0 + " " + dir0 + ", which differ (" +
             (counts_a != counts_b ? json_differences(counts_a, counts_b, of0, who) + "; " : std::string()) +
             (arrays.empty() ? std::string("") : "checksums of " + arrays) +
             "): every rank needs a copy of the same dataset (of a prepared one, the output of the same prepare run)";
    } else {
      // Named by their options (--batch-size for batch_size; the model kind is --model).
      for (const char* part : {"model", "settings", "loop"}) {
        nlohmann::json a = lead.value(part, nlohmann::json()), b = other.value(part, nlohmann::json());
        if (a == b || !a.is_object() || !b.is_object()) continue;
        const auto option_of = [](const std::string& key) {
          if (key == "kind") return std::string("--model");
          if (key == "attention_dropout") return std::string("--attn-dropout");
          if (key == "num_layers") return std::string("layers (--fanouts)");
          if (key == "in_dim" || key == "num_classes") return "the dataset's " + key;
          std::string o = "--" + key;
          std::replace(o.begin(), o.end(), '_', '-');
          return o;
        };
        nlohmann::json na = nlohmann::json::object(), nb = nlohmann::json::object();
        for (const auto& [k, v] : a.items()) na[option_of(k)] = v;
        for (const auto& [k, v] : b.items()) nb[option_of(k)] = v;
        what += (what.empty() ? "" : "; ") + json_differences(na, nb, of0, who);
      }
      what = who + " was started with other settings than " + of0 + ": " + what +
             "; every rank must be started with the same options";
    }
    throw input_error("data-parallel job: " + what);
  }
}

// --resume in a job: the lead read the checkpoint (restore_or_start); every rank takes its epoch,
// parameters and optimizer state from it, so only the lead's machine needs the file.
int share_resumed_state(communicator& comm, int start_epoch, gnn_model* model, adam_optimizer* opt) {
  std::int64_t head[2] = {start_epoch, opt->state().step};
  comm.broadcast(head, sizeof head, 0);
  optimizer_state st = opt->state();
  auto& params = model->params();
  st.m.resize(params.size());
  st.v.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    st.m[i].resize(params[i].value.size());
    st.v[i].resize(params[i].value.size());
    comm.broadcast(params[i].value.data(), params[i].value.size() * sizeof(float), 0);
    comm.broadcast(st.m[i].data(), st.m[i].size() * sizeof(float), 0);
    comm.broadcast(st.v[i].data(), st.v[i].size() * sizeof(float), 0);
  }
  if (comm.rank() != 0) {
    st.step = head[1];
    model->push_params();
    opt->load(std::move(st));
    log_info("resuming after epoch ", head[0], " (rank 0's checkpoint)");
  }
  return static_cast<int>(head[0]);
}

train_report train(const dataset& d, const train_config& cfg_in) {
  train_config cfg = cfg_in;
  validate_config(cfg);
  const bool evaluate = cfg.eval_mode != "none";
  const bool on_gpu = cfg.device == "cuda";
  communicator* comm = cfg.comm && cfg.comm->size() > 1 ? cfg.comm : nullptr;
  const int rank = comm ? comm->rank() : 0, world = comm ? comm->size() : 1;
  const bool lead = rank == 0;  // evaluates, writes checkpoints, metrics and the saved model
  const labelled_splits sp = load_splits(d);
  // (With fewer than 2 classes the model refuses the dataset below: that error says it all.)
  if (sp.num_classes >= 2 && !sp.train.empty() && std::all_of(sp.train.begin(), sp.train.end(), [&](std::int64_t v) {
        return sp.labels[static_cast<std::size_t>(v)] == sp.labels[static_cast<std::size_t>(sp.train.front())];
      }))
    log_warn(d.dir(), ": every training node has label ", sp.labels[static_cast<std::size_t>(sp.train.front())],
             ": the model can only learn to predict that class");
  cfg.model.in_dim = d.meta().feature_dim;
  cfg.model.num_classes = sp.num_classes;
  if (!d.meta().has_features())
    throw input_error(at_input(d.dir(), "the dataset has no node features (features.npy); a GNN needs them"));
  const std::int64_t feature_dim = d.meta().feature_dim;
  const std::int64_t row_bytes = feature_dim * static_cast<std::int64_t>(dtype_size(d.meta().feature_dtype));
  if (!on_gpu) {
    // Refused before anything is allocated, not by the kernel's OOM killer half-way: the model with its
    // gradients and Adam state, and one batch's activations over its seeds alone (a lower bound: the
    // sampled hops only add to it).
    const reserve_estimate least =
        estimate_reserve(d.num_nodes(), feature_dim, row_bytes, std::vector<std::int64_t>(cfg.fanouts.size(), 0),
                         cfg.batch_size, hidden_width(cfg.model), sp.num_classes, attention_heads(cfg.model));
    expect_memory(least.total(),
                  "--hidden " + std::to_string(cfg.model.hidden) +
                      (cfg.model.kind == "gat" ? " x --heads " + std::to_string(cfg.model.heads) : std::string()) +
                      ", --batch-size " + std::to_string(cfg.batch_size),
                  "training (at the least: the model with its gradients and Adam state, and a batch's activations)");
  }
  // Full-neighbour evaluation (evaluate_with) holds every layer's input and output for all N nodes
  // beside the model, and a chunk's rows: checked before training, not found out by the kernel's OOM
  // killer after it. Per layer l: N x (din, for l > 0, + dout) floats, the input rows of the chunk's
  // sources, at most min(N, its seeds + their in-edges) x din (on a hot-first prepared graph the first
  // chunk's hubs reach most nodes: counting its seeds alone undercounted 2.0 GiB as 1.07), and SAGE's
  // aggregates of the chunk, --eval-batch-size x din. The tiers and per-node arrays held beside it
  // are added once they are known (below). (Only where there is a validation or test split.)
  std::uint64_t full_eval_bytes = 0;
  if (cfg.eval_mode == "full" && (lead || d.meta().feature_shards > 0) && (!sp.valid.empty() || !sp.test.empty())) {
    const std::int64_t n = d.num_nodes(), chunk = std::min(n, cfg.eval_batch_size);
    const auto layers = static_cast<std::int64_t>(cfg.fanouts.size());
    const std::int64_t width = hidden_width(cfg.model);
    std::int64_t most_sources = 0;  // the largest chunk's sources, bounded by its in-edges (one pass over indptr)
    if (!cfg.ignore_graph) {
      const auto ip = d.indptr().as<std::int64_t>();
      for (std::int64_t s0 = 0; s0 < n; s0 += chunk) {
        const std::int64_t cnt = std::min(chunk, n - s0);
        most_sources =
            std::max(most_sources,
                     std::min(n, cnt + (ip[static_cast<std::size_t>(s0 + cnt)] - ip[static_cast<std::size_t>(s0)])));
      }
    } else {
      most_sources = chunk;
    }
    double floats = 0;
    for (std::int64_t l = 0; l < layers; ++l) {
      const double din = static_cast<double>(l == 0 ? feature_dim : width);
      const double dout = static_cast<double>(l + 1 == layers ? sp.num_classes : width);
      const double here = static_cast<double>(n) * ((l > 0 ? din : 0.0) + dout) +
                          static_cast<double>(most_sources) * din +
                          (cfg.model.kind == "sage" ? static_cast<double>(chunk) * din : 0.0);
      floats = std::max(floats, here);
    }
    const reserve_estimate model_only =
        estimate_reserve(d.num_nodes(), feature_dim, row_bytes, std::vector<std::int64_t>(cfg.fanouts.size(), 0), 0,
                         hidden_width(cfg.model), sp.num_classes, attention_heads(cfg.model));
    const double bytes = 4.0 * floats + static_cast<double>(model_only.model_bytes);
    full_eval_bytes = bytes >= 1.8e19 ? kUnknownBytes : static_cast<std::uint64_t>(bytes);
    expect_memory(full_eval_bytes,
                  "--eval full with --hidden " + std::to_string(cfg.model.hidden) +
                      (cfg.model.kind == "gat" ? " x --heads " + std::to_string(cfg.model.heads) : std::string()) +
                      " on " + std::to_string(n) + " nodes",
                  "full-neighbour evaluation (the model, each layer's outputs for every node, and a chunk's rows; "
                  "--eval sampled keeps one --eval-batch-size chunk's instead, --eval none evaluates nothing)");
  }
  graph_for_sampling train_graph;
  neighbor_sampler sampler = train_graph.make(d, cfg.fanouts, cfg.seed, cfg.ignore_graph);
  if (cfg.ignore_graph) log_info("--ignore-graph: training without edges (a feature-only MLP baseline)");
  const bool sharded = d.meta().feature_shards > 0;
  if (!sharded && !cfg.replicate.empty())
    throw input_error("--replicate applies to datasets whose features are sharded across machines (prepare --shards)");
  const tier_layout tiers = plan_tiers(d, cfg, row_bytes, sp.num_classes, rank);
  const std::vector<std::int64_t>& node_keys = tiers.node_keys;
  std::int64_t tier_g = tiers.g, tier_c = tiers.c;
  sampler.set_node_keys(span<const std::int64_t>(node_keys));
  // The backend every batch trains on (the model, its optimizer and the loop below are the same
  // code for both), and the feature store that writes that backend's memory.
  const device_kind dev = on_gpu ? device_kind::cuda : device_kind::cpu;
  std::unique_ptr<backend> compute_owner = on_gpu ? make_backend(dev, cfg.device_id) : nullptr;
  backend& be = on_gpu ? *compute_owner : cpu_backend();
  gnn_model model(cfg.model, cfg.seed, be);
  // GCN counts one self-loop per node: a stored one leaves the degrees (found as batches touch rows;
  // nothing to find where the dataset's writer counted none).
  std::unique_ptr<self_loop_index> self_loops;
  if (aggregator_of(cfg.model) == aggregator::gcn && !cfg.ignore_graph && d.meta().self_loops != 0) {
    self_loops = std::make_unique<self_loop_index>(d);
    model.set_self_loops(self_loops.get());
  }
  adam_config rest = cfg.adam;
  if (cfg.weight_decay_scope != "all") rest.weight_decay = 0;
  adam_optimizer opt(model, cfg.adam, rest);
  train_report rep;
  rep.metric = sp.num_classes == 2 ? "roc_auc" : "accuracy";
  const nlohmann::json identity = d.identity();
  const std::string ckpt_path = cfg.checkpoint_dir.empty() ? "" : cfg.checkpoint_dir + "/checkpoint.tgck";
  // Every output is checked before the first batch, not after hours of training: writable, none
  // in the dataset it would overwrite, no two the same file.
  if (lead) {
    check_output_file(cfg.metrics_path, "--metrics", {d.dir()}, cfg.checkpoint_dir, "metrics");
    // A line of about 1 KiB an epoch (the full run's, however many are left).
    if (!cfg.metrics_path.empty())
      expect_disk_space(parent_dir(cfg.metrics_path),
                        (static_cast<std::uint64_t>(std::max(cfg.epochs, 0)) + 1) * (std::uint64_t{1} << 10),
                        "--metrics " + cfg.metrics_path, "the metrics file");
    check_output_file(cfg.save_model_path, "--save-model", {d.dir()}, cfg.checkpoint_dir, "model");
    check_output_dir(cfg.checkpoint_dir, "--checkpoint", {d.dir()});
    if (!cfg.checkpoint_dir.empty() && is_dataset_dir(cfg.checkpoint_dir))
      throw input_error("--checkpoint " + cfg.checkpoint_dir +
                        ": is a tiergnn dataset directory; a checkpoint goes in a directory of its own");
    // A run's training state is not replaced through another output's name (--checkpoint's own file is
    // guarded by restore_or_start): only --overwrite-checkpoint may.
    for (const auto& [option, path] : {std::pair<std::string, std::string>{"--metrics", cfg.metrics_path},
                                       std::pair<std::string, std::string>{"--save-model", cfg.save_model_path}})
      if (!path.empty() && !cfg.overwrite_checkpoint && holds_training_state(path))
        throw input_error(option + " " + path +
                          ": holds a training checkpoint (a run's model and optimizer state, for --resume), which this "
                          "run would overwrite; name another file, or pass --overwrite-checkpoint to replace it");
    check_distinct_outputs({{"--metrics", cfg.metrics_path},
                            {"--save-model", cfg.save_model_path},
                            {"--checkpoint's checkpoint.tgck", ckpt_path}});
  }
  // The checkpoint and the saved model are written during and after training: their file systems
  // must have room for them now (4 bytes a parameter, 12 with Adam's moments; the header is small), not
  // after hours. Each is written beside the file it replaces, so the free space a file needs is
  //   checkpoint: peak = copies x S beside what is on disk: 1 when one exists (the new one beside it),
  //               2 when none does and a second epoch's is written beside the first; at the end, S
  //               more on disk than now when none existed;
  //   model:      M (beside the old one, or new), written after the last checkpoint.
  // On one file system the run needs max(checkpoint peak, checkpoint's growth + M) (R15-F1, F2).
  if (lead) {
    struct need {
      std::string what, where;
      std::uint64_t peak = 0, growth = 0;  // free space while it is written; what it adds for good
    };
    const auto need_of = [&](const std::string& option, const std::string& file, std::uint64_t bytes,
                             int copies_when_new) {
      need n;
      if (file.empty()) return n;
      std::error_code ec;
      const bool exists = std::filesystem::exists(file, ec);
      n.what = option + " " + file;
      n.where = parent_dir(file);  // --checkpoint's folder may not exist yet: its parent
      if (!std::filesystem::exists(n.where, ec)) n.where = parent_dir(n.where);
      n.peak = exists ? bytes : bytes * static_cast<std::uint64_t>(copies_when_new);
      n.growth = exists ? 0 : bytes;
      return n;
    };
    const std::uint64_t params = static_cast<std::uint64_t>(model.num_parameters());
    const need ck = need_of("--checkpoint", ckpt_path, 12 * params + (64u << 10), cfg.epochs >= 2 ? 2 : 1);
    const need mo = need_of("--save-model", cfg.save_model_path, 4 * params + (64u << 10), 1);
    struct stat a {
    }, b{};
    if (!ck.what.empty() && !mo.what.empty() && ::stat(ck.where.c_str(), &a) == 0 &&
        ::stat(mo.where.c_str(), &b) == 0 && a.st_dev == b.st_dev)
      expect_disk_space(ck.where, std::max(ck.peak, ck.growth + mo.peak), ck.what + " and " + mo.what, "writing both");
    else
      for (const need* n : {&ck, &mo})
        if (!n->what.empty()) expect_disk_space(n->where, n->peak, n->what, "it");
  }
  nlohmann::json metrics_tail;  // the checkpoint's record of its last metrics line
  {
    // A stop while a rank waits for the others here (a peer that never answers) ends the wait within
    // the communicator's grace, as in training, and the run with 128 + the signal.
    // (Under MPI, whose collectives do not watch for signals, a signal keeps its default action here.)
    std::optional<stop_signal_guard> waiting;
    if (comm && std::string(comm->kind()) == "cpu") waiting.emplace();
    if (comm) check_same_job(*comm, d, identity, model, cfg);
    rep.start_epoch = restore_or_start(d, cfg, ckpt_path, identity, lead, world, &model, &opt, &metrics_tail);
    if (comm && cfg.resume) rep.start_epoch = share_resumed_state(*comm, rep.start_epoch, &model, &opt);
    if (const int sig = comm ? g_stop_signal.load() : 0; sig != 0)
      throw interrupted_error("stopped by " + stop_signal_name(sig) + " before training started", sig);
  }
  if (lead && !ckpt_path.empty() && ::access(cfg.checkpoint_dir.c_str(), W_OK) != 0)
    throw input_error(at_input(cfg.checkpoint_dir, "is not writable"));
  // The metrics lines go to a hidden temporary beside --metrics (a copy of it on --resume), renamed
  // into place when the run ends, or when it fails after finishing an epoch (metrics_output).
  metrics_output metrics_file;
  std::ofstream& metrics = metrics_file.out;
  if (!cfg.metrics_path.empty() && lead) {
    metrics_file.open(cfg.metrics_path, cfg.resume, rep.start_epoch, metrics_tail);
    log_info("metrics: each epoch's line is appended to ", printable_text(metrics_file.tmp),
             " as it finishes (tail -f it to follow the run); it becomes ", printable_text(cfg.metrics_path),
             " at the end");
  }
  const auto num_train = static_cast<std::int64_t>(sp.train.size());
  const std::int64_t nb = num_train / cfg.batch_size + (num_train % cfg.batch_size != 0 ? 1 : 0);
  log_info("training ", cfg.model.kind, " (", cfg.model.num_layers, cfg.model.num_layers == 1 ? " layer" : " layers",
           ", hidden ", cfg.model.hidden,
           cfg.model.kind == "gat" ? " x " + std::to_string(cfg.model.heads) + " heads" : std::string(), ", ",
           model.num_parameters(), " parameters) on ", printable_text(d.meta().name), ": ", sp.train.size(),
           " train / ", sp.valid.size(), " valid / ", sp.test.size(), " test nodes, ", sp.num_classes,
           " classes; batch ", cfg.batch_size, ", ", count_text(nb, "batch", "batches"), " per epoch",
           cfg.max_batches > 0 && cfg.max_batches < nb ? " (the first " + std::to_string(cfg.max_batches) + " trained)"
                                                       : std::string());

  // The feature store on the backend's memory. A CUDA store checks its GPU tier against free device
  // memory beside what this run needs; data-parallel GPUs share one hot tier (multigpu/topology.hpp).
  store_options so;
  so.device = dev;
  so.device_id = cfg.device_id;
  so.disk_readers = cfg.disk_readers;
  // An unprepared dataset: the CPU reads the mapped features in place (CUDA copies them to pinned memory).
  so.map_host_tier = tier_g == 0 && tier_c == d.num_nodes();
  so.cpu_gather_copy = cfg.host_access == "copy";
  // What a GPU run holds beside the feature tier (and, sharded, beside the exchange's buffers).
  const reserve_estimate gpu_reserve =
      on_gpu ? estimate_reserve(d.num_nodes(), feature_dim, row_bytes, cfg.fanouts, cfg.batch_size,
                                hidden_width(cfg.model), sp.num_classes, attention_heads(cfg.model))
             : reserve_estimate{};
  // --sampler gpu / gpu-pinned: training batches sampled on the GPU, the same blocks as the CPU's.
  // Its device memory (gpu_sampler_bytes) joins training's own in the free-memory check (and, for a
  // prepared dataset, in the --gpu-mem budget: plan_tiers).
  const bool gpu_sampling = cfg.sampler != "cpu";
  const csr_placement csr_where = cfg.sampler == "gpu" ? csr_placement::device : csr_placement::pinned_host;
  const std::uint64_t csr_bytes =
      (static_cast<std::uint64_t>(d.num_nodes()) + 1) * sizeof(std::int64_t) + d.indices().nbytes();
  const std::uint64_t sampler_bytes = on_gpu ? gpu_sampler_bytes(d, cfg, !node_keys.empty()) : 0;
  if (on_gpu) {
    so.reserve_bytes = gpu_reserve.total() + sampler_bytes;
    if (comm && !sharded) plan_shared_gpu_tier(*comm, cfg.device_id, d.num_nodes(), row_bytes, &tier_g, &tier_c, &so);
  }
  if (!on_gpu) {
    // What this run holds in memory on the CPU, checked before the tiers are loaded (the kernel's OOM
    // killer ended runs whose model or tiers did not fit, without a word): training's reserve (the
    // model with its gradients and Adam state, and a batch's activations over the sampled hops: the
    // estimate the tier plan prints), the tiers the store copies into memory (the GPU tier is host
    // memory here; an unprepared dataset's host tier is read in place from its mapping) and this
    // rank's replicas of other machines' rows, and per-node arrays (labels, the prepared order, the
    // sampler's map: 20 bytes a node). Mapped files (the graph) are page cache, which the kernel evicts.
    const reserve_estimate full = estimate_reserve(d.num_nodes(), feature_dim, row_bytes, cfg.fanouts, cfg.batch_size,
                                                   hidden_width(cfg.model), sp.num_classes, attention_heads(cfg.model));
    const std::uint64_t tiers =
        so.map_host_tier ? 0 : static_cast<std::uint64_t>(tier_c) * static_cast<std::uint64_t>(row_bytes);
    const std::uint64_t replicas =
        sharded && !cfg.replicate.empty() ? replica_budget_bytes(cfg.replicate, d.num_nodes(), feature_dim) : 0;
    const std::uint64_t per_node = 20 * static_cast<std::uint64_t>(d.num_nodes());
    const std::uint64_t held = tiers + replicas + per_node;
    if (full_eval_bytes > 0 && full_eval_bytes != kUnknownBytes && full_eval_bytes > full.total())
      expect_memory(full_eval_bytes + held,
                    "--eval full with --hidden " + std::to_string(cfg.model.hidden) + " on " +
                        std::to_string(d.num_nodes()) + " nodes and tiers of " +
                        format_bytes(static_cast<double>(tiers)),
                    "full-neighbour evaluation (the model, each layer's outputs for every node and a chunk's rows ~" +
                        format_bytes(static_cast<double>(full_eval_bytes)) + ", beside the tiers held in memory " +
                        format_bytes(static_cast<double>(tiers)) + " and per-node arrays " +
                        format_bytes(static_cast<double>(per_node + replicas)) +
                        "; --eval sampled keeps one --eval-batch-size chunk's instead, smaller --gpu-mem / --host-mem "
                        "leave rows on disk)");
    expect_memory(full.total() + held,
                  "--hidden " + std::to_string(cfg.model.hidden) +
                      (cfg.model.kind == "gat" ? " x --heads " + std::to_string(cfg.model.heads) : std::string()) +
                      ", --batch-size " + std::to_string(cfg.batch_size) + " with tiers of " +
                      format_bytes(static_cast<double>(tiers)),
                  "training (the model and a batch's activations ~" + format_bytes(static_cast<double>(full.total())) +
                      ", the GPU and host tiers held in memory " + format_bytes(static_cast<double>(tiers)) +
                      (replicas > 0 ? ", replicas " + format_bytes(static_cast<double>(replicas)) : std::string()) +
                      ", per-node arrays " + format_bytes(static_cast<double>(per_node)) +
                      "; smaller --gpu-mem / --host-mem leave rows on disk)");
  }
  std::unique_ptr<feature_store> store;
  sharded_store* shards = nullptr;
  if (sharded) {
    // Features sharded across machines: this rank's shard, tiered by the plan (or --gpu-mem /
    // --host-mem), the replicas under --replicate or the plan's budget, the rest fetched.
    sharded_store::options sho;
    sho.disk_readers = cfg.disk_readers;
    sho.gpu_rows = tier_g;
    sho.host_rows = tier_c - tier_g;
    if (on_gpu) {
      // The shard's GPU tier in device memory; rows fetched from the other ranks over NCCL, GPU to
      // GPU, when this build has NCCL (else through host memory over the job's communicator). The
      // free-memory check counts the exchange's buffers beside the training reserve.
      sho.device = dev;
      sho.device_id = cfg.device_id;
      sho.cpu_gather_copy = so.cpu_gather_copy;
      sho.reserve_bytes = so.reserve_bytes + sharded_exchange_bytes(gpu_reserve.input_rows, feature_dim, world);
      sho.max_stage_rows = std::max<std::int64_t>(1, gpu_reserve.input_rows);
      sho.nccl_exchange = nccl_compiled();
      sho.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(cfg.comm_timeout_s * 1000));
    }
    if (!cfg.replicate.empty())
      sho.replica_rows = static_cast<std::int64_t>(replica_budget_bytes(cfg.replicate, d.num_nodes(), feature_dim) /
                                                   (static_cast<std::uint64_t>(feature_dim) * sizeof(float)));
    auto ss = open_sharded_store(d, comm, sho);
    shards = ss.get();
    store = std::move(ss);
    log_info("features: ", store->host_tier_mode());
  } else {
    try {
      store = make_feature_store(d, tier_g, tier_c, so);
    } catch (const budget_error& e) {
      if (sampler_bytes == 0) throw;
      throw budget_error(std::string(e.what()) + " Training's own memory includes --sampler " + cfg.sampler + "'s " +
                         format_bytes(static_cast<double>(sampler_bytes)) +
                         (csr_where == csr_placement::device ? " (the graph in device memory; --sampler gpu-pinned "
                                                               "leaves it in host memory)"
                                                             : ""));
    }
  }
  if (on_gpu)
    log_info("device: ", be.name(), "; GPU tier rows [0, ", tier_g, "), host tier [", tier_g, ", ", tier_c,
             ") held as ", store->host_tier_mode(), ", disk [", tier_c, ", ", d.num_nodes(), ")");
  std::unique_ptr<cuda_neighbor_sampler> gpu_sampler;
  if (gpu_sampling) {
    const gpu::device_scope on(cfg.device_id);  // the sampler works on the GPU current at construction
    gpu_sampler = std::make_unique<cuda_neighbor_sampler>(d, cfg.fanouts, cfg.seed, csr_where);
    gpu_sampler->set_node_keys(span<const std::int64_t>(node_keys));
    log_info("sampling on the GPU; the graph (", format_bytes(static_cast<double>(csr_bytes)), ") in ",
             csr_where == csr_placement::device ? "device memory" : "pinned host memory, read over the bus");
  }
  block_sampler& batch_sampler = gpu_sampler ? static_cast<block_sampler&>(*gpu_sampler) : sampler;
  // Batches are prepared on a backend of their own (on CUDA: its own stream, so uploads overlap
  // compute), synchronously on the CPU and two batches ahead on a GPU.
  std::unique_ptr<backend> upload_owner = on_gpu ? make_backend(dev, cfg.device_id) : nullptr;
  batch_pipeline::options po;
  po.kind = aggregator_of(cfg.model);
  po.self_loops = self_loops.get();
  po.rank = rank;
  po.world = world;
  po.depth = cfg.pipeline_depth >= 0 ? cfg.pipeline_depth : (on_gpu ? 2 : 0);
  // Sharded: the next batch's exchange runs on the producer thread while this one trains, when the
  // communicator allows two threads at once.
  const std::string no_overlap = shards ? shards->overlap_blocker() : std::string();
  if (shards && cfg.pipeline_depth < 0 && no_overlap.empty()) po.depth = 1;
  if (shards && po.depth > 0 && !no_overlap.empty()) {
    const std::string msg = no_overlap + ": the feature exchange cannot overlap training (--prefetch 0)";
    if (cfg.pipeline_depth > 0)
      log_warn(msg);
    else
      log_info(msg);
    po.depth = 0;
  }
  batch_pipeline pipeline(batch_sampler, *store, on_gpu ? *upload_owner : be, sp.labels, po);
  std::unique_ptr<gradient_reducer> reducer;
  if (comm) {
    reducer = make_gradient_reducer(*comm, be,
                                    std::chrono::milliseconds(static_cast<std::int64_t>(cfg.comm_timeout_s * 1000)));
    log_info("data-parallel: rank ", rank, " of ", world, " (", comm->kind(), " communicator, ", reducer->kind(),
             " gradient reduction); each global batch of ", cfg.batch_size, " seeds is split across the ranks");
  }
  // Evaluation: in a sharded job by every rank together through the store (each its slice of every
  // evaluation batch); in an unsharded one by the lead alone while the others wait for its heartbeats
  // (lead_evaluation_follow), and in one process between stop checks.
  // A non-finite logit comes from weights that diverged (a loss that stayed finite can hide them) or,
  // with finite weights, from a non-finite feature in the node's neighbourhood, which training
  // batches may never read: a metric computed from it would be silently wrong.
  const auto eval_logits = [&](const std::vector<std::int64_t>& ids) {
    // One process or an unsharded job's lead: a stop signal ends the evaluation between its batches
    // (evaluation_stopped; in a job on every rank).
    std::vector<float> logits;
    if (shards) {
      logits = evaluate_with(d, model, ids, cfg, *store, comm);
    } else if (comm && !lead) {
      lead_evaluation_follow(*comm);  // the lead evaluates; this rank has no logits
      return logits;
    } else if (comm) {
      auto last = std::chrono::steady_clock::now();
      logits = evaluate_unsharded(d, model, ids, cfg, nullptr, lead_evaluation_tick(*comm, cfg.comm_timeout_s, &last));
      lead_evaluation_done(*comm);
    } else {
      logits = evaluate_unsharded(d, model, ids, cfg, &g_stop_signal);
    }
    const auto bad = std::find_if(logits.begin(), logits.end(), [](float v) { return !std::isfinite(v); });
    if (bad != logits.end()) {
      for (const auto& prm : model.params())  // the host copy: evaluation runs after pull_params
        if (std::any_of(prm.value.begin(), prm.value.end(), [](float v) { return !std::isfinite(v); }))
          throw error("training diverged: the model's weights are no longer finite (" + prm.name +
                      "), so its outputs are not either. " + divergence_advice(cfg));
      const std::size_t width = std::max<std::size_t>(1, logits.size() / std::max<std::size_t>(1, ids.size()));
      const auto row = static_cast<std::size_t>(bad - logits.begin()) / width;
      throw input_error("evaluation produced a non-finite output (" +
                        std::string(std::isnan(*bad) ? "NaN" : "infinite") + " for node " +
                        (row < ids.size() ? std::to_string(ids[row]) : std::string("?")) + "): either the dataset " +
                        d.dir() + " has NaN or infinite features, which `tiergnn info --check " + d.dir() +
                        "` lists, or training diverged (its weights grew too large: try a smaller --lr)");
    }
    return logits;
  };
  // The metric of the lead's evaluation (-1 on the other ranks of an unsharded job, which wait for it).
  const auto eval_metric = [&](const std::vector<std::int64_t>& ids) {
    const std::vector<float> logits = eval_logits(ids);
    return comm && !shards && !lead ? -1.0 : score(logits, ids, sp.labels, sp.num_classes);
  };
  bool validated_last_epoch = false;  // alike on every rank (the lead's stop reaches them all)
  stop_signal_guard guard;
  const char* profile_env = std::getenv("TIERGNN_PROFILE_OPS");
  op_profiling profiling(be, profile_env && std::string(profile_env) == "1");
  tensor<float> dlogits(be), row_loss(be);
  std::vector<float> logits_host, row_loss_host;
  const auto reduce_layer = [&](int l) {
    std::vector<tensor_view<float>> bucket;
    for (std::size_t i = 0; i < model.params().size(); ++i)
      if (model.param_layer(i) == l) bucket.push_back(model.grad(i));
    reducer->submit(bucket);
  };
  int last_ckpt_epoch = rep.start_epoch;
  // Where the run's last checkpoint is, for messages of a run that stops early.
  const auto checkpoint_note = [&](bool resumable) -> std::string {
    if (ckpt_path.empty()) return "no checkpoint directory was given";
    if (last_ckpt_epoch == 0)
      return "no epoch finished, so no checkpoint of this run was written" +
             std::string(std::filesystem::exists(ckpt_path)
                             ? " (" + cfg.checkpoint_dir + " still holds the previous run's checkpoint)"
                             : "") +
             (resumable ? "; start again without --resume" : "");
    return "the last checkpoint (after epoch " + std::to_string(last_ckpt_epoch) + ") is in " + cfg.checkpoint_dir +
           (resumable ? "; continue with --resume" : ", intact");
  };
  bool mid_epoch = false;  // stopped by a signal inside an epoch
  rep.end_epoch = rep.start_epoch;
  bool warned_huge_loss = false;
  for (int epoch = rep.start_epoch; epoch < cfg.epochs; ++epoch) {
    const auto t_epoch = std::chrono::steady_clock::now();
    batch_plan plan = plan_epoch(span<const std::int64_t>(sp.train), cfg.batch_size, cfg.seed, epoch, true,
                                 span<const std::int64_t>(node_keys));
    if (cfg.max_batches > 0 && plan.num_batches() > cfg.max_batches)
      plan.order.resize(static_cast<std::size_t>(cfg.max_batches * cfg.batch_size));  // the epoch's first batches
    epoch_report er;
    er.epoch = epoch + 1;
    double loss_sum = 0, correct = 0;
    std::int64_t seen = 0;
    progress bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs), plan.num_batches(),
                 "batches");
    if (!cfg.show_progress) bar.silence();
    pipeline.start_epoch(plan, epoch);
    int stop_sig = 0;  // a stop signal, agreed by every rank after the same batch
    for (std::int64_t b = 0; b < plan.num_batches(); ++b) {
      auto t0 = std::chrono::steady_clock::now();
      prepared_batch& pb = pipeline.next();
      if (po.depth > 0) er.wait_s += seconds_since(t0);
      er.sample_s += pb.sample_s;
      er.gather_s += pb.gather_s;
      er.prepare_s += pb.prepare_s;
      er.prepare_host_s += pb.prepare_host_s;
      er.feature_traffic += pb.feature_traffic;
      t0 = std::chrono::steady_clock::now();
      const std::int64_t rows = pb.rows();
      double loss_rows = 0, correct_rows = 0;
      if (rows > 0) {
        const tensor_view<const float> logits =
            model.forward(pb.host, pb.graphs, pb.x.view(), true, dropout_key{cfg.seed, epoch, b});
        dlogits.resize(static_cast<std::size_t>(rows * sp.num_classes));
        row_loss.resize(static_cast<std::size_t>(rows));
        // The gradient of the global batch's mean loss: divided by the global batch's seeds, so the
        // sum over data-parallel ranks needs no rescaling.
        be.softmax_nll(logits, rows, sp.num_classes, pb.labels.view(), dlogits.view(), row_loss.view(), pb.global_rows);
        logits_host.resize(static_cast<std::size_t>(logits.size));
        row_loss_host.resize(static_cast<std::size_t>(rows));
        be.copy_to_host(logits_host.data(), logits.data, logits_host.size() * sizeof(float));
        row_loss.copy_to_host(row_loss_host.data());
        const float loss = mean_row_loss(row_loss_host.data(), rows);
        if (!std::isfinite(loss)) {
          // Bad input features are a data problem, not a learning rate: name the node.
          std::vector<float> xs(static_cast<std::size_t>(pb.x.size()));
          pb.x.copy_to_host(xs.data());
          const auto bad = std::find_if(xs.begin(), xs.end(), [](float v) { return !std::isfinite(v); });
          if (bad != xs.end()) {
            const auto row = static_cast<std::size_t>((bad - xs.begin()) / std::max<std::int64_t>(1, feature_dim));
            const auto inputs = pb.host.input_nodes();
            throw input_error("the features of node " +
                              (row < inputs.size() ? std::to_string(inputs[row]) : std::string("?")) + " hold " +
                              (std::isnan(*bad) ? "NaN" : "an infinite value") + " (epoch " +
                              std::to_string(epoch + 1) + ", batch " + std::to_string(b) + "): the dataset " + d.dir() +
                              " has non-finite features; `tiergnn info --check " + d.dir() + "` lists them");
          }
          throw error("training diverged: the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                      " at epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(b + 1) + " of " +
                      std::to_string(plan.num_batches()) + " (" + checkpoint_note(false) + "). " +
                      (epoch == rep.start_epoch && b == 0 && rep.start_epoch == 0
                           ? "No update had been made yet: the untrained model's outputs overflow (features of "
                             "very large magnitude? scale them; a very deep or wide model? try fewer --layers or a "
                             "smaller --hidden)."
                           : divergence_advice(cfg)));
        }
        // Data-parallel: each layer's gradients start their all-reduce as soon as backward has them.
        model.backward(dlogits.view(), reducer ? std::function<void(int)>(reduce_layer) : std::function<void(int)>());
        loss_rows = static_cast<double>(loss) * static_cast<double>(rows);
        correct_rows =
            accuracy(logits_host.data(), rows, sp.num_classes, pb.labels_host.data()) * static_cast<double>(rows);
      } else {
        // Fewer seeds than ranks in this batch: contribute nothing but take part in the reduction.
        model.zero_grads();
        for (int l = model.config().num_layers - 1; l >= 0; --l) reduce_layer(l);
      }
      er.compute_s += seconds_since(t0);
      double local_rows = static_cast<double>(rows);
      if (reducer) {
        t0 = std::chrono::steady_clock::now();
        reducer->wait();  // the part of the reduction not hidden behind backward
        // With the batch's statistics, which stop signals each rank has had: the ranks stop after the
        // same batch (one that stopped alone would leave the others waiting in the next reduction).
        const int mine = g_stop_signal.load();
        double t[6] = {loss_rows,
                       correct_rows,
                       local_rows,
                       mine == SIGINT ? 1.0 : 0.0,
                       mine == SIGTERM ? 1.0 : 0.0,
                       mine == SIGHUP ? 1.0 : 0.0};
        comm->all_reduce_sum(t, 6);
        loss_rows = t[0];
        correct_rows = t[1];
        local_rows = t[2];
        stop_sig = t[3] > 0 ? SIGINT : t[4] > 0 ? SIGTERM : t[5] > 0 ? SIGHUP : 0;
        er.comm_s += seconds_since(t0);
      } else {
        stop_sig = g_stop_signal.load();
      }
      t0 = std::chrono::steady_clock::now();
      opt.step();
      be.synchronize();  // the batch's buffers may be reused once the backend is done with them
      er.optimizer_s += seconds_since(t0);
      er.sampled_edges += pb.host.num_sampled_edges();
      er.input_nodes += pb.host.blocks.empty() ? 0 : pb.host.blocks[0].num_src();
      pipeline.release();  // the producer may refill the slot from here on
      loss_sum += loss_rows;
      correct += correct_rows;
      seen += static_cast<std::int64_t>(local_rows);
      ++er.batches;
      if (cfg.show_progress) {
        bar.set_suffix("loss " + fmt(loss_sum / static_cast<double>(std::max<std::int64_t>(seen, 1))));
        bar.add(1);
      }
      if (stop_sig != 0) break;
    }
    pipeline.finish_epoch();
    bar.finish();
    if (const int sig = stop_sig; sig != 0) {
      rep.interrupted = true;
      rep.stop_signal = sig;
      mid_epoch = true;
      log_info(sig == SIGINT ? std::string("interrupted") : "stopped by " + stop_signal_name(sig), " during epoch ",
               epoch + 1, "; ", checkpoint_note(true));
      break;
    }
    er.loss = loss_sum / static_cast<double>(std::max<std::int64_t>(seen, 1));
    er.train_accuracy = correct / static_cast<double>(std::max<std::int64_t>(seen, 1));
    er.seconds = seconds_since(t_epoch);
    // Overlap: the share of the producer's work (sampling, gathering, preparing) the loop did not wait for.
    er.overlap = po.depth > 0 && pipeline.producer_busy_s() > 0
                     ? std::max(0.0, 1.0 - er.wait_s / pipeline.producer_busy_s())
                     : 0.0;
    model.pull_params();  // evaluation, checkpoints and the identity check read the host copy
    opt.pull();
    if (comm) {
      check_identical_parameters(comm, model, epoch + 1);
      // The job's traffic and sampling: every rank's gathers and batches (input_nodes too, so that the
      // metrics' counts are all of one kind).
      double t[8] = {
          static_cast<double>(er.feature_traffic.gpu_rows),      static_cast<double>(er.feature_traffic.host_rows),
          static_cast<double>(er.feature_traffic.disk_rows),     static_cast<double>(er.sampled_edges),
          static_cast<double>(er.feature_traffic.replica_rows),  static_cast<double>(er.feature_traffic.remote_rows),
          static_cast<double>(er.feature_traffic.network_bytes), static_cast<double>(er.input_nodes)};
      comm->all_reduce_sum(t, 8);
      er.input_nodes = static_cast<std::int64_t>(t[7]);
      er.feature_traffic.gpu_rows = static_cast<std::int64_t>(t[0]);
      er.feature_traffic.host_rows = static_cast<std::int64_t>(t[1]);
      er.feature_traffic.disk_rows = static_cast<std::int64_t>(t[2]);
      er.feature_traffic.replica_rows = static_cast<std::int64_t>(t[4]);
      er.feature_traffic.remote_rows = static_cast<std::int64_t>(t[5]);
      er.feature_traffic.network_bytes = static_cast<std::int64_t>(t[6]);
      er.sampled_edges = static_cast<std::int64_t>(t[3]);
      er.feature_traffic.batches *= world;
    }
    bool stopped_in_validation = false;
    bool validate =
        evaluate && !sp.valid.empty() && (((epoch + 1) % std::max(1, cfg.eval_every)) == 0 || epoch + 1 == cfg.epochs);
    double eval_s = 0;
    if (validate) {
      const auto t0 = std::chrono::steady_clock::now();
      try {
        er.valid_metric = eval_metric(sp.valid);
      } catch (const evaluation_stopped&) {
        // The epoch's training is complete: its line and checkpoint are written, without the
        // validation; one process then stops (below), a job's ranks at the next batch, where they agree.
        validate = false;
        stopped_in_validation = !comm;
        log_info("validation of epoch ", epoch + 1, " skipped: a stop was requested");
      }
      eval_s = seconds_since(t0);
    }
    validated_last_epoch = validate;
    log_info("epoch ", epoch + 1, "/", cfg.epochs, "  loss ", fmt(er.loss), "  train acc ", fmt(er.train_accuracy),
             validate ? "  valid " + rep.metric + " " + metric_text(er.valid_metric, sp, sp.valid) : std::string(),
             "  ", fmt(er.seconds, 2), " s (sample ", fmt(er.sample_s, 2), ", gather ", fmt(er.gather_s, 2),
             ", prepare ", fmt(er.prepare_s, 2), ", forward+backward ", fmt(er.compute_s, 2), ", optimizer ",
             fmt(er.optimizer_s, 2), comm ? ", all-reduce " + fmt(er.comm_s, 2) : std::string(),
             po.depth > 0 ? ", waiting " + fmt(er.wait_s, 2) + "; overlap " + fmt(100.0 * er.overlap, 0) +
                                "% of sample+gather+prepare hidden"
                          : std::string(),
             ")", validate ? ", eval " + fmt(eval_s, 2) + " s" : std::string());
    // A cross-entropy of 10^4 means logits of that size: finite, but nothing a model that learns
    // reaches (it starts near ln C). Said once, while the run goes on.
    if (er.loss > 1e4 && !warned_huge_loss) {
      warned_huge_loss = true;
      log_warn("the loss is ", fmt(er.loss), " at epoch ", epoch + 1,
               ": the model's outputs are huge (features of very large magnitude? scale them) or training is "
               "diverging. ",
               divergence_advice(cfg));
    }
    log_info("  traffic: ", er.feature_traffic.summary());
    if (metrics.is_open()) {
      nlohmann::json j = {{"epoch", er.epoch},
                          {"loss", er.loss},
                          {"train_accuracy", er.train_accuracy},
                          {"seconds", er.seconds},
                          {"sample_s", er.sample_s},
                          {"gather_s", er.gather_s},
                          {"compute_s", er.compute_s},
                          {"optimizer_s", er.optimizer_s},
                          {"batches", er.batches},
                          {"sampled_edges", er.sampled_edges},
                          {"input_nodes", er.input_nodes},
                          {"traffic", er.feature_traffic.to_json()},
                          {"device", to_string(dev)},
                          {"prepare_s", er.prepare_s},
                          {"prepare_host_s", er.prepare_host_s}};
      if (po.depth > 0) {
        j["wait_s"] = er.wait_s;
        j["overlap"] = er.overlap;
      }
      if (comm) j["comm_s"] = er.comm_s;
      if (validate) j["valid_" + rep.metric] = metric_json(er.valid_metric);
      const std::string text = json_text(j);
      metrics << text << "\n" << std::flush;
      if (metrics) {
        ++metrics_file.epoch_lines;
        metrics_file.good_bytes = static_cast<std::uint64_t>(metrics.tellp());
      }
      // As a reader of the line parses it (json_text need not print every digit of a double).
      const nlohmann::json written = nlohmann::json::parse(text);
      metrics_tail = {{"epoch", er.epoch}, {"loss", written["loss"]}, {"seconds", written["seconds"]}};
      if (!metrics) throw io_error(at_input(cfg.metrics_path, "write failed (is the disk full?)"));
    }
    rep.epochs.push_back(er);
    rep.end_epoch = epoch + 1;
    if (!ckpt_path.empty() && lead) {
      nlohmann::json extra = {
          {"epoch", epoch + 1}, {"dataset", identity}, {"settings", settings_json(cfg)}, {"ranks", world}};
      // The metrics line of this epoch, by which a resumed run finds the lines of its epochs.
      // null: this run wrote no metrics (a resume then takes none from the file).
      extra["metrics_tail"] = metrics.is_open() && metrics_tail.is_object() ? metrics_tail : nlohmann::json(nullptr);
      try {
        write_checkpoint(ckpt_path, model, &opt.state(), extra);
      } catch (const io_error& e) {  // named by its option, and what is kept said
        throw io_error("--checkpoint " + std::string(e.what()) +
                       (last_ckpt_epoch > 0 ? " (the checkpoint of epoch " + std::to_string(last_ckpt_epoch) +
                                                  " is kept: --resume continues from it)"
                                            : std::string()));
      }
      last_ckpt_epoch = epoch + 1;
    }
    if (stopped_in_validation && epoch + 1 < cfg.epochs) {
      rep.interrupted = true;
      rep.stop_signal = g_stop_signal.load();
      log_info("stopped after epoch ", epoch + 1, "; ", checkpoint_note(true));
      break;
    }
    if (cfg.stop_after_epochs >= 0 && epoch + 1 - rep.start_epoch >= cfg.stop_after_epochs && epoch + 1 < cfg.epochs) {
      rep.interrupted = true;
      break;
    }
  }
  profiling.report();
  // A run stopped inside an epoch holds weights part-way through it, which no epoch count describes:
  // not saved (the checkpoint, when given, holds the last finished epoch).
  if (!cfg.save_model_path.empty() && lead && mid_epoch)
    log_warn("--save-model ", cfg.save_model_path, " not written: the run stopped inside epoch ", rep.end_epoch + 1,
             ", so the weights belong to no finished epoch");
  if (!cfg.save_model_path.empty() && lead && !mid_epoch) {
    try {
      write_checkpoint(cfg.save_model_path, model, nullptr,
                       {{"epoch", rep.end_epoch}, {"dataset", identity}, {"settings", settings_json(cfg)}});
    } catch (const io_error& e) {
      throw io_error("--save-model " + std::string(e.what()) +
                     (!ckpt_path.empty() && last_ckpt_epoch == rep.end_epoch && last_ckpt_epoch > 0
                          ? " (the checkpoint of epoch " + std::to_string(last_ckpt_epoch) + " holds the same weights)"
                          : std::string()));
    }
  }
  // A stop requested after the last batch (during the last validation, or now): every epoch is
  // trained and saved; the final evaluation is not run, and the run reports the stop.
  const auto stopped_at_the_end = [&] {
    rep.interrupted = true;
    rep.stop_signal = g_stop_signal.load();
    log_info("stopped before the final evaluation (every epoch is trained",
             ckpt_path.empty() ? std::string() : "; the checkpoint in " + cfg.checkpoint_dir + " holds it", ")");
  };
  if (!rep.interrupted && g_stop_signal.load() != 0 && evaluate && !comm) stopped_at_the_end();
  if (!rep.interrupted) {
    const auto& last = rep.epochs;
    rep.valid_metric = !last.empty() ? last.back().valid_metric : -1;
    try {
      // (Decided alike on every rank of a job: each enters the evaluations the lead runs.)
      if (evaluate && !sp.test.empty()) rep.test_metric = eval_metric(sp.test);
      if (evaluate && !validated_last_epoch && !sp.valid.empty()) rep.valid_metric = eval_metric(sp.valid);
    } catch (const evaluation_stopped&) {
      stopped_at_the_end();
    }
  }
  if (!rep.interrupted) {
    traffic total;
    for (const auto& e : rep.epochs) total += e.feature_traffic;
    if (!rep.epochs.empty())
      log_info("feature traffic over ", count_text(static_cast<long long>(rep.epochs.size()), "epoch"), ": ",
               total.summary());
    if (!evaluate)
      log_info("no validation or test (--eval none)");
    else if (lead)  // the run's result: printed under -q too (the other ranks' would repeat it)
      log_result("test ", rep.metric, " ",
                 sp.test.empty() ? std::string("n/a (no test split)") : metric_text(rep.test_metric, sp, sp.test),
                 sp.valid.empty() ? std::string("  (no validation split, ")
                                  : "  (valid " + metric_text(rep.valid_metric, sp, sp.valid) + ", ",
                 cfg.eval_mode, "-neighbour evaluation)");
    if (metrics.is_open())
      metrics << nlohmann::json{{"final", true},
                                {"metric", rep.metric},
                                {"valid", metric_json(rep.valid_metric)},
                                {"test", metric_json(rep.test_metric)},
                                {"epochs", rep.end_epoch}}
                     .dump()
              << "\n";
    if (metrics.is_open() && !(metrics << std::flush))
      throw io_error(at_input(cfg.metrics_path, "write failed (is the disk full?)"));
  }
  if (metrics.is_open()) metrics_file.commit();
  return rep;
}

}  // namespace tg
