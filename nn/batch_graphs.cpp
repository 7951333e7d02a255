// A batch's aggregation graphs in backend memory (nn/batch_graphs.hpp).
#include "nn/batch_graphs.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <chrono>

#include "core/error.hpp"
#include "nn/model.hpp"

namespace tg {

aggregator aggregator_of(const model_config& cfg) {
  switch (parse_model_kind(cfg.kind)) {
    case model_kind::gcn:
      return aggregator::gcn;
    case model_kind::gat:
      return aggregator::attention;
    default:
      return aggregator::mean;
  }
}

void batch_graphs::place(graph* g, backend& be) {
  const agg_graph<float>& h = g->host;
  agg_csr_view& v = g->view;
  v.num_dst = h.num_dst;
  v.num_src = h.num_src;
  v.nnz = static_cast<std::int64_t>(h.indices.size());
  if (be.host_memory()) {  // the host graph is the backend's
    v.indptr = host_view(h.indptr.data(), static_cast<std::int64_t>(h.indptr.size()));
    v.indices = host_view(h.indices.data(), v.nnz);
    v.weights = host_view(h.weights.data(), static_cast<std::int64_t>(h.weights.size()));
    v.edge_ids = host_view(h.edge_ids.data(), static_cast<std::int64_t>(h.edge_ids.size()));
    return;
  }
  g->indptr.bind(be);
  g->indices.bind(be);
  g->weights.bind(be);
  g->edge_ids.bind(be);
  g->indptr.assign_from_host(h.indptr.data(), h.indptr.size());
  g->indices.assign_from_host(h.indices.data(), h.indices.size());
  g->weights.assign_from_host(h.weights.data(), h.weights.size());
  g->edge_ids.assign_from_host(h.edge_ids.data(), h.edge_ids.size());
  v.indptr = g->indptr.view();
  v.indices = g->indices.view();
  v.weights = g->weights.view();
  v.edge_ids = g->edge_ids.view();
}

void batch_graphs::build(aggregator kind, const block* blocks, std::size_t n, backend& be, bool with_transpose,
                         const self_loop_index* loops) {
  with_transpose_ = with_transpose;
  fwd_.resize(n);
  bwd_.resize(with_transpose ? n : 0);
  degree_.resize(n);
  const auto t0 = std::chrono::steady_clock::now();
  // Each layer's graphs are independent: the same graphs whatever runs in parallel.
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1), [&](const auto& r) {
    for (std::size_t l = r.begin(); l < r.end(); ++l) {
      const block& b = blocks[l];
      const std::int64_t* degree = b.src_degree.empty() ? nullptr : b.src_degree.data();
      if (degree && loops && kind == aggregator::gcn) {
        std::vector<std::int64_t>& d = degree_[l];
        d.resize(b.src_degree.size());
        for (std::size_t i = 0; i < d.size(); ++i) d[i] = loops->degree_without_loop(b.src_nodes[i], b.src_degree[i]);
        degree = d.data();
      }
      fwd_[l].host = make_agg_graph<float>(kind, b.num_dst, b.num_src(), b.indptr.data(), b.indices.data(), degree);
      if (with_transpose) bwd_[l].host = transpose(fwd_[l].host);
    }
  });
  host_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (std::size_t l = 0; l < n; ++l) {
    place(&fwd_[l], be);
    if (with_transpose) place(&bwd_[l], be);
  }
  if (!be.host_memory()) be.synchronize();  // the host graphs are rebuilt by the next call
}

const agg_csr_view& batch_graphs::backward(int layer) const {
  TG_EXPECTS(with_transpose_, "batch_graphs: backward() needs graphs built with their transposes");
  return bwd_[static_cast<std::size_t>(layer)].view;
}

}  // namespace tg
