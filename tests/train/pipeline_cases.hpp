#pragma once
// Cases of the pipelined training loop shared by the CPU tests (trainer_test.cpp) and the CUDA
// tests (train_gpu.cpp): the same code runs on either backend.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "kernels/backend.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiering/store.hpp"
#include "train/batch_pipeline.hpp"
#include "train/trainer.hpp"

namespace tg::test {

// A feature store that fails (io_error, as a disk read would) on its fail_at-th gather.
class failing_store final : public feature_store {
 public:
  failing_store(feature_store& inner, int fail_at) : inner_(inner), fail_at_(fail_at) {}
  std::int64_t num_rows() const override { return inner_.num_rows(); }
  std::int64_t dim() const override { return inner_.dim(); }
  std::int64_t row_bytes() const override { return inner_.row_bytes(); }
  std::int64_t g() const override { return inner_.g(); }
  std::int64_t c() const override { return inner_.c(); }
  memory_kind output_memory() const override { return inner_.output_memory(); }
  std::string host_tier_mode() const override { return inner_.host_tier_mode(); }
  void gather(span<const std::int64_t> ids, tensor_view<float> out, traffic* counts) override {
    if (calls_++ == fail_at_) throw io_error("injected: the disk tier could not be read");
    inner_.gather(ids, out, counts);
  }
  void disarm() { fail_at_ = -1; }

 private:
  feature_store& inner_;
  int fail_at_;
  int calls_ = 0;
};

// A producer's failure at batch 3 comes out of next() at batch 3, after batches 0..2 in order, for
// every depth; the pipeline then runs a full epoch again once the store is healthy.
inline void expect_producer_failure_propagates(const dataset& ds, backend& be, device_kind dev) {
  const std::int64_t n = ds.num_nodes();
  std::vector<std::int64_t> train;
  for (std::int64_t v = 0; v < n; v += 3) train.push_back(v);
  const std::vector<std::int64_t> labels(static_cast<std::size_t>(n), 0);
  const batch_plan plan = plan_epoch(span<const std::int64_t>(train), 64, 5, 0);
  ASSERT_GT(plan.num_batches(), 5);
  neighbor_sampler sampler(ds, {4, 3}, 9);
  store_options so;
  so.device = dev;
  so.device_id = be.device_id();
  const std::unique_ptr<feature_store> store = make_feature_store(ds, n / 10, n / 2, so);
  for (int depth : {0, 1, 2}) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    failing_store failing(*store, 3);
    batch_pipeline::options o;
    o.depth = depth;
    batch_pipeline p(sampler, failing, be, labels, o);
    p.start_epoch(plan, 0);
    std::int64_t delivered = 0;
    bool caught = false;
    try {
      for (std::int64_t b = 0; b < plan.num_batches(); ++b) {
        prepared_batch& pb = p.next();
        EXPECT_EQ(pb.index, b);
        p.release();
        ++delivered;
      }
    } catch (const io_error& e) {
      caught = true;
      EXPECT_NE(std::string(e.what()).find("injected"), std::string::npos) << e.what();
    }
    p.finish_epoch();
    EXPECT_TRUE(caught) << "the producer's failure did not reach the loop";
    EXPECT_EQ(delivered, 3);
    failing.disarm();
    p.start_epoch(plan, 1);
    for (std::int64_t b = 0; b < plan.num_batches(); ++b) {
      EXPECT_EQ(p.next().index, b);
      p.release();
    }
    p.finish_epoch();
  }
}

// Ctrl-C (SIGINT) during a pipelined epoch: train() stops within the epoch and reports it, the
// producer thread is joined, and the process's SIGINT disposition is restored.
inline void expect_sigint_stops_a_pipelined_run(const dataset& ds, train_config c) {
  c.epochs = 1000000;  // cannot finish before the interrupt (a finished run restores SIGINT's default: fatal)
  c.pipeline_depth = 2;
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  std::atomic<bool> done{false};
  std::thread interrupter([&] {
    // Wait until train() has installed its handler, let a few batches run, then interrupt.
    while (!done.load()) {
      struct sigaction now {};
      sigaction(SIGINT, nullptr, &now);
      if (now.sa_handler != before.sa_handler) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ::raise(SIGINT);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const train_report r = train(ds, c);
  done.store(true);
  interrupter.join();
  EXPECT_TRUE(r.interrupted);
  EXPECT_LT(r.end_epoch, 1000000);
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler) << "train() left its SIGINT handler installed";
}

}  // namespace tg::test
