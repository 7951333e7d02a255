#include "train/feature_source.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <string>

#include "core/error.hpp"
#include "kernels/gather.hpp"

namespace tg {

feature_source::feature_source(const dataset& d) {
  if (!d.meta().has_features())
    throw input_error(at_input(d.dir(), "the dataset has no node features (features.npy); a GNN needs them"));
  const npy_array& f = d.get("features.npy");
  data_ = f.raw();
  type_ = f.type();
  rows_ = d.num_nodes();
  dim_ = d.meta().feature_dim;
}

void feature_source::gather(span<const std::int64_t> ids, float* out) const {
  if (type_ == dtype::float32) {
    gather_rows_cpu(data_, rows_, dim_ * 4, ids, out);
    return;
  }
  const auto* h = static_cast<const std::uint16_t*>(data_);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, ids.size(), 256), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      const std::int64_t id = ids[i];
      if (id < 0 || id >= rows_) throw input_error("feature row " + std::to_string(id) + " out of range");
      for (std::int64_t j = 0; j < dim_; ++j) out[i * dim_ + j] = half_to_float(h[id * dim_ + j]);
    }
  });
}

}  // namespace tg
