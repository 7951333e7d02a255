// The model on the CUDA backend against the CPU backend, one batch at a time: logits, and the
// gradient of every parameter, for GraphSAGE, GCN and GAT, with the aggregation forced through the CSR
// kernel and through cuSPARSE (the autotuned default picks one of the two per width, so both must
// hold). Tolerances are those of float32 summation in a different order. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "kernels/backend.hpp"
#include "model_step.hpp"
#include "nn/model.hpp"

using namespace tg;

namespace {

void expect_close(const std::vector<float>& want, const std::vector<float>& got, double rel, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  double scale = 0;
  for (float v : want) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (std::fabs(static_cast<double>(want[i]) - got[i]) > rel * std::max(1.0, scale) && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: cpu " << want[i] << ", cuda " << got[i];
}

}  // namespace

TEST(ModelOnCuda, GradientsOfEveryParameterMatchTheCpuWithEitherAggregation) {
  if (cuda_device_count() == 0)
    GTEST_SKIP() << (cuda_compiled() ? "no CUDA device on this machine" : "built without the CUDA backend");
  const test::graph_fixture f;
  for (cuda_aggregation path : {cuda_aggregation::csr_kernel, cuda_aggregation::cusparse}) {
    const auto be = make_cuda_backend(0, path);
    for (const char* kind : {"sage", "gcn", "gat"}) {
      SCOPED_TRACE(std::string(kind) + (path == cuda_aggregation::cusparse ? ", cuSPARSE" : ", CSR kernel"));
      gnn_model cpu(test::small_model_config(kind), 5), gpu(test::small_model_config(kind), 5, *be);
      for (std::int64_t batch = 0; batch < 3; ++batch) {
        cpu.zero_grads();
        gpu.zero_grads();
        expect_close(test::forward_backward(cpu, f, batch), test::forward_backward(gpu, f, batch), 1e-5,
                     "logits of batch " + std::to_string(batch));
        gpu.pull_params(true);
        ASSERT_EQ(cpu.params().size(), gpu.params().size());
        for (std::size_t i = 0; i < cpu.params().size(); ++i)
          expect_close(cpu.params()[i].grad, gpu.params()[i].grad, 1e-4,
                       "gradient of " + cpu.params()[i].name + ", batch " + std::to_string(batch));
      }
    }
  }
}
