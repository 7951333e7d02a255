#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "train/checkpoint.hpp"

using tg::test::run_cli;
using tg::test::scratch_dir;
namespace fs = std::filesystem;

namespace {
// Starts `tiergnn ARGS...` as a child process with its output discarded.
pid_t spawn(const std::vector<std::string>& args, int ignored_signal = 0) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (ignored_signal != 0) ::signal(ignored_signal, SIG_IGN);  // as nohup does for SIGHUP
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> argv{const_cast<char*>(TIERGNN_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TIERGNN_CLI, argv.data());
    _exit(127);
  }
  return pid;
}

// Waits until the checkpoint has recorded at least `epoch` epochs; false if the child exited first.
bool wait_for_checkpoint(pid_t pid, const std::string& path, int epoch) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) {
      try {
        if (tg::read_checkpoint(path).header.at("epoch").get<int>() >= epoch) return true;
      } catch (const std::exception&) {
      }
    }
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

struct cli_fixture {
  scratch_dir d;
  std::string g = d / "g";
  std::vector<std::string> train_args;
  cli_fixture() {
    EXPECT_EQ(run_cli("-q generate community " + g + " --nodes 60000 --classes 4 --feature-dim 32 --seed 2"), 0);
    train_args = {"-q",  "train",    g,   "--fanouts", "10,10", "--hidden",     "64",  "--batch-size",
                  "256", "--epochs", "6", "--seed",    "4",     "--eval-every", "100", "--no-progress"};
  }
  std::string args(const std::string& extra) const {
    std::string s;
    for (const auto& a : train_args) s += a + " ";
    return s + extra;
  }
};
}  // namespace

TEST(TrainCli, KilledRunResumesToTheSameModel) {
  cli_fixture f;
  ASSERT_EQ(run_cli(f.args("--save-model " + (f.d / "full.tgck"))), 0);
  std::vector<std::string> a = f.train_args;
  a.insert(a.end(), {"--checkpoint", f.d / "ck"});
  const pid_t pid = spawn(a);
  ASSERT_TRUE(wait_for_checkpoint(pid, f.d / "ck/checkpoint.tgck", 1)) << "the run ended before its first checkpoint";
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed; make epochs longer";
  const int saved = tg::read_checkpoint(f.d / "ck/checkpoint.tgck").header.at("epoch").get<int>();
  EXPECT_GE(saved, 1);
  EXPECT_LT(saved, 6);
  std::string out;
  ASSERT_EQ(run_cli(f.args("--checkpoint " + (f.d / "ck") + " --resume --save-model " + (f.d / "resumed.tgck")), &out),
            0)
      << out;
  EXPECT_EQ(tg::test::read_text(f.d / "full.tgck"), tg::test::read_text(f.d / "resumed.tgck"));
}

// Ctrl-C, and SIGTERM / SIGHUP (timeout, batch schedulers, docker stop, a closed terminal), stop
// training after the current batch: exit 128 + signal, the checkpoint intact, the metrics of the
// finished epochs kept.
TEST(TrainCli, CtrlCStopsAfterTheCurrentBatchWithTheCheckpointIntact) {
  cli_fixture f;
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    SCOPED_TRACE(sig);
    const std::string ck = f.d / ("ck" + std::to_string(sig)), metrics = f.d / ("m" + std::to_string(sig) + ".jsonl");
    std::vector<std::string> a = f.train_args;
    a.insert(a.end(), {"--checkpoint", ck, "--metrics", metrics});
    const pid_t pid = spawn(a);
    ASSERT_TRUE(wait_for_checkpoint(pid, ck + "/checkpoint.tgck", 1));
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    int saved = 0;
    EXPECT_NO_THROW(saved = tg::read_checkpoint(ck + "/checkpoint.tgck").header.at("epoch").get<int>());
    for (const auto& e : fs::directory_iterator(ck)) EXPECT_EQ(e.path().filename(), "checkpoint.tgck");
    ASSERT_TRUE(fs::exists(metrics));
    const std::string m = tg::test::read_text(metrics);
    EXPECT_EQ(static_cast<int>(std::count(m.begin(), m.end(), '\n')), saved) << m;
    if (sig == SIGINT) {
      EXPECT_EQ(run_cli(f.args("--checkpoint " + ck + " --resume")), 0);
    }
  }
}

// A signal ignored when the run started stays ignored: `nohup tiergnn train ...` survives the hangup.
TEST(TrainCli, NohupRunsSurviveTheHangup) {
  cli_fixture f;
  const std::string ck = f.d / "ck";
  std::vector<std::string> a = f.train_args;
  a.insert(a.end(), {"--checkpoint", ck});
  const pid_t pid = spawn(a, SIGHUP);
  ASSERT_TRUE(wait_for_checkpoint(pid, ck + "/checkpoint.tgck", 1));
  kill(pid, SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int status = 0;
  const pid_t done = waitpid(pid, &status, WNOHANG);
  if (done == 0) {  // still training: stop it as a user would
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  } else {  // it may only have finished, never been stopped by the hangup
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
}

// Ctrl-C during the final evaluation (a full-graph pass, the longest phase on a large graph) stops
// it between evaluation batches: exit 130, no test metric printed, the trained epochs kept.
TEST(TrainCli, CtrlCDuringTheFinalEvaluationStopsIt) {
  scratch_dir d;
  ASSERT_EQ(
      run_cli("-q generate rmat " + d / "g" + " --scale 18 --edge-factor 16 --feature-dim 32 --classes 4 --seed 3"), 0);
  const std::string metrics = d / "m.jsonl", log = d / "log";
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    const std::string g = d / "g";
    execl(TIERGNN_CLI, TIERGNN_CLI, "--threads", "1", "train", g.c_str(), "--epochs", "1", "--max-batches", "1",
          "--hidden", "64", "--fanouts", "5,5", "--no-progress", "--eval-batch-size", "256", "--metrics",
          metrics.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The epoch's line is in the metrics' temporary once its training and validation are done: the
  // test evaluation runs next.
  bool in_test = false;
  for (int i = 0; i < 6000 && !in_test; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (const auto& e : fs::directory_iterator(d.path()))
      in_test = in_test || (e.path().filename().string().rfind(".m.jsonl.tmp-", 0) == 0 && fs::file_size(e.path()) > 0);
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  const std::string out = tg::test::read_text(log);
  ASSERT_TRUE(in_test) << out;
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 130) << out;
  EXPECT_NE(out.find("stopped before the final evaluation"), std::string::npos) << out;
  EXPECT_EQ(out.find("test accuracy"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(metrics)) << out;
}

// A rank waiting on a "rank 0" that accepts its connection and never speaks: SIGTERM stops it within
// a quarter of --comm-timeout (exit 143), not after the whole timeout with a communication error
// (round 12, F12: the wait retried the poll and ignored the stop).
TEST(TrainCli, ARankWaitingOnASilentPeerStopsOnSigterm) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --classes 4 --feature-dim 8 --seed 2"), 0);
  const int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(ls, 4), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string port = std::to_string(ntohs(a.sin_port));
  ::setenv("RANK", "1", 1);
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", port.c_str(), 1);
  const pid_t pid = spawn({"train", d / "g", "--epochs", "5", "--no-progress", "--comm-timeout", "8"});
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
  // The rank has connected and said hello: it waits for rank 0's answer inside training.
  const int c = ::accept(ls, nullptr, nullptr);
  ASSERT_GE(c, 0);
  char hello[4];
  ASSERT_EQ(::recv(c, hello, sizeof hello, MSG_WAITALL), static_cast<ssize_t>(sizeof hello));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ::close(c);
  ::close(ls);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 143);  // stopped by the signal; the whole timeout ended in a comm error (1)
}

TEST(TrainCli, BadInputIsOneLineAndExitsOne) {
  cli_fixture f;
  std::string out;
  EXPECT_EQ(run_cli("train " + f.g + " --fanouts 10,10 --layers 3", &out), 1);
  EXPECT_NE(out.find("tiergnn: error: --fanouts has 2 entries but the model has 3 layers"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train " + f.g + " --batch-size 0", &out), 1);
  EXPECT_NE(out.find("--batch-size must be positive"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train " + f.g + " --fanouts 10,x", &out), 1);
  EXPECT_NE(out.find("'x' is not an integer"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train " + (f.d / "missing"), &out), 1);
  EXPECT_NE(out.find("no such dataset directory"), std::string::npos) << out;
}

// A byte --gpu-mem plan is sized for the model train will train: prepare --model gat reserves GAT's
// memory (its per-source transforms and per-edge attention), and a GAT run of a plan made for SAGE
// is told which setting differs (it was told "--hidden 512 ... this run uses --hidden 512").
TEST(TrainCli, ABytePlanIsSizedForTheModelTrainWillTrain) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 30000 --classes 5 --feature-dim 32 --seed 7"), 0);
  const std::string common = " --gpu-mem 20M --host-mem 30% --fanouts 10,5 --batch-size 512 --hidden 32";
  const std::string gat =
      " --model gat --hidden 32 --heads 1 --epochs 1 --fanouts 10,5 --batch-size 512 "
      "--max-batches 2 --eval none --no-progress";
  std::string out;
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "sage" + common, &out), 0) << out;
  EXPECT_EQ(run_cli("train " + d / "sage" + gat, &out), 1);
  EXPECT_NE(out.find("prepared for --model sage --hidden 32 --fanouts 10,5 --batch-size 512; this run uses --model gat "
                     "--hidden 32 --heads 1 --out-heads 1 --fanouts 10,5 --batch-size 512"),
            std::string::npos)
      << out;
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "gat" + common + " --model gat --heads 1", &out), 0) << out;
  EXPECT_EQ(run_cli("train " + d / "gat" + gat, &out), 0) << out;
  // A train-time --gpu-mem keeps the plan's host budget, read from its exact bytes (its text, "2.00
  // PiB", was refused as an unknown unit).
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "big-host --gpu-mem 10% --host-mem 2048T --fanouts 5", &out),
            0)
      << out;
  EXPECT_EQ(
      run_cli("-q train " + d / "big-host" + " --gpu-mem 20% --fanouts 5 --epochs 1 --max-batches 1 --eval none", &out),
      0)
      << out;
  // GAT's options for another model would change nothing: refused, named.
  EXPECT_EQ(run_cli("prepare " + d / "g" + " -o " + d / "x --heads 2", &out), 1);
  EXPECT_NE(out.find("--heads applies to --model gat only"), std::string::npos) << out;
}

// A mapped dataset file cut short while train reads it: one error line naming the file (SIGBUS is
// caught; the handler finds the mapping that holds the faulting address), exit status 1.
TEST(TrainCli, AFileTruncatedUnderARunIsNamed) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 20000 --feature-dim 16 --classes 4 --seed 1"), 0);
  const std::string err = d / "err.txt";
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    const std::string g = d / "g";
    execl(TIERGNN_CLI, TIERGNN_CLI, "train", g.c_str(), "--epochs", "100000", "--eval", "none", "--no-progress",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Truncated once training has begun (its metrics-free run prints its header first).
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (tg::test::read_text(err).find("training sage") != std::string::npos) break;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  fs::resize_file(d / "g/indices.npy", 128);
  int status = 0;
  for (int i = 0; i < 600 && waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "train kept running for 30 s on a truncated indices.npy";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string out = tg::test::read_text(err);
  EXPECT_NE(out.find("indices.npy"), std::string::npos) << out;
}
