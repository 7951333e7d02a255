#include "train/trainer.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "kernels/loss.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "train/checkpoint.hpp"
#include "train/feature_source.hpp"
#include "train/gpu_pipeline.hpp"
#include "multigpu/communicator.hpp"
#include "multigpu/partition.hpp"
#include "core/device.hpp"
#include "train/metrics.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/plan_file.hpp"

namespace tg {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

// Installs a SIGINT handler for the duration of training and restores the previous one.
class sigint_guard {
 public:
  sigint_guard() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~sigint_guard() { sigaction(SIGINT, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

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
  if (!d.has("train_idx.npy") || d.get("train_idx.npy").count() == 0)
    throw input_error(at_input(d.dir(), "the dataset has no training split (train_idx.npy)"));
  s.num_classes = d.meta().num_classes;
  s.labels = d.get("labels.npy").to_int64();
  s.train = load_split(d, "train_idx.npy");
  s.valid = load_split(d, "valid_idx.npy");
  s.test = load_split(d, "test_idx.npy");
  for (const auto* split : {&s.train, &s.valid, &s.test})
    for (std::int64_t v : *split) {
      if (v < 0 || v >= d.num_nodes())
        throw input_error(at_input(d.dir(), "split node " + std::to_string(v) + " is outside [0, " +
                                                std::to_string(d.num_nodes()) + ")"));
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
    std::vector<float> s(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) s[i] = logits[2 * i + 1] - logits[2 * i];
    return roc_auc(s, y);
  }
  return accuracy(logits.data(), static_cast<std::int64_t>(ids.size()), classes, y.data());
}

nlohmann::json settings_json(const train_config& cfg) {
  return {{"fanouts", cfg.fanouts},       {"batch_size", cfg.batch_size}, {"seed", cfg.seed},
          {"lr", cfg.adam.lr},            {"weight_decay", cfg.adam.weight_decay},
          {"weight_decay_scope", cfg.weight_decay_scope}, {"ignore_graph", cfg.ignore_graph},
          {"beta1", cfg.adam.beta1},      {"beta2", cfg.adam.beta2},      {"eps", cfg.adam.eps}};
}

std::string fmt(double x, int prec = 4) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, x);
  return b;
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

std::vector<float> evaluate_logits(const dataset& d, const gnn_model& m, const std::vector<std::int64_t>& ids,
                                   const train_config& cfg) {
  const feature_source features(d);
  const std::int64_t classes = m.config().num_classes;
  const std::vector<std::int64_t> keys = d.has("order.npy") ? d.get("order.npy").to_int64() : std::vector<std::int64_t>{};
  std::vector<float> out(ids.size() * static_cast<std::size_t>(classes));
  const std::int64_t eb = std::max<std::int64_t>(1, cfg.eval_batch_size);
  if (cfg.eval_mode == "sampled") {
    graph_for_sampling gs;
    neighbor_sampler s = gs.make(d, cfg.fanouts, cfg.seed ^ 0x6576616cull /* "eval" */, cfg.ignore_graph);
    s.set_node_keys(span<const std::int64_t>(keys));
    sampled_batch sb;
    std::vector<float> x;
    gnn_model& mm = const_cast<gnn_model&>(m);  // forward(train=false) keeps no state
    for (std::size_t b0 = 0; b0 < ids.size(); b0 += static_cast<std::size_t>(eb)) {
      const std::size_t n = std::min(ids.size() - b0, static_cast<std::size_t>(eb));
      s.sample(span<const std::int64_t>(ids.data() + b0, n), 0, static_cast<std::int64_t>(b0 / eb), &sb);
      x.resize(static_cast<std::size_t>(sb.blocks[0].num_src() * features.dim()));
      features.gather(sb.input_nodes(), x.data());
      const auto& logits = mm.forward(sb, x.data(), false, dropout_key{});
      std::copy(logits.begin(), logits.end(), out.begin() + static_cast<std::ptrdiff_t>(b0 * classes));
    }
    return out;
  }
  // Layer-wise full-neighbour inference over all nodes.
  const std::int64_t n = d.num_nodes();
  graph_for_sampling gs;
  neighbor_sampler full = gs.make(d, {-1}, 0, cfg.ignore_graph);
  sampled_batch sb;
  std::vector<float> prev, cur, x;
  std::vector<std::int64_t> seeds;
  for (int l = 0; l < m.config().num_layers; ++l) {
    const std::int64_t din = m.layer_in_dim(l), dout = m.layer_out_dim(l);
    cur.assign(static_cast<std::size_t>(n * dout), 0.0f);
    for (std::int64_t s0 = 0; s0 < n; s0 += eb) {
      const std::int64_t cnt = std::min(eb, n - s0);
      seeds.resize(static_cast<std::size_t>(cnt));
      std::iota(seeds.begin(), seeds.end(), s0);
      full.sample(span<const std::int64_t>(seeds), 0, 0, &sb);
      const block& b = sb.blocks[0];
      x.resize(static_cast<std::size_t>(b.num_src() * din));
      if (l == 0) {
        features.gather(span<const std::int64_t>(b.src_nodes), x.data());
      } else {
        for (std::int64_t i = 0; i < b.num_src(); ++i)
          std::copy_n(prev.data() + b.src_nodes[i] * din, din, x.data() + i * din);
      }
      m.layer_forward(l, b, x.data(), cur.data() + s0 * dout);
    }
    prev.swap(cur);
  }
  for (std::size_t i = 0; i < ids.size(); ++i)
    std::copy_n(prev.data() + ids[i] * classes, classes, out.data() + i * classes);
  return out;
}

namespace {

// Data-parallel gradient reduction, bucketed by layer and overlapped with backward: as backward
// finishes layer l (L-1 down to 0), that layer's gradients, scaled by rows / global_rows (so the
// sum over ranks is the gradient of the global batch's mean loss), are all-reduced on a
// communication thread while backward computes the earlier layers. Every rank submits the same
// buckets in the same order, so the collectives pair up; each reduction sums in rank order.
class grad_reducer {
 public:
  explicit grad_reducer(communicator* comm) : comm_(comm), worker_([this] { run(); }) {}
  ~grad_reducer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  grad_reducer(const grad_reducer&) = delete;
  grad_reducer& operator=(const grad_reducer&) = delete;

  // Queues the reduction of layer l's gradients, scaled by w.
  void submit_layer(gnn_model& model, int layer, float w) {
    submit([&model, layer, w, this](communicator* c) {
      if (bufs_.size() <= static_cast<std::size_t>(layer)) bufs_.resize(static_cast<std::size_t>(layer) + 1);
      auto& buf = bufs_[static_cast<std::size_t>(layer)];
      buf.clear();
      for (std::size_t i = 0; i < model.params().size(); ++i)
        if (model.param_layer(i) == layer)
          for (float g : model.params()[i].grad) buf.push_back(g * w);
      c->all_reduce_sum(buf.data(), buf.size());
      std::size_t o = 0;
      for (std::size_t i = 0; i < model.params().size(); ++i)
        if (model.param_layer(i) == layer)
          for (float& g : model.params()[i].grad) g = buf[o++];
    });
  }
  // Queues the step's loss, accuracy and seed counts; waits for every queued reduction.
  void finish_step(double loss_rows, double correct_rows, std::int64_t rows, double* loss_sum, double* correct,
                   std::int64_t* seen) {
    double t[3] = {loss_rows, correct_rows, static_cast<double>(rows)};
    submit([&t](communicator* c) { c->all_reduce_sum(t, 3); });
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
    if (failure_) std::rethrow_exception(failure_);
    *loss_sum += t[0];
    *correct += t[1];
    *seen += static_cast<std::int64_t>(t[2]);
  }

 private:
  void submit(std::function<void(communicator*)> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(job));
    }
    cv_.notify_all();
  }
  void run() {
    while (true) {
      std::function<void(communicator*)> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
      }
      try {
        if (!failure_) job(comm_);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        failure_ = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        busy_ = false;
      }
      done_cv_.notify_all();
    }
  }

  communicator* comm_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::function<void(communicator*)>> queue_;
  bool stop_ = false, busy_ = false;
  std::exception_ptr failure_;
  std::vector<std::vector<float>> bufs_;  // per layer, used by the communication thread only
  std::thread worker_;
};

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

}  // namespace

train_report train(const dataset& d, const train_config& cfg_in) {
  train_config cfg = cfg_in;
  // Everything that can be wrong with the input is checked before training starts.
  if (cfg.batch_size <= 0) throw input_error("--batch-size must be positive, got " + std::to_string(cfg.batch_size));
  if (cfg.epochs < 0) throw input_error("--epochs must not be negative");
  if (cfg.eval_mode != "full" && cfg.eval_mode != "sampled" && cfg.eval_mode != "none")
    throw input_error("--eval '" + cfg.eval_mode + "': choose full, sampled or none");
  const bool evaluate = cfg.eval_mode != "none";
  if (!(cfg.adam.lr > 0)) throw input_error("--lr must be positive");
  if (cfg.fanouts.empty()) throw input_error("--fanouts needs at least one layer");
  if (cfg.weight_decay_scope != "all" && cfg.weight_decay_scope != "first")
    throw input_error("--weight-decay-scope '" + cfg.weight_decay_scope + "': choose all or first");
  if (cfg.device != "cpu" && cfg.device != "cuda") throw input_error("--device '" + cfg.device + "': choose cpu or cuda");
  const bool on_gpu = cfg.device == "cuda";
  if (on_gpu && cuda_device_count() == 0)
    throw input_error(std::string("--device cuda: ") +
                      (cuda_compiled() ? "no CUDA device is available on this machine" : "this tiergnn was built without the CUDA backend") +
                      "; use --device cpu");
  if (on_gpu && cfg.ignore_graph) throw input_error("--ignore-graph runs on the CPU only; drop --device cuda");
  if (cfg.host_access != "zero-copy" && cfg.host_access != "copy")
    throw input_error("--host-access '" + cfg.host_access + "': choose zero-copy or copy");
  communicator* comm = cfg.comm && cfg.comm->size() > 1 ? cfg.comm : nullptr;
  const int rank = comm ? comm->rank() : 0, world = comm ? comm->size() : 1;
  const bool lead = rank == 0;  // evaluates, writes checkpoints, metrics and the saved model
  if (on_gpu && (cfg.device_id < 0 || cfg.device_id >= cuda_device_count()))
    throw input_error("--device cuda: this process should use GPU " + std::to_string(cfg.device_id) + " (LOCAL_RANK) but " +
                      std::to_string(cuda_device_count()) + " are visible");
  if (cfg.model.num_layers > 0 && cfg.model.num_layers != static_cast<int>(cfg.fanouts.size()))
    throw input_error("--fanouts has " + std::to_string(cfg.fanouts.size()) + " entries but the model has " +
                      std::to_string(cfg.model.num_layers) + " layers: give one fanout per layer");
  cfg.model.num_layers = static_cast<int>(cfg.fanouts.size());
  const labelled_splits sp = load_splits(d);
  cfg.model.in_dim = d.meta().feature_dim;
  cfg.model.num_classes = sp.num_classes;
  const feature_source features(d);
  graph_for_sampling train_graph;
  neighbor_sampler sampler = train_graph.make(d, cfg.fanouts, cfg.seed, cfg.ignore_graph);
  if (cfg.ignore_graph) log_info("--ignore-graph: training without edges (a feature-only MLP baseline)");
  // A prepared (renumbered) dataset is served by the tiered feature store under its plan, and
  // sampled with the original ids as keys, so it trains exactly as the original dataset would.
  std::unique_ptr<tiered_store> store;
  std::vector<std::int64_t> node_keys;
  std::int64_t row_bytes = features.dim() * static_cast<std::int64_t>(dtype_size(d.meta().feature_dtype));
  std::int64_t tier_g = 0, tier_c = d.num_nodes();
  if (plan_file::present(d)) {
    const plan_file pf = plan_file::load(d);
    tier_plan tp = pf.plan;
    const reserve_estimate reserve = estimate_reserve(d.num_nodes(), features.dim(), row_bytes, cfg.fanouts,
                                                      cfg.batch_size, cfg.model.hidden, sp.num_classes);
    if (!cfg.gpu_mem.empty() || !cfg.host_mem.empty()) {
      const budget gpu = parse_budget(cfg.gpu_mem.empty() ? "0" : cfg.gpu_mem, "--gpu-mem");
      const budget host = parse_budget(cfg.host_mem.empty() ? "100%" : cfg.host_mem, "--host-mem");
      tp = size_tiers(d.num_nodes(), row_bytes, gpu, host, reserve.total());
      tp.estimator = pf.plan.estimator;
    } else if (pf.plan.gpu_budget_bytes > 0) {
      const std::uint64_t budget_bytes = pf.plan.gpu_budget_bytes;
      const std::uint64_t need = static_cast<std::uint64_t>(tp.g() * row_bytes) + reserve.total();
      if (need > budget_bytes)
        throw budget_error("the prepared GPU tier (" + format_bytes(static_cast<double>(tp.g() * row_bytes)) +
                           ") plus this run's training memory (" + format_bytes(static_cast<double>(reserve.total())) +
                           ") exceed the --gpu-mem budget of " + format_bytes(static_cast<double>(budget_bytes)) + " by " +
                           format_bytes(static_cast<double>(need - budget_bytes)) +
                           ": pass a smaller --gpu-mem to train, or re-run prepare");
    }
    node_keys = d.get("order.npy").to_int64();
    tier_g = tp.g();
    tier_c = tp.c();
    if (!on_gpu) store = std::make_unique<tiered_store>(d, tier_g, tier_c, cfg.disk_readers);
    log_info("tier plan (estimator ", tp.estimator, "; GPU budget ", tp.gpu_budget, ", host budget ", tp.host_budget,
             ", training reserve ~", format_bytes(static_cast<double>(reserve.total())), "):\n", describe(tp),
             "  predicted GPU hit rate ", fmt(100.0 * pf.predicted_hit_rate(tier_g), 1), "% of feature reads");
  } else if (!cfg.gpu_mem.empty() || !cfg.host_mem.empty()) {
    throw input_error("--gpu-mem / --host-mem place features in tiers, which needs a prepared dataset: run "
                      "tiergnn prepare " + d.dir() + " -o DIR first");
  }
  sampler.set_node_keys(span<const std::int64_t>(node_keys));
  gnn_model model(cfg.model, cfg.seed);
  optimizer_state opt;
  for (const auto& p : model.params()) {
    opt.m.emplace_back(p.value.size(), 0.0f);
    opt.v.emplace_back(p.value.size(), 0.0f);
  }
  train_report rep;
  rep.metric = sp.num_classes == 2 ? "roc_auc" : "accuracy";
  const nlohmann::json identity = d.identity();
  const std::string ckpt_path = cfg.checkpoint_dir.empty() ? "" : cfg.checkpoint_dir + "/checkpoint.tgck";
  if (cfg.resume) {
    if (ckpt_path.empty()) throw input_error("--resume needs --checkpoint DIR");
    if (!std::filesystem::exists(ckpt_path))
      throw input_error(at_input(cfg.checkpoint_dir, "--resume: no checkpoint.tgck in this directory"));
    checkpoint c = read_checkpoint(ckpt_path);
    if (c.header.value("dataset", nlohmann::json()) != identity)
      throw input_error(at_input(ckpt_path, "was written for dataset '" +
                                                c.header["dataset"].value("name", std::string("?")) +
                                                "', not for " + d.dir() + " ('" + d.meta().name +
                                                "'): counts or checksums differ"));
    if (c.header.value("model", nlohmann::json()) != model.config().to_json())
      throw input_error(at_input(ckpt_path, "was written for model " + c.header["model"].dump() + ", but this run asks for " +
                                                model.config().to_json().dump()));
    if (c.header.value("settings", nlohmann::json()) != settings_json(cfg))
      throw input_error(at_input(ckpt_path, "was written with training settings " + c.header["settings"].dump() +
                                                "; resuming needs the same, this run has " + settings_json(cfg).dump()));
    if (!c.header.value("has_optimizer", false) || c.values.size() != model.params().size())
      throw input_error(at_input(ckpt_path, "holds no optimizer state: it is a saved model, not a checkpoint"));
    for (std::size_t i = 0; i < model.params().size(); ++i) {
      model.params()[i].value = std::move(c.values[i]);
      opt.m[i] = std::move(c.m[i]);
      opt.v[i] = std::move(c.v[i]);
    }
    opt.step = c.header.at("step").get<std::int64_t>();
    rep.start_epoch = c.header.at("epoch").get<int>();
    log_info("resuming from ", ckpt_path, " after epoch ", rep.start_epoch);
  } else if (!ckpt_path.empty() && lead) {
    std::filesystem::create_directories(cfg.checkpoint_dir);
  }
  std::ofstream metrics;
  if (!cfg.metrics_path.empty() && lead) {
    metrics.open(cfg.metrics_path, cfg.resume ? std::ios::app : std::ios::trunc);
    if (!metrics) throw input_error(at_input(cfg.metrics_path, "cannot open the metrics file for writing"));
  }
  const std::int64_t nb = (static_cast<std::int64_t>(sp.train.size()) + cfg.batch_size - 1) / cfg.batch_size;
  log_info("training ", cfg.model.kind, " (", cfg.model.num_layers, " layers, hidden ", cfg.model.hidden, ", ",
           model.num_parameters(), " parameters) on ", d.meta().name, ": ", sp.train.size(), " train / ",
           sp.valid.size(), " valid / ", sp.test.size(), " test nodes, ", sp.num_classes, " classes; batch ",
           cfg.batch_size, ", ", nb, " batches per epoch");

  adam_config no_decay = cfg.adam;
  no_decay.weight_decay = 0;
  // --device cuda: the CUDA store (GPU tier checked against free device memory beside what this run
  // needs), the model on the GPU, and the pipelined epoch loop.
  std::unique_ptr<gpu_epoch_runner> gpu;
  if (on_gpu) {
    const reserve_estimate reserve = estimate_reserve(d.num_nodes(), features.dim(), row_bytes, cfg.fanouts, cfg.batch_size,
                                                      cfg.model.hidden, sp.num_classes);
    gpu = std::make_unique<gpu_epoch_runner>(d, cfg, model, opt, tier_g, tier_c, reserve.total(), sp.labels, sp.num_classes);
    log_info("device: ", cuda_device_name(0), "; GPU tier rows [0, ", tier_g, "), host tier (pinned, zero-copy) [", tier_g, ", ",
             tier_c, "), disk [", tier_c, ", ", d.num_nodes(), ")");
  }
  sigint_guard guard;
  std::unique_ptr<grad_reducer> reducer;
  if (comm && !on_gpu) reducer = std::make_unique<grad_reducer>(comm);
  if (comm)
    log_info("data-parallel: rank ", rank, " of ", world, " (", comm->kind(), " communicator); each global batch of ",
             cfg.batch_size, " seeds is split across the ranks");
  sampled_batch sb;
  std::vector<float> x, dlogits;
  std::vector<std::int64_t> y;
  int last_ckpt_epoch = rep.start_epoch;
  rep.end_epoch = rep.start_epoch;
  for (int epoch = rep.start_epoch; epoch < cfg.epochs; ++epoch) {
    const auto t_epoch = std::chrono::steady_clock::now();
    const batch_plan plan = plan_epoch(span<const std::int64_t>(sp.train), cfg.batch_size, cfg.seed, epoch, true,
                                       span<const std::int64_t>(node_keys));
    epoch_report er;
    er.epoch = epoch + 1;
    double loss_sum = 0, correct = 0;
    std::int64_t seen = 0;
    progress bar(cfg.show_progress ? "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs) : "",
                 plan.num_batches(), "batches");
    if (gpu) {
      const gpu_epoch_totals t = gpu->run_epoch(sampler, plan, epoch, &er, cfg.show_progress ? &bar : nullptr, g_interrupted);
      loss_sum = t.loss_sum;
      correct = t.correct;
      seen = t.seen;
      gpu->download(&model, &opt);  // evaluation and checkpoints read the host model
    }
    for (std::int64_t b = 0; !gpu && b < plan.num_batches(); ++b) {
      auto t0 = std::chrono::steady_clock::now();
      // Data-parallel: this rank takes its slice of the global batch; draws stay keyed by the global
      // batch, so the union over ranks samples exactly what one process would.
      const span<const std::int64_t> global_seeds = plan.batch(b);
      const index_range mine = rank_slice(static_cast<std::int64_t>(global_seeds.size()), rank, world);
      const span<const std::int64_t> my_seeds(global_seeds.data() + mine.begin, static_cast<std::size_t>(mine.size()));
      if (comm && my_seeds.empty()) {
        // Fewer seeds than ranks in this batch: contribute nothing but take part in the reduction.
        for (auto& p : model.params()) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
        for (int l = model.config().num_layers - 1; l >= 0; --l) reducer->submit_layer(model, l, 0.0f);
        reducer->finish_step(0, 0, 0, &loss_sum, &correct, &seen);
        ++opt.step;
        for (std::size_t i = 0; i < model.params().size(); ++i) {
          auto& p = model.params()[i];
          adam_step(p.value.data(), p.grad.data(), opt.m[i].data(), opt.v[i].data(), p.size(),
                    model.param_layer(i) == 0 || cfg.weight_decay_scope == "all" ? cfg.adam : no_decay, opt.step);
        }
        ++er.batches;
        continue;
      }
      sampler.sample(my_seeds, epoch, b, &sb);
      er.sample_s += seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      x.resize(static_cast<std::size_t>(sb.blocks[0].num_src() * features.dim()));
      if (store) {
        store->gather(sb.input_nodes(), x.data(), &er.feature_traffic);
      } else {
        features.gather(sb.input_nodes(), x.data());
        traffic t;  // an unprepared dataset: every row comes from host memory
        t.batches = 1;
        t.row_bytes = row_bytes;
        t.host_rows = sb.blocks[0].num_src();
        er.feature_traffic += t;
      }
      er.gather_s += seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      const auto& logits = model.forward(sb, x.data(), true, dropout_key{cfg.seed, epoch, b});
      const auto seeds = sb.seeds();
      y.resize(seeds.size());
      for (std::size_t i = 0; i < seeds.size(); ++i) y[i] = sp.labels[seeds[i]];
      dlogits.resize(logits.size());
      const auto rows = static_cast<std::int64_t>(seeds.size());
      const float loss = softmax_nll<float>(logits.data(), rows, sp.num_classes, y.data(), dlogits.data(), nullptr);
      if (!std::isfinite(loss))
        throw error("training diverged: the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                    " at epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(b) + " of " +
                    std::to_string(plan.num_batches()) +
                    (ckpt_path.empty() ? std::string(" (no checkpoint directory was given)")
                                       : "; the last good checkpoint (after epoch " + std::to_string(last_ckpt_epoch) +
                                             ") is intact in " + cfg.checkpoint_dir) +
                    ". Try a smaller --lr.");
      if (comm) {
        // Each layer's gradients start their all-reduce as soon as backward has them.
        const float w = static_cast<float>(static_cast<double>(rows) / static_cast<double>(global_seeds.size()));
        model.backward(dlogits.data(), [&](int l) { reducer->submit_layer(model, l, w); });
      } else {
        model.backward(dlogits.data());
      }
      er.compute_s += seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      if (comm) {
        // Waits for the rest of the reductions (the part not hidden behind backward).
        reducer->finish_step(static_cast<double>(loss) * rows, accuracy(logits.data(), rows, sp.num_classes, y.data()) * rows,
                             rows, &loss_sum, &correct, &seen);
        er.comm_s += seconds_since(t0);
        t0 = std::chrono::steady_clock::now();
      }
      ++opt.step;
      for (std::size_t i = 0; i < model.params().size(); ++i) {
        auto& p = model.params()[i];
        adam_step(p.value.data(), p.grad.data(), opt.m[i].data(), opt.v[i].data(), p.size(),
                  model.param_layer(i) == 0 || cfg.weight_decay_scope == "all" ? cfg.adam : no_decay, opt.step);
      }
      er.optimizer_s += seconds_since(t0);
      if (!comm) {
        loss_sum += static_cast<double>(loss) * rows;
        correct += accuracy(logits.data(), rows, sp.num_classes, y.data()) * rows;
        seen += rows;
      }
      er.sampled_edges += sb.num_sampled_edges();
      er.input_nodes += sb.blocks[0].num_src();
      ++er.batches;
      if (cfg.show_progress) {
        bar.set_suffix("loss " + fmt(loss_sum / seen));
        bar.add(1);
      }
      if (g_interrupted.load()) break;
    }
    bar.finish();
    if (g_interrupted.load()) {
      rep.interrupted = true;
      log_info("interrupted during epoch ", epoch + 1, "; ",
               ckpt_path.empty() ? std::string("no checkpoint directory was given")
                                 : "the last checkpoint (after epoch " + std::to_string(last_ckpt_epoch) + ") is in " +
                                       cfg.checkpoint_dir + "; continue with --resume");
      break;
    }
    er.loss = loss_sum / std::max<std::int64_t>(seen, 1);
    er.train_accuracy = correct / std::max<std::int64_t>(seen, 1);
    er.seconds = seconds_since(t_epoch);
    if (comm) {
      check_identical_parameters(comm, model, epoch + 1);
      // The job's traffic: every rank's gathers.
      double t[4] = {static_cast<double>(er.feature_traffic.gpu_rows), static_cast<double>(er.feature_traffic.host_rows),
                     static_cast<double>(er.feature_traffic.disk_rows), static_cast<double>(er.sampled_edges)};
      comm->all_reduce_sum(t, 4);
      er.feature_traffic.gpu_rows = static_cast<std::int64_t>(t[0]);
      er.feature_traffic.host_rows = static_cast<std::int64_t>(t[1]);
      er.feature_traffic.disk_rows = static_cast<std::int64_t>(t[2]);
      er.sampled_edges = static_cast<std::int64_t>(t[3]);
      er.feature_traffic.batches *= world;
    }
    const bool validate = lead && evaluate && !sp.valid.empty() &&
                          (((epoch + 1) % std::max(1, cfg.eval_every)) == 0 || epoch + 1 == cfg.epochs);
    double eval_s = 0;
    if (validate) {
      const auto t0 = std::chrono::steady_clock::now();
      er.valid_metric = score(evaluate_logits(d, model, sp.valid, cfg), sp.valid, sp.labels, sp.num_classes);
      eval_s = seconds_since(t0);
    }
    log_info("epoch ", epoch + 1, "/", cfg.epochs, "  loss ", fmt(er.loss), "  train acc ", fmt(er.train_accuracy),
             validate ? "  valid " + rep.metric + " " + fmt(er.valid_metric) : std::string(), "  ", fmt(er.seconds, 2),
             " s (sample ", fmt(er.sample_s, 2), ", gather ", fmt(er.gather_s, 2),
             gpu ? ", prepare " + fmt(er.prepare_s, 2) + ", GPU compute " + fmt(er.compute_s, 2) + ", waiting " +
                       fmt(er.wait_s, 2) + "; overlap " + fmt(100.0 * er.overlap, 0) + "% of sample+gather+prepare hidden)"
                 : ", forward+backward " + fmt(er.compute_s, 2) + ", optimizer " + fmt(er.optimizer_s, 2) + ")",
             validate ? ", eval " + fmt(eval_s, 2) + " s" : std::string());
    log_info("  traffic: ", er.feature_traffic.summary());
    if (metrics.is_open()) {
      nlohmann::json j = {{"epoch", er.epoch},         {"loss", er.loss},
                          {"train_accuracy", er.train_accuracy}, {"seconds", er.seconds},
                          {"sample_s", er.sample_s},   {"gather_s", er.gather_s},
                          {"compute_s", er.compute_s}, {"optimizer_s", er.optimizer_s},
                          {"batches", er.batches},     {"sampled_edges", er.sampled_edges},
                          {"input_nodes", er.input_nodes},
                          {"traffic", er.feature_traffic.to_json()}};
      if (gpu) {
        j["device"] = "cuda";
        j["prepare_s"] = er.prepare_s;
        j["wait_s"] = er.wait_s;
        j["overlap"] = er.overlap;
      }
      if (validate) j["valid_" + rep.metric] = er.valid_metric;
      metrics << j.dump() << "\n" << std::flush;
    }
    rep.epochs.push_back(er);
    rep.end_epoch = epoch + 1;
    if (!ckpt_path.empty() && lead) {
      nlohmann::json extra = {{"epoch", epoch + 1}, {"dataset", identity}, {"settings", settings_json(cfg)}};
      write_checkpoint(ckpt_path, model, &opt, extra);
      last_ckpt_epoch = epoch + 1;
    }
    if (cfg.stop_after_epochs >= 0 && epoch + 1 - rep.start_epoch >= cfg.stop_after_epochs && epoch + 1 < cfg.epochs) {
      rep.interrupted = true;
      break;
    }
  }
  if (!cfg.save_model_path.empty() && lead)
    write_checkpoint(cfg.save_model_path, model, nullptr,
                     {{"epoch", rep.end_epoch}, {"dataset", identity}, {"settings", settings_json(cfg)}});
  if (!rep.interrupted) {
    const auto& last = rep.epochs;
    rep.valid_metric = !last.empty() ? last.back().valid_metric : -1;
    if (lead && evaluate && !sp.test.empty())
      rep.test_metric = score(evaluate_logits(d, model, sp.test, cfg), sp.test, sp.labels, sp.num_classes);
    if (lead && evaluate && rep.valid_metric < 0 && !sp.valid.empty())
      rep.valid_metric = score(evaluate_logits(d, model, sp.valid, cfg), sp.valid, sp.labels, sp.num_classes);
    traffic total;
    for (const auto& e : rep.epochs) total += e.feature_traffic;
    if (!rep.epochs.empty())
      log_info("feature traffic over ", rep.epochs.size(), " epochs: ", total.summary());
    if (!evaluate)
      log_info("no validation or test (--eval none)");
    else
      log_info("test ", rep.metric, " ", rep.test_metric >= 0 ? fmt(rep.test_metric) : std::string("n/a (no test split)"),
               "  (valid ", rep.valid_metric >= 0 ? fmt(rep.valid_metric) : std::string("n/a"), ", ", cfg.eval_mode,
               "-neighbour evaluation)");
    if (metrics.is_open())
      metrics << nlohmann::json{{"final", true}, {"metric", rep.metric}, {"valid", rep.valid_metric},
                                {"test", rep.test_metric}, {"epochs", rep.end_epoch}}
                     .dump()
              << "\n";
  }
  return rep;
}

}  // namespace tg
