// Data-parallel training on GPUs as users run it: `tiergnn launch -n 2 -- train --device cuda`,
// one process per GPU, gradients summed by NCCL (grouped per layer, overlapped with the backward
// pass). Two ranks with the same global batch follow one GPU process's loss curve within float
// rounding of the reduction order and reach the same model. Skips with fewer than two GPUs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/device.hpp"
#include "datasets/generate.hpp"
#include "multigpu/communicator.hpp"
#include "test_util.hpp"
#include "train/checkpoint.hpp"

using namespace tg;

TEST(DataParallelGpu, TwoGpuRanksFollowOneGpuProcess) {
  if (!nccl_compiled()) GTEST_SKIP() << "built without NCCL";
  const int gpus = test::cuda_devices_in_child();  // CUDA stays untouched in this (forking) process
  if (gpus < 2) GTEST_SKIP() << "needs two GPUs, this machine has " << gpus;
  test::scratch_dir d;
  community_options o;
  o.num_nodes = 6000;
  o.avg_degree = 10;
  o.num_classes = 4;
  o.feature_dim = 16;
  o.seed = 9;
  const std::string g = generate_community(o, d / "g", false);
  const std::string common =
      " --device cuda --model sage --fanouts 5,5 --hidden 16 --dropout 0 --batch-size 200 --epochs 3 --lr 0.01 "
      "--seed 4 --no-progress";
  std::string out;
  ASSERT_EQ(test::run_cli(
                "-q train " + g + common + " --metrics " + d / "one.jsonl" + " --save-model " + d / "one.tgck", &out),
            0)
      << out;
  ASSERT_EQ(test::run_cli("-q launch -n 2 -- train " + g + common + " --metrics " + d / "two.jsonl" + " --save-model " +
                              d / "two.tgck",
                          &out),
            0)
      << out;
  const auto one = test::read_jsonl(d / "one.jsonl"), two = test::read_jsonl(d / "two.jsonl");
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t e = 0; e + 1 < one.size(); ++e) {
    const double a = one[e]["loss"], b = two[e]["loss"];
    EXPECT_NEAR(a, b, 1e-4 * std::fabs(a)) << "epoch " << e + 1;
    EXPECT_EQ(one[e]["batches"], two[e]["batches"]);
  }
  const checkpoint c1 = read_checkpoint(d / "one.tgck"), c2 = read_checkpoint(d / "two.tgck");
  ASSERT_EQ(c1.values.size(), c2.values.size());
  for (std::size_t i = 0; i < c1.values.size(); ++i)
    for (std::size_t j = 0; j < c1.values[i].size(); ++j)
      ASSERT_NEAR(c2.values[i][j], c1.values[i][j], 1e-4 + 1e-3 * std::fabs(c1.values[i][j])) << "parameter " << i;
}
