// The batch producer of the training loop (train/batch_pipeline.hpp).
#include "train/batch_pipeline.hpp"

#include <algorithm>
#include <chrono>

#include "core/error.hpp"
#include "core/gpu_memory.hpp"
#include "sampler/rank_slice.hpp"

namespace tg {

namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

batch_pipeline::batch_pipeline(block_sampler& sampler, feature_store& store, backend& be,
                               const std::vector<std::int64_t>& labels, const options& o)
    : sampler_(sampler), store_(store), be_(be), labels_(labels), o_(o) {
  // Device rows for a device backend; host (or pinned) rows for either: a device backend gets them
  // through staging.
  TG_EXPECTS(store.output_memory() == be.memory() || store.output_memory() != memory_kind::device,
             "the feature store writes ", to_string(store.output_memory()), " memory but the backend computes on ",
             to_string(be.memory()), " memory");
  const int n = std::max(1, o.depth);
  for (int i = 0; i < n; ++i) {
    auto s = std::make_unique<prepared_batch>();
    s->x.bind(be);
    s->labels.bind(be);
    slots_.push_back(std::move(s));
  }
  for (int i = 0; i < o.depth; ++i) samples_.push_back(std::make_unique<sampled_batch>());  // the sampling thread's
  sample_secs_.assign(samples_.size(), 0.0);
}

batch_pipeline::~batch_pipeline() {
  finish_epoch();
}

double batch_pipeline::sample_into(std::int64_t b, sampled_batch* out) {
  // Data-parallel: this rank's slice of the global batch; draws stay keyed by the global batch, so
  // the union over ranks samples exactly what one process would.
  const span<const std::int64_t> global = plan_->batch(b);
  const index_range mine = rank_slice(static_cast<std::int64_t>(global.size()), o_.rank, o_.world);
  if (mine.size() == 0) {
    *out = sampled_batch{};
    return 0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  sampler_.sample(span<const std::int64_t>(global.data() + mine.begin, static_cast<std::size_t>(mine.size())), epoch_,
                  b, out);
  return since(t0);
}

void batch_pipeline::complete(std::int64_t b, prepared_batch& s) {
  s.epoch = epoch_;
  s.index = b;
  s.feature_traffic = traffic{};
  s.gather_s = s.prepare_s = s.prepare_host_s = 0;
  const span<const std::int64_t> global = plan_->batch(b);
  const index_range mine = rank_slice(static_cast<std::int64_t>(global.size()), o_.rank, o_.world);
  s.global_rows = static_cast<std::int64_t>(global.size());
  s.labels_host.clear();
  if (mine.size() == 0) {  // fewer seeds than ranks: this rank contributes nothing to this batch
    s.x.resize(0);
    if (store_.collective())  // serve the others' rows
      store_.gather(span<const std::int64_t>(), tensor_view<float>{nullptr, 0, store_.output_memory()}, nullptr);
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  const auto in = s.host.input_nodes();
  s.x.resize(in.size() * static_cast<std::size_t>(store_.dim()));
  if (store_.output_memory() == be_.memory() || be_.host_memory()) {
    store_.gather(in, s.x.view(), &s.feature_traffic);
  } else {
    s.x_staging.resize(s.x.size());
    store_.gather(in, host_view(s.x_staging.data(), static_cast<std::int64_t>(s.x_staging.size())), &s.feature_traffic);
    be_.copy_from_host(s.x.data(), s.x_staging.data(), s.x_staging.size() * sizeof(float));
  }
  s.gather_s = since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto seeds = s.host.seeds();
  s.labels_host.resize(seeds.size());
  for (std::size_t i = 0; i < seeds.size(); ++i) s.labels_host[i] = labels_[static_cast<std::size_t>(seeds[i])];
  s.labels.assign_from_host(s.labels_host.data(), s.labels_host.size());
  s.graphs.build(o_.kind, s.host.blocks.data(), s.host.blocks.size(), be_, true, o_.self_loops);
  s.prepare_host_s = s.graphs.last_host_seconds();
  be_.synchronize();  // everything is in place before the batch is handed over
  s.prepare_s = since(t0);
}

void batch_pipeline::produce(std::int64_t b, prepared_batch& s) {
  s.sample_s = sample_into(b, &s.host);
  complete(b, s);
}

void batch_pipeline::start_epoch(const batch_plan& plan, int epoch) {
  finish_epoch();
  plan_ = &plan;
  epoch_ = epoch;
  next_batch_ = 0;
  current_ = -1;
  busy_s_ = 0;
  stop_ = false;
  failure_ = nullptr;
  ready_.clear();
  free_.clear();
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i) free_.push_back(i);
  samples_free_.clear();
  samples_ready_.clear();
  for (int i = 0; i < static_cast<int>(samples_.size()); ++i) samples_free_.push_back(i);
  if (o_.depth > 0) {
    sampler_thread_ = std::thread([this] { run_sampler(); });
    producer_ = std::thread([this] { run_producer(); });
  }
}

void batch_pipeline::run_sampler() {
  try {
    for (std::int64_t b = 0; b < plan_->num_batches(); ++b) {
      int k;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !samples_free_.empty(); });
        if (stop_) return;
        k = samples_free_.front();
        samples_free_.pop_front();
      }
      const double secs = sample_into(b, samples_[static_cast<std::size_t>(k)].get());
      {
        std::lock_guard<std::mutex> lock(mu_);
        sample_secs_[static_cast<std::size_t>(k)] = secs;
        samples_ready_.push_back(k);  // one sampling thread: in batch order
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_) failure_ = std::current_exception();
    cv_.notify_all();
  }
}

void batch_pipeline::run_producer() {
  try {
    if (be_.device() == device_kind::cuda) gpu::set_device(be_.device_id());  // the current device is per thread
    for (std::int64_t b = 0; b < plan_->num_batches(); ++b) {
      int k, j;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
        if (stop_) return;
        k = free_.front();
        free_.pop_front();
        // Batch b's sample (a failed sampler leaves none: the consumer rethrows its failure).
        cv_.wait(lock, [&] { return stop_ || failure_ || !samples_ready_.empty(); });
        if (stop_ || samples_ready_.empty()) return;
        j = samples_ready_.front();
        samples_ready_.pop_front();
      }
      prepared_batch& s = *slots_[static_cast<std::size_t>(k)];
      std::swap(s.host, *samples_[static_cast<std::size_t>(j)]);  // the old sample's buffers go back to be reused
      s.sample_s = sample_secs_[static_cast<std::size_t>(j)];
      {
        std::lock_guard<std::mutex> lock(mu_);
        samples_free_.push_back(j);
      }
      cv_.notify_all();
      const auto t = std::chrono::steady_clock::now();
      complete(b, s);
      {
        std::lock_guard<std::mutex> lock(mu_);
        busy_s_ += s.sample_s + since(t);
        ready_.push_back(k);
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_) failure_ = std::current_exception();
    cv_.notify_all();
  }
}

prepared_batch& batch_pipeline::next() {
  TG_EXPECTS(plan_ != nullptr && current_ < 0, "batch_pipeline::next() without start_epoch() or before release()");
  if (o_.depth == 0) {
    TG_EXPECTS(next_batch_ < plan_->num_batches(), "batch_pipeline::next() past the epoch's last batch");
    const auto t = std::chrono::steady_clock::now();
    current_ = 0;
    produce(next_batch_++, *slots_[0]);
    busy_s_ += since(t);
    return *slots_[0];
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return failure_ || !ready_.empty(); });
  if (ready_.empty()) std::rethrow_exception(failure_);
  current_ = ready_.front();
  ready_.pop_front();
  return *slots_[static_cast<std::size_t>(current_)];
}

void batch_pipeline::release() {
  if (current_ < 0) return;
  if (o_.depth > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(current_);
  }
  current_ = -1;
  cv_.notify_all();
}

void batch_pipeline::finish_epoch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (sampler_thread_.joinable()) sampler_thread_.join();
  if (producer_.joinable()) producer_.join();
  current_ = -1;
}

}  // namespace tg
