// sampler/cuda_sampler.hpp in a build without the CUDA backend: constructing a GPU sampler throws
// cuda_error, so no other member can ever be reached (they exist only so that callers link).
#include "core/error.hpp"
#include "sampler/cuda_sampler.hpp"

namespace tg {

namespace {
[[noreturn]] void no_cuda() {
  throw cuda_error("this tiergnn was built without the CUDA backend");
}
}  // namespace

struct cuda_neighbor_sampler::impl {};

cuda_neighbor_sampler::cuda_neighbor_sampler(std::int64_t, const std::int64_t*, const void*, dtype,
                                             std::vector<std::int64_t>, std::uint64_t, csr_placement) {
  no_cuda();
}
cuda_neighbor_sampler::cuda_neighbor_sampler(const dataset&, std::vector<std::int64_t>, std::uint64_t, csr_placement) {
  no_cuda();
}
cuda_neighbor_sampler::~cuda_neighbor_sampler() = default;
void cuda_neighbor_sampler::set_node_keys(span<const std::int64_t>) {
  no_cuda();
}
int cuda_neighbor_sampler::num_layers() const {
  no_cuda();
}
csr_placement cuda_neighbor_sampler::placement() const {
  no_cuda();
}
void cuda_neighbor_sampler::sample(span<const std::int64_t>, std::int64_t, std::int64_t, sampled_batch*) {
  no_cuda();
}
std::int64_t cuda_neighbor_sampler::sample_on_device(span<const std::int64_t>, std::int64_t, std::int64_t) {
  no_cuda();
}

}  // namespace tg
