#include "tiering/prepare.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <tuple>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "tiering/budget.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/renumber.hpp"
#include "tiering/shard_layout.hpp"

namespace tg {

prepare_report prepare_dataset(const dataset& src, const prepare_config& cfg, const std::string& out_dir) {
  const auto& m = src.meta();
  if (!m.has_features())
    throw input_error(at_input(src.dir(), "has no node features to place in tiers (features.npy)"));
  if (!src.has("train_idx.npy") || src.get("train_idx.npy").count() == 0)
    throw input_error(at_input(
        src.dir(), std::string(src.has("train_idx.npy") ? "has an empty training split" : "has no training split") +
                       " (train_idx.npy): the profile needs the training nodes"));
  if (plan_file::present(src))
    throw input_error(at_input(src.dir(), "is already a prepared dataset; prepare the original dataset instead"));
  const std::int64_t row_bytes = m.feature_dim * static_cast<std::int64_t>(dtype_size(m.feature_dtype));
  // Everything the user can get wrong is checked before the profile runs.
  if (cfg.run_epochs < 1)
    throw input_error("--epochs " + std::to_string(cfg.run_epochs) +
                      ": the training that follows runs at least one epoch");
  if (cfg.hidden <= 0)
    throw input_error("--hidden " + std::to_string(cfg.hidden) + ": the model's hidden width must be positive");
  if (cfg.model != "sage" && cfg.model != "gcn" && cfg.model != "gat")
    throw input_error("--model '" + cfg.model + "': choose sage, gcn or gat (the model train will train)");
  const bool gat = cfg.model == "gat";
  if (cfg.heads < 1 || cfg.heads > 1024 || cfg.out_heads < 1 || cfg.out_heads > 1024)
    throw input_error("--heads " + std::to_string(cfg.heads) + " / --out-heads " + std::to_string(cfg.out_heads) +
                      ": GAT's attention heads must lie in [1, 1024]");
  const budget gpu = parse_budget(cfg.gpu_mem, "--gpu-mem");
  const budget host = parse_budget(cfg.host_mem, "--host-mem");
  // The reserve of the model train will train (sized as train sizes it).
  const reserve_model shape = reserve_model_of(cfg.model, cfg.hidden, cfg.heads, cfg.out_heads);
  const reserve_estimate reserve =
      estimate_reserve(m.num_nodes, m.feature_dim, row_bytes, cfg.fanouts, cfg.batch_size, shape.width,
                       std::max<std::int64_t>(m.num_classes, 2), shape.attention_heads);
  if (cfg.shards < 0 || cfg.shards == 1 || cfg.shards > 4096)
    throw input_error("--shards " + std::to_string(cfg.shards) + ": give 2 to 4096 machines (or leave it out)");
  if (cfg.shards > m.num_nodes)
    throw input_error("--shards " + std::to_string(cfg.shards) + ": the dataset has only " +
                      std::to_string(m.num_nodes) + " nodes");
  const std::uint64_t replicate_bytes = replica_budget_bytes(cfg.replicate, m.num_nodes, m.feature_dim);
  if (cfg.shards == 0 && cfg.replicate != "0")
    throw input_error("--replicate " + cfg.replicate +
                      " needs --shards: it is what each machine holds of the others' rows");
  const shard_layout layout{m.num_nodes, std::max(cfg.shards, 1)};
  // Sharded: every machine's tiers are sized for its own shard under the same budgets.
  std::vector<tier_plan> shard_plans;
  // A GPU rank also holds its feature exchange's buffers beside the tier.
  const std::uint64_t exchange = sharded_exchange_bytes(reserve.input_rows, m.feature_dim, cfg.shards);
  if (cfg.shards > 0) check_gpu_budget_for_exchange(gpu, reserve.total(), exchange, cfg.shards, "--gpu-mem");
  for (int s = 0; s < cfg.shards; ++s)
    shard_plans.push_back(size_tiers(layout.size(s), row_bytes, gpu, host, reserve.total() + exchange));
  tier_plan plan = size_tiers(m.num_nodes, row_bytes, gpu, host, reserve.total());
  if (cfg.shards > 0) {
    plan.gpu_rows = plan.host_rows = 0;
    for (const auto& sp : shard_plans) {
      plan.gpu_rows += sp.gpu_rows;
      plan.host_rows += sp.host_rows;
    }
  }
  const auto names = estimator_names();
  const std::string base = cfg.estimator.substr(0, cfg.estimator.find(':'));
  if (std::none_of(names.begin(), names.end(),
                   [&](const std::string& n) { return n.substr(0, n.find(':')) == base; })) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw input_error("--estimator '" + cfg.estimator + "' is unknown; choose one of: " + list);
  }
  {
    // Fail before profiling when the output cannot be written (or would replace the input).
    dataset_writer probe(out_dir, cfg.overwrite, {src.dir()});
  }

  prepare_report rep;
  profile_config pc;
  pc.train_ids = src.get("train_idx.npy").to_int64();
  pc.fanouts = cfg.fanouts;
  pc.batch_size = cfg.batch_size;
  pc.seed = cfg.seed;
  pc.run_epochs = cfg.run_epochs;
  pc.max_batches = cfg.max_batches;
  log_info("profiling ", printable_text(m.name), " with estimator ", cfg.estimator, " (",
           count_text(static_cast<long long>(pc.train_ids.size()), "training node"), ", fanouts ",
           nlohmann::json(cfg.fanouts).dump(), ", batch ", cfg.batch_size, ")");
  const profile_result prof = profile(src, pc, cfg.estimator);
  rep.profile_seconds = prof.seconds;
  rep.edge_passes = prof.edge_passes;
  const std::vector<std::int64_t> hot_order = rank_nodes(prof.score);
  // Sharded: the hot order dealt round-robin, so every shard is hot-first and as hot as the others.
  const std::vector<std::int64_t> order = cfg.shards > 0 ? layout.deal(hot_order) : hot_order;
  // Predicted GPU hit rate when the first k rows are cached, at 1001 points.
  std::vector<double> curve(1001, 0.0);
  {
    double total = 0;
    for (double x : prof.score) total += x;
    double acc = 0;
    std::size_t next = 1;
    const auto n = static_cast<double>(hot_order.size());
    for (std::size_t i = 0; i < hot_order.size(); ++i) {
      acc += prof.score[hot_order[i]];
      while (next < curve.size() && static_cast<double>(i + 1) >= n * static_cast<double>(next) / 1000.0) {
        curve[next] = total > 0 ? std::min(1.0, acc / total) : 0.0;  // sums in two orders: rounding
        ++next;
      }
    }
    for (; next < curve.size(); ++next) curve[next] = 1.0;
  }
  plan.estimator = cfg.estimator;
  // (Sharded: the GPU tiers of all machines together hold the hottest plan.g() rows, near enough.)
  const std::vector<double> rates = predicted_hit_rates(prof.score, hot_order, {plan.g(), plan.c()});
  rep.predicted_gpu_hit_rate = rates[0];
  rep.predicted_memory_hit_rate = rates[1];

  const auto t0 = std::chrono::steady_clock::now();
  dataset_writer w(out_dir, cfg.overwrite, {src.dir()});
  {
    std::uint64_t bytes = 0;
    for (const auto& [file, info] : src.meta().arrays) bytes += info.bytes;
    w.expect_space(bytes + 8 * static_cast<std::uint64_t>(src.num_nodes()), "the prepared copy of " + src.dir());
  }
  std::vector<std::int64_t> bounds;
  for (int s = 0; s <= cfg.shards && cfg.shards > 0; ++s)
    bounds.push_back(s < cfg.shards ? layout.begin(s) : m.num_nodes);
  write_renumbered(src, order, w, bounds);
  w.meta().source = {{"prepared_from", std::filesystem::absolute(src.dir()).lexically_normal().string()},
                     {"estimator", cfg.estimator},
                     {"source", m.source}};
  nlohmann::json training = {{"fanouts", cfg.fanouts},
                             {"batch_size", cfg.batch_size},
                             {"seed", cfg.seed},
                             {"run_epochs", cfg.run_epochs},
                             {"hidden", cfg.hidden},
                             {"train_nodes", pc.train_ids.size()},
                             {"max_batches", cfg.max_batches},
                             {"model", cfg.model}};
  if (gat) {
    training["heads"] = cfg.heads;
    training["out_heads"] = cfg.out_heads;
  }
  // No wall time here: the same inputs and options give the same plan.json, byte for byte (the
  // profiler's time is in prepare's output).
  const nlohmann::json est = {{"name", cfg.estimator},
                              {"edge_passes", prof.edge_passes},
                              {"details", prof.details},
                              {"predicted_gpu_hit_rate", rep.predicted_gpu_hit_rate},
                              {"predicted_memory_hit_rate", rep.predicted_memory_hit_rate}};
  nlohmann::json sharding;
  if (cfg.shards > 0) {
    sharding = {{"replicate", {{"budget", cfg.replicate}, {"bytes", replicate_bytes}}},
                {"shards", nlohmann::json::array()}};
    for (int s = 0; s < cfg.shards; ++s) {
      shard_info si;
      si.file = shard_file_name(s, cfg.shards);
      si.begin = layout.begin(s);
      si.end = layout.end(s);
      si.gpu_rows = shard_plans[static_cast<std::size_t>(s)].gpu_rows;
      si.host_rows = shard_plans[static_cast<std::size_t>(s)].host_rows;
      si.bytes = std::filesystem::file_size(w.path(si.file));
      si.crc32 = file_crc32(w.path(si.file));
      std::tie(si.head_crc32, si.tail_crc32) = shard_fingerprint(w.path(si.file));
      sharding["shards"].push_back(to_json(si));
    }
  }
  write_plan_file(w.path("plan.json"), plan, curve, est, training, src, file_crc32(w.path("order.npy")),
                  cfg.shards > 0 ? -1 : static_cast<std::int64_t>(file_crc32(w.path("features.npy"))), sharding,
                  cfg.shards > 0 ? std::pair<std::int64_t, std::int64_t>{-1, -1}
                                 : std::pair<std::int64_t, std::int64_t>(shard_fingerprint(w.path("features.npy"))));
  try {
    rep.out_dir = w.commit();
  } catch (const nonfinite_error& e) {
    // Found in the renumbered output: name the source's file and row (order: new id -> old id).
    const bool known = e.row >= 0 && e.row < static_cast<std::int64_t>(order.size());
    throw input_error(at_input(src.dir() + "/features.npy",
                               "non-finite value at row " +
                                   (known ? std::to_string(order[static_cast<std::size_t>(e.row)]) : std::string("?")) +
                                   ", column " + std::to_string(e.column) + " (`tiergnn info --check " + src.dir() +
                                   "` lists the dataset's problems)"));
  }
  rep.write_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rep.plan = plan;
  rep.shard_plans = shard_plans;
  return rep;
}

}  // namespace tg
