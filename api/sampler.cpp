// tiergnn embedding API: the neighbour sampler. tg::neighbor_sampler keeps per-call buffers, so
// concurrent calls each borrow an instance from a small pool; the draws depend only on (seed,
// epoch, batch), so which instance serves a call never changes the result.
#include <algorithm>
#include <mutex>

#include "api/internal.hpp"
#include "sampler/batcher.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiergnn/sampler.hpp"

namespace tiergnn {

using detail::translate;

struct sampler::impl {
  dataset d;
  std::vector<std::int64_t> fanouts;
  std::uint64_t seed = 0;
  std::mutex mu;
  std::vector<std::unique_ptr<tg::neighbor_sampler>> idle;

  std::unique_ptr<tg::neighbor_sampler> make() const {
    const auto& in = detail::internals(d);
    auto s = std::make_unique<tg::neighbor_sampler>(in.d, fanouts, seed);
    if (!in.order.empty()) s->set_node_keys(tg::span<const std::int64_t>(in.order));
    return s;
  }
};

sampler::sampler(const dataset& d, std::vector<std::int64_t> fanouts, std::uint64_t seed)
    : impl_(std::make_unique<impl>()) {
  impl& self = *impl_;
  self.d = d;
  self.fanouts = std::move(fanouts);
  self.seed = seed;
  // Builds one instance now, so that bad fanouts fail here rather than at the first batch.
  self.idle.push_back(detail::translate_options([&] { return self.make(); }));
}

sampler::~sampler() = default;
sampler::sampler(sampler&&) noexcept = default;
sampler& sampler::operator=(sampler&&) noexcept = default;

const std::vector<std::int64_t>& sampler::fanouts() const {
  auto& self = *detail::live(impl_, "tiergnn::sampler");
  return self.fanouts;
}
std::uint64_t sampler::seed() const {
  auto& self = *detail::live(impl_, "tiergnn::sampler");
  return self.seed;
}

batch sampler::sample(const std::int64_t* seeds, std::size_t count, std::int64_t epoch,
                      std::int64_t batch_index) const {
  auto& self = *detail::live(impl_, "tiergnn::sampler");
  return translate([&] {
    const std::int64_t n = self.d.num_nodes();
    for (std::size_t i = 0; i < count; ++i)
      if (seeds[i] < 0 || seeds[i] >= n)
        throw tg::input_error("sampler: seed " + std::to_string(seeds[i]) + " at position " + std::to_string(i) +
                              " is outside [0, " + std::to_string(n) + ")");
    std::vector<std::int64_t> sorted(seeds, seeds + count);
    std::sort(sorted.begin(), sorted.end());
    const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end())
      throw tg::input_error("sampler: seed " + std::to_string(*dup) +
                            " appears more than once; seeds must be distinct");
    if (epoch < 0 || batch_index < 0) throw tg::input_error("sampler: epoch and batch must be >= 0");
    detail::internals(self.d).d.verify_files();  // a graph file cut short would fault while sampling

    std::unique_ptr<tg::neighbor_sampler> s;
    {
      std::lock_guard<std::mutex> lock(self.mu);
      if (!self.idle.empty()) {
        s = std::move(self.idle.back());
        self.idle.pop_back();
      }
    }
    if (!s) s = self.make();
    tg::sampled_batch sb;
    try {
      s->sample(tg::span<const std::int64_t>(seeds, count), epoch, batch_index, &sb);
    } catch (...) {
      std::lock_guard<std::mutex> lock(self.mu);
      self.idle.push_back(std::move(s));
      throw;
    }
    {
      std::lock_guard<std::mutex> lock(self.mu);
      self.idle.push_back(std::move(s));
    }
    batch out;
    out.blocks.resize(sb.blocks.size());
    for (std::size_t i = 0; i < sb.blocks.size(); ++i) {
      tg::block& b = sb.blocks[i];
      out.blocks[i].num_dst = b.num_dst;
      out.blocks[i].src_nodes = std::move(b.src_nodes);
      out.blocks[i].indptr = std::move(b.indptr);
      out.blocks[i].indices = std::move(b.indices);
      out.blocks[i].src_degree = std::move(b.src_degree);
    }
    return out;
  });
}

std::vector<std::vector<std::int64_t>> sampler::epoch_batches(const std::vector<std::int64_t>& train_ids,
                                                              std::int64_t batch_size, std::int64_t epoch) const {
  auto& self = *detail::live(impl_, "tiergnn::sampler");
  return translate([&] {
    // The same rules as sample() and the profiler: ids in range and distinct, epoch and batch size valid.
    const std::int64_t n = self.d.num_nodes();
    for (std::size_t i = 0; i < train_ids.size(); ++i)
      if (train_ids[i] < 0 || train_ids[i] >= n)
        throw tg::input_error("sampler: training node " + std::to_string(train_ids[i]) + " at position " +
                              std::to_string(i) + " is outside [0, " + std::to_string(n) + ")");
    std::vector<std::int64_t> sorted(train_ids);
    std::sort(sorted.begin(), sorted.end());
    const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end())
      throw tg::input_error("sampler: training node " + std::to_string(*dup) +
                            " appears more than once; training nodes must be distinct");
    if (epoch < 0) throw tg::input_error("sampler: epoch must be >= 0");
    if (batch_size <= 0) throw tg::input_error("sampler: batch_size must be positive");
    const auto& order = detail::internals(self.d).order;
    const tg::batch_plan p = tg::plan_epoch(tg::span<const std::int64_t>(train_ids), batch_size, self.seed, epoch, true,
                                            tg::span<const std::int64_t>(order));
    std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(p.num_batches()));
    for (std::int64_t b = 0; b < p.num_batches(); ++b) {
      const auto s = p.batch(b);
      out[static_cast<std::size_t>(b)].assign(s.begin(), s.end());
    }
    return out;
  });
}

}  // namespace tiergnn
