// Lazily found self-loops (sampler/self_loops.hpp).
#include "sampler/self_loops.hpp"

#include "core/error.hpp"

namespace tg {

self_loop_index::self_loop_index(std::int64_t num_nodes, const std::int64_t* indptr, const void* indices,
                                 dtype index_dtype)
    : num_nodes_(num_nodes),
      indptr_(indptr),
      indices_(indices),
      index_dtype_(index_dtype),
      words_(new std::atomic<std::uint64_t>[static_cast<std::size_t>((num_nodes + 31) / 32)]()) {
  TG_EXPECTS(index_dtype == dtype::int32 || index_dtype == dtype::int64, "index dtype");
}

self_loop_index::self_loop_index(const dataset& d)
    : self_loop_index(d.num_nodes(), d.indptr().as<std::int64_t>().data(), d.indices().raw(), d.indices().type()) {}

bool self_loop_index::has(std::int64_t v) const {
  TG_EXPECTS(v >= 0 && v < num_nodes_, "self_loop_index: node id out of range");
  std::atomic<std::uint64_t>& word = words_[static_cast<std::size_t>(v >> 5)];
  const int shift = static_cast<int>(v & 31) * 2;
  const std::uint64_t bits = word.load(std::memory_order_relaxed) >> shift;
  if (bits & 1) return (bits >> 1) & 1;
  // Unknown: scan the row (two threads may both scan it; they store the same answer).
  bool found = false;
  const std::int64_t begin = indptr_[v], end = indptr_[v + 1];
  if (index_dtype_ == dtype::int32) {
    const auto* idx = static_cast<const std::int32_t*>(indices_);
    for (std::int64_t e = begin; e < end && !found; ++e) found = idx[e] == v;
  } else {
    const auto* idx = static_cast<const std::int64_t*>(indices_);
    for (std::int64_t e = begin; e < end && !found; ++e) found = idx[e] == v;
  }
  word.fetch_or((std::uint64_t{1} | (std::uint64_t{found} << 1)) << shift, std::memory_order_relaxed);
  return found;
}

}  // namespace tg
