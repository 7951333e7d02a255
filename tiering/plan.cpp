#include "tiering/plan.hpp"

#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"

namespace tg {

namespace {
// A byte count computed in double, as uint64: kUnknownBytes where it does not fit (a --hidden of 10^9
// must be refused as too large, not wrap to a small number).
std::uint64_t bytes_of(double x) {
  return !(x < 18446744073709549568.0) ? kUnknownBytes : static_cast<std::uint64_t>(std::max(0.0, x));
}
}  // namespace

std::uint64_t reserve_estimate::total() const {
  return saturating_add(saturating_add(input_bytes, activation_bytes), saturating_add(model_bytes, other_bytes));
}

reserve_model reserve_model_of(const std::string& kind, std::int64_t hidden, int heads, int out_heads) {
  if (kind != "gat") return {hidden, 0};
  const std::int64_t width = heads > 0 && hidden > std::numeric_limits<std::int64_t>::max() / heads
                                 ? std::numeric_limits<std::int64_t>::max()
                                 : hidden * heads;
  return {width, std::max<std::int64_t>(heads, out_heads)};
}

reserve_estimate estimate_reserve(std::int64_t num_nodes, std::int64_t feature_dim, std::int64_t row_bytes,
                                  const std::vector<std::int64_t>& fanouts, std::int64_t batch_size,
                                  std::int64_t hidden, std::int64_t num_classes, std::int64_t attention_heads) {
  reserve_estimate r;
  // Nodes per hop: seeds, then each hop multiplies by (1 + fanout), capped by the graph.
  std::vector<double> nodes{static_cast<double>(std::min(batch_size, num_nodes))};
  for (std::int64_t f : fanouts) {
    const double grow = f < 0 ? static_cast<double>(num_nodes) : 1.0 + static_cast<double>(f);
    nodes.push_back(std::min(static_cast<double>(num_nodes), nodes.back() * grow));
  }
  const double inputs = nodes.back();
  r.input_rows = static_cast<std::int64_t>(inputs);
  r.input_bytes = bytes_of(2.0 * inputs * static_cast<double>(row_bytes));
  double act = 0;  // per layer: aggregated input + output + their gradients, float32
  const std::size_t L = fanouts.size();
  for (std::size_t l = 0; l < L; ++l) {
    const double dst = nodes[L - 1 - l];
    const double din = l == 0 ? static_cast<double>(feature_dim) : static_cast<double>(hidden);
    const double dout = l + 1 == L ? static_cast<double>(num_classes) : static_cast<double>(hidden);
    act += 2.0 * 4.0 * dst * (din + dout);
    if (attention_heads > 0) {  // GAT: h and dh over the sources, four per-edge arrays per head
      const double src = nodes[L - l], f = fanouts[l] < 0 ? src : static_cast<double>(fanouts[l]) + 1.0;
      act += 2.0 * 4.0 * src * dout + 4.0 * 4.0 * dst * f * static_cast<double>(attention_heads);
    }
  }
  r.activation_bytes = bytes_of(act);
  double params = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const double din = l == 0 ? static_cast<double>(feature_dim) : static_cast<double>(hidden);
    const double dout = l + 1 == L ? static_cast<double>(num_classes) : static_cast<double>(hidden);
    params += 2.0 * din * dout + dout;
  }
  r.model_bytes = bytes_of(4.0 * 4.0 * params);  // value, grad, Adam m and v
  return r;
}

tier_plan size_tiers(std::int64_t num_nodes, std::int64_t row_bytes, const budget& gpu, const budget& host,
                     std::uint64_t reserve_bytes) {
  TG_EXPECTS(row_bytes > 0, "row size must be positive");
  tier_plan p;
  p.num_nodes = num_nodes;
  p.row_bytes = row_bytes;
  p.reserve_bytes = reserve_bytes;
  p.gpu_budget = gpu.to_string();
  p.host_budget = host.to_string();
  if (host.type == budget::kind::bytes) p.host_budget_bytes = host.bytes;
  const std::uint64_t feature_bytes = static_cast<std::uint64_t>(num_nodes) * static_cast<std::uint64_t>(row_bytes);
  std::uint64_t gpu_tier_bytes;
  if (gpu.type == budget::kind::bytes) {
    const auto text = [](std::uint64_t b) {
      return b == kUnknownBytes ? std::string("more than 16 EiB") : format_bytes(static_cast<double>(b));
    };
    if (gpu.bytes < reserve_bytes)
      throw budget_error("--gpu-mem " + format_bytes(static_cast<double>(gpu.bytes)) +
                         " cannot hold training's own GPU memory (model, optimizer state, a batch's input rows "
                         "and activations: " +
                         (reserve_bytes == kUnknownBytes ? "" : "about ") + text(reserve_bytes) + "); it is short by " +
                         (reserve_bytes == kUnknownBytes ? text(reserve_bytes) : text(reserve_bytes - gpu.bytes)) +
                         ". Raise --gpu-mem or lower --batch-size / --fanouts / --hidden");
    gpu_tier_bytes = gpu.bytes - reserve_bytes;
    p.gpu_budget_bytes = gpu.bytes;
  } else {
    // A share of the features leaves the reserve unchecked here (the GPU's size is known at training),
    // but one past 2^63 - 1 bytes (a --hidden of 10^10) fits no GPU, and plan.json could not hold it:
    // the plan was written, then refused by every reader (R12-F1).
    if (reserve_bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw budget_error(
          "training's own GPU memory (model, optimizer state, a batch's input rows and "
          "activations) comes to more than 8 EiB: no GPU holds it. Lower --hidden / --batch-size / "
          "--fanouts");
    gpu_tier_bytes = gpu.resolve(feature_bytes);
  }
  p.gpu_rows = std::min<std::int64_t>(num_nodes, static_cast<std::int64_t>(gpu_tier_bytes / row_bytes));
  const std::uint64_t host_bytes = host.resolve(feature_bytes);
  p.host_rows = std::min<std::int64_t>(num_nodes - p.gpu_rows, static_cast<std::int64_t>(host_bytes / row_bytes));
  return p;
}

std::vector<std::int64_t> rank_nodes(const std::vector<double>& score) {
  // Sorts (key, id) pairs, where key orders the scores descending as unsigned integers (the IEEE
  // bits, sign-flipped so that negative values order below positive ones, inverted; -0 taken as
  // +0), so comparisons never chase score[] through memory: on 33.5M nodes that was ~2 s of
  // cache misses. Keys tie exactly where the scores compare equal, ties go by id: the same order as
  // sorting ids by (score descending, id).
  const std::size_t n = score.size();
  struct keyed {
    std::uint64_t key;
    std::int64_t id;
  };
  std::vector<keyed> pairs(n);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
    const double x = score[i] == 0 ? 0.0 : score[i];
    std::uint64_t bits = 0;
    std::memcpy(&bits, &x, sizeof bits);
    const std::uint64_t ascending = (bits >> 63) ? ~bits : bits | (std::uint64_t{1} << 63);
    pairs[i] = {~ascending, static_cast<std::int64_t>(i)};
  });
  tbb::parallel_sort(pairs.begin(), pairs.end(),
                     [](const keyed& a, const keyed& b) { return a.key != b.key ? a.key < b.key : a.id < b.id; });
  std::vector<std::int64_t> order(n);
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) { order[i] = pairs[i].id; });
  return order;
}

std::vector<double> predicted_hit_rates(const std::vector<double>& score, const std::vector<std::int64_t>& order,
                                        const std::vector<std::int64_t>& ks) {
  std::vector<double> top(ks.size(), 0.0);
  double total = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (std::size_t j = 0; j < ks.size(); ++j)
      if (static_cast<std::int64_t>(i) == ks[j]) top[j] = total;
    total += score[static_cast<std::size_t>(order[i])];
  }
  for (std::size_t j = 0; j < ks.size(); ++j) {
    if (ks[j] >= static_cast<std::int64_t>(order.size())) top[j] = total;
    top[j] = total > 0 ? top[j] / total : 0.0;
  }
  return top;
}

double predicted_hit_rate(const std::vector<double>& score, const std::vector<std::int64_t>& order, std::int64_t k) {
  return predicted_hit_rates(score, order, {k})[0];
}

std::string describe(const tier_plan& p) {
  auto line = [&](const char* tier, std::int64_t rows, const char* where) {
    char b[256];
    std::snprintf(
        b, sizeof b, "  %-5s %12lld rows  %10s  %5s%% of rows  %s\n", tier, static_cast<long long>(rows),
        format_bytes(static_cast<double>(rows) * p.row_bytes).c_str(),
        percent_text(p.num_nodes ? static_cast<double>(rows) / static_cast<double>(p.num_nodes) : 0.0).c_str(), where);
    return std::string(b);
  };
  return line("gpu", p.gpu_rows, "ids [0, g)") + line("host", p.host_rows, "ids [g, c)") +
         line("disk", p.disk_rows(), "ids [c, N)");
}

}  // namespace tg
