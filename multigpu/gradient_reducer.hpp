#pragma once
// Data-parallel gradient reduction, bucketed by layer and overlapped with backward (DESIGN.md §8).
// The training loop submits each layer's gradients as soon as backward has them (layers L-1 down
// to 0) and waits before the optimizer step; meanwhile the reduction runs behind the rest of the
// backward pass. Every rank submits the same buckets in the same order, so the collectives pair up.
// Gradients are summed, not averaged: the loss gradient is already divided by the global batch's
// rows (kernels/backend.hpp's softmax_nll normaliser), so the sum is the global batch's gradient.
//
// Two implementations of one interface, chosen by the backend the gradients live in:
//   cpu   a communication thread sums each bucket over the job's communicator (host memory; the
//         TCP communicator sums in rank order, so every rank gets bit-identical gradients).
//   nccl  NCCL all-reduces on device memory, each bucket started on NCCL's stream once an event
//         recorded on the backend's stream says backward has produced it.
#include <chrono>
#include <memory>
#include <vector>

#include "kernels/backend.hpp"
#include "multigpu/communicator.hpp"

namespace tg {

class gradient_reducer {
 public:
  virtual ~gradient_reducer() = default;
  // Starts summing `bucket` over the ranks, in place, after the work already queued on the backend.
  virtual void submit(const std::vector<tensor_view<float>>& bucket) = 0;
  // Waits for every submitted bucket; rethrows a failure of any of them (comm_error).
  virtual void wait() = 0;
  virtual const char* kind() const = 0;
};

// `comm`: the job's (CPU) communicator, which must outlive the reducer. On a CUDA backend an NCCL
// communicator is bootstrapped over it for the backend's device (throws cuda_error without NCCL).
std::unique_ptr<gradient_reducer> make_gradient_reducer(communicator& comm, backend& be,
                                                        std::chrono::milliseconds timeout);

}  // namespace tg
