#pragma once
// Neighbourhood aggregation over a block's local CSR (sampler/block.hpp), forward and backward:
//   forward:  y[v, :] = sum_{e in row v} w_e * x[src_e, :]          (num_dst x dim)
//   backward: dx[u, :] = sum_{e : src_e = u} w_e * dy[dst_e, :]      (num_src x dim)
// The backward pass runs the forward kernel on the transposed block (built once per block), so
// each output row is a sum in a fixed order and results do not depend on the thread count.
// Edge weights select the aggregator: mean (1/deg), sum (1), or GCN's symmetric normalisation on
// the block with self-loops added, w_uv = 1 / sqrt(deg_in(v) * deg_out(u)) (Kipf & Welling, ICLR'17).
// `attention` is the structure GAT attends over (kernels/attention.hpp): the block with a self-loop
// per destination and no weights (the weights are the attention coefficients, computed per batch).
#include <cstdint>
#include <vector>

namespace tg {

enum class aggregator { mean, sum, gcn, attention };

// A block's graph: num_dst rows over num_src columns; weights may be empty (all ones).
template <typename T>
struct agg_graph {
  std::int64_t num_dst = 0, num_src = 0;
  std::vector<std::int64_t> indptr;   // num_dst + 1
  std::vector<std::int32_t> indices;  // local source ids
  std::vector<T> weights;             // per edge, or empty
  // Filled by transpose(): for each entry, its position in the graph it was transposed from (per-edge
  // values stored in that graph's order are read through it). Empty otherwise.
  std::vector<std::int32_t> edge_ids;
};

// Builds the weighted graph for an aggregator from a block's CSR. For gcn and attention, each
// destination v (local id v, since destinations come first among sources) gets the self-loop v -> v
// first, and a sampled self-loop is kept only as that one.
// gcn normalisation:
//  - without src_degree, from the block itself: w_uv = 1 / sqrt(deg_in(v) * deg_out(u)), both
//    counted in the block with self-loops;
//  - with src_degree (the full graph's in-degree of every source node, destinations first, not
//    counting a stored self-loop: sampler/self_loops.hpp), the full graph's normalisation estimated
//    from a sample: self-loop 1 / (d_v + 1), and edge u -> v weighted (d_v / k_v) / sqrt((d_u + 1)
//    (d_v + 1)) where k_v of the d_v neighbours other than v were sampled. With all neighbours
//    (k_v = d_v) this is exactly GCN's D^-1/2 (A + I) D^-1/2 with one self-loop per node (PyG's
//    gcn_norm, add_remaining_self_loops), so sampled training and full-neighbour inference use the
//    same operator. A degree that counts a stored self-loop (the raw row length) puts that node's
//    weights off: self 1 / (d + 2) for 1 / (d + 1), and the scale (d + 1) / d with every neighbour
//    taken.
template <typename T>
agg_graph<T> make_agg_graph(aggregator kind, std::int64_t num_dst, std::int64_t num_src, const std::int64_t* indptr,
                            const std::int32_t* indices, const std::int64_t* src_degree = nullptr);

// The transpose (num_src rows over num_dst columns), with weights carried along and edge_ids set;
// within each row the entries are in increasing destination order.
template <typename T>
agg_graph<T> transpose(const agg_graph<T>& g);

template <typename T>
void aggregate_forward(const agg_graph<T>& g, const T* x, std::int64_t dim, T* y);
// The same on a CSR given by pointers (weights null: all ones).
template <typename T>
void aggregate_csr(std::int64_t num_dst, const std::int64_t* indptr, const std::int32_t* indices, const T* weights,
                   const T* x, std::int64_t dim, T* y);

// dx (num_src x dim) = aggregation of dy over the transpose `gt` (from transpose(g)).
template <typename T>
void aggregate_backward(const agg_graph<T>& gt, const T* dy, std::int64_t dim, T* dx);

}  // namespace tg
