// `tiergnn train DATASET ...`: mini-batch GNN training (CPU backend), see train/trainer.hpp.
#include "cli/commands.hpp"

#include <chrono>
#include <memory>

#include "core/log.hpp"
#include "multigpu/communicator.hpp"
#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "train/trainer.hpp"

namespace tg::cli {

void register_train(CLI::App& app) {
  struct opts_t {
    std::string dir, fanouts = "15,10,5", device = "cpu";
    double comm_timeout = 120;
    std::string comm_engine = "auto";
    train_config cfg;
    int layers = 0;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c = app.add_subcommand(
      "train",
      "Train a GNN (GraphSAGE, GCN or GAT) with sampled mini-batches, validate every epoch and report the\n"
      "test metric (accuracy; ROC-AUC for binary labels).");
  c->add_option("dataset", o->dir, "Dataset directory (with features, labels and a training split)")->required();
  c->add_option("--model", o->cfg.model.kind,
                "sage (mean aggregator with root weight), gcn, or gat (graph attention: each destination\n"
                "attends over its sampled in-neighbours and itself; ELU between layers)")
      ->check(CLI::IsMember({"sage", "gcn", "gat"}))
      ->capture_default_str();
  c->add_option("--fanouts", o->fanouts,
                "Neighbours sampled per hop, from the seeds outwards (PyG order): 15,10,5 samples 15\n"
                "in-neighbours of each seed, 10 of each of those, 5 of each of those; -1 = all.\n"
                "One entry per layer.")
      ->capture_default_str();
  c->add_option("--layers", o->layers, "Number of layers (must match the number of fanouts; default: that number)")
      ->check(positive());
  c->add_option("--hidden", o->cfg.model.hidden, "Hidden width (gat: per head; a hidden layer is heads x hidden wide)")
      ->capture_default_str();
  c->add_option("--heads", o->cfg.model.heads, "gat: attention heads of the hidden layers (concatenated; 1 to 1024)")
      ->capture_default_str();
  c->add_option("--out-heads", o->cfg.model.out_heads, "gat: attention heads of the last layer (averaged; 1 to 1024)")
      ->capture_default_str();
  c->add_option("--attn-dropout", o->cfg.model.attention_dropout,
                "gat: dropout on the attention coefficients during training")
      ->capture_default_str();
  c->add_flag("--residual", o->cfg.model.residual,
              "gat: add a residual (root) term x_v W_res to each node's output, as PyG's GATConv(residual=True);\n"
              "heterophilous graphs need it");
  c->add_option("--dropout", o->cfg.model.dropout, "Dropout on hidden activations")->capture_default_str();
  c->add_option("--input-dropout", o->cfg.model.input_dropout, "Dropout on input features")->capture_default_str();
  c->add_option("--batch-size", o->cfg.batch_size, "Seed nodes per mini-batch")->capture_default_str();
  c->add_option("--epochs", o->cfg.epochs, "Epochs (0: evaluate the untrained model, a baseline)")
      ->capture_default_str();
  c->add_option("--max-batches", o->cfg.max_batches,
                "Train only the first N batches of every epoch (of the same shuffled order): bounds a run at scale\n"
                "or a benchmark without a smaller training split. 0: all")
      ->check(non_negative());
  c->add_option("--lr", o->cfg.adam.lr, "Adam learning rate")->capture_default_str();
  c->add_option("--weight-decay", o->cfg.adam.weight_decay, "L2 weight decay (added to gradients, as torch Adam)")
      ->capture_default_str();
  c->add_option("--weight-decay-scope", o->cfg.weight_decay_scope,
                "Layers the weight decay applies to: all, or first (as in Kipf & Welling's GCN)")
      ->check(CLI::IsMember({"all", "first"}))
      ->capture_default_str();
  c->add_option("--seed", o->cfg.seed, "Seed of batches, samples, dropout and initialisation")->capture_default_str();
  c->add_option("--eval", o->cfg.eval_mode,
                "Evaluation: full (layer-wise inference over all in-neighbours), sampled (training fanouts), or none "
                "(no validation or test: for benchmarks)")
      ->check(CLI::IsMember({"full", "sampled", "none"}))
      ->capture_default_str();
  c->add_option("--eval-every", o->cfg.eval_every, "Validate every N epochs (and after the last)")
      ->capture_default_str();
  c->add_option("--eval-batch-size", o->cfg.eval_batch_size, "Nodes per evaluation chunk")->capture_default_str();
  const CLI::Validator named = named_path();
  c->add_option("--metrics", o->cfg.metrics_path,
                "Write one JSON line per epoch and a final line (valid and test metrics; null where not evaluated)\n"
                "to this file. While the run trains the lines go to a hidden .FILE.tmp-PID-N beside it (named\n"
                "at the start; tail -f it to follow the run), which becomes FILE when the run ends, stops, or fails\n"
                "after finishing an epoch")
      ->check(named);
  c->add_option("--save-model", o->cfg.save_model_path, "Save the trained model to this file")->check(named);
  c->add_option("--checkpoint", o->cfg.checkpoint_dir,
                "Write a checkpoint to this directory after every epoch (created if missing; its parent must exist)")
      ->check(named_path("directory"));
  c->add_flag("--resume", o->cfg.resume, "Continue from the checkpoint in --checkpoint DIR (same settings)");
  c->add_flag("--overwrite-checkpoint", o->cfg.overwrite_checkpoint,
              "Start over even though --checkpoint DIR already holds a checkpoint (it is replaced after epoch 1)");
  c->add_option("--gpu-mem", o->cfg.gpu_mem,
                "Prepared datasets: GPU memory for training and the GPU tier (bytes with K/M/G, or a share of the\n"
                "feature bytes such as 10%); default: the plan's");
  c->add_option("--host-mem", o->cfg.host_mem,
                "Prepared datasets: size of the host tier (bytes or share); default: the plan's");
  c->add_option("--replicate", o->cfg.replicate,
                "Features sharded across machines (prepare --shards K): bytes each rank may hold of the other\n"
                "shards' hottest rows (as float32), or a share of all rows such as 5%; default: the plan's");
  c->add_option("--disk-readers", o->cfg.disk_readers, "Threads reading disk-tier rows without io_uring (1 to 1024)")
      ->capture_default_str();
  c->add_option("--device", o->device,
                "cpu, or cuda / cuda:N: the whole mini-batch on the GPU (GPU tier in device memory, host tier read "
                "zero-copy, sampling and gathering of the next batches pipelined with training). In a data-parallel "
                "job each rank uses GPU LOCAL_RANK: write cuda")
      ->check([](const std::string& v) {
        try {
          (void)parse_device_spec(v, "--device");
          return std::string();
        } catch (const input_error& e) {
          return std::string(e.what()).substr(std::string("--device: ").size());  // CLI11 names the option
        }
      })
      ->capture_default_str();
  c->add_option(
       "--host-access", o->cfg.host_access,
       "--device cuda: how host-tier rows reach the GPU: zero-copy (the gather kernel reads pinned memory) or "
       "copy (CPU threads gather into a pinned buffer, then one DMA copy: the classic DGL/PyG path, a baseline)")
      ->check(CLI::IsMember({"zero-copy", "copy"}))
      ->capture_default_str();
  c->add_option("--sampler", o->cfg.sampler,
                "Where training batches are sampled: cpu, or with --device cuda gpu (the graph copied to device "
                "memory, counted in the device-memory check) or gpu-pinned (the graph in pinned host memory, read "
                "over the bus: graphs larger than the GPU). The same samples either way")
      ->check(CLI::IsMember({"cpu", "gpu", "gpu-pinned"}))
      ->capture_default_str();
  c->add_option("--prefetch", o->cfg.pipeline_depth,
                "Batches prepared ahead while the current one trains: a sampling thread samples up to this many, a "
                "producer thread gathers and uploads them (0: none, in turn); default: 0 on the CPU, 1 with features "
                "sharded across machines (prepare --shards), 2 with --device cuda. Results do not depend on it")
      ->check(CLI::Range(0, 16));
  c->add_option("--comm", o->comm_engine,
                "Data-parallel CPU collectives: auto (MPI when started by mpirun and tiergnn was built with MPI,\n"
                "else the TCP star around rank 0 that tiergnn launch uses), mpi, or tcp. NCCL carries the\n"
                "gradients on GPUs; this engine is then its bootstrap channel")
      ->check(CLI::IsMember({"auto", "mpi", "tcp"}))
      ->capture_default_str();
  c->add_option("--comm-timeout", o->comm_timeout,
                "Data-parallel jobs: seconds a rank waits for the others before it stops with an error")
      ->check(number_check([](double x) { return x >= 1e-3 && x <= 1e9; }, "a number of seconds from 0.001 to 1e9",
                           "SECONDS"))
      ->capture_default_str();
  c->add_flag("--ignore-graph", o->cfg.ignore_graph,
              "Train and evaluate without any edges: the same model reduced to a feature-only MLP (a baseline)");
  c->add_flag(
      "--no-progress", [o](std::int64_t) { o->cfg.show_progress = false; }, "No progress bar");
  c->callback([o, c] {
    if (o->cfg.model.kind != "gat")  // given for another model, they would change nothing: say so
      for (const char* gat_only : {"--heads", "--out-heads", "--attn-dropout", "--residual"})
        if (c->count(gat_only) > 0)
          throw input_error(std::string(gat_only) + " applies to --model gat only (this run trains " +
                            o->cfg.model.kind + ")");
    o->cfg.fanouts = parse_fanouts(o->fanouts);
    o->cfg.model.num_layers = o->layers;
    // A data-parallel job when the environment says so (tiergnn launch, mpirun, torchrun-style variables).
    const world_info w = world_from_env();
    const int device_id = parse_device_spec(o->device, "--device");
    o->cfg.device = device_id < 0 ? "cpu" : "cuda";
    if (device_id >= 0) o->cfg.device_id = device_id;
    if (w.size > 1 && o->device.rfind("cuda:", 0) == 0)
      throw input_error("--device " + o->device +
                        ": in a data-parallel job each rank uses GPU LOCAL_RANK; write --device cuda");
    std::unique_ptr<communicator> comm;
    if (w.size > 1) {
      if (w.rank != 0 && get_log_level() < log_level::warn) set_log_level(log_level::warn);
      comm = make_job_communicator(w, o->comm_engine,
                                   std::chrono::milliseconds(static_cast<std::int64_t>(o->comm_timeout * 1000)));
      o->cfg.comm = comm.get();
      o->cfg.comm_timeout_s = o->comm_timeout;
      o->cfg.device_id = w.local_rank;  // one GPU per process
    }
    const dataset d = open_dataset(o->dir);
    const train_report r = train(d, o->cfg);
    if (r.interrupted)
      throw interrupted_error(r.end_epoch >= o->cfg.epochs ? "stopped before the final evaluation"
                                                           : "training stopped before the last epoch",
                              r.stop_signal > 0 ? r.stop_signal : 2);
  });
}

}  // namespace tg::cli
