// `train --device cuda` against the CPU trainer: same batches and samples (so the traffic ledger is
// identical), losses and accuracy within float rounding of a different summation order, for
// GraphSAGE and GCN, on plain and prepared (tiered, with a disk tier) datasets, zero-copy and copy
// host access; a producer's failure and Ctrl-C leave the pipelined loop cleanly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "datasets/generate.hpp"
#include "test_util.hpp"
#include "tiering/prepare.hpp"
#include "train/pipeline_cases.hpp"
#include "train/trainer.hpp"

using namespace tg;

namespace {

std::string make_graph(const test::scratch_dir& d) {
  community_options o;
  o.num_nodes = 4000;
  o.avg_degree = 12;
  o.num_classes = 4;
  o.feature_dim = 24;
  o.seed = 5;
  return generate_community(o, d / "g", false);
}

train_config config(const std::string& kind) {
  train_config c;
  c.model.kind = kind;
  c.model.hidden = 32;
  c.model.dropout = 0.3;
  c.model.input_dropout = 0.1;
  c.fanouts = {6, 4};
  c.batch_size = 128;
  c.epochs = 3;
  c.adam.lr = 0.01;
  c.adam.weight_decay = 1e-4;
  c.seed = 17;
  c.show_progress = false;
  c.eval_every = 100;
  return c;
}

void expect_same_training(const train_report& cpu, const train_report& gpu) {
  ASSERT_EQ(cpu.epochs.size(), gpu.epochs.size());
  for (std::size_t e = 0; e < cpu.epochs.size(); ++e) {
    const epoch_report &a = cpu.epochs[e], &b = gpu.epochs[e];
    EXPECT_EQ(a.batches, b.batches);
    EXPECT_EQ(a.sampled_edges, b.sampled_edges);
    EXPECT_EQ(a.input_nodes, b.input_nodes);
    EXPECT_EQ(a.feature_traffic.gpu_rows, b.feature_traffic.gpu_rows);
    EXPECT_EQ(a.feature_traffic.host_rows, b.feature_traffic.host_rows);
    EXPECT_EQ(a.feature_traffic.disk_rows, b.feature_traffic.disk_rows);
    EXPECT_NEAR(a.loss, b.loss, 2e-3 * std::max(1.0, a.loss)) << "epoch " << e + 1;
    EXPECT_GE(b.overlap, 0.0);
    EXPECT_LE(b.overlap, 1.0);
  }
  EXPECT_NEAR(cpu.test_metric, gpu.test_metric, 0.02);
}

}  // namespace

#define TG_SKIP_WITHOUT_GPU()   \
  if (cuda_device_count() == 0) \
  GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend")

// A prepared dataset with GPU, host and disk tiers.
std::string prepared(const test::scratch_dir& d, const dataset& ds) {
  prepare_config pc;
  pc.gpu_mem = "10%";
  pc.host_mem = "40%";
  pc.fanouts = {6, 4};
  pc.batch_size = 128;
  pc.seed = 17;
  return prepare_dataset(ds, pc, d / "p").out_dir;
}

TEST(CudaTrainer, SageMatchesTheCpuTrainer) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = config("sage");
  const train_report cpu = train(ds, c);
  c.device = "cuda";
  expect_same_training(cpu, train(ds, c));
}

TEST(CudaTrainer, GcnMatchesTheCpuTrainer) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = config("gcn");
  const train_report cpu = train(ds, c);
  c.device = "cuda";
  expect_same_training(cpu, train(ds, c));
}

// GPU, host and disk tiers: the CUDA store's ledger equals the CPU store's, zero-copy and copy.
TEST(CudaTrainer, PreparedDatasetMatchesTheCpuTrainerZeroCopyAndCopy) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset plain = dataset::open(make_graph(d));
  const dataset pds = dataset::open(prepared(d, plain));
  train_config c = config("sage");
  const train_report cpu = train(pds, c);
  c.device = "cuda";
  for (const char* access : {"zero-copy", "copy"}) {
    SCOPED_TRACE(access);
    c.host_access = access;
    const train_report gpu = train(pds, c);
    expect_same_training(cpu, gpu);
    EXPECT_GT(gpu.epochs.back().feature_traffic.disk_rows, 0);
  }
}

// --sampler gpu and gpu-pinned: the batches sampled on the GPU are the CPU sampler's (a prepared
// dataset: node keys in play), so the ledger and sampled edges equal the CPU-sampled run's.
TEST(CudaTrainer, GpuSamplerTrainsOnTheSameBatches) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset plain = dataset::open(make_graph(d));
  const dataset pds = dataset::open(prepared(d, plain));
  train_config c = config("sage");
  c.device = "cuda";
  const train_report cpu_sampled = train(pds, c);
  for (const char* where : {"gpu", "gpu-pinned"}) {
    SCOPED_TRACE(where);
    c.sampler = where;
    const train_report gpu_sampled = train(pds, c);
    expect_same_training(cpu_sampled, gpu_sampled);
    for (std::size_t e = 0; e < cpu_sampled.epochs.size(); ++e)
      EXPECT_EQ(cpu_sampled.epochs[e].feature_traffic.host_to_gpu_bytes(),
                gpu_sampled.epochs[e].feature_traffic.host_to_gpu_bytes());
  }
}

TEST(CudaTrainer, ProducerFailureReachesTheLoopAtItsBatch) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  const auto be = make_backend(device_kind::cuda, 0);
  test::expect_producer_failure_propagates(ds, *be, device_kind::cuda);
}

TEST(CudaTrainer, CtrlCStopsAPipelinedRun) {
  TG_SKIP_WITHOUT_GPU();
  test::scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = config("sage");
  c.device = "cuda";
  test::expect_sigint_stops_a_pipelined_run(ds, c);
}

TEST(CudaTrainer, WithoutADeviceTheRunStopsBeforeWork) {
  if (cuda_device_count() != 0) GTEST_SKIP() << "this machine has a device (the test is for machines without one)";
  test::scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = config("sage");
  c.device = "cuda";
  c.checkpoint_dir = d / "ck";
  try {
    train(ds, c);
    FAIL() << "no error";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(d / "ck")) << "the checkpoint directory was created before the check";
  c.device = "tpu";
  EXPECT_THROW(train(ds, c), input_error);
}
