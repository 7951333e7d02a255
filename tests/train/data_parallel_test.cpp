// Data-parallel training through the command line, as users run it: `tiergnn launch -n K -- train`
// and ranks started by hand with RANK/WORLD_SIZE/MASTER_*. K ranks with the same global batch follow
// one process's loss curve within float rounding of the reduction order; a killed rank makes the
// others stop with an error within the timeout instead of hanging.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

std::string make_graph(const test::scratch_dir& d, std::int64_t nodes) {
  community_options o;
  o.num_nodes = nodes;
  o.avg_degree = 10;
  o.num_classes = 4;
  o.feature_dim = 16;
  o.seed = 9;
  return generate_community(o, d / "g", false);
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

TEST(DataParallelMpi, AKilledRankEndsTheJobNamingIt) {
  TG_MPI_OR_SKIP();
  test::scratch_dir d;
  const std::string g = make_graph(d, 20000);
  const std::string log = d / "mpirun.log";
  const pid_t job = ::fork();
  if (job == 0) {
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    const std::string cmd = mpirun_prefix(2) + " -q train " + g +
                            " --fanouts 10,10 --hidden 64 --batch-size 64 --epochs 1000 --no-progress --comm mpi";
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until both ranks run, then kill rank 1's process (mpirun's second child).
  std::vector<pid_t> ranks;
  for (int i = 0; i < 300 && ranks.size() < 2; ++i) {
    std::this_thread::sleep_for(100ms);
    ranks = children_of(job);
  }
  ASSERT_EQ(ranks.size(), 2u) << test::read_text(log);
  std::this_thread::sleep_for(2s);
  pid_t victim = -1;
  for (pid_t p : ranks) {  // the rank is in the child's environment
    std::ifstream env("/proc/" + std::to_string(p) + "/environ");
    std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (all.find(std::string("OMPI_COMM_WORLD_RANK=1") + '\0') != std::string::npos) victim = p;
  }
  ASSERT_GT(victim, 0);
  const auto t0 = std::chrono::steady_clock::now();
  ::kill(victim, SIGKILL);
  bool timed_out = false;
  const int status = wait_status(job, 60s, &timed_out);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(timed_out) << "mpirun did not end the job within 60 s\n" << test::read_text(log);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "status " << status;
  EXPECT_LT(seconds, 30.0);
  const std::string text = test::read_text(log);
  EXPECT_NE(text.find("rank 1"), std::string::npos) << "mpirun's message names the rank:\n" << text;
}
