#include "tiering/shared_tier.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "tiering/plan.hpp"

namespace tg {

const char* to_string(row_source s) {
  switch (s) {
    case row_source::local:
      return "local";
    case row_source::peer:
      return "peer";
    case row_source::host:
      return "host";
    case row_source::disk:
      return "disk";
  }
  return "?";
}

namespace {

void check_config(const shared_tier_config& cfg) {
  const std::string what = "shared GPU tier: ";
  if (cfg.num_gpus < 1 || cfg.num_gpus > kMaxSharedGpus)
    throw input_error(what + std::to_string(cfg.num_gpus) + " GPUs: the GPU count must lie in [1, " +
                      std::to_string(kMaxSharedGpus) + "]");
  if (cfg.num_nodes < 0) throw input_error(what + "negative node count " + std::to_string(cfg.num_nodes));
  if (cfg.row_bytes <= 0)
    throw input_error(what + "feature rows of " + std::to_string(cfg.row_bytes) +
                      " bytes: the row size must be positive");
  if (!(cfg.peer_weight >= 0.0 && cfg.peer_weight <= 1.0))
    throw input_error(what + "peer weight " + std::to_string(cfg.peer_weight) +
                      " must lie in [0, 1] (1 - peer read cost / host read cost)");
  if (cfg.host_rows < -1)
    throw input_error(what + "host rows " + std::to_string(cfg.host_rows) + ": give a count >= 0, or -1 for all rows");
}

// B: whole rows of the per-GPU budget, capped at N.
std::int64_t budget_rows_of(const shared_tier_config& cfg) {
  const std::uint64_t rows = cfg.gpu_budget_bytes / static_cast<std::uint64_t>(cfg.row_bytes);
  return static_cast<std::int64_t>(std::min<std::uint64_t>(rows, static_cast<std::uint64_t>(cfg.num_nodes)));
}

// s for a given r: min(k (B - r), N - r), without overflow.
std::int64_t striped_for(std::int64_t n, std::int64_t b, std::int64_t k, std::int64_t r) {
  const std::int64_t room = b - r, left = n - r;
  return room >= (left + k - 1) / k ? left : room * k;
}

// H(x) = 1 + 1/2 + ... + 1/x: P(x) of the Zipf(1) curve p_i = 1 / (i + 1).
double harmonic(std::int64_t x) {
  if (x <= 0) return 0.0;
  if (x < 1000) {
    double h = 0;
    for (std::int64_t i = x; i >= 1; --i) h += 1.0 / static_cast<double>(i);
    return h;
  }
  const double v = static_cast<double>(x), v2 = v * v;
  return std::log(v) + 0.57721566490153286 + 1.0 / (2 * v) - 1.0 / (12 * v2) + 1.0 / (120 * v2 * v2);
}

std::int64_t best_replicated_rows(const shared_tier_config& cfg, std::int64_t b, span<const double> p) {
  const std::int64_t n = cfg.num_nodes, k = cfg.num_gpus, rmax = std::min(b, n);
  if (!cfg.peer_to_peer || k == 1 || b >= n) return rmax;
  if (p.empty()) {
    // Zipf(1) rule (see the header): max(r_all, (1 - w) B).
    std::int64_t r = std::llround((1.0 - cfg.peer_weight) * static_cast<double>(b));
    if (b >= (n + k - 1) / k) r = std::max(r, b - (n - b + k - 2) / (k - 1));  // r_all = B - ceil((N - B) / (k - 1))
    return std::clamp<std::int64_t>(r, 0, rmax);
  }
  // Exhaustive over r with running sums: k f(r) = k P(r) + (1 + w (k - 1)) (P(e) - P(r)), e = r +
  // s(r), where e never grows with r.
  const long double a = 1.0L + static_cast<long double>(cfg.peer_weight) * static_cast<long double>(k - 1);
  long double total = 0;
  for (double x : p) total += x;
  const long double tol = 1e-12L * static_cast<long double>(k) * total;
  std::int64_t e = striped_for(n, b, k, 0);
  long double pr = 0, pe = 0;
  for (std::int64_t i = 0; i < e; ++i) pe += p[static_cast<std::size_t>(i)];
  long double best = -1;
  std::int64_t best_r = 0;
  for (std::int64_t r = 0; r <= rmax; ++r) {
    if (r > 0) pr += p[static_cast<std::size_t>(r - 1)];
    const std::int64_t er = r + striped_for(n, b, k, r);
    while (e > er) pe -= p[static_cast<std::size_t>(--e)];
    const long double f = static_cast<long double>(k) * pr + a * (pe - pr);
    if (f >= best - tol) {
      best_r = r;
      best = std::max(best, f);
    }
  }
  return best_r;
}

}  // namespace

shared_tier_plan::shared_tier_plan(const shared_tier_config& cfg, std::int64_t replicated_rows,
                                   std::int64_t striped_rows) {
  check_config(cfg);
  n_ = cfg.num_nodes;
  row_bytes_ = cfg.row_bytes;
  k_ = cfg.num_gpus;
  p2p_ = cfg.peer_to_peer;
  w_ = cfg.peer_weight;
  budget_rows_ = budget_rows_of(cfg);
  if (replicated_rows < 0 || striped_rows < 0 || replicated_rows > n_ || striped_rows > n_ - replicated_rows)
    throw input_error("shared GPU tier: bands of " + std::to_string(replicated_rows) + " replicated and " +
                      std::to_string(striped_rows) + " striped rows do not fit in " + std::to_string(n_) + " nodes");
  if (striped_rows > 0 && !p2p_ && k_ > 1)
    throw input_error("shared GPU tier: striping " + std::to_string(striped_rows) +
                      " rows needs GPUs that read each other's memory (a peer-to-peer clique)");
  r_ = replicated_rows;
  s_ = striped_rows;
  const std::int64_t per_gpu = r_ + (s_ + k_ - 1) / k_;
  if (per_gpu > budget_rows_)
    throw budget_error("shared GPU tier: each GPU would hold up to " + std::to_string(per_gpu) + " rows (" +
                       format_bytes(static_cast<double>(per_gpu) * static_cast<double>(row_bytes_)) + ": " +
                       std::to_string(r_) + " replicated + ceil(" + std::to_string(s_) + " striped / " +
                       std::to_string(k_) + ")), over the per-GPU feature budget of " +
                       format_bytes(static_cast<double>(cfg.gpu_budget_bytes)) + " (" + std::to_string(budget_rows_) +
                       " rows); lower the bands or raise the budget");
  const std::int64_t rest = n_ - r_ - s_;
  c_ = r_ + s_ + (cfg.host_rows < 0 ? rest : std::min(rest, cfg.host_rows));
}

std::int64_t shared_tier_plan::rows_on_gpu(int gpu) const {
  if (gpu < 0 || gpu >= k_)
    throw input_error("GPU " + std::to_string(gpu) + " is outside [0, " + std::to_string(k_) + ")");
  // Ids i < x with i mod k == gpu.
  auto below = [&](std::int64_t x) { return x > gpu ? (x - gpu - 1) / k_ + 1 : std::int64_t{0}; };
  return r_ + below(r_ + s_) - below(r_);
}

int shared_tier_plan::owner(std::int64_t id) const {
  if (id < r_ || id >= r_ + s_)
    throw input_error("row " + std::to_string(id) + " is not striped (the striped band is [" + std::to_string(r_) +
                      ", " + std::to_string(r_ + s_) + "))");
  return static_cast<int>(id % k_);
}

row_source shared_tier_plan::classify(std::int64_t id, int gpu) const {
  if (gpu < 0 || gpu >= k_)
    throw input_error("GPU " + std::to_string(gpu) + " is outside [0, " + std::to_string(k_) + ")");
  if (id < 0 || id >= n_)
    throw input_error("row " + std::to_string(id) + " is outside [0, " + std::to_string(n_) + ")");
  if (id < r_) return row_source::local;
  if (id < r_ + s_) return id % k_ == gpu ? row_source::local : row_source::peer;
  return id < c_ ? row_source::host : row_source::disk;
}

traffic shared_tier_plan::count(span<const std::int64_t> ids, int gpu) const {
  if (gpu < 0 || gpu >= k_)
    throw input_error("GPU " + std::to_string(gpu) + " is outside [0, " + std::to_string(k_) + ")");
  traffic t;
  t.batches = 1;
  t.row_bytes = row_bytes_;
  const std::int64_t e = r_ + s_;
  for (std::int64_t id : ids) {
    if (id < 0 || id >= n_)
      throw input_error("row " + std::to_string(id) + " is outside [0, " + std::to_string(n_) + ")");
    if (id < r_)
      ++t.gpu_rows;
    else if (id < e)
      ++(id % k_ == gpu ? t.gpu_rows : t.peer_rows);
    else if (id < c_)
      ++t.host_rows;
    else
      ++t.disk_rows;
  }
  return t;
}

shared_tier_prediction shared_tier_plan::predict(span<const double> p) const {
  if (!p.empty() && static_cast<std::int64_t>(p.size()) != n_)
    throw input_error("shared GPU tier: " + std::to_string(p.size()) + " scores for " + std::to_string(n_) + " nodes");
  double pr, pe, pc, total;
  if (p.empty()) {
    pr = harmonic(r_), pe = harmonic(r_ + s_), pc = harmonic(c_), total = harmonic(n_);
  } else {
    long double acc = 0, a_r = 0, a_e = 0, a_c = 0;
    for (std::int64_t i = 0; i < n_; ++i) {
      if (i == r_) a_r = acc;
      if (i == r_ + s_) a_e = acc;
      if (i == c_) a_c = acc;
      acc += p[static_cast<std::size_t>(i)];
    }
    if (r_ == n_) a_r = acc;
    if (r_ + s_ == n_) a_e = acc;
    if (c_ == n_) a_c = acc;
    pr = static_cast<double>(a_r), pe = static_cast<double>(a_e), pc = static_cast<double>(a_c);
    total = static_cast<double>(acc);
  }
  shared_tier_prediction out;
  if (total <= 0) return out;
  const double striped = pe - pr;
  out.local = (pr + striped / k_) / total;
  out.peer = striped * (k_ - 1) / k_ / total;
  out.host = (pc - pe) / total;
  out.disk = (total - pc) / total;
  return out;
}

nlohmann::json shared_tier_plan::to_json() const {
  return {{"num_nodes", n_},
          {"row_bytes", row_bytes_},
          {"num_gpus", k_},
          {"peer_to_peer", p2p_},
          {"peer_weight", w_},
          {"budget_rows_per_gpu", budget_rows_},
          {"replicated_rows", r_},
          {"striped_rows", s_},
          {"host_rows", host_rows()},
          {"disk_rows", disk_rows()},
          {"max_rows_per_gpu", r_ + (s_ + k_ - 1) / k_}};
}

std::string shared_tier_plan::describe() const {
  auto line = [&](const char* band, std::int64_t rows, const std::string& where) {
    char b[320];
    std::snprintf(b, sizeof b, "  %-10s %12lld rows  %10s  %5.1f%% of rows  %s\n", band, static_cast<long long>(rows),
                  format_bytes(static_cast<double>(rows) * static_cast<double>(row_bytes_)).c_str(),
                  n_ ? 100.0 * static_cast<double>(rows) / static_cast<double>(n_) : 0.0, where.c_str());
    return std::string(b);
  };
  const std::string k = std::to_string(k_);
  return line("replicated", r_, "ids [0, r) on each of the " + k + " GPUs") +
         line("striped", s_, "ids [r, r+s), row i on GPU i mod " + k + ", read peer-to-peer") +
         line("host", host_rows(), "ids [r+s, c), pinned host memory") + line("disk", disk_rows(), "ids [c, N)");
}

shared_tier_plan plan_shared_tier(const shared_tier_config& cfg, span<const double> scores) {
  check_config(cfg);
  if (!scores.empty()) {
    if (static_cast<std::int64_t>(scores.size()) != cfg.num_nodes)
      throw input_error("shared GPU tier: " + std::to_string(scores.size()) + " access scores for " +
                        std::to_string(cfg.num_nodes) + " nodes (give one per hot-first id, or none)");
    for (std::size_t i = 0; i < scores.size(); ++i)
      if (!(scores[i] >= 0.0) || !std::isfinite(scores[i]))
        throw input_error("shared GPU tier: access score " + std::to_string(scores[i]) + " of row " +
                          std::to_string(i) + " is negative or not finite");
  }
  const std::int64_t b = budget_rows_of(cfg);
  const std::int64_t r = best_replicated_rows(cfg, b, scores);
  const std::int64_t s = cfg.peer_to_peer && cfg.num_gpus > 1 ? striped_for(cfg.num_nodes, b, cfg.num_gpus, r) : 0;
  return shared_tier_plan(cfg, r, s);
}

std::uint64_t feature_budget_per_gpu(std::int64_t num_nodes, std::int64_t row_bytes, const budget& gpu_mem,
                                     std::uint64_t reserve_bytes) {
  if (row_bytes <= 0)
    throw input_error("feature rows of " + std::to_string(row_bytes) + " bytes: the row size must be positive");
  if (num_nodes < 0) throw input_error("negative node count " + std::to_string(num_nodes));
  budget none;
  const tier_plan p = size_tiers(num_nodes, row_bytes, gpu_mem, none, reserve_bytes);
  return static_cast<std::uint64_t>(p.gpu_rows) * static_cast<std::uint64_t>(row_bytes);
}

}  // namespace tg
