// Pipelined GPU epochs (train/gpu_pipeline.hpp).
#include "train/gpu_pipeline.hpp"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "kernels/gpu_kernels.hpp"
#include "tiering/cuda_feature_store.hpp"
#include "train/gpu_model.hpp"
#include "train/metrics.hpp"
#include "multigpu/communicator.hpp"
#include "multigpu/partition.hpp"
#include "multigpu/shared_tier.hpp"
#include "core/log.hpp"
#include <unistd.h>
#include <functional>

namespace tg {

namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
constexpr int kSlots = 2;
}  // namespace

struct gpu_epoch_runner::impl {
  train_config cfg;
  const std::vector<std::int64_t>* labels = nullptr;
  std::int64_t classes = 0, dim = 0;
  std::unique_ptr<cuda_tiered_store> store;
  std::unique_ptr<gpu_gnn_model> model;
  gpu::stream compute, upload;
  gpu_batch slots[kSlots];
  gpu::device_buffer<float> dlogits, row_loss;
  std::vector<float> logits_host, row_loss_host;
  std::int64_t step = 0;
  communicator* cpu_comm = nullptr;     // data-parallel: the TCP communicator (counts)
  std::unique_ptr<communicator> nccl;   // data-parallel: gradients
  std::vector<gpu::event> layer_events;  // one per layer: backward's progress, for NCCL's stream
  int rank = 0, world = 1;
};

gpu_epoch_runner::gpu_epoch_runner(const dataset& d, const train_config& cfg, const gnn_model& model, const optimizer_state& opt,
                                   std::int64_t g, std::int64_t c, std::uint64_t reserve_bytes,
                                   const std::vector<std::int64_t>& labels, std::int64_t num_classes)
    : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.cfg = cfg;
  m.labels = &labels;
  m.classes = num_classes;
  m.dim = d.meta().feature_dim;
  cuda_tiered_store::options o;
  o.disk_readers = cfg.disk_readers;
  o.reserve_bytes = reserve_bytes;
  o.cpu_gather_copy = cfg.host_access == "copy";
  o.device = cfg.device_id;
  gpu::set_device(cfg.device_id);
  if (cfg.comm && cfg.comm->size() > 1) {
    m.cpu_comm = cfg.comm;
    m.rank = cfg.comm->rank();
    m.world = cfg.comm->size();
    m.nccl = make_nccl_communicator(*cfg.comm, cfg.device_id,
                                    std::chrono::milliseconds(static_cast<std::int64_t>(cfg.comm_timeout_s * 1000)));
    m.layer_events.resize(static_cast<std::size_t>(std::max(1, cfg.model.num_layers)));
  }
  if (m.world > 1) {
    // The shared hot tier: the plan's GPU rows are each GPU's budget. In a peer-to-peer clique on
    // one machine the hottest band is replicated and the next striped across the GPUs (read over
    // NVLink / PCIe P2P); otherwise every GPU holds the same rows.
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    std::uint64_t h = 1469598103934665603ull;
    for (const char* p = host; *p; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
    std::vector<std::uint64_t> hosts(static_cast<std::size_t>(m.world));
    m.cpu_comm->all_gather(&h, sizeof h, hosts.data());
    bool p2p = true;
    for (int q = 0; q < m.world; ++q) {
      p2p = p2p && hosts[static_cast<std::size_t>(q)] == h;
      if (p2p && q != cfg.device_id && q < cuda_device_count()) p2p = gpu::can_access_peer(cfg.device_id, q);
    }
    double votes = p2p ? 1 : 0;
    m.cpu_comm->all_reduce_sum(&votes, 1);
    shared_tier_config sc;
    sc.num_nodes = d.num_nodes();
    sc.row_bytes = m.dim * static_cast<std::int64_t>(dtype_size(d.meta().feature_dtype));
    sc.num_gpus = m.world;
    sc.gpu_budget_bytes = static_cast<std::uint64_t>(g) * static_cast<std::uint64_t>(sc.row_bytes);
    sc.peer_to_peer = votes == m.world;
    const shared_tier_plan sp = plan_shared_tier(sc);
    if (m.rank == 0) log_info("shared GPU tier over ", m.world, " GPUs", sc.peer_to_peer ? " (peer-to-peer clique)" : " (no P2P: replicated)",
                              ":\n", sp.describe());
    if (sp.striped_rows() > 0) {
      o.shared.replicated = sp.replicated_rows();
      o.shared.k = m.world;
      o.shared.rank = m.rank;
      communicator* cc = m.cpu_comm;
      o.shared.all_gather = [cc](const void* send, std::size_t bytes, void* recv) { cc->all_gather(send, bytes, recv); };
      g = sp.striped_end();
      c = std::max(c, g);
    }
  }
  m.store = std::make_unique<cuda_tiered_store>(d, g, c, o);  // checks the GPU budget first
  m.model = std::make_unique<gpu_gnn_model>(model, &opt);
  m.step = opt.step;
}

gpu_epoch_runner::~gpu_epoch_runner() = default;

std::int64_t gpu_epoch_runner::step() const { return impl_->step; }

void gpu_epoch_runner::download(gnn_model* model, optimizer_state* opt) const {
  impl_->model->download(model, opt);
  if (opt) opt->step = impl_->step;
}

gpu_epoch_totals gpu_epoch_runner::run_epoch(neighbor_sampler& sampler, const batch_plan& plan, int epoch, epoch_report* er,
                                             progress* bar, const std::atomic<bool>& interrupted) {
  auto& m = *impl_;
  const std::int64_t nb = plan.num_batches();
  gpu_epoch_totals tot;
  // Slot hand-off: the producer fills free slots in batch order, the consumer trains them in order.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> ready, free_slots{0, 1};
  bool stop = false;
  std::exception_ptr failure;
  double producer_busy = 0;

  std::thread producer([&] {
    try {
      gpu::set_device(m.cfg.device_id);  // the current device is per thread
      for (std::int64_t b = 0; b < nb; ++b) {
        int k;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return stop || !free_slots.empty(); });
          if (stop) return;
          k = free_slots.front();
          free_slots.pop_front();
        }
        const auto t_busy = std::chrono::steady_clock::now();
        gpu_batch& s = m.slots[k];
        s.epoch = epoch;
        s.index = b;
        s.feature_traffic = traffic{};
        auto t0 = std::chrono::steady_clock::now();
        // Data-parallel: this rank's slice of the global batch (draws keyed by the global batch).
        const span<const std::int64_t> global_seeds = plan.batch(b);
        const index_range mine = rank_slice(static_cast<std::int64_t>(global_seeds.size()), m.rank, m.world);
        s.global_rows = static_cast<std::int64_t>(global_seeds.size());
        sampler.sample(span<const std::int64_t>(global_seeds.data() + mine.begin, static_cast<std::size_t>(mine.size())), epoch, b,
                       &s.host);
        s.sample_s = since(t0);
        t0 = std::chrono::steady_clock::now();
        const auto in = s.host.input_nodes();
        s.x.reserve(in.size() * static_cast<std::size_t>(m.dim));
        m.store->gather(in, s.x.data(), &s.feature_traffic);
        s.gather_s = since(t0);
        t0 = std::chrono::steady_clock::now();
        const auto seeds = s.host.seeds();
        s.labels_host.resize(seeds.size());
        for (std::size_t i = 0; i < seeds.size(); ++i) s.labels_host[i] = (*m.labels)[static_cast<std::size_t>(seeds[i])];
        s.labels.reserve(seeds.size());
        gpu::copy_async(s.labels.data(), s.labels_host.data(), seeds.size() * sizeof(std::int64_t), m.upload);
        upload_graphs(m.cfg.model, &s, m.upload);  // synchronizes the upload stream
        s.prepare_s = since(t0);
        {
          std::lock_guard<std::mutex> lock(mu);
          producer_busy += since(t_busy);
          ready.push_back(k);
        }
        cv.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      failure = std::current_exception();
      cv.notify_all();
    }
  });

  const adam_config first = m.cfg.adam;
  adam_config rest = m.cfg.adam;
  if (m.cfg.weight_decay_scope != "all") rest.weight_decay = 0;
  const auto t_epoch = std::chrono::steady_clock::now();
  try {
    for (std::int64_t b = 0; b < nb; ++b) {
      int k;
      const auto t_wait = std::chrono::steady_clock::now();
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return failure || !ready.empty(); });
        if (failure && ready.empty()) std::rethrow_exception(failure);
        k = ready.front();
        ready.pop_front();
      }
      er->wait_s += since(t_wait);
      gpu_batch& s = m.slots[k];
      er->sample_s += s.sample_s;
      er->gather_s += s.gather_s;
      er->prepare_s += s.prepare_s;
      er->feature_traffic += s.feature_traffic;
      const auto t0 = std::chrono::steady_clock::now();
      const auto rows = static_cast<std::int64_t>(s.labels_host.size());
      for (std::int64_t i = 0; i < rows; ++i)
        if (s.labels_host[i] < 0 || s.labels_host[i] >= m.classes)
          throw input_error("label " + std::to_string(s.labels_host[i]) + " of a training seed is outside [0, " +
                            std::to_string(m.classes) + ")");
      m.logits_host.resize(static_cast<std::size_t>(rows * m.classes));
      m.row_loss_host.resize(static_cast<std::size_t>(rows));
      if (rows > 0) {
        const float* logits = m.model->forward(s, dropout_key{m.cfg.seed, epoch, b}, m.compute);
        m.dlogits.reserve(static_cast<std::size_t>(rows * m.classes));
        m.row_loss.reserve(static_cast<std::size_t>(rows));
        // The gradient of the global batch's mean loss: divide by the global batch's seeds.
        gpu::softmax_nll(logits, rows, m.classes, s.labels.data(), m.dlogits.data(), nullptr, m.row_loss.data(),
                         m.compute.handle(), s.global_rows);
        gpu::copy_async(m.logits_host.data(), logits, m.logits_host.size() * sizeof(float), m.compute);
        gpu::copy_async(m.row_loss_host.data(), m.row_loss.data(), m.row_loss_host.size() * sizeof(float), m.compute);
        if (m.nccl) {
          // Each layer's gradients are reduced on NCCL's stream as soon as backward has queued them,
          // behind the rest of the backward pass (an event orders the two streams).
          m.model->backward(m.dlogits.data(), m.compute, [&](int l) {
            gpu::event& e = m.layer_events[static_cast<std::size_t>(l)];
            e.record(m.compute);
            for (auto [p, n] : m.model->layer_grads(l)) m.nccl->all_reduce_sum_async(p, n, e.handle());
          });
        } else {
          m.model->backward(m.dlogits.data(), m.compute);
        }
      } else {
        m.model->zero_grads(m.compute);  // fewer seeds than ranks: contribute nothing to the sum
        if (m.nccl) {
          gpu::event& e = m.layer_events[0];
          e.record(m.compute);
          for (int l = m.cfg.model.num_layers - 1; l >= 0; --l)
            for (auto [p, n] : m.model->layer_grads(l)) m.nccl->all_reduce_sum_async(p, n, e.handle());
        }
      }
      if (m.nccl) m.nccl->wait_all();  // Adam below needs the summed gradients
      ++m.step;
      m.model->adam(first, rest, m.step, m.compute);
      m.compute.synchronize();
      er->compute_s += since(t0);
      double loss = 0;
      for (float l : m.row_loss_host) loss += l;  // row order, as the CPU kernel sums
      double correct_rows = rows ? accuracy(m.logits_host.data(), rows, m.classes, s.labels_host.data()) * static_cast<double>(rows) : 0.0;
      double local_rows = static_cast<double>(rows);
      if (m.cpu_comm) {
        double t[3] = {loss, correct_rows, local_rows};
        m.cpu_comm->all_reduce_sum(t, 3);
        loss = t[0];
        correct_rows = t[1];
        local_rows = t[2];
      }
      loss = local_rows > 0 ? loss / local_rows : 0.0;
      if (!std::isfinite(loss))
        throw error("training diverged: the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " at epoch " +
                    std::to_string(epoch + 1) + ", batch " + std::to_string(b) + " of " + std::to_string(nb) +
                    ". Try a smaller --lr.");
      tot.loss_sum += loss * local_rows;
      tot.correct += correct_rows;
      tot.seen += static_cast<std::int64_t>(local_rows);
      er->sampled_edges += s.host.num_sampled_edges();
      er->input_nodes += s.host.blocks[0].num_src();
      ++er->batches;
      {
        std::lock_guard<std::mutex> lock(mu);
        free_slots.push_back(k);
      }
      cv.notify_all();
      if (bar) {
        bar->set_suffix("loss " + std::to_string(tot.loss_sum / static_cast<double>(std::max<std::int64_t>(tot.seen, 1))).substr(0, 6));
        bar->add(1);
      }
      if (interrupted.load()) {
        tot.interrupted = true;
        break;
      }
    }
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    producer.join();
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  producer.join();
  const double wall = since(t_epoch);
  (void)wall;
  // Overlap: the share of the producer's work (sampling, gathering, preparing) that the GPU loop did
  // not wait for.
  er->overlap = producer_busy > 0 ? std::max(0.0, 1.0 - er->wait_s / producer_busy) : 0.0;
  return tot;
}

}  // namespace tg
