// `tiergnn prepare` and `tiergnn profile`: profile feature accesses, plan the tiers, renumber.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/commands.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/output_file.hpp"
#include "core/resources.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/progress.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiering/plan.hpp"
#include "tiering/prepare.hpp"

namespace tg::cli {

namespace {
std::string estimator_help() {
  std::string s = "Hotness estimator: ";
  for (const auto& n : estimator_names()) s += n + " ";
  return s + "(default " + kDefaultEstimator + ")";
}
}  // namespace

void register_prepare(CLI::App& app) {
  struct opts_t {
    std::string dir, out, fanouts = "15,10,5";
    prepare_config cfg;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c = app.add_subcommand(
      "prepare",
      "Profile which node features training will read, rank the nodes hottest first, size the GPU / host /\n"
      "disk tiers under the budgets, and write the renumbered dataset (order.npy: new -> old id; plan.json).\n"
      "Train it with `tiergnn train OUT`: it trains exactly as the original dataset would.");
  c->add_option("dataset", o->dir, "Dataset directory (with features and a training split)")->required();
  c->add_option("-o,--output", o->out, "Output directory for the prepared dataset")->required();
  c->add_option("--estimator", o->cfg.estimator, estimator_help())->capture_default_str();
  c->add_option("--gpu-mem", o->cfg.gpu_mem,
                "GPU budget: bytes (K/M/G/T suffixes; covers training's own memory too, the GPU tier gets the rest)\n"
                "or a share of the feature bytes for the GPU tier (10% or 0.1)")
      ->capture_default_str();
  c->add_option("--host-mem", o->cfg.host_mem,
                "Pinned host tier: bytes or a share of the feature bytes; the rest goes to disk")
      ->capture_default_str();
  c->add_option("--fanouts", o->fanouts, "Fanouts of the training that follows (as tiergnn train)")
      ->capture_default_str();
  c->add_option("--batch-size", o->cfg.batch_size, "Batch size of the training that follows")
      ->check(positive())
      ->capture_default_str();
  c->add_option("--seed", o->cfg.seed, "Seed of the training that follows (the oracle replays it)")
      ->capture_default_str();
  c->add_option("--epochs", o->cfg.run_epochs, "Epochs of the training that follows (oracle only)")
      ->capture_default_str();
  c->add_option("--max-batches", o->cfg.max_batches,
                "The training that follows runs only the first N batches of every epoch (train --max-batches; 0: all)")
      ->check(non_negative());
  c->add_option("--hidden", o->cfg.hidden, "Hidden width of the model (for the training reserve; gat: per head)")
      ->capture_default_str()
      ->check(positive());
  c->add_option("--model", o->cfg.model, "The model train will train, for the training reserve: sage, gcn or gat")
      ->capture_default_str()
      ->check(CLI::IsMember({"sage", "gcn", "gat"}));
  c->add_option("--heads", o->cfg.heads, "gat: attention heads of the hidden layers (as train --heads)")
      ->capture_default_str();
  c->add_option("--out-heads", o->cfg.out_heads, "gat: attention heads of the last layer (as train --out-heads)")
      ->capture_default_str();
  c->add_option("--shards", o->cfg.shards,
                "Split the features across K machines (2..4096): shards/features-M-of-K.npy, one per machine,\n"
                "hot rows dealt round-robin; train with K ranks (launch -n K / mpirun -np K), rank m holding\n"
                "shard m. The budgets above are then each machine's.");
  c->add_option("--replicate", o->cfg.replicate,
                "With --shards: bytes each machine may spend on copies of the other machines' hottest rows\n"
                "(held as float32; or a share of all feature rows as float32, e.g. 5%)")
      ->capture_default_str();
  add_force_flag(*c, &o->cfg.overwrite);
  c->callback([o, c] {
    if (o->cfg.model != "gat")  // given for another model, they would change nothing: say so
      for (const char* gat_only : {"--heads", "--out-heads"})
        if (c->count(gat_only) > 0)
          throw input_error(std::string(gat_only) + " applies to --model gat only (this plan is for " + o->cfg.model +
                            ")");
    if (c->count("--shards") > 0 && o->cfg.shards == 0)  // 0 means "not sharded" inside, not on the command line
      throw input_error("--shards 0: give 2 to 4096 machines (or leave it out)");
    o->cfg.fanouts = parse_fanouts(o->fanouts);
    const dataset d = open_dataset(o->dir);
    const auto t0 = std::chrono::steady_clock::now();
    const prepare_report r = prepare_dataset(d, o->cfg, o->out);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log_info("estimator ", o->cfg.estimator, ": ", r.profile_seconds, " s, ", r.edge_passes,
             " edge passes; renumbering ", r.write_seconds, " s");
    if (r.shard_plans.empty())
      log_info("tiers (GPU budget ", r.plan.gpu_budget, ", host ", r.plan.host_budget, ", training reserve ",
               format_bytes(static_cast<double>(r.plan.reserve_bytes)), "):\n", describe(r.plan),
               "  predicted hit rate: GPU tier ", percent_text(r.predicted_gpu_hit_rate), "%, GPU + host tiers ",
               percent_text(r.predicted_memory_hit_rate), "%");
    else
      log_info("features sharded across ", r.shard_plans.size(), " machines, each tiered under GPU budget ",
               r.plan.gpu_budget, ", host ", r.plan.host_budget, " (training reserve ",
               format_bytes(static_cast<double>(r.plan.reserve_bytes)),
               "); replicas of other shards' rows: ", o->cfg.replicate, " per machine");
    for (std::size_t m = 0; m < r.shard_plans.size(); ++m)
      log_info("  shard ", m, " of ", r.shard_plans.size(), ": ", r.shard_plans[m].num_nodes, " rows, GPU tier ",
               r.shard_plans[m].gpu_rows, ", host tier ", r.shard_plans[m].host_rows, ", disk ",
               r.shard_plans[m].disk_rows(), "  (shards/features-", m, "-of-", r.shard_plans.size(), ".npy)");
    print_written(o->out, secs);
  });
}

}  // namespace tg::cli

namespace tg::cli {

void register_profile(CLI::App& app) {
  struct opts_t {
    std::string dir, out, fanouts = "15,10,5", estimator = kDefaultEstimator;
    profile_config cfg;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c = app.add_subcommand(
      "profile",
      "Run one access estimator for the configured training and report its cost and how concentrated the\n"
      "predicted reads are; -o saves the per-node scores (for the sampling estimators and the oracle: expected batches "
      "per epoch\n"
      "reading each node; for degree, wrpr and vip: their own hotness scale, only the ranking counts).");
  c->add_option("dataset", o->dir, "Dataset directory (with a training split)")->required();
  c->add_option("--estimator", o->estimator, estimator_help())->capture_default_str();
  c->add_option("--fanouts", o->fanouts, "Fanouts of the training")->capture_default_str();
  c->add_option("--batch-size", o->cfg.batch_size, "Batch size of the training")
      ->check(positive())
      ->capture_default_str();
  c->add_option("--seed", o->cfg.seed, "Seed of the training")->capture_default_str();
  c->add_option("--epochs", o->cfg.run_epochs, "Epochs of the training (oracle)")->capture_default_str();
  c->add_option("--max-batches", o->cfg.max_batches,
                "The training runs only the first N batches of every epoch (train --max-batches; 0: all)")
      ->check(non_negative());
  c->add_option("-o,--output", o->out, "Write the scores as a float64 .npy file")->check(named_path());
  c->callback([o] {
    o->cfg.fanouts = parse_fanouts(o->fanouts);
    if (!o->out.empty()) check_output_file(o->out, "-o", {o->dir}, "", "scores");
    const dataset d = open_dataset(o->dir);
    if (!d.has("train_idx.npy"))
      throw input_error(at_input(d.dir(), "has no training split (train_idx.npy) to profile"));
    o->cfg.train_ids = d.get("train_idx.npy").to_int64();
    if (o->cfg.train_ids.empty())
      throw input_error(at_input(d.dir(), "has an empty training split: there are no reads to profile"));
    // The scores' file (8 bytes a node and a header) must fit before the profile runs, not after.
    if (!o->out.empty())
      expect_disk_space(parent_dir(o->out), 8 * static_cast<std::uint64_t>(d.num_nodes()) + 128, o->out,
                        "the scores file");
    const profile_result r = profile(d, o->cfg, o->estimator);
    const std::vector<std::int64_t> order = rank_nodes(r.score);
    std::printf("estimator     %s\ncost          %.3f s, %.2f edge passes\n", o->estimator.c_str(), r.seconds,
                r.edge_passes);
    const std::vector<double> shares{0.01, 0.05, 0.10, 0.20, 0.40};
    std::vector<std::int64_t> ks;
    // At least one node (a graph under 100 nodes has no "top 1%" otherwise), and the count shown.
    for (double share : shares)
      ks.push_back(std::max<std::int64_t>(1, static_cast<std::int64_t>(share * static_cast<double>(d.num_nodes()))));
    const std::vector<double> held = predicted_hit_rates(r.score, order, ks);  // one pass for all five
    for (std::size_t j = 0; j < shares.size(); ++j)
      std::printf("top %2.0f%% nodes hold %5s%% of the predicted reads (%s)\n", shares[j] * 100,
                  percent_text(held[j]).c_str(), count_text(std::min(ks[j], d.num_nodes()), "node").c_str());
    if (!o->out.empty()) {
      write_output_file(o->out, [&](const std::string& tmp) {
        write_npy(tmp, dtype::float64, {static_cast<std::int64_t>(r.score.size())}, r.score.data());
      });
    }
  });
}

}  // namespace tg::cli
