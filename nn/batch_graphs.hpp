#pragma once
// A sampled batch's aggregation graphs in backend memory: for each layer, the weighted CSR of its
// block for the model's aggregator (mean for GraphSAGE, GCN's normalisation; kernels/aggregate.hpp)
// and, for training, its transpose (backward aggregates over it). Built on the host; on a device
// backend uploaded on that backend's stream (the training pipeline builds batch i+1's while batch i
// trains). Reused across batches: a warm object allocates nothing.
#include <cstdint>
#include <vector>

#include "kernels/aggregate.hpp"
#include "kernels/backend.hpp"
#include "sampler/block.hpp"
#include "sampler/self_loops.hpp"

namespace tg {

struct model_config;

class batch_graphs {
 public:
  // Builds the graphs of blocks[0, n) for `kind` on `be` (waits for the uploads on a device backend).
  // The layers' host graphs (and transposes) are built in parallel, then placed in layer order.
  // gcn: `loops`, the sampled graph's self-loops, takes a stored self-loop out of every source's
  // degree (GCN adds one per node; sampler/self_loops.hpp); without it the blocks' degrees are used
  // as they are.
  void build(aggregator kind, const block* blocks, std::size_t n, backend& be, bool with_transpose,
             const self_loop_index* loops = nullptr);
  // Seconds the last build() spent building host graphs (the rest: uploads and the wait for them).
  double last_host_seconds() const { return host_seconds_; }
  std::size_t num_layers() const { return fwd_.size(); }
  const agg_csr_view& forward(int layer) const { return fwd_[static_cast<std::size_t>(layer)].view; }
  // Throws if the graphs were built without transposes.
  const agg_csr_view& backward(int layer) const;

 private:
  struct graph {
    agg_graph<float> host;
    tensor<std::int64_t> indptr;
    tensor<std::int32_t> indices;
    tensor<float> weights;
    tensor<std::int32_t> edge_ids;
    agg_csr_view view;
  };
  static void place(graph* g, backend& be);
  std::vector<graph> fwd_, bwd_;
  std::vector<std::vector<std::int64_t>> degree_;  // per layer: gcn degrees without self-loops
  bool with_transpose_ = false;
  double host_seconds_ = 0;
};

// The aggregator of a model kind ("sage": mean, "gcn": GCN normalisation, "gat": attention).
aggregator aggregator_of(const model_config& cfg);

}  // namespace tg
