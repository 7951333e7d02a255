#include "tiering/prepare.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "core/log.hpp"
#include "tiering/budget.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/renumber.hpp"

namespace tg {

prepare_report prepare_dataset(const dataset& src, const prepare_config& cfg, const std::string& out_dir) {
  const auto& m = src.meta();
  if (!m.has_features())
    throw input_error(at_input(src.dir(), "has no node features to place in tiers (features.npy)"));
  if (!src.has("train_idx.npy") || src.get("train_idx.npy").count() == 0)
    throw input_error(
        at_input(src.dir(), "has no training split (train_idx.npy): the profile needs the training nodes"));
  if (plan_file::present(src))
    throw input_error(at_input(src.dir(), "is already a prepared dataset; prepare the original dataset instead"));
  const std::int64_t row_bytes = m.feature_dim * static_cast<std::int64_t>(dtype_size(m.feature_dtype));
  // Everything the user can get wrong is checked before the profile runs.
  const budget gpu = parse_budget(cfg.gpu_mem, "--gpu-mem");
  const budget host = parse_budget(cfg.host_mem, "--host-mem");
  const reserve_estimate reserve = estimate_reserve(m.num_nodes, m.feature_dim, row_bytes, cfg.fanouts, cfg.batch_size,
                                                    cfg.hidden, std::max<std::int64_t>(m.num_classes, 2));
  tier_plan plan = size_tiers(m.num_nodes, row_bytes, gpu, host, reserve.total());
  const auto names = estimator_names();
  const std::string base = cfg.estimator.substr(0, cfg.estimator.find(':'));
  if (std::none_of(names.begin(), names.end(),
                   [&](const std::string& n) { return n.substr(0, n.find(':')) == base; })) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw input_error("--estimator '" + cfg.estimator + "' is unknown; choose one of: " + list);
  }
  {
    // Fail before profiling when the output cannot be written.
    dataset_writer probe(out_dir, cfg.overwrite);
  }

  prepare_report rep;
  profile_config pc;
  pc.train_ids = src.get("train_idx.npy").to_int64();
  pc.fanouts = cfg.fanouts;
  pc.batch_size = cfg.batch_size;
  pc.seed = cfg.seed;
  pc.run_epochs = cfg.run_epochs;
  pc.max_batches = cfg.max_batches;
  log_info("profiling ", m.name, " with estimator ", cfg.estimator, " (", pc.train_ids.size(),
           " training nodes, fanouts ", nlohmann::json(cfg.fanouts).dump(), ", batch ", cfg.batch_size, ")");
  const profile_result prof = profile(src, pc, cfg.estimator);
  rep.profile_seconds = prof.seconds;
  rep.edge_passes = prof.edge_passes;
  const std::vector<std::int64_t> order = rank_nodes(prof.score);
  // Predicted GPU hit rate when the first k rows are cached, at 1001 points.
  std::vector<double> curve(1001, 0.0);
  {
    double total = 0;
    for (double x : prof.score) total += x;
    double acc = 0;
    std::size_t next = 1;
    const auto n = static_cast<double>(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      acc += prof.score[order[i]];
      while (next < curve.size() && static_cast<double>(i + 1) >= n * static_cast<double>(next) / 1000.0) {
        curve[next] = total > 0 ? acc / total : 0.0;
        ++next;
      }
    }
    for (; next < curve.size(); ++next) curve[next] = 1.0;
  }
  plan.estimator = cfg.estimator;
  rep.predicted_gpu_hit_rate = predicted_hit_rate(prof.score, order, plan.g());
  rep.predicted_memory_hit_rate = predicted_hit_rate(prof.score, order, plan.c());

  const auto t0 = std::chrono::steady_clock::now();
  dataset_writer w(out_dir, cfg.overwrite, {src.dir()});
  {
    std::uint64_t bytes = 0;
    for (const auto& [file, info] : src.meta().arrays) bytes += info.bytes;
    w.expect_space(bytes + 8 * static_cast<std::uint64_t>(src.num_nodes()), "the prepared copy of " + src.dir());
  }
  write_renumbered(src, order, w);
  w.meta().source = {{"prepared_from", std::filesystem::absolute(src.dir()).lexically_normal().string()},
                     {"estimator", cfg.estimator},
                     {"source", m.source}};
  const nlohmann::json training = {{"fanouts", cfg.fanouts}, {"batch_size", cfg.batch_size},
                                   {"seed", cfg.seed},       {"run_epochs", cfg.run_epochs},
                                   {"hidden", cfg.hidden},   {"train_nodes", pc.train_ids.size()}};
  const nlohmann::json est = {{"name", cfg.estimator},
                              {"seconds", prof.seconds},
                              {"edge_passes", prof.edge_passes},
                              {"details", prof.details},
                              {"predicted_gpu_hit_rate", rep.predicted_gpu_hit_rate},
                              {"predicted_memory_hit_rate", rep.predicted_memory_hit_rate}};
  write_plan_file(w.path("plan.json"), plan, curve, est, training, src, file_crc32(w.path("order.npy")),
                  file_crc32(w.path("features.npy")));
  rep.out_dir = w.commit();
  rep.write_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rep.plan = plan;
  return rep;
}

}  // namespace tg
