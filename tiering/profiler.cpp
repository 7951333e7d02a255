// Access profiler front end (DESIGN.md §4): parses the estimator spec, validates the training
// configuration once for every estimator, runs the estimator (tiering/estimators/*.cpp) and records
// its wall time and edge passes. The estimators and the papers they follow are described in
// tiering/profiler.hpp and at the top of each estimator's file.
#include "tiering/profiler.hpp"

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "sampler/sampling_math.hpp"
#include "tiering/estimators/estimators.hpp"

namespace tg {

std::vector<std::string> estimator_names() {
  return {"degree", "wrpr", "vip", "presample:K", "cvip", "cvip:K", "hybrid", "hybrid:B", "oracle"};
}

namespace {

std::string valid_names() {
  std::string s;
  for (const auto& n : estimator_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

[[noreturn]] void bad_spec(const std::string& spec, const std::string& why) {
  throw input_error(
      "estimator '" + spec + "': " + why + " (valid: " + valid_names() +
      "; K = epochs, a positive number, e.g. 2 or 0.25 (cvip: default 1); B = sampled edges in passes over "
      "the graph, default 1)");
}

// A positive number in plain decimal ("2", "0.25").
double parse_positive(const std::string& spec, const std::string& text) {
  const bool plain = !text.empty() && text.size() <= 12 && std::count(text.begin(), text.end(), '.') <= 1 &&
                     std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
                     text != ".";
  if (!plain) bad_spec(spec, "'" + text + "' is not a positive number written in plain decimal (such as 2 or 0.25)");
  const double k = std::stod(text);
  if (!(k > 0)) bad_spec(spec, "the parameter must be positive");
  // The work grows with the parameter (K presampling epochs, B passes over the edges): presample:160
  // is the ceiling bench traffic compares against; a mistyped 100000 would run for hours.
  constexpr double kMaxParam = 10000;
  if (k > kMaxParam) bad_spec(spec, "the parameter is at most 10000 (each unit costs about one presampling epoch)");
  return k;
}

void validate(const dataset& d, const profile_config& cfg) {
  const std::int64_t n = d.num_nodes();
  TG_CHECK_INPUT(cfg.batch_size > 0, "--batch-size must be positive, got ", cfg.batch_size);
  TG_CHECK_INPUT(cfg.max_batches >= 0, "--max-batches must be 0 (all) or positive, got ", cfg.max_batches);
  TG_CHECK_INPUT(!cfg.fanouts.empty(), "--fanouts: at least one layer is needed");
  for (auto f : cfg.fanouts)
    TG_CHECK_INPUT(f == -1 || (f > 0 && f <= kMaxFanout), "--fanouts: fanout ", f,
                   " is invalid: use a positive count up to ", kMaxFanout, ", or -1 for all neighbours");
  std::vector<std::int64_t> ids = cfg.train_ids;
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    TG_CHECK_INPUT(ids[i] >= 0 && ids[i] < n, "profile: training node ", ids[i], " is outside [0, ", n, ") of dataset ",
                   d.dir());
    TG_CHECK_INPUT(i == 0 || ids[i] != ids[i - 1], "profile: training node ", ids[i], " is listed twice");
  }
}

struct estimator_spec {
  std::string name;
  bool has_param = false;
  double param_value = 0;
};

estimator_spec parse_spec(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const bool has_param = colon != std::string::npos;
  const std::string param = has_param ? spec.substr(colon + 1) : "";
  const bool known = name == "degree" || name == "wrpr" || name == "vip" || name == "oracle" || name == "presample" ||
                     name == "cvip" || name == "hybrid";
  if (!known) bad_spec(spec, "unknown estimator");
  if (name == "presample" && !has_param) bad_spec(spec, "presample needs a number of epochs, e.g. presample:2");
  if (name != "presample" && name != "cvip" && name != "hybrid" && has_param)
    bad_spec(spec, name + " takes no parameter");
  const double param_value = has_param        ? parse_positive(spec, param)
                             : name == "cvip" ? 1.0
                                              : estimators::kHybridDefaultPasses;
  return {name, has_param, param_value};
}

}  // namespace

void check_profile_config(const dataset& d, const profile_config& cfg) {
  validate(d, cfg);
}

std::string canonical_estimator_spec(const std::string& spec) {
  const estimator_spec e = parse_spec(spec);
  if (e.name != "presample" && e.name != "cvip" && e.name != "hybrid") return e.name;
  char b[64];
  std::snprintf(b, sizeof b, "%s:%.17g", e.name.c_str(), e.param_value);
  return b;
}

void check_estimator_spec(const std::string& spec) {
  (void)parse_spec(spec);
}

profile_result profile(const dataset& d, const profile_config& cfg, const std::string& spec) {
  const auto [name, has_param, param_value] = parse_spec(spec);
  // A prepared dataset trains exactly as the one it was prepared from (its batches and draws are
  // keyed by the original ids): profiling its renumbered ids would score a run nobody makes.
  if (d.has("order.npy")) {
    const std::string from =
        d.meta().source.is_object() ? d.meta().source.value("prepared_from", std::string()) : std::string();
    throw input_error(at_input(d.dir(), "is a prepared (renumbered) dataset: profile the dataset it was prepared from" +
                                            (from.empty() ? std::string() : " (" + from + ")") +
                                            ", whose ids the training run's samples are keyed by"));
  }
  validate(d, cfg);
  // Only the oracle replays the epochs, but a run of no epochs is a mistake whatever the estimator
  // (prepare refuses it too).
  TG_CHECK_INPUT(cfg.run_epochs >= 1, "--epochs must be at least 1 (the training's epochs), got ", cfg.run_epochs);

  estimators::graph_ref g;
  g.num_nodes = d.num_nodes();
  g.indptr = d.indptr().as<std::int64_t>().data();
  g.indices = d.indices().raw();
  g.index_type = d.indices().type();
  g.symmetric = !d.meta().directed;
  TG_CHECK_INPUT(g.index_type == dtype::int32 || g.index_type == dtype::int64, d.dir(),
                 ": indices.npy must be int32 or int64");

  const auto t0 = std::chrono::steady_clock::now();
  estimators::estimate e;
  if (name == "degree")
    e = estimators::estimate_degree(g);
  else if (name == "wrpr")
    e = estimators::estimate_wrpr(g, cfg);
  else if (name == "vip")
    e = estimators::estimate_vip(g, cfg);
  else if (name == "presample")
    e = estimators::estimate_presample(g, cfg, param_value);
  else if (name == "cvip")
    e = estimators::estimate_cvip(g, cfg, param_value);
  else if (name == "hybrid")
    e = estimators::estimate_hybrid(g, cfg, param_value);
  else
    e = estimators::estimate_oracle(g, cfg);

  // Every estimator keeps its scores finite (wrpr rescales); a score that is not would rank nothing
  // and make every predicted hit rate NaN: refused here, before a plan is written from it.
  const auto bad = std::find_if(e.score.begin(), e.score.end(), [](double x) { return !std::isfinite(x) || x < 0; });
  if (bad != e.score.end())
    throw logic_error("estimator " + spec + " gave node " + std::to_string(bad - e.score.begin()) + " the score " +
                      std::to_string(*bad) + ": not a finite, non-negative number (please report this)");
  profile_result r;
  r.estimator = spec;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.score = std::move(e.score);
  r.edge_passes = e.edge_passes;
  r.details = std::move(e.details);
  return r;
}

}  // namespace tg
