#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <filesystem>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/resources.hpp"
#include "datasets/generate.hpp"
#include "shadow_backend.hpp"
#include "test_util.hpp"
#include "tiering/feature_store.hpp"
#include "tiering/plan.hpp"
#include "tiering/prepare.hpp"
#include "train/checkpoint.hpp"
#include "train/pipeline_cases.hpp"
#include "train/trainer.hpp"

using namespace tg;
using tg::test::scratch_dir;
namespace fs = std::filesystem;

namespace {
std::string make_graph(const scratch_dir& d, const std::string& name = "g", std::int64_t nodes = 3000) {
  community_options o;
  o.num_nodes = nodes;
  o.avg_degree = 10;
  o.num_classes = 4;
  o.feature_dim = 16;
  o.seed = 3;
  return generate_community(o, d / name, false);
}

train_config small_config() {
  train_config c;
  c.model.kind = "sage";
  c.model.hidden = 16;
  c.fanouts = {5, 5};
  c.batch_size = 128;
  c.epochs = 3;
  c.adam.lr = 0.01;
  c.seed = 11;
  c.show_progress = false;
  c.eval_every = 100;
  return c;
}

std::string file_bytes(const std::string& p) {
  return test::read_text(p);
}
}  // namespace

TEST(Trainer, LearnsAndBeatsTheFeatureOnlyBaseline) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.epochs = 8;
  const train_report gnn = train(ds, c);
  c.ignore_graph = true;
  const train_report mlp = train(ds, c);
  EXPECT_EQ(gnn.metric, "accuracy");
  EXPECT_GT(gnn.test_metric, mlp.test_metric + 0.2) << "GNN " << gnn.test_metric << " vs MLP " << mlp.test_metric;
  EXPECT_LT(gnn.epochs.back().loss, gnn.epochs.front().loss);
}

TEST(Trainer, SameSeedSameModelForAnyThreadCount) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  for (const char* kind : {"sage", "gcn", "gat"}) {
    train_config c = small_config();
    c.model.kind = kind;
    c.model.dropout = 0.3;
    c.model.attention_dropout = 0.3;  // gat only
    c.save_model_path = d / (std::string(kind) + "1.tgck");
    {
      tbb::global_control g(tbb::global_control::max_allowed_parallelism, 1);
      train(ds, c);
    }
    c.save_model_path = d / (std::string(kind) + "2.tgck");
    {
      tbb::global_control g(tbb::global_control::max_allowed_parallelism, 2);
      train(ds, c);
    }
    EXPECT_EQ(file_bytes(d / (std::string(kind) + "1.tgck")), file_bytes(d / (std::string(kind) + "2.tgck"))) << kind;
  }
}

TEST(Trainer, ResumeGivesTheSameModelBitForBit) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.epochs = 4;
  c.save_model_path = d / "full.tgck";
  train(ds, c);
  c.checkpoint_dir = d / "ck";
  c.save_model_path = "";
  c.stop_after_epochs = 2;
  const train_report first = train(ds, c);
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.end_epoch, 2);
  c.resume = true;
  c.stop_after_epochs = -1;
  c.save_model_path = d / "resumed.tgck";
  const train_report second = train(ds, c);
  EXPECT_EQ(second.start_epoch, 2);
  EXPECT_EQ(file_bytes(d / "full.tgck"), file_bytes(d / "resumed.tgck"));
}

// GAT end to end: it learns, resumes bit for bit, and its sampled evaluation is close to the
// full-neighbour one (layer-wise inference attends over every in-neighbour).
TEST(Trainer, GatLearnsResumesBitForBitAndEvaluatesBothWays) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.model.kind = "gat";
  c.model.hidden = 8;
  c.model.heads = 2;
  c.model.out_heads = 2;
  c.model.dropout = 0.2;
  c.model.attention_dropout = 0.2;
  c.epochs = 4;
  c.save_model_path = d / "full.tgck";
  const train_report full = train(ds, c);
  EXPECT_GT(full.test_metric, 0.6);
  EXPECT_LT(full.epochs.back().loss, full.epochs.front().loss);
  c.checkpoint_dir = d / "ck";
  c.save_model_path = "";
  c.stop_after_epochs = 2;
  EXPECT_TRUE(train(ds, c).interrupted);
  c.resume = true;
  c.stop_after_epochs = -1;
  c.save_model_path = d / "resumed.tgck";
  const train_report second = train(ds, c);
  EXPECT_EQ(second.start_epoch, 2);
  EXPECT_EQ(file_bytes(d / "full.tgck"), file_bytes(d / "resumed.tgck"));
  c.checkpoint_dir = "";
  c.resume = false;
  c.save_model_path = "";
  c.eval_mode = "sampled";
  EXPECT_NEAR(train(ds, c).test_metric, full.test_metric, 0.08);
}

// GCN normalises with one self-loop per node (PyG's gcn_norm, add_remaining_self_loops): a graph
// whose rows also store self-loops is the same GCN as the graph without them, to the bit when every
// neighbour is taken (the self-loop is the destination's own entry either way). Counting the stored
// loop in the degree had put those nodes' weights off by up to a third.
TEST(Trainer, GcnCountsOneSelfLoopPerNodeWhateverTheRowsStore) {
  scratch_dir d;
  const dataset plain = dataset::open(make_graph(d, "plain", 600));
  // The same dataset with a self-loop stored in every third node's row, at a position inside it.
  const auto indptr = plain.indptr().to_int64();
  const auto* idx = static_cast<const std::int32_t*>(plain.indices().raw());
  std::vector<std::int64_t> ip{0};
  std::vector<std::int32_t> ix;
  std::int64_t loops = 0;
  for (std::int64_t v = 0; v < plain.num_nodes(); ++v) {
    const std::int64_t b = indptr[v], e = indptr[v + 1];
    for (std::int64_t q = b; q < e; ++q) {
      if (v % 3 == 0 && q == b + (e - b) / 2) ix.push_back(static_cast<std::int32_t>(v));
      ix.push_back(idx[q]);
    }
    if (v % 3 == 0 && e == b) ix.push_back(static_cast<std::int32_t>(v));
    loops += v % 3 == 0;
    ip.push_back(static_cast<std::int64_t>(ix.size()));
  }
  ASSERT_EQ(static_cast<std::int64_t>(ix.size()), plain.num_edges() + loops);
  dataset_writer w(d / "loops");
  w.meta() = plain.meta();
  w.meta().arrays.clear();
  w.meta().name = "loops";
  w.meta().num_edges = static_cast<std::int64_t>(ix.size());
  w.meta().self_loops = loops;  // as a CSR writer records them (0 would skip the lookup)
  w.put("indptr.npy", ip);
  w.put("indices.npy", ix);
  for (const auto& [file, info] : plain.meta().arrays) {
    if (file == "indptr.npy" || file == "indices.npy") continue;
    const npy_array& a = plain.get(file);
    w.put(file, a.type(), a.shape(), a.raw());
  }
  const dataset looped = dataset::open(w.commit());
  for (const char* eval : {"full", "sampled"}) {
    train_config c = small_config();
    c.model.kind = "gcn";
    c.fanouts = {-1, -1};
    c.batch_size = 64;
    c.epochs = 2;
    c.eval_every = 1;
    c.eval_mode = eval;
    const train_report a = train(plain, c), b = train(looped, c);
    ASSERT_EQ(a.epochs.size(), b.epochs.size());
    for (std::size_t e = 0; e < a.epochs.size(); ++e) EXPECT_EQ(a.epochs[e].loss, b.epochs[e].loss) << eval << " " << e;
    EXPECT_EQ(a.valid_metric, b.valid_metric) << eval;
    EXPECT_EQ(a.test_metric, b.test_metric) << eval;
  }
}

// A model and batch whose activations over the sampled hops cannot fit in this machine's memory are
// refused before the tiers are loaded, naming the parts (the first check counts the seeds' rows only;
// such runs were ended by the kernel's OOM killer without a word).
TEST(TrainerBadInput, ARunWhoseBatchesCannotFitIsRefusedBeforeTheTiersAreLoaded) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d, "g", 50000));
  train_config c = small_config();
  c.fanouts = {25, 25};
  c.batch_size = 64;
  c.eval_mode = "none";  // (a full evaluation is checked first, and would not fit either)
  // The narrowest hidden width whose batches exceed this machine's memory (the model alone, a few
  // GiB at most, is allocated before the check).
  const std::uint64_t have = std::min(physical_memory_bytes(), cgroup_memory_limit_bytes());
  const std::int64_t row = 16 * 4;
  reserve_estimate seeds_only, full;
  for (std::int64_t h : {1000000, 2000000, 4000000}) {
    c.model.hidden = h;
    seeds_only = estimate_reserve(50000, 16, row, {0, 0}, 64, h, 4);
    full = estimate_reserve(50000, 16, row, c.fanouts, 64, h, 4);
    if (full.total() > have) break;
  }
  if (seeds_only.total() > have / 2 || full.total() <= have)
    GTEST_SKIP() << "this machine's memory (" << have << " B) does not fall between the two estimates";
  try {
    train(ds, c);
    FAIL() << "a run needing " << full.total() << " B on a machine with " << have << " B started";
  } catch (const input_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the model and a batch's activations"), std::string::npos) << what;
    EXPECT_NE(what.find("the GPU and host tiers held in memory"), std::string::npos) << what;
    EXPECT_NE(what.find("needs"), std::string::npos) << what;
  }
}

TEST(Trainer, MaxBatchesTrainsTheFirstBatchesOfEachEpoch) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.epochs = 2;
  c.batch_size = 32;
  c.eval_mode = "none";
  c.save_model_path = d / "all.tgck";
  const train_report all = train(ds, c);
  ASSERT_GT(all.epochs[0].batches, 3);
  c.max_batches = all.epochs[0].batches;  // a cap at the epoch's length changes nothing
  c.save_model_path = d / "capped_at_length.tgck";
  train(ds, c);
  EXPECT_TRUE(read_checkpoint(d / "all.tgck").values == read_checkpoint(d / "capped_at_length.tgck").values)
      << "the same parameters (the settings in the header name the cap)";
  c.max_batches = 3;
  c.save_model_path = "";
  const train_report three = train(ds, c);
  for (const auto& e : three.epochs) EXPECT_EQ(e.batches, 3);
  EXPECT_LT(three.epochs[0].input_nodes, all.epochs[0].input_nodes);
  c.max_batches = -1;
  EXPECT_THROW(train(ds, c), input_error);
}

TEST(Trainer, GpuSamplingNeedsTheCudaDevice) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.sampler = "gpu";  // with --device cpu
  try {
    train(ds, c);
    FAIL() << "--sampler gpu ran without --device cuda";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
  c.sampler = "tpu";
  EXPECT_THROW(train(ds, c), input_error);
}

TEST(Trainer, MetricsFileHasOneLinePerEpochAndAFinalLine) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.metrics_path = d / "m.jsonl";
  c.eval_every = 1;
  train(ds, c);
  std::ifstream in(c.metrics_path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("final")) {
      EXPECT_GT(j["test"].get<double>(), 0.25);
    } else {
      EXPECT_EQ(j["epoch"].get<int>(), ++n);
      EXPECT_TRUE(j.contains("valid_accuracy"));
      EXPECT_TRUE(j.contains("sample_s"));
    }
  }
  EXPECT_EQ(n, 3);
}

// A metric that was not computed is null in the file, never an accuracy of -1.
TEST(Trainer, MetricsNotComputedAreNull) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.metrics_path = d / "m.jsonl";
  c.eval_mode = "none";
  train(ds, c);
  std::ifstream in(c.metrics_path);
  std::string line, last;
  while (std::getline(in, line)) last = line;
  const auto j = nlohmann::json::parse(last);
  ASSERT_TRUE(j.contains("final")) << last;
  EXPECT_TRUE(j["test"].is_null()) << last;
  EXPECT_TRUE(j["valid"].is_null()) << last;
}

TEST(Trainer, SampledEvaluationIsCloseToFullEvaluation) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  train_config c = small_config();
  c.epochs = 5;
  const double full = train(ds, c).test_metric;
  c.eval_mode = "sampled";
  const train_report r = train(ds, c);
  EXPECT_NEAR(full, r.test_metric, 0.08);
  // The chunk size is a memory knob: the sampled metric does not depend on it.
  for (const std::int64_t eb : {1, 7, 100000}) {
    c.eval_batch_size = eb;
    const train_report o = train(ds, c);
    EXPECT_EQ(o.test_metric, r.test_metric) << "--eval-batch-size " << eb;
    EXPECT_EQ(o.valid_metric, r.valid_metric) << "--eval-batch-size " << eb;
  }
}

TEST(TrainerBadInput, ErrorsBeforeTrainingStarts) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  auto error_of = [&](train_config c) -> std::string {
    try {
      train(ds, c);
    } catch (const input_error& e) {
      return e.what();
    }
    return "";
  };
  train_config c = small_config();
  c.model.num_layers = 3;
  EXPECT_NE(error_of(c).find("--fanouts has 2 entries but the model has 3 layers"), std::string::npos);
  c = small_config();
  c.batch_size = 0;
  EXPECT_NE(error_of(c).find("--batch-size must be positive"), std::string::npos);
  c = small_config();
  c.resume = true;
  c.checkpoint_dir = d / "none";
  EXPECT_NE(error_of(c).find("no checkpoint.tgck"), std::string::npos);
}

TEST(TrainerBadInput, DatasetWithoutLabelsOrTrainingSplit) {
  scratch_dir d;
  rmat_options r;
  r.scale = 8;
  r.feature_dim = 4;
  const dataset unlabelled = dataset::open(generate_rmat(r, d / "r", false));
  try {
    train(unlabelled, small_config());
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("has no labels"), std::string::npos) << e.what();
  }
  // Labelled but without a training split: drop train_idx.npy from a copy.
  const std::string g = make_graph(d);
  fs::remove(g + "/train_idx.npy");
  nlohmann::json j = nlohmann::json::parse(test::read_text(g + "/meta.json"));
  j["arrays"].erase("train_idx.npy");
  test::write_text(g + "/meta.json", j.dump());
  try {
    train(dataset::open(g), small_config());
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("no training split"), std::string::npos) << e.what();
  }
}

TEST(TrainerBadInput, LabelsOutOfRange) {
  scratch_dir d;
  const std::string g = make_graph(d);
  // Rewrite labels.npy with a label >= num_classes (meta keeps the old checksum: only --check sees
  // the changed bytes, but opening the dataset checks every label's range).
  npy_array l = npy_array::open(g + "/labels.npy");
  std::vector<std::int64_t> labels = l.to_int64();
  const std::int64_t victim = npy_array::open(g + "/train_idx.npy").to_int64()[0];
  labels[victim] = 9;
  write_npy(g + "/labels.npy", span<const std::int64_t>(labels));
  try {
    train(dataset::open(g), small_config());
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("label 9 of node " + std::to_string(victim)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("labels.npy"), std::string::npos) << e.what();
  }
}

TEST(TrainerBadInput, ResumeFromAnotherModelOrDataset) {
  scratch_dir d;
  const dataset a = dataset::open(make_graph(d, "a"));
  const dataset b = dataset::open(make_graph(d, "b", 2000));
  train_config c = small_config();
  c.epochs = 1;
  c.checkpoint_dir = d / "ck";
  train(a, c);
  c.resume = true;
  c.epochs = 2;
  auto error_of = [&](const dataset& ds, train_config cc) -> std::string {
    try {
      train(ds, cc);
    } catch (const input_error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(b, c).find("was written for dataset"), std::string::npos);
  train_config other = c;
  other.model.kind = "gcn";
  // The refusal names what differs, whatever else the settings hold.
  EXPECT_NE(error_of(a, other).find("another model: kind: checkpoint \"sage\", this run \"gcn\""), std::string::npos)
      << error_of(a, other);
  other = c;
  other.batch_size = 64;
  EXPECT_NE(error_of(a, other).find("other training settings: batch_size: checkpoint"), std::string::npos)
      << error_of(a, other);
}

TEST(TrainerBadInput, NanLossStopsWithBatchIndexAndKeepsCheckpoint) {
  scratch_dir d;
  const std::string g = make_graph(d);
  train_config c = small_config();
  c.epochs = 1;
  c.checkpoint_dir = d / "ck";
  train(dataset::open(g), c);
  const std::string before = file_bytes(d / "ck/checkpoint.tgck");
  // Poison every feature with NaN behind meta.json's back.
  npy_array f = npy_array::open(g + "/features.npy");
  std::vector<float> x(static_cast<std::size_t>(f.count()), std::nanf(""));
  write_npy(g + "/features.npy", dtype::float32, f.shape(), x.data());
  c.resume = true;
  c.epochs = 3;
  // Non-finite inputs are the data's fault: an input error naming a node, the checkpoint intact.
  try {
    train(dataset::open(g), c);
    FAIL();
  } catch (const input_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("hold NaN (epoch 2, batch 0)"), std::string::npos) << m;
  }
  EXPECT_EQ(file_bytes(d / "ck/checkpoint.tgck"), before);
  // A loss that diverges on finite inputs (an absurd learning rate) stops with the batch and the advice.
  const std::string g2 = make_graph(d, "g2");
  train_config wild = small_config();
  wild.epochs = 5;
  wild.adam.lr = 1e30f;
  try {
    train(dataset::open(g2), wild);
    FAIL() << "lr 1e30 should diverge";
  } catch (const input_error& e) {
    FAIL() << "a diverging loss is not an input error: " << e.what();
  } catch (const error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("training diverged: the loss is"), std::string::npos) << m;
    EXPECT_NE(m.find("Try a smaller --lr"), std::string::npos) << m;
  }
}

// The epoch loop is one for every backend; only the batch producer's depth differs (synchronous on
// the CPU, a producer thread batches ahead on a GPU). The threaded producer, run here on the CPU,
// must give the synchronous run's model bit for bit, and the same samples and ledger, on a prepared
// dataset whose disk tier the producer thread reads.
TEST(Trainer, PipelinedBatchProducerTrainsTheSameModel) {
  scratch_dir d;
  const dataset plain = dataset::open(make_graph(d));
  prepare_config pc;
  pc.gpu_mem = "10%";
  pc.host_mem = "40%";
  pc.fanouts = {5, 5};
  pc.batch_size = 128;
  pc.run_epochs = 2;
  const prepare_report pr = prepare_dataset(plain, pc, d / "p");
  const dataset ds = dataset::open(pr.out_dir);
  for (const char* kind : {"sage", "gcn"}) {
    std::vector<train_report> reports;
    // Depth 1 and 2: the sampling thread one or two batches ahead of the producer; 5: far ahead.
    const int depths[] = {0, 1, 2, 5};
    for (int depth : depths) {
      train_config c = small_config();
      c.model.kind = kind;
      c.model.dropout = 0.3;
      c.epochs = 2;
      c.pipeline_depth = depth;
      c.save_model_path = d / (std::string(kind) + std::to_string(depth) + ".tgck");
      reports.push_back(train(ds, c));
    }
    const traffic& t = reports[0].epochs[0].feature_traffic;
    EXPECT_GT(t.gpu_rows, 0);
    EXPECT_GT(t.host_rows, 0);
    EXPECT_GT(t.disk_rows, 0) << "the plan leaves a disk tier";
    for (std::size_t i = 1; i < reports.size(); ++i) {
      const int depth = depths[i];
      EXPECT_EQ(file_bytes(d / (std::string(kind) + "0.tgck")),
                file_bytes(d / (std::string(kind) + std::to_string(depth) + ".tgck")))
          << kind << ", depth " << depth;
      const train_report& r = reports[i];
      ASSERT_EQ(r.epochs.size(), reports[0].epochs.size());
      for (std::size_t e = 0; e < r.epochs.size(); ++e) {
        const epoch_report &a = reports[0].epochs[e], &b = r.epochs[e];
        EXPECT_EQ(a.loss, b.loss);
        EXPECT_EQ(a.sampled_edges, b.sampled_edges);
        EXPECT_EQ(a.feature_traffic.gpu_rows, b.feature_traffic.gpu_rows);
        EXPECT_EQ(a.feature_traffic.host_rows, b.feature_traffic.host_rows);
        EXPECT_EQ(a.feature_traffic.disk_rows, b.feature_traffic.disk_rows);
        EXPECT_GE(b.overlap, 0.0);
        EXPECT_LE(b.overlap, 1.0);
      }
    }
  }
}

TEST(Trainer, ProducerFailureReachesTheLoopAtItsBatch) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  tg::test::expect_producer_failure_propagates(ds, cpu_backend(), device_kind::cpu);
}

TEST(Trainer, CtrlCStopsAPipelinedRun) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  tg::test::expect_sigint_stops_a_pipelined_run(ds, small_config());
}

// A store that writes host memory (the sharded store) feeding a backend with device memory: the
// pipeline gathers into host staging and copies, so each batch's rows reach backend memory exactly
// as a device-memory store would put them there (here the shadow device backend of the tests).
TEST(Trainer, AHostMemoryStoreFeedsADeviceBackendThroughStaging) {
  scratch_dir d;
  const dataset ds = dataset::open(make_graph(d));
  const std::int64_t n = ds.num_nodes();
  std::vector<std::int64_t> train;
  for (std::int64_t v = 0; v < n; v += 3) train.push_back(v);
  const std::vector<std::int64_t> labels(static_cast<std::size_t>(n), 0);
  const batch_plan plan = plan_epoch(span<const std::int64_t>(train), 64, 5, 0);
  neighbor_sampler sampler(ds, {4, 3}, 9), sampler2(ds, {4, 3}, 9);  // one per pipeline (producer threads)
  tiered_store store(ds, n / 10, n / 2);
  ASSERT_EQ(store.output_memory(), memory_kind::host);
  tg::test::shadow_device_backend shadow;
  for (int depth : {0, 1}) {
    batch_pipeline::options o;
    o.depth = depth;
    batch_pipeline on_host(sampler, store, cpu_backend(), labels, o), on_device(sampler2, store, shadow, labels, o);
    on_host.start_epoch(plan, 0);
    on_device.start_epoch(plan, 0);
    for (std::int64_t b = 0; b < plan.num_batches(); ++b) {
      prepared_batch& h = on_host.next();
      prepared_batch& g = on_device.next();
      ASSERT_EQ(g.x.view().kind, memory_kind::device);
      std::vector<float> back(g.x.size());
      shadow.copy_to_host(back.data(), g.x.data(), back.size() * sizeof(float));
      ASSERT_EQ(g.x.size(), h.x.size()) << "batch " << b;
      for (std::size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], h.x.data()[i]) << "batch " << b << " at " << i;
      EXPECT_EQ(g.feature_traffic.to_json(), h.feature_traffic.to_json());
      on_host.release();
      on_device.release();
    }
    on_host.finish_epoch();
    on_device.finish_epoch();
  }
}

// An empty checkpoint file says it is empty, not "bad magic bytes" (R11-F7).
TEST(CheckpointBadInput, AnEmptyFileIsNamedAsEmpty) {
  scratch_dir d;
  test::write_text(d / "empty.tgck", "");
  try {
    (void)read_checkpoint(d / "empty.tgck");
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("empty.tgck: not a valid tiergnn checkpoint: the file is empty"),
              std::string::npos)
        << e.what();
  }
}
