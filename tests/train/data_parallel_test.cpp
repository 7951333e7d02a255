// Data-parallel training through the command line, as users run it: `tiergnn launch -n K -- train`
// and ranks started by hand with RANK/WORLD_SIZE/MASTER_*. K ranks with the same global batch follow
// one process's loss curve within float rounding of the reduction order; a killed rank makes the
// others stop with an error within the timeout instead of hanging.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "datasets/generate.hpp"
#include "test_util.hpp"
#include "multigpu/communicator.hpp"
#include "train/checkpoint.hpp"

using namespace tg;
using namespace std::chrono_literals;

namespace {

std::string make_graph(const test::scratch_dir& d, std::int64_t nodes, const std::string& name = "g",
                       std::uint64_t seed = 9) {
  community_options o;
  o.num_nodes = nodes;
  o.avg_degree = 10;
  o.num_classes = 4;
  o.feature_dim = 16;
  o.seed = seed;
  return generate_community(o, d / name, false);
}

std::vector<nlohmann::json> metrics(const std::string& path) {
  return test::read_jsonl(path);
}

// Starts the CLI with extra environment variables; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
            const std::string& log) {
  const pid_t p = ::fork();
  if (p == 0) {
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    std::string exe = TIERGNN_CLI;
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::freopen(log.c_str(), "w", stderr);
    std::freopen(log.c_str(), "a", stdout);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return p;
}

int wait_status(pid_t p, std::chrono::seconds limit, bool* timed_out) {
  const auto end = std::chrono::steady_clock::now() + limit;
  int s = 0;
  while (::waitpid(p, &s, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      *timed_out = true;
      ::kill(p, SIGKILL);
      ::waitpid(p, &s, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return s;
}

// K ranks follow one process's loss curve (rank 0's metrics) within float rounding, batch for batch.
void expect_same_curve(const std::vector<nlohmann::json>& one, const std::vector<nlohmann::json>& many, int k) {
  ASSERT_EQ(many.size(), one.size()) << "rank 0 writes the metrics, once";
  for (std::size_t e = 0; e + 1 < one.size(); ++e) {
    const double a = one[e]["loss"], b = many[e]["loss"];
    EXPECT_NEAR(a, b, 1e-5 * std::fabs(a)) << k << " ranks, epoch " << e + 1;
    EXPECT_EQ(one[e]["batches"], many[e]["batches"]);
  }
}

// The same model to the bit.
void expect_identical_model(const checkpoint& a, const checkpoint& b) {
  ASSERT_EQ(a.values.size(), b.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) EXPECT_EQ(a.values[i], b.values[i]) << "parameter " << i;
}

// The same model within float rounding of the reduction order.
void expect_same_model(const checkpoint& one, const checkpoint& many) {
  ASSERT_EQ(many.values.size(), one.values.size());
  for (std::size_t i = 0; i < many.values.size(); ++i)
    for (std::size_t j = 0; j < many.values[i].size(); ++j)
      ASSERT_NEAR(many.values[i][j], one.values[i][j], 1e-4 + 1e-3 * std::fabs(one.values[i][j])) << "parameter " << i;
}

// The processes whose parent is `parent` (from /proc/PID/stat).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> kids;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream st(e.path() / "stat");
    std::string line;
    if (!std::getline(st, line)) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    char state;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) kids.push_back(std::stoi(name));
  }
  return kids;
}

}  // namespace

TEST(DataParallel, KRanksFollowOneProcessesLossCurve) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 6000);
  const std::string common =
      " --model sage --fanouts 5,5 --hidden 16 --dropout 0 --batch-size 200 --epochs 3 --lr 0.01 "
      "--seed 4 --no-progress";
  std::string out;
  ASSERT_EQ(
      test::run_cli("-q train " + g + common + " --metrics " + d / "m1.jsonl" + " --save-model " + d / "m1.tgck", &out),
      0)
      << out;
  const auto one = metrics(d / "m1.jsonl");
  const checkpoint c1 = read_checkpoint(d / "m1.tgck");
  for (int k : {2, 3}) {
    const std::string m = d / ("m" + std::to_string(k));
    ASSERT_EQ(test::run_cli("-q launch -n " + std::to_string(k) + " -- train " + g + common + " --metrics " + m +
                                ".jsonl --save-model " + m + ".tgck",
                            &out),
              0)
        << out;
    const auto many = metrics(m + ".jsonl");
    ASSERT_NO_FATAL_FAILURE(expect_same_curve(one, many, k));
    EXPECT_NEAR(one.back()["test"].get<double>(), many.back()["test"].get<double>(), 0.01);
    ASSERT_NO_FATAL_FAILURE(expect_same_model(c1, read_checkpoint(m + ".tgck")));
  }
}

// Dropout masks are drawn per position in a rank's own blocks, so (as for SAGE above) the
// comparison with one process runs without dropout.
TEST(DataParallel, GatRanksFollowOneProcess) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 3000);
  const std::string common =
      " --model gat --heads 2 --out-heads 2 --attn-dropout 0 --fanouts 5,5 --hidden 8 --dropout 0 "
      "--batch-size 200 --epochs 2 --lr 0.01 --seed 4 --no-progress";
  std::string out;
  ASSERT_EQ(test::run_cli("-q train " + g + common + " --save-model " + d / "m1.tgck", &out), 0) << out;
  ASSERT_EQ(test::run_cli("-q launch -n 2 -- train " + g + common + " --save-model " + d / "m2.tgck", &out), 0) << out;
  expect_same_model(read_checkpoint(d / "m1.tgck"), read_checkpoint(d / "m2.tgck"));
}

TEST(DataParallel, AKilledRankStopsTheOthersWithinTheTimeout) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  const std::string port = std::to_string(20000 + (::getpid() % 20000));
  std::vector<pid_t> pids;
  for (int r = 0; r < 3; ++r)
    pids.push_back(
        spawn({"train", g, "--fanouts", "10,10", "--epochs", "1000", "--batch-size", "64", "--no-progress",
               "--comm-timeout", "60", "--eval", "none"},
              {{"RANK", std::to_string(r)}, {"WORLD_SIZE", "3"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}},
              d / ("rank" + std::to_string(r) + ".log")));
  std::this_thread::sleep_for(1500ms);  // joined and training
  ::kill(pids[2], SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < 2; ++r) {
    bool timed_out = false;
    const int s = wait_status(pids[static_cast<std::size_t>(r)], 30s, &timed_out);
    EXPECT_FALSE(timed_out) << "rank " << r << " kept running after rank 2 was killed";
    EXPECT_TRUE(WIFEXITED(s) && WEXITSTATUS(s) != 0) << "rank " << r << " must exit with an error";
    const std::string log = test::read_text(d / ("rank" + std::to_string(r) + ".log"));
    EXPECT_NE(log.find("rank"), std::string::npos) << log;
  }
  int s = 0;
  ::waitpid(pids[2], &s, 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0)
      << "a dead peer must be noticed at once (connection closed), well inside the 60 s timeout";
}

TEST(DataParallel, LaunchStopsTheJobWhenARankDies) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  const pid_t launch = spawn({"launch", "-n", "3", "--grace", "5", "--", "train", g, "--fanouts", "10,10", "--epochs",
                              "1000", "--batch-size", "64", "--no-progress", "--eval", "none"},
                             {}, d / "launch.log");
  std::this_thread::sleep_for(1500ms);
  // Find launch's children and kill one of them.
  const std::vector<pid_t> kids = children_of(launch);
  ASSERT_EQ(kids.size(), 3u) << test::read_text(d / "launch.log");
  ::kill(kids[1], SIGKILL);
  bool timed_out = false;
  const int s = wait_status(launch, 30s, &timed_out);
  EXPECT_FALSE(timed_out);
  EXPECT_TRUE(WIFEXITED(s) && WEXITSTATUS(s) != 0);
  const std::string log = test::read_text(d / "launch.log");
  EXPECT_NE(log.find("was killed by signal 9"), std::string::npos) << log;
  EXPECT_NE(log.find("the job failed"), std::string::npos) << log;
}

TEST(DataParallel, EveryRankResumesFromRankZerosCheckpoint) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 5000);
  const std::string common =
      " --model sage --fanouts 5,5 --hidden 16 --batch-size 200 --lr 0.01 --seed 8 --no-progress --eval none";
  std::string out;
  ASSERT_EQ(test::run_cli("-q launch -n 2 -- train " + g + common + " --epochs 4 --metrics " + d / "a.jsonl", &out), 0)
      << out;
  ASSERT_EQ(test::run_cli("-q launch -n 2 -- train " + g + common + " --epochs 2 --checkpoint " + d / "ck" +
                              " --metrics " + d / "b.jsonl",
                          &out),
            0)
      << out;
  ASSERT_EQ(test::run_cli("-q launch -n 2 -- train " + g + common + " --epochs 4 --checkpoint " + d / "ck" +
                              " --resume --metrics " + d / "b.jsonl",
                          &out),
            0)
      << out;
  const auto a = metrics(d / "a.jsonl"), b = metrics(d / "b.jsonl");
  // Every count of a line is the job's: input_nodes (the rows the ranks' batches read) is the sum of
  // the traffic's rows, as in one process (it was rank 0's alone).
  for (const auto& j : a)
    if (j.contains("input_nodes")) {
      const auto& r = j.at("traffic").at("rows");
      EXPECT_EQ(j.at("input_nodes").get<std::int64_t>(),
                r.at("gpu").get<std::int64_t>() + r.at("peer").get<std::int64_t>() + r.at("host").get<std::int64_t>() +
                    r.at("disk").get<std::int64_t>())
          << j.dump();
    }
  std::vector<double> la, lb;
  for (const auto& j : a)
    if (j.contains("loss")) la.push_back(j["loss"]);
  for (const auto& j : b)
    if (j.contains("loss")) lb.push_back(j["loss"]);
  ASSERT_EQ(la.size(), 4u);
  ASSERT_EQ(lb.size(), 4u);
  for (std::size_t e = 0; e < 4; ++e)
    EXPECT_EQ(la[e], lb[e]) << "epoch " << e + 1 << ": resuming must continue exactly";
}

// Ctrl-C (or SIGTERM) to the launcher is passed on to every rank; the ranks agree to stop after the
// same batch (one that stopped alone would leave the other waiting in a reduction), so the job
// stops as one process would: exit 128 + signal, the metrics of the finished epochs kept.
TEST(DataParallel, CtrlCToTheLauncherStopsEveryRankAfterOneBatch) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  for (const int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig);
    const std::string metrics = d / ("m" + std::to_string(sig) + ".jsonl");
    const pid_t launch = spawn({"launch", "-n", "2", "--", "train", g, "--fanouts", "10,10", "--epochs", "1000",
                                "--batch-size", "64", "--no-progress", "--eval", "none", "--metrics", metrics},
                               {}, d / "launch.log");
    // Stop it once a few epochs are done (the metrics' temporary holds a line per finished epoch).
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      std::size_t lines = 0;
      for (const auto& e : std::filesystem::directory_iterator(d.path()))
        if (e.path().filename().string().find(".m" + std::to_string(sig) + ".jsonl") == 0) {
          const std::string t = test::read_text(e.path());
          lines = static_cast<std::size_t>(std::count(t.begin(), t.end(), '\n'));
        }
      if (lines >= 2 || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(20ms);
    }
    ::kill(launch, sig);
    bool timed_out = false;
    const int status = wait_status(launch, 60s, &timed_out);
    ASSERT_FALSE(timed_out);
    const std::string log = test::read_text(d / "launch.log");
    ASSERT_TRUE(WIFEXITED(status)) << log;
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << log;
    EXPECT_EQ(log.find("error"), std::string::npos) << log;
    EXPECT_NE(log.find("the job stopped"), std::string::npos) << log;
    ASSERT_TRUE(std::filesystem::exists(metrics)) << log;
    const std::string m = test::read_text(metrics);
    EXPECT_GE(std::count(m.begin(), m.end(), '\n'), 2) << m;
  }
}

// kill -9 of the launcher (which cannot clean up) must not leave its ranks running as orphans.
TEST(DataParallel, KillingTheLauncherStopsItsRanks) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  const pid_t launch = spawn({"launch", "-n", "2", "--", "train", g, "--fanouts", "10,10", "--epochs", "1000",
                              "--batch-size", "64", "--no-progress", "--eval", "none"},
                             {}, d / "launch.log");
  std::vector<pid_t> kids;
  for (int tries = 0; tries < 100 && kids.size() < 2; ++tries) {
    std::this_thread::sleep_for(100ms);
    kids = children_of(launch);
  }
  ASSERT_EQ(kids.size(), 2u) << test::read_text(d / "launch.log");
  ::kill(launch, SIGKILL);
  bool timed_out = false;
  wait_status(launch, 10s, &timed_out);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (pid_t k : kids) {
    while (::kill(k, 0) == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    const bool alive = ::kill(k, 0) == 0;
    EXPECT_FALSE(alive) << "rank " << k << " outlived its launcher";
    if (alive) ::kill(k, SIGKILL);
  }
}

// An R-MAT graph of 262k nodes whose full evaluation takes ~0.5 s here (the two tests below).
const std::string kEvalRmat = "-q generate rmat --scale 18 --edge-factor 16 --feature-dim 32 --classes 4 --seed 3 ";

// Ctrl-C during the final evaluation of an unsharded job stops it on every rank (the lead evaluates;
// the others wait for its heartbeats and hear of the stop): exit 130, no test metric, as one process.
TEST(DataParallel, CtrlCDuringTheLeadsFinalEvaluationStopsTheJob) {
  test::scratch_dir d;
  std::string out;
  ASSERT_EQ(test::run_cli(kEvalRmat + d / "g", &out), 0) << out;
  const std::string metrics = d / "m.jsonl", log = d / "log";
  const pid_t launch = spawn({"--threads",
                              "1",
                              "launch",
                              "-n",
                              "2",
                              "--",
                              "train",
                              d / "g",
                              "--epochs",
                              "1",
                              "--max-batches",
                              "1",
                              "--hidden",
                              "64",
                              "--fanouts",
                              "5,5",
                              "--no-progress",
                              "--eval-batch-size",
                              "256",
                              "--metrics",
                              metrics},
                             {}, log);
  // The epoch's line is in the metrics' temporary once its training and validation are done: the
  // test evaluation runs next.
  bool in_test = false;
  for (int i = 0; i < 6000 && !in_test; ++i) {
    std::this_thread::sleep_for(10ms);
    for (const auto& e : std::filesystem::directory_iterator(d.path()))
      in_test = in_test || (e.path().filename().string().rfind(".m.jsonl.tmp-", 0) == 0 &&
                            std::filesystem::file_size(e.path()) > 0);
  }
  ::kill(launch, SIGINT);
  bool timed_out = false;
  const int status = wait_status(launch, 120s, &timed_out);
  const std::string text = test::read_text(log);
  ASSERT_TRUE(in_test) << text;
  ASSERT_FALSE(timed_out) << text;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << "status " << status << "\n" << text;
  EXPECT_NE(text.find("stopped before the final evaluation"), std::string::npos) << text;
  EXPECT_EQ(text.find("test accuracy"), std::string::npos) << text;
}

// The lead evaluates alone while the others wait: its heartbeats keep a --comm-timeout shorter than
// the evaluation (0.2 s here against ~0.5 s) from timing them out, as the wait for a hung rank would.
TEST(DataParallel, ALongEvaluationOnTheLeadDoesNotTimeTheOthersOut) {
  test::scratch_dir d;
  std::string out;
  ASSERT_EQ(test::run_cli(kEvalRmat + d / "g", &out), 0) << out;
  ASSERT_EQ(test::run_cli("--threads 1 launch -n 2 -- train " + d / "g" +
                              " --epochs 1 --max-batches 1 --hidden 64 --fanouts 5,5 --no-progress --eval-batch-size "
                              "256 --comm-timeout 0.2",
                          &out),
            0)
      << out;
  EXPECT_NE(out.find("test accuracy"), std::string::npos) << out;
  EXPECT_EQ(out.find("timed out"), std::string::npos) << out;
}

// A log of `launch ... 2>&1` reads as one process's would: rank 0's result line after its epoch
// lines (its stdout went straight to the file while its stderr came through launch's relay).
TEST(DataParallel, AMergedLogOfLaunchKeepsRankZerosOrder) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 2000);
  std::string out;
  ASSERT_EQ(test::run_cli("launch -n 2 -- train " + g +
                              " --fanouts 5,5 --hidden 8 --batch-size 200 --epochs 3 "
                              "--no-progress",
                          &out),
            0)
      << out;
  const auto last_epoch = out.find("epoch 3/3"), result = out.find("test accuracy");
  ASSERT_NE(last_epoch, std::string::npos) << out;
  ASSERT_NE(result, std::string::npos) << out;
  EXPECT_LT(last_epoch, result) << out;
}

// SIGTERM sent to one rank (a scheduler stopping one process) stops the job as if launch had got
// it: passed on to every rank, exit 143, not "the job failed".
TEST(DataParallel, ASignalToOneRankStopsTheJobAsIfLaunchHadGotIt) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  const std::string log = d / "launch.log";
  const pid_t launch = spawn({"launch", "-n", "2", "--", "train", g, "--fanouts", "10,10", "--epochs", "1000",
                              "--batch-size", "64", "--hidden", "32", "--no-progress", "-q"},
                             {}, log);
  std::vector<pid_t> ranks;
  for (int i = 0; i < 300 && ranks.size() < 2; ++i) {
    std::this_thread::sleep_for(100ms);
    ranks = children_of(launch);
  }
  ASSERT_EQ(ranks.size(), 2u) << test::read_text(log);
  std::this_thread::sleep_for(1s);
  ::kill(ranks[1], SIGTERM);
  bool timed_out = false;
  const int status = wait_status(launch, 60s, &timed_out);
  ASSERT_FALSE(timed_out) << test::read_text(log);
  const std::string text = test::read_text(log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 143) << "status " << status << "\n" << text;
  EXPECT_NE(text.find("which did not come through launch; passing it on to every rank"), std::string::npos) << text;
  EXPECT_EQ(text.find("the job failed"), std::string::npos) << text;
}

// One process needs no port: MASTER_PORT=0 is no error there; an address rank 0 cannot listen on is
// named as such (it was taken for a port in use).
TEST(DataParallel, EnvironmentValuesAreJudgedForWhatTheyAreFor) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 2000);
  const std::string quick = " -q train " + g + " --fanouts 5,5 --hidden 8 --batch-size 200 --epochs 1 --no-progress";
  std::string out;
  ::setenv("RANK", "0", 1);
  ::setenv("WORLD_SIZE", "1", 1);
  ::setenv("MASTER_PORT", "0", 1);
  const int single = test::run_cli(quick, &out);
  const std::string single_out = out;
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("MASTER_ADDR", "192.0.2.1", 1);  // TEST-NET-1: no machine's own address
  ::setenv("MASTER_PORT", std::to_string(test::free_tcp_port()).c_str(), 1);
  const int foreign = test::run_cli(quick + " --comm-timeout 2", &out);
  ::setenv("WORLD_SIZE", "2000000000", 1);
  std::string too_big;
  const int huge = test::run_cli(quick, &too_big);
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_PORT", "MASTER_ADDR"}) ::unsetenv(v);
  EXPECT_EQ(single, 0) << single_out;
  EXPECT_NE(foreign, 0) << out;
  EXPECT_NE(out.find("MASTER_ADDR must be an address of rank 0's own machine"), std::string::npos) << out;
  EXPECT_NE(huge, 0);
  EXPECT_NE(too_big.find("is not an integer from 0 to 1073741824"), std::string::npos) << too_big;
}

// ---- MPI: `mpirun -np K tiergnn train ...` uses MPI's collectives (skips without mpirun or MPI) ----

namespace {
std::string mpirun_path() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    const std::string p = std::string(dir) + "/mpirun";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}
// mpirun's own options: oversubscribe (K may exceed the cores) and, as root (containers, CI), allow it.
std::string mpirun_prefix(int k) {
  return mpirun_path() + " --oversubscribe " + (::geteuid() == 0 ? "--allow-run-as-root " : "") + "-np " +
         std::to_string(k) + " " + TIERGNN_CLI;
}
int run_shell(const std::string& cmd, std::string* out) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  out->clear();
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int s = ::pclose(p);
  return WIFEXITED(s) ? WEXITSTATUS(s) : 128;
}
}  // namespace

#define TG_MPI_OR_SKIP()                                                                             \
  if (!tg::mpi_compiled()) GTEST_SKIP() << "tiergnn was built without MPI (install libopenmpi-dev)"; \
  if (mpirun_path().empty()) GTEST_SKIP() << "mpirun not found (install openmpi-bin)"

TEST(DataParallelMpi, KRanksUnderMpirunFollowOneProcess) {
  TG_MPI_OR_SKIP();
  test::scratch_dir d;
  const std::string g = make_graph(d, 6000);
  const std::string common =
      " -q train " + g +
      " --model sage --fanouts 5,5 --hidden 16 --dropout 0 --batch-size 200 --epochs 3 --lr 0.01 "
      "--seed 4 --no-progress";
  std::string out;
  ASSERT_EQ(test::run_cli(common + " --metrics " + d / "m1.jsonl" + " --save-model " + d / "m1.tgck", &out), 0) << out;
  const auto one = metrics(d / "m1.jsonl");
  const checkpoint c1 = read_checkpoint(d / "m1.tgck");
  for (int k : {2, 4}) {
    const std::string m = d / ("mpi" + std::to_string(k));
    ASSERT_EQ(run_shell(mpirun_prefix(k) + common + " --comm mpi --metrics " + m + ".jsonl --save-model " + m + ".tgck",
                        &out),
              0)
        << out;
    const auto many = metrics(m + ".jsonl");
    ASSERT_NO_FATAL_FAILURE(expect_same_curve(one, many, k));
    ASSERT_NO_FATAL_FAILURE(expect_same_model(c1, read_checkpoint(m + ".tgck")));
  }
  // auto picks MPI under mpirun; --comm mpi outside mpirun is refused with the reason.
  const std::string quick = " train " + g + " --fanouts 5,5 --hidden 16 --batch-size 200 --epochs 1 --no-progress";
  ASSERT_EQ(run_shell(mpirun_prefix(2) + quick, &out), 0) << out;
  EXPECT_NE(out.find("mpi communicator"), std::string::npos) << out;
  EXPECT_NE(test::run_cli("-q launch -n 2 --" + quick + " --comm mpi", &out), 0) << out;
  EXPECT_NE(out.find("not started by mpirun"), std::string::npos) << out;
}

namespace {
// Starts a long mpirun job of two ranks, sends `sig` to rank 1's process once both run, and returns
// the job's log; the job must end within 60 s of the signal (exit status non-zero).
std::string signal_rank_one_of_an_mpi_job(const test::scratch_dir& d, const std::string& g, int sig,
                                          const std::string& extra) {
  const std::string log = d / "mpirun.log";
  const pid_t job = ::fork();
  if (job == 0) {
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    const std::string cmd = mpirun_prefix(2) + " -q train " + g +
                            " --fanouts 10,10 --hidden 64 --batch-size 64 --epochs 1000 --no-progress --comm mpi" +
                            extra;
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until both ranks run, then signal rank 1's process (mpirun's second child).
  std::vector<pid_t> ranks;
  for (int i = 0; i < 300 && ranks.size() < 2; ++i) {
    std::this_thread::sleep_for(100ms);
    ranks = children_of(job);
  }
  EXPECT_EQ(ranks.size(), 2u) << test::read_text(log);
  std::this_thread::sleep_for(2s);
  pid_t victim = -1;
  for (pid_t p : ranks) {  // the rank is in the child's environment
    std::ifstream env("/proc/" + std::to_string(p) + "/environ");
    std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (all.find(std::string("OMPI_COMM_WORLD_RANK=1") + '\0') != std::string::npos) victim = p;
  }
  EXPECT_GT(victim, 0);
  if (victim > 0) ::kill(victim, sig);
  bool timed_out = false;
  const int status = wait_status(job, 60s, &timed_out);
  if (victim > 0 && sig == SIGSTOP) ::kill(victim, SIGKILL);  // in case mpirun left it
  if (timed_out)
    for (pid_t p : ranks) ::kill(p, SIGKILL);  // none left spinning in a collective
  EXPECT_FALSE(timed_out) << "mpirun did not end the job within 60 s\n" << test::read_text(log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "status " << status;
  return test::read_text(log);
}
}  // namespace

TEST(DataParallelMpi, AKilledRankEndsTheJobNamingIt) {
  TG_MPI_OR_SKIP();
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  const std::string text = signal_rank_one_of_an_mpi_job(d, g, SIGKILL, "");
  EXPECT_NE(text.find("rank 1"), std::string::npos) << "mpirun's message names the rank:\n" << text;
}

// A rank that fails alone (rank 0: --resume without a checkpoint) ends the MPI job at once through
// MPI_Abort: its MPI_Finalize had waited for the others, and they for it until --comm-timeout.
TEST(DataParallelMpi, ARankThatFailsAloneEndsTheJobAtOnce) {
  TG_MPI_OR_SKIP();
  test::scratch_dir d;
  const std::string g = make_graph(d, 2000);
  std::filesystem::create_directory(d / "ck");
  std::string out;
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = run_shell(mpirun_prefix(2) + " -q train " + g +
                               " --fanouts 5,5 --hidden 8 --batch-size 200 --epochs 2 --no-progress --comm mpi "
                               "--checkpoint " +
                               d / "ck" + " --resume --comm-timeout 100",
                           &out);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("no checkpoint.tgck in this directory"), std::string::npos) << out;
  EXPECT_EQ(out.find("timed out"), std::string::npos) << out;
  EXPECT_LT(seconds, 60.0) << out;
}

// A rank that hangs (stopped) ends an MPI job after --comm-timeout, as under launch: the others sat
// in MPI_Allreduce at 100% CPU for ever.
TEST(DataParallelMpi, AHungRankEndsTheJobAfterTheTimeout) {
  TG_MPI_OR_SKIP();
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  const std::string text = signal_rank_one_of_an_mpi_job(d, g, SIGSTOP, " --comm-timeout 3");
  // (In whichever collective rank 0 waited: the gradients' all-reduce or an epoch's all-gather.)
  EXPECT_NE(text.find("rank 0: timed out after 3000 ms in a"), std::string::npos) << text;
  EXPECT_NE(text.find("of the MPI job (world of 2): a rank is hung"), std::string::npos) << text;
}

// ---- Features sharded across machines: `prepare --shards K`, one rank per shard ----

namespace {
// A copy of a sharded dataset as machine m would hold it: the common files and shard m only (hard
// links), so the rank cannot open any other shard.
std::string machine_copy(const std::string& sharded, const std::string& dst, int m, int k) {
  namespace fs = std::filesystem;
  fs::copy(sharded, dst, fs::copy_options::recursive | fs::copy_options::create_hard_links);
  for (int s = 0; s < k; ++s)
    if (s != m) fs::remove(dst + "/shards/features-" + std::to_string(s) + "-of-" + std::to_string(k) + ".npy");
  return dst;
}

// Runs `train DIR_r ARGS` as rank r of k (RANK / WORLD_SIZE / MASTER_PORT), each rank on its own
// directory; returns every rank's exit status and appends their logs to *out.
// `extra`, when given, adds rank r's own arguments.
std::vector<int> run_ranks_by_hand(const std::vector<std::string>& dirs, const std::vector<std::string>& args,
                                   const std::string& logdir, std::string* out,
                                   const std::vector<std::vector<std::string>>& extra = {}) {
  const int k = static_cast<int>(dirs.size());
  const std::string port = std::to_string(test::free_tcp_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < k; ++r) {
    std::vector<std::string> a = {"-q", "train", dirs[static_cast<std::size_t>(r)]};
    a.insert(a.end(), args.begin(), args.end());
    if (static_cast<std::size_t>(r) < extra.size())
      a.insert(a.end(), extra[static_cast<std::size_t>(r)].begin(), extra[static_cast<std::size_t>(r)].end());
    pids.push_back(spawn(a, {{"RANK", std::to_string(r)}, {"WORLD_SIZE", std::to_string(k)}, {"MASTER_PORT", port}},
                         logdir + "/rank" + std::to_string(r) + ".log"));
  }
  std::vector<int> status;
  for (int r = 0; r < k; ++r) {
    bool timed_out = false;
    const int s = wait_status(pids[static_cast<std::size_t>(r)], 120s, &timed_out);
    status.push_back(timed_out ? -1 : (WIFEXITED(s) ? WEXITSTATUS(s) : 128));
    *out += test::read_text(logdir + "/rank" + std::to_string(r) + ".log");
  }
  return status;
}

std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}
}  // namespace

// K ranks, each holding only its own shard of the features, train bit for bit the model that K
// ranks train on the unsharded prepared dataset (same seeds, same global batches); the ledger shows
// rows fetched over the network and rows served from replicas.
TEST(DataParallelSharded, EachRankHoldsOneShardAndTheModelIsTheUnshardedOne) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 4000);
  const std::string train_args =
      "--model sage --fanouts 5,5 --hidden 16 --dropout 0 --batch-size 200 --epochs 2 --lr 0.01 --seed 4 "
      "--no-progress";
  const std::string prep = " --gpu-mem 10% --host-mem 30% --fanouts 5,5 --batch-size 200 --seed 4";
  std::string out;
  ASSERT_EQ(test::run_cli("-q prepare " + g + " -o " + d / "p" + prep, &out), 0) << out;
  for (int k : {2, 3}) {
    const std::string sk = d / ("s" + std::to_string(k));
    ASSERT_EQ(test::run_cli(
                  "-q prepare " + g + " -o " + sk + prep + " --shards " + std::to_string(k) + " --replicate 5%", &out),
              0)
        << out;
    const std::string mp = d / ("p" + std::to_string(k));
    ASSERT_EQ(test::run_cli("-q launch -n " + std::to_string(k) + " -- train " + d / "p " + train_args + " --metrics " +
                                mp + ".jsonl --save-model " + mp + ".tgck",
                            &out),
              0)
        << out;
    std::vector<std::string> dirs;
    for (int m = 0; m < k; ++m)
      dirs.push_back(machine_copy(sk, d / ("machine" + std::to_string(k) + "_" + std::to_string(m)), m, k));
    const std::string ms = d / ("s" + std::to_string(k) + "m");
    std::vector<std::string> args = split_args(train_args);
    for (const std::string& a : {std::string("--metrics"), ms + ".jsonl", std::string("--save-model"), ms + ".tgck"})
      args.push_back(a);
    out.clear();
    const auto status = run_ranks_by_hand(dirs, args, d.path(), &out);
    for (int r = 0; r < k; ++r) ASSERT_EQ(status[static_cast<std::size_t>(r)], 0) << "rank " << r << "\n" << out;
    const auto a = metrics(mp + ".jsonl"), b = metrics(ms + ".jsonl");
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t e = 0; e + 1 < a.size(); ++e) {
      EXPECT_EQ(a[e]["loss"].get<double>(), b[e]["loss"].get<double>()) << k << " shards, epoch " << e + 1;
      EXPECT_EQ(a[e]["valid_accuracy"].get<double>(), b[e]["valid_accuracy"].get<double>());
      // Every input row is counted once: local tiers + replicas + fetched = the unsharded rows.
      const auto& ra = a[e]["traffic"]["rows"];
      const auto& rb = b[e]["traffic"]["rows"];
      const auto sum = [](const nlohmann::json& r) {
        std::int64_t s = 0;
        for (const auto& [key, v] : r.items()) s += v.get<std::int64_t>();
        return s;
      };
      EXPECT_EQ(sum(ra), sum(rb));
      EXPECT_GT(rb["remote"].get<std::int64_t>(), 0);
      EXPECT_GT(rb["replica"].get<std::int64_t>(), 0);
      EXPECT_GT(b[e]["traffic"]["bytes"]["network"].get<std::int64_t>(), 0);
    }
    EXPECT_EQ(a.back()["test"].get<double>(), b.back()["test"].get<double>());
    ASSERT_NO_FATAL_FAILURE(expect_identical_model(read_checkpoint(mp + ".tgck"), read_checkpoint(ms + ".tgck")));
  }
}

// A shard that is missing, or comes from another prepare run, is refused before any work, naming
// the file; so are a job whose rank count is not the shard count and --replicate without shards.
TEST(DataParallelSharded, AMissingOrForeignShardIsRefusedBeforeWork) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 2000);
  const std::string prep = " --gpu-mem 10% --host-mem 30% --fanouts 5,5 --batch-size 200";
  std::string out;
  ASSERT_EQ(test::run_cli("-q prepare " + g + " -o " + d / "s" + prep + " --shards 2", &out), 0) << out;
  ASSERT_EQ(test::run_cli("-q prepare " + g + " -o " + d / "other" + prep + " --shards 2 --estimator degree", &out), 0)
      << out;
  const std::string quick = " --fanouts 5,5 --hidden 8 --batch-size 200 --epochs 1 --no-progress";
  // Missing: rank 1's directory lacks its shard.
  const std::vector<std::string> dirs = {machine_copy(d / "s", d / "m0", 0, 2), machine_copy(d / "s", d / "m1", 0, 2)};
  out.clear();
  auto status = run_ranks_by_hand(dirs, split_args(quick), d.path(), &out);
  EXPECT_NE(status[1], 0) << out;
  EXPECT_NE(out.find("features-1-of-2.npy"), std::string::npos) << out;
  EXPECT_NE(out.find("missing"), std::string::npos) << out;
  EXPECT_EQ(out.find("epoch 1/1"), std::string::npos) << "no rank may start training\n" << out;
  // Foreign: shard 1 replaced by another plan's shard 1 (same shape and size).
  namespace fs = std::filesystem;
  const std::string m2 = machine_copy(d / "s", d / "m2", 1, 2);
  fs::remove(m2 + "/shards/features-1-of-2.npy");
  fs::copy_file(d / "other/shards/features-1-of-2.npy", m2 + "/shards/features-1-of-2.npy");
  out.clear();
  status = run_ranks_by_hand({machine_copy(d / "s", d / "m3", 0, 2), m2}, split_args(quick), d.path(), &out);
  EXPECT_NE(status[1], 0) << out;
  EXPECT_NE(out.find("comes from another plan"), std::string::npos) << out;
  // info --check verifies the shards a machine holds against plan.json.
  EXPECT_NE(test::run_cli("info --check " + m2, &out), 0);
  EXPECT_NE(out.find("features-1-of-2.npy: checksum mismatch"), std::string::npos) << out;
  EXPECT_EQ(test::run_cli("info --check " + d / "m3", &out), 0) << out;
  EXPECT_NE(out.find("here: 0\n"), std::string::npos) << out;
  // One process for two shards; --replicate on an unsharded dataset.
  EXPECT_NE(test::run_cli("-q train " + d / "s" + quick, &out), 0);
  EXPECT_NE(out.find("sharded 2 ways"), std::string::npos) << out;
  EXPECT_NE(out.find("launch -n 2"), std::string::npos) << out;
  EXPECT_NE(test::run_cli("-q train " + g + quick + " --replicate 1M", &out), 0);
  EXPECT_NE(out.find("--replicate applies"), std::string::npos) << out;
  EXPECT_NE(test::run_cli("-q prepare " + g + " -o " + d / "x" + prep + " --shards 1", &out), 0);
  EXPECT_NE(out.find("--shards 1"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "x"));
}

// The ranks of a job compare their datasets and settings before any work: a rank given another
// dataset, a prepared copy from another prepare run (rows in another order) or other options trained
// on silently, or hung in a reduction of another size until --comm-timeout.
TEST(DataParallel, RanksOfAnotherDatasetOrOtherSettingsAreRefusedBeforeWork) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 2000);
  const std::string other = make_graph(d, 2000, "other", 10);
  const std::string quick = " --fanouts 5,5 --hidden 8 --batch-size 200 --epochs 1 --no-progress --comm-timeout 60";
  std::string out;
  auto status = run_ranks_by_hand({g, other}, split_args(quick), d.path(), &out);
  EXPECT_EQ(status, (std::vector<int>{1, 1})) << out;
  EXPECT_NE(out.find("rank 1 trains dataset " + other + " and rank 0 " + g + ", which differ"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("epoch 1/1"), std::string::npos) << "no rank may start training\n" << out;
  // Prepared copies from two prepare runs of one dataset: the same counts, rows in another order.
  const std::string prep = " --gpu-mem 10% --fanouts 5,5 --batch-size 200";
  ASSERT_EQ(test::run_cli("-q prepare " + g + " -o " + d / "p1" + prep, &out), 0) << out;
  ASSERT_EQ(test::run_cli("-q prepare " + g + " -o " + d / "p2" + prep + " --estimator degree", &out), 0) << out;
  out.clear();
  status = run_ranks_by_hand({d / "p1", d / "p2"}, split_args(quick), d.path(), &out);
  EXPECT_EQ(status, (std::vector<int>{1, 1})) << out;
  EXPECT_NE(out.find("order.npy"), std::string::npos) << out;
  EXPECT_NE(out.find("the output of the same prepare run"), std::string::npos) << out;
  // Other options: named with both values.
  out.clear();
  status = run_ranks_by_hand({g, g}, split_args(quick), d.path(), &out, {{"--seed", "1"}, {"--seed", "2"}});
  EXPECT_EQ(status, (std::vector<int>{1, 1})) << out;
  EXPECT_NE(out.find("rank 1 was started with other settings than rank 0: --seed: rank 0 1, rank 1 2"),
            std::string::npos)
      << out;
  out.clear();
  status = run_ranks_by_hand({g, g}, split_args(quick), d.path(), &out, {{"--hidden", "8"}, {"--hidden", "16"}});
  EXPECT_EQ(status, (std::vector<int>{1, 1})) << out;
  EXPECT_NE(out.find("--hidden: rank 0 8, rank 1 16"), std::string::npos) << out;
  EXPECT_EQ(out.find("timed out"), std::string::npos) << out;
}

// --resume: rank 0 reads the checkpoint and every rank takes the state from it, so the other
// machines need no copy (and a stale copy there cannot split the job across epochs).
TEST(DataParallel, ResumeNeedsTheCheckpointOnRankZerosMachineOnly) {
  test::scratch_dir d;
  const std::string g = make_graph(d, 3000);
  const std::string common =
      " --model sage --fanouts 5,5 --hidden 16 --batch-size 200 --lr 0.01 --seed 8 --no-progress --eval none";
  std::string out;
  ASSERT_EQ(test::run_cli("-q launch -n 2 -- train " + g + common + " --epochs 4 --save-model " + d / "a.tgck", &out),
            0)
      << out;
  ASSERT_EQ(test::run_cli("-q launch -n 2 -- train " + g + common + " --epochs 2 --checkpoint " + d / "ck", &out), 0)
      << out;
  std::filesystem::create_directory(d / "empty");
  out.clear();
  const auto status =
      run_ranks_by_hand({g, g}, split_args(common + " --epochs 4 --resume"), d.path(), &out,
                        {{"--checkpoint", d / "ck", "--save-model", d / "b.tgck"}, {"--checkpoint", d / "empty"}});
  ASSERT_EQ(status, (std::vector<int>{0, 0})) << out;
  expect_identical_model(read_checkpoint(d / "a.tgck"), read_checkpoint(d / "b.tgck"));
}

// Under mpirun the exchange runs over MPI (MPI_Alltoallv on a duplicate communicator) and the model
// is the one MPI trains on the unsharded dataset.
TEST(DataParallelMpi, ShardedFeaturesUnderMpirun) {
  TG_MPI_OR_SKIP();
  test::scratch_dir d;
  const std::string g = make_graph(d, 3000);
  const std::string prep = " --gpu-mem 10% --host-mem 30% --fanouts 5,5 --batch-size 200 --seed 4";
  std::string out;
  ASSERT_EQ(test::run_cli("-q prepare " + g + " -o " + d / "p" + prep, &out), 0) << out;
  ASSERT_EQ(test::run_cli("-q prepare " + g + " -o " + d / "s" + prep + " --shards 2 --replicate 5%", &out), 0) << out;
  const std::string args =
      " --model sage --fanouts 5,5 --hidden 16 --dropout 0 --batch-size 200 --epochs 2 --lr 0.01 --seed 4 "
      "--no-progress --comm mpi";
  for (const char* which : {"p", "s"})
    ASSERT_EQ(run_shell(mpirun_prefix(2) + " -q train " + d / which + args + " --metrics " + d / which +
                            ".jsonl --save-model " + d / which + ".tgck",
                        &out),
              0)
        << out;
  ASSERT_NO_FATAL_FAILURE(expect_identical_model(read_checkpoint(d / "p.tgck"), read_checkpoint(d / "s.tgck")));
  const auto m = metrics(d / "s.jsonl");
  EXPECT_GT(m.front()["traffic"]["rows"]["remote"].get<std::int64_t>(), 0);
}
