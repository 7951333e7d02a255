// Data-parallel gradient reduction (multigpu/gradient_reducer.hpp).
#include "multigpu/gradient_reducer.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/gpu_memory.hpp"

namespace tg {

namespace {

// Host gradients, summed on a communication thread while backward continues.
class cpu_gradient_reducer final : public gradient_reducer {
 public:
  explicit cpu_gradient_reducer(communicator& comm) : comm_(comm), worker_([this] { run(); }) {}
  ~cpu_gradient_reducer() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  const char* kind() const override { return "cpu"; }

  void submit(const std::vector<tensor_view<float>>& bucket) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::size_t slot = submitted_++;
    if (bufs_.size() <= slot) bufs_.resize(slot + 1);
    queue_.push_back({bucket, slot});
    cv_.notify_all();
  }

  void wait() override {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
    submitted_ = 0;
    if (failure_) {
      std::exception_ptr f = failure_;
      failure_ = nullptr;
      std::rethrow_exception(f);
    }
  }

 private:
  struct job {
    std::vector<tensor_view<float>> bucket;
    std::size_t slot;
  };
  void run() {
    while (true) {
      job j;
      std::vector<float>* buf = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        j = std::move(queue_.front());
        queue_.pop_front();
        buf = &bufs_[j.slot];
        busy_ = true;
      }
      try {
        if (!failure_) {
          // One collective per bucket: pack, sum, unpack.
          buf->clear();
          for (const auto& v : j.bucket) buf->insert(buf->end(), v.data, v.data + v.size);
          comm_.all_reduce_sum(buf->data(), buf->size());
          std::size_t o = 0;
          for (const auto& v : j.bucket)
            for (std::int64_t i = 0; i < v.size; ++i) v.data[i] = (*buf)[o++];
        }
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

  communicator& comm_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<job> queue_;
  std::deque<std::vector<float>> bufs_;  // per bucket of a step; a deque keeps addresses stable
  std::size_t submitted_ = 0;
  bool stop_ = false, busy_ = false;
  std::exception_ptr failure_;
  std::thread worker_;
};

// Device gradients, summed by NCCL on its own stream behind the backend's.
class nccl_gradient_reducer final : public gradient_reducer {
 public:
  nccl_gradient_reducer(communicator& comm, backend& be, std::chrono::milliseconds timeout)
      : be_(be), nccl_(make_nccl_communicator(comm, be.device_id(), timeout)) {}
  const char* kind() const override { return "nccl"; }

  void submit(const std::vector<tensor_view<float>>& bucket) override {
    const gpu::device_scope on(be_.device_id());  // events belong to the backend's device
    if (used_ == events_.size()) events_.emplace_back();
    gpu::event& e = events_[used_++];
    e.record(be_.stream_handle());
    buffers_.clear();
    for (const auto& v : bucket) buffers_.push_back({v.data, static_cast<std::size_t>(v.size)});
    nccl_->all_reduce_sum_async(buffers_.data(), buffers_.size(), e.handle());  // one NCCL group per bucket
  }
  void wait() override {
    used_ = 0;
    nccl_->wait_all();
  }

 private:
  backend& be_;
  std::unique_ptr<communicator> nccl_;
  std::deque<gpu::event> events_;
  std::vector<communicator::buffer> buffers_;
  std::size_t used_ = 0;
};

}  // namespace

std::unique_ptr<gradient_reducer> make_gradient_reducer(communicator& comm, backend& be,
                                                        std::chrono::milliseconds timeout) {
  if (be.host_memory()) return std::make_unique<cpu_gradient_reducer>(comm);
  return std::make_unique<nccl_gradient_reducer>(comm, be, timeout);
}

}  // namespace tg
