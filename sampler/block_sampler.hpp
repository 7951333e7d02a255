#pragma once
// What the training loop's batch producer samples with (train/batch_pipeline.hpp): the CPU sampler
// (sampler/neighbor_sampler.hpp) or the GPU one (sampler/cuda_sampler.hpp). Both give the same
// blocks for the same (seed, epoch, batch, node keys), so a run's batches do not depend on which.
#include <cstdint>

#include "core/span.hpp"
#include "sampler/block.hpp"

namespace tg {

class block_sampler {
 public:
  virtual ~block_sampler() = default;
  // Samples every hop from `seeds` (distinct node ids; input_error otherwise) into `out` (host
  // memory), reusing its buffers.
  virtual void sample(span<const std::int64_t> seeds, std::int64_t epoch, std::int64_t batch, sampled_batch* out) = 0;

 protected:
  block_sampler() = default;
  block_sampler(const block_sampler&) = default;
  block_sampler(block_sampler&&) = default;
  block_sampler& operator=(const block_sampler&) = default;
  block_sampler& operator=(block_sampler&&) = default;
};

}  // namespace tg
