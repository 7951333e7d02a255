#include "tiering/traffic_bench.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "tiering/plan.hpp"
#include "tiering/profiler.hpp"

namespace tg {

namespace {
// Runs an estimator. A run under a second is timed again and the fastest time kept (profiles are
// deterministic, so the scores do not change; a shared machine's noise only adds): three runs in
// all, and up to 15 while they add up to under half a second, since timings of a few milliseconds
// vary by tens of percent from run to run. This steadies the cost column.
profile_result timed_profile(const dataset& d, const profile_config& pc, const std::string& name) {
  profile_result best = profile(d, pc, name);
  double spent = best.seconds;
  for (int runs = 1; best.seconds < 1.0 && (runs < 3 || (runs < 15 && spent < 0.5)); ++runs) {
    profile_result again = profile(d, pc, name);
    spent += again.seconds;
    if (again.seconds < best.seconds) best.seconds = again.seconds;
  }
  return best;
}

// The training set of the bench, and in *words how it was chosen.
std::vector<std::int64_t> training_ids(const dataset& d, const traffic_bench_config& cfg, std::string* words) {
  char b[160];
  if (cfg.contiguous_train) {
    if (!(cfg.range_begin >= 0 && cfg.range_begin < cfg.range_end && cfg.range_end <= 1))
      throw input_error("--train-range must be START:END with 0 <= START < END <= 1, got " +
                        number_text(cfg.range_begin) + ":" + number_text(cfg.range_end));
    const auto n = static_cast<double>(d.num_nodes());
    const auto lo = static_cast<std::int64_t>(std::floor(cfg.range_begin * n));
    const auto hi = std::min(d.num_nodes(), static_cast<std::int64_t>(std::floor(cfg.range_end * n)));
    if (hi <= lo)
      throw input_error("--train-range " + number_text(cfg.range_begin) + ":" + number_text(cfg.range_end) +
                        " holds no node of " + d.dir() + " (" + std::to_string(d.num_nodes()) + " nodes)");
    std::vector<std::int64_t> ids(static_cast<std::size_t>(hi - lo));
    std::iota(ids.begin(), ids.end(), lo);
    std::snprintf(b, sizeof b, "contiguous ids [%.4g N, %.4g N)", cfg.range_begin, cfg.range_end);
    *words = b;
    return ids;
  }
  if (!cfg.random_train && d.has("train_idx.npy")) {
    // An empty split is refused as profile and train refuse it, not replaced by a random 10% unasked.
    if (d.get("train_idx.npy").count() == 0)
      throw input_error(at_input(d.dir(),
                                 "has an empty training split (train_idx.npy): there are no reads to "
                                 "measure; pass --random-train-set or --train-range to bench another set"));
    *words = "the dataset's split";
    return d.get("train_idx.npy").to_int64();
  }
  if (!(cfg.train_fraction > 0 && cfg.train_fraction <= 1))
    throw input_error("--train-fraction must lie in (0, 1], got " + number_text(cfg.train_fraction));
  // A seeded random subset: every node whose key falls below the fraction.
  std::snprintf(b, sizeof b, "random %.4g%% (split seed %llu)", 100 * cfg.train_fraction,
                static_cast<unsigned long long>(cfg.split_seed));
  *words = b;
  const counter_rng rng(cfg.split_seed, stream_id(0x7472616eull /* "tran" */));
  std::vector<std::int64_t> ids;
  for (std::int64_t v = 0; v < d.num_nodes(); ++v)
    if (rng.uniform(static_cast<std::uint64_t>(v)) < cfg.train_fraction) ids.push_back(v);
  return ids;
}

// Hit rate of caching the first k nodes of each ranking, against the oracle counts.
double hit_rate(const std::vector<double>& oracle, const std::vector<std::int64_t>& order, std::int64_t k,
                double total) {
  double hit = 0;
  for (std::int64_t i = 0; i < k; ++i) hit += oracle[order[i]];
  return total > 0 ? hit / total : 0.0;
}
}  // namespace

traffic_bench_result run_traffic_bench(const dataset& d, const traffic_bench_config& cfg_in) {
  traffic_bench_config cfg = cfg_in;
  if (d.has("order.npy"))
    throw input_error(at_input(d.dir(),
                               "is a prepared (renumbered) dataset: run bench traffic on the dataset it was "
                               "prepared from, whose ids the run's samples are keyed by"));
  if (cfg.estimators.empty()) {
    // Every estimator once, parameterised ones with a representative parameter: presample:K as
    // presample:4; cvip:K and hybrid:B are cvip and hybrid with another budget, and those are in the
    // list already.
    for (const auto& n : estimator_names()) {
      const std::size_t colon = n.find(':');
      if (n == "oracle") continue;
      if (colon == std::string::npos)
        cfg.estimators.push_back(n);
      else if (n == "presample:K")
        cfg.estimators.push_back(n.substr(0, colon) + ":4");
    }
  }
  for (const auto& e : cfg.estimators) check_estimator_spec(e);  // a typo is named before the oracle's replay
  {  // The oracle is always the first row; each estimator is measured and listed once, under its first
     // spelling ("cvip" and "cvip:1.0" are one estimator).
    std::vector<std::string> once, seen;
    for (const auto& e : cfg.estimators) {
      const std::string key = canonical_estimator_spec(e);
      if (key != "oracle" && std::find(seen.begin(), seen.end(), key) == seen.end()) {
        seen.push_back(key);
        once.push_back(e);
      }
    }
    cfg.estimators = once;
  }
  if (cfg.epochs < 1)
    throw input_error("--epochs must be at least 1 (the oracle replays the run's epochs), got " +
                      std::to_string(cfg.epochs));
  for (double r : cfg.ratios)
    if (!(r > 0 && r <= 1)) throw input_error("cache ratios must lie in (0, 1]; got " + std::to_string(r));
  traffic_bench_result res;
  res.dataset = printable_text(d.meta().name);
  res.config = cfg;
  res.num_nodes = d.num_nodes();
  res.row_bytes = cfg.row_bytes > 0 ? cfg.row_bytes
                  : d.meta().has_features()
                      ? d.meta().feature_dim * static_cast<std::int64_t>(dtype_size(d.meta().feature_dtype))
                      : 512;
  profile_config pc;
  pc.train_ids = training_ids(d, cfg, &res.train_set);
  pc.fanouts = cfg.fanouts;
  pc.batch_size = cfg.batch_size;
  pc.seed = cfg.seed;
  pc.run_epochs = cfg.epochs;
  pc.max_batches = cfg.max_batches;
  res.train_nodes = static_cast<std::int64_t>(pc.train_ids.size());
  if (res.train_nodes == 0)
    throw input_error(
        at_input(d.dir(), "the training set (" + res.train_set + ") holds no node: there are no reads to measure"));
  check_profile_config(d, pc);  // bad fanouts are named before the banner, not after it
  log_info("bench traffic on ", res.dataset, ": ", res.num_nodes, " nodes, ",
           count_text(res.train_nodes, "training node"), ", fanouts ", nlohmann::json(cfg.fanouts).dump(), ", batch ",
           cfg.batch_size, ", ", count_text(cfg.epochs, "epoch"),
           cfg.max_batches > 0 ? " of their first " + std::to_string(cfg.max_batches) + " batches" : std::string());
  const profile_result oracle = timed_profile(d, pc, "oracle");
  const double total = std::accumulate(oracle.score.begin(), oracle.score.end(), 0.0);
  res.reads_per_epoch = total;
  std::vector<std::string> names{"oracle"};
  names.insert(names.end(), cfg.estimators.begin(), cfg.estimators.end());
  for (const auto& name : names) {
    const profile_result p = name == "oracle" ? oracle : timed_profile(d, pc, name);
    if (name == "presample:1") res.presample_epoch_seconds = p.seconds;
    const std::vector<std::int64_t> order = rank_nodes(p.score);
    traffic_bench_row row;
    row.estimator = name;
    row.seconds = p.seconds;
    row.edge_passes = p.edge_passes;
    for (double r : cfg.ratios) {
      const auto k = static_cast<std::int64_t>(std::floor(r * static_cast<double>(res.num_nodes)));
      const double h = hit_rate(oracle.score, order, k, total);
      row.hit_rate.push_back(h);
      row.host_to_gpu_bytes.push_back((1.0 - h) * total * static_cast<double>(res.row_bytes));
    }
    res.rows.push_back(std::move(row));
    log_info("  ", name, " done in ", p.seconds, " s");
  }
  if (res.presample_epoch_seconds <= 0) res.presample_epoch_seconds = timed_profile(d, pc, "presample:1").seconds;
  for (auto& row : res.rows) {
    row.presample_epochs = res.presample_epoch_seconds > 0 ? row.seconds / res.presample_epoch_seconds : 0.0;
    for (std::size_t i = 0; i < cfg.ratios.size(); ++i)
      // A cache the oracle cannot use (0 rows, or no reads) is one every placement matches.
      row.of_oracle.push_back(res.rows[0].hit_rate[i] > 0 ? row.hit_rate[i] / res.rows[0].hit_rate[i] : 1.0);
  }
  return res;
}

nlohmann::json traffic_bench_result::to_json() const {
  nlohmann::json rows_j = nlohmann::json::array();
  for (const auto& r : rows)
    rows_j.push_back({{"estimator", r.estimator},
                      {"seconds", r.seconds},
                      {"edge_passes", r.edge_passes},
                      {"presample_epochs", r.presample_epochs},
                      {"hit_rate", r.hit_rate},
                      {"of_oracle", r.of_oracle},
                      {"host_to_gpu_bytes_per_epoch", r.host_to_gpu_bytes},
                      {"reduction_vs_no_cache", r.hit_rate}});
  return {{"dataset", dataset},
          {"num_nodes", num_nodes},
          {"train_nodes", train_nodes},
          {"row_bytes", row_bytes},
          {"train_set", train_set},
          {"presample_epoch_seconds", presample_epoch_seconds},
          {"fanouts", config.fanouts},
          {"batch_size", config.batch_size},
          {"epochs", config.epochs},
          {"seed", config.seed},
          {"max_batches", config.max_batches},
          {"ratios", config.ratios},
          {"no_cache_bytes_per_epoch", reads_per_epoch * static_cast<double>(row_bytes)},
          {"estimators", rows_j}};
}

std::string traffic_bench_result::table() const {
  std::ostringstream os;
  // Built as a string: a long dataset path does not cut the line short.
  os << dataset << ": " << count_text(num_nodes, "node") << ", " << count_text(train_nodes, "training node") << " ("
     << train_set << "), fanouts " << nlohmann::json(config.fanouts).dump() << ", batch " << config.batch_size << ", "
     << count_text(config.epochs, "epoch")
     << (config.max_batches > 0 ? " of their first " + std::to_string(config.max_batches) + " batches" : std::string())
     << "; no cache moves " << format_bytes(reads_per_epoch * static_cast<double>(row_bytes)) << " per epoch\n";
  char b[256];
  os << "GPU hit rate (share of feature reads served by the GPU tier = reduction of host->GPU bytes vs no cache),\n"
        "and in brackets as % of the oracle's:\n";
  std::snprintf(b, sizeof b, "%-16s", "cache ratio");
  os << b;
  for (double r : config.ratios) {
    std::snprintf(b, sizeof b, " %14s", (std::to_string(static_cast<int>(std::lround(r * 100))) + "%").c_str());
    os << b;
  }
  os << "   est. time   cost (presampling epochs)\n";
  for (const auto& row : rows) {
    std::snprintf(b, sizeof b, "%-16s", row.estimator.c_str());
    os << b;
    for (std::size_t i = 0; i < row.hit_rate.size(); ++i) {
      std::snprintf(b, sizeof b, "  %5.1f%% (%5.1f)", 100 * row.hit_rate[i], 100 * row.of_oracle[i]);
      os << b;
    }
    std::snprintf(b, sizeof b, "   %7.2f s   %6.2f\n", row.seconds, row.presample_epochs);
    os << b;
  }
  std::snprintf(b, sizeof b, "cost: estimator time / time of one presampling epoch (presample:1, %.3f s here)\n",
                presample_epoch_seconds);
  os << b;
  os << "host->GPU bytes per epoch:\n";
  for (const auto& row : rows) {
    std::snprintf(b, sizeof b, "%-16s", row.estimator.c_str());
    os << b;
    for (double x : row.host_to_gpu_bytes) {
      std::snprintf(b, sizeof b, " %14s", format_bytes(x).c_str());
      os << b;
    }
    os << "\n";
  }
  return os.str();
}

namespace {
// Text for an SVG document (a dataset's or an estimator's name): control characters and bytes that
// are not UTF-8 as \xNN (printable_text), and XML's markup characters as entities, so that the file
// stays well-formed whatever the name holds.
std::string xml_text(const std::string& t) {
  std::string utf8;
  for (std::size_t i = 0; i < t.size();) {
    const auto c = static_cast<unsigned char>(t[i]);
    const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= t.size() && (len == 1 || c >= 0xc2);
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(t[i + k]) >> 6) == 2;
    if (ok) {
      utf8.append(t, i, len);
      i += len;
    } else {
      const char* hex = "0123456789abcdef";
      utf8 += std::string("\\x") + hex[c >> 4] + hex[c & 15];
      ++i;
    }
  }
  std::string out;
  for (const char ch : printable_text(utf8)) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string cost_text(double epochs) {
  char b[32];
  std::snprintf(b, sizeof b, epochs < 10 ? "%.2f" : "%.0f", epochs);
  return b;
}
}  // namespace

std::string traffic_bench_result::svg() const {
  const double W = 780, H = 440, L = 70, R = 240, T = 40, B = 60;
  const double pw = W - L - R, ph = H - T - B;
  static const char* colors[] = {"#000000", "#1f77b4", "#ff7f0e", "#2ca02c",
                                 "#d62728", "#9467bd", "#8c564b", "#e377c2"};
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << L << "\" y=\"22\" font-size=\"14\">GPU hit rate vs cache size: " << xml_text(dataset)
     << ", fanouts " << nlohmann::json(config.fanouts).dump() << ", batch " << config.batch_size << "</text>\n";
  const std::size_t n = config.ratios.size();
  auto x_of = [&](std::size_t i) {
    return L + (n > 1 ? pw * static_cast<double>(i) / static_cast<double>(n - 1) : pw / 2);
  };
  auto y_of = [&](double h) { return T + ph * (1.0 - h); };
  for (int t = 0; t <= 10; t += 2) {
    const double y = y_of(t / 10.0);
    os << "<line x1=\"" << L << "\" y1=\"" << y << "\" x2=\"" << L + pw << "\" y2=\"" << y << "\" stroke=\"#ddd\"/>\n";
    os << "<text x=\"" << L - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << t * 10 << "%</text>\n";
  }
  for (std::size_t i = 0; i < n; ++i)
    os << "<text x=\"" << x_of(i) << "\" y=\"" << T + ph + 18 << "\" text-anchor=\"middle\">"
       << std::lround(config.ratios[i] * 100) << "%</text>\n";
  os << "<text x=\"" << L + pw / 2 << "\" y=\"" << H - 18
     << "\" text-anchor=\"middle\">GPU cache (share of feature bytes)</text>\n";
  os << "<text transform=\"translate(18," << T + ph / 2
     << ") rotate(-90)\" text-anchor=\"middle\">GPU hit rate</text>\n";
  os << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << pw << "\" height=\"" << ph
     << "\" fill=\"none\" stroke=\"#333\"/>\n";
  os << "<text x=\"" << L + pw + 15 << "\" y=\"" << T - 8 << "\">(cost in presampling epochs)</text>\n";
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const char* c = colors[k % 8];
    os << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\""
       << (k == 0 ? " stroke-dasharray=\"6,3\"" : "") << " points=\"";
    for (std::size_t i = 0; i < n; ++i) os << x_of(i) << "," << y_of(rows[k].hit_rate[i]) << " ";
    os << "\"/>\n";
    for (std::size_t i = 0; i < n; ++i)
      os << "<circle cx=\"" << x_of(i) << "\" cy=\"" << y_of(rows[k].hit_rate[i]) << "\" r=\"3\" fill=\"" << c
         << "\"/>\n";
    const double ly = T + 10 + 20.0 * static_cast<double>(k);
    os << "<line x1=\"" << L + pw + 15 << "\" y1=\"" << ly << "\" x2=\"" << L + pw + 40 << "\" y2=\"" << ly
       << "\" stroke=\"" << c << "\" stroke-width=\"2\"/>\n<text x=\"" << L + pw + 46 << "\" y=\"" << ly + 4 << "\">"
       << xml_text(rows[k].estimator) << " (" << cost_text(rows[k].presample_epochs) << ")</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace tg
