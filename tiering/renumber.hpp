#pragma once
// Hot-first renumbering (DESIGN.md §4): writes a copy of a dataset whose node i is the source's node
// order[i]. Graph, features, labels, splits (and original node ids) are permuted consistently;
// order.npy (new -> old) is added. Each row keeps its source's neighbour order (ids mapped), so a
// sampler keyed by the original ids (order.npy) draws the same neighbours on both datasets.
// Streams: indices and features are written in bounded chunks of rows, gathered in parallel, so
// features larger than RAM can be renumbered; memory is O(N) for the permutation.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dataset.hpp"

namespace tg {

// Writes into an open dataset_writer (the caller adds plan files and commits). `order` must be a
// permutation of [0, N).
// shard_bounds (K + 1 increasing new ids from 0 to N, K >= 2): the features go to K shard files,
// rows [bounds[m], bounds[m+1]) into shard_file_name(m, K), and meta.json records K shards.
void write_renumbered(const dataset& src, const std::vector<std::int64_t>& order, dataset_writer& w,
                      const std::vector<std::int64_t>& shard_bounds = {});

// "shards/features-M-of-K.npy": shard M's file, relative to the dataset directory.
std::string shard_file_name(int shard, int shards);

}  // namespace tg
