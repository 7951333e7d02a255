// What a careless or hostile user can do to the command line, and what must hold: one line and exit
// status 1 for every error (parse errors too), nothing the user owns destroyed by --force, a damaged
// checkpoint refused on --resume, and a checkpoint never silently replaced.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <tuple>
#include <chrono>
#include <string>
#include <limits>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/npy.hpp"
#include "core/resources.hpp"
#include "test_util.hpp"
#include "tiering/plan_file.hpp"

using tg::test::run_cli;
using tg::test::scratch_dir;
namespace fs = std::filesystem;

namespace {
void expect_one_line_error(const std::string& args, const std::string& needle) {
  std::string out;
  const int rc = run_cli(args, &out);
  EXPECT_EQ(rc, 1) << args << "\n" << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << args << ": one line, got\n" << out;
  EXPECT_EQ(out.rfind("tiergnn: error: ", 0), 0u) << args << "\n" << out;
  EXPECT_NE(out.find(needle), std::string::npos) << args << ": expected '" << needle << "' in\n" << out;
  EXPECT_LE(out.size(), 400u) << args << ": an error line names the problem, it does not echo pages\n" << out;
}
}  // namespace

TEST(HostileInput, ParseErrorsAreOneLineWithExitOne) {
  expect_one_line_error("--threads -1 info x", "--threads");
  expect_one_line_error(
      "--threads 99999999999999999999999999999999999999999999999999999999999999999999999999999999999"
      "999999999999999999999999999999999999999999999 info x",
      "...");
  expect_one_line_error("train", "dataset");
  expect_one_line_error("frobnicate", "frobnicate");
  expect_one_line_error("bench epoch x", "unknown bench command 'epoch': choose comm or traffic");
  expect_one_line_error("bench epoch --help", "unknown bench command 'epoch'");
  expect_one_line_error("generate foo x", "unknown generate command 'foo'");
  expect_one_line_error("bench", "tiergnn bench needs a command: comm or traffic");
  expect_one_line_error("train x --metrics -", "'-': outputs are written to files");
  expect_one_line_error("train ''", "the dataset path is empty");
  // A path the system refuses as too long: its reason, not the C++ library's "filesystem error" text.
  expect_one_line_error("info " + std::string(300, 'a'), "(a path of 300 bytes): File name too long");
  // An option given twice takes the last value (each is checked), not CLI11's "At Most 1 required".
  expect_one_line_error("--threads 1 --threads 2 info x", "x: no such dataset directory");
  // An empty numeric value (an unset shell variable) is refused, not read as 0.
  for (const char* o : {"--epochs", "--dropout", "--seed", "--lr", "--batch-size", "--max-batches"})
    expect_one_line_error(std::string("train x ") + o + " ''", std::string(o) + ": '' is not a number");
  expect_one_line_error("generate community x --homophily ''", "--homophily: '' is not a number");
  expect_one_line_error("--threads '' info x", "--threads: '' is not a number");
  expect_one_line_error("train x --fanouts 5,5 --no-such-option", "--no-such-option");
  expect_one_line_error(std::string("info \"$(printf 'bad\\001name')\""), "\\x01");
  // A 32-bit option given a number that fits 64 bits: the range, not CLI11's "Could not convert".
  expect_one_line_error("train x --epochs 2147483648", "--epochs: '2147483648' is out of range (at most 2147483647)");
  expect_one_line_error("train x --epochs -2147483649", "'-2147483649' is out of range (at least -2147483648)");
  std::string out;
  EXPECT_EQ(run_cli("--help", &out), 0);
  EXPECT_NE(out.find("Subcommands"), std::string::npos) << out;
  EXPECT_EQ(run_cli("--version", &out), 0);
  EXPECT_EQ(out.rfind("tiergnn ", 0), 0u) << out;
}

TEST(HostileInput, NonsenseTrainingValuesAreRefusedBeforeWork) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string t = "train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress ";
  expect_one_line_error(t + "--lr inf", "--lr");
  expect_one_line_error(t + "--lr nan", "--lr");
  expect_one_line_error(t + "--weight-decay -1", "--weight-decay");
  expect_one_line_error(t + "--hidden 0", "hidden");
  expect_one_line_error(t + "--eval-every 0", "--eval-every");
  expect_one_line_error(t + "--disk-readers 0", "--disk-readers");
  expect_one_line_error(t + "--save-model " + d / "no/such/dir/m.tgck", "does not exist");
  expect_one_line_error("bench traffic " + d / "g" + " --fanouts 5,5 --epochs 1 --json " + d / "no/such/dir/t.json",
                        "does not exist");
}

TEST(HostileInput, ForceNeverDestroysWhatTheUserOwns) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  // A folder of the user's that is not a dataset.
  fs::create_directories(d / "mine");
  tg::test::write_text(d / "mine/thesis.tex", "years of work");
  expect_one_line_error("-q generate community " + d / "mine" + " --nodes 100 --force", "not a tiergnn dataset");
  EXPECT_EQ(tg::test::read_text(d / "mine/thesis.tex"), "years of work");
  // The input as the output.
  const auto before = tg::test::list_tree(d / "g");
  expect_one_line_error("-q prepare " + d / "g" + " -o " + d / "g" + " --force --fanouts 5,5", "is the input");
  EXPECT_EQ(tg::test::list_tree(d / "g"), before);
  tg::test::write_text(d / "edges.tsv", "0\t1\n1\t2\n");
  expect_one_line_error("-q import edgelist " + d / "edges.tsv" + " -o " + d / "edges.tsv" + " --force",
                        "is the input");
  EXPECT_EQ(tg::test::read_text(d / "edges.tsv"), "0\t1\n1\t2\n");
  // A dataset is replaced, and nothing temporary is left beside it.
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 2 --force"),
            0);
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(HostileInput, CheckpointsAreVerifiedAndNeverSilentlyReplaced) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string t = "-q train " + d / "g" + " --fanouts 5,5 --no-progress --checkpoint " + d / "ck";
  ASSERT_EQ(run_cli(t + " --epochs 1"), 0);
  // A second run without --resume must not start over on top of the checkpoint.
  expect_one_line_error(t + " --epochs 2", "--resume");
  ASSERT_EQ(run_cli(t + " --epochs 1 --overwrite-checkpoint"), 0);
  // One flipped byte in the parameters: refused on --resume.
  const std::string ck = d / "ck/checkpoint.tgck";
  {
    std::fstream f(ck, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-40, std::ios::end);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(-40, std::ios::end);
    f.write(&c, 1);
  }
  expect_one_line_error(t + " --epochs 2 --resume", "checksum");
}

// --resume continues the metrics of the run it resumes, and only those (R14-F1): lines of another run
// that replaced the file meanwhile are left out, and the lines a killed run left in its temporary are
// recovered instead of being deleted as litter.
TEST(HostileInput, AResumedRunsMetricsAreItsOwnEpochsInOrder) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string t = "train " + d / "g" + " --fanouts 5,5 --batch-size 64 --no-progress ";
  auto epochs_of = [](const std::string& file) {
    std::vector<int> e;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      const nlohmann::json j = nlohmann::json::parse(line);
      e.push_back(j.contains("final") ? 0 : j.at("epoch").get<int>());
    }
    return e;
  };
  // Run A (2 epochs, checkpointed), then run B replaces the file, then A resumes to epoch 4.
  ASSERT_EQ(run_cli("-q " + t + "--epochs 2 --checkpoint " + d / "ck" + " --metrics " + d / "m.jsonl"), 0);
  ASSERT_EQ(run_cli("-q " + t + "--epochs 5 --seed 7 --metrics " + d / "m.jsonl"), 0);
  std::string out;
  ASSERT_EQ(run_cli(t + "--epochs 4 --checkpoint " + d / "ck" + " --resume --metrics " + d / "m.jsonl", &out), 0)
      << out;
  EXPECT_EQ(epochs_of(d / "m.jsonl"), (std::vector<int>{3, 4, 0}));
  EXPECT_NE(out.find("the lines of epochs 1 to 2 of the run being resumed are not in it"), std::string::npos) << out;
  EXPECT_NE(out.find("5 epoch line(s) in it that are not the resumed run's"), std::string::npos) << out;
  // Resumed again: its own lines 3-4 are kept, not dropped as another run's.
  ASSERT_EQ(run_cli("-q " + t + "--epochs 5 --checkpoint " + d / "ck" + " --resume --metrics " + d / "m.jsonl"), 0);
  EXPECT_EQ(epochs_of(d / "m.jsonl"), (std::vector<int>{3, 4, 5, 0}));

  // --metrics given only on resume: the run wrote none, so another run's lines there are not taken as its.
  ASSERT_EQ(run_cli("-q " + t + "--epochs 2 --checkpoint " + d / "ck3"), 0);
  ASSERT_EQ(run_cli(t + "--epochs 3 --checkpoint " + d / "ck3" + " --resume --metrics " + d / "m.jsonl", &out), 0)
      << out;
  EXPECT_EQ(epochs_of(d / "m.jsonl"), (std::vector<int>{3, 0}));
  EXPECT_NE(out.find("the run being resumed wrote no --metrics"), std::string::npos) << out;

  // A run killed before it renamed its metrics into place: its temporary (named after a process that
  // no longer exists) holds epochs 1-3; the resumed run's file holds 1-5, and the temporary is gone.
  ASSERT_EQ(run_cli("-q " + t + "--epochs 3 --checkpoint " + d / "ck2" + " --metrics " + d / "k.jsonl"), 0);
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  const std::string temp = d / (".k.jsonl.tmp-" + std::to_string(gone) + "-0");
  {
    std::ifstream in(d / "k.jsonl");
    std::ofstream o(temp);
    for (std::string line; std::getline(in, line);)
      if (line.find("\"final\"") == std::string::npos) o << line << "\n";
  }
  fs::remove(d / "k.jsonl");
  ASSERT_EQ(run_cli(t + "--epochs 5 --checkpoint " + d / "ck2" + " --resume --metrics " + d / "k.jsonl", &out), 0)
      << out;
  EXPECT_EQ(epochs_of(d / "k.jsonl"), (std::vector<int>{1, 2, 3, 4, 5, 0}));
  EXPECT_NE(out.find("were recovered from"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(temp));
}

TEST(HostileInput, ByteOrderMarkAndImpossibleSizes) {
  scratch_dir d;
  tg::test::write_text(d / "bom.tsv",
                       "\xEF\xBB\xBF"
                       "0\t1\n1\t2\n");
  ASSERT_EQ(run_cli("-q import edgelist " + d / "bom.tsv" + " -o " + d / "bom"), 0);
  std::string out;
  ASSERT_EQ(run_cli("info " + d / "bom" + " --json", &out), 0);
  EXPECT_NE(out.find("\"num_arcs\":2"), std::string::npos) << "the first edge is kept:\n" << out;
  // 2^40 nodes will not fit in memory (nor 2^40 x 16 edges on this disk): refused before anything is
  // written, naming the option.
  expect_one_line_error("-q generate rmat " + d / "huge" + " --scale 40 --feature-dim 64", "--scale 40");
  // 2^20 nodes fit in memory, but 2^20 x 10^6 float32 features (4 TiB) will not fit on this disk.
  expect_one_line_error("-q generate rmat " + d / "huge" + " --scale 20 --feature-dim 1000000", "free");
  EXPECT_FALSE(fs::exists(d / "huge"));
}

// Point 5 for the importers: a size that cannot fit this machine's memory or the output's file
// system is refused before the output is created, naming the input that asked for it and both numbers.
TEST(HostileInput, ImportersRefuseSizesThatCannotFit) {
  scratch_dir d;
  tg::test::write_text(d / "e.tsv", "0\t1\n1\t2\n");
  expect_one_line_error(
      "-q import edgelist " + d / "e.tsv" + " -o " + d / "o1" + " --remap never --num-nodes 1000000000000",
      "--num-nodes: building the graph of 1000000000000 nodes (16 bytes per node");
  tg::test::write_text(d / "far.tsv", "0\t1\n1\t4000000000000000\n");
  expect_one_line_error("-q import edgelist " + d / "far.tsv" + " -o " + d / "o2" + " --remap never",
                        "largest node id is 4000000000000000 (use --remap");
  ASSERT_EQ(run_cli("-q import edgelist " + d / "far.tsv" + " -o " + d / "o3"), 0) << "auto remaps sparse ids";
  // OGB text layout: counts stated by num-node-list / num-edge-list, and a feature row width.
  const std::string raw = d / "ogb/raw";
  fs::create_directories(raw);
  tg::test::write_text(raw + "/edge.csv", "0,1\n1,2\n");
  tg::test::write_text(raw + "/num-edge-list.csv", "2\n");
  tg::test::write_text(raw + "/num-node-list.csv", "1000000000000\n");
  expect_one_line_error("-q import ogb " + d / "ogb" + " -o " + d / "o4", "num-node-list.csv: building the graph of");
  tg::test::write_text(raw + "/num-node-list.csv", "100000000\n");
  std::string wide;
  for (int j = 0; j < 2000000; ++j) wide += j ? ",0" : "0";
  tg::test::write_text(raw + "/node-feat.csv", wide + "\n");
  expect_one_line_error("-q import ogb " + d / "ogb" + " -o " + d / "o5", "features.npy (100000000 rows of 2000000");
  fs::remove(raw + "/node-feat.csv");
  tg::test::write_text(raw + "/num-node-list.csv", "3\n");
  tg::test::write_text(raw + "/num-edge-list.csv", "1000000000000000\n");
  expect_one_line_error("-q import ogb " + d / "ogb" + " -o " + d / "o6", "free");
  for (const char* o : {"o1", "o2", "o4", "o5", "o6"}) EXPECT_FALSE(fs::exists(d / o)) << o;
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "left " << e.path();
}

TEST(HostileInput, NoLitterFromStoppedOrKilledRuns) {
  scratch_dir d;
  // A dead process's temporary output beside the target is removed by the next run there.
  fs::create_directories(d / ".g.tmp-999999999");
  tg::test::write_text(d / ".g.tmp-999999999/indices.npy", "half written");
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  EXPECT_FALSE(fs::exists(d / ".g.tmp-999999999"));
  // SIGTERM while a dataset is being written: its temporary directory goes with the process.
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    SCOPED_TRACE(sig);
    const std::string out = d / ("big" + std::to_string(sig));
    const pid_t pid = fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      execl(TIERGNN_CLI, TIERGNN_CLI, "-q", "generate", "community", out.c_str(), "--nodes", "3000000", "--feature-dim",
            "64", static_cast<char*>(nullptr));
      _exit(127);
    }
    bool seen = false;
    for (int i = 0; i < 3000 && !seen; ++i) {  // up to 30 s: slow under a loaded ctest -j
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      for (const auto& e : fs::directory_iterator(d.path()))
        seen = seen || e.path().filename().string().rfind(".big" + std::to_string(sig) + ".tmp-", 0) == 0;
    }
    ASSERT_TRUE(seen) << "the temporary output never appeared";
    ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
    for (const auto& e : fs::directory_iterator(d.path()))
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "left " << e.path();
    EXPECT_FALSE(fs::exists(out));
  }
  // The same when the temporary holds a subdirectory (a sharded dataset's shards/).
  ASSERT_EQ(run_cli("-q generate community " + d / "src" + " --nodes 400000 --feature-dim 64 --seed 1"), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string src = d / "src", out = d / "sharded";
    execl(TIERGNN_CLI, TIERGNN_CLI, "-q", "prepare", src.c_str(), "-o", out.c_str(), "--shards", "2", "--estimator",
          "degree", static_cast<char*>(nullptr));
    _exit(127);
  }
  bool seen = false;
  for (int i = 0; i < 30000 && !seen; ++i) {  // up to 30 s
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (const auto& e : fs::directory_iterator(d.path()))
      if (e.path().filename().string().rfind(".sharded.tmp-", 0) == 0) {
        std::error_code ec;
        seen = seen || (fs::is_directory(e.path() / "shards", ec) && !fs::is_empty(e.path() / "shards", ec));
      }
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(seen) << "the shards never appeared in the temporary output (status " << status << ")";
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "left " << e.path();
}

// Output options never write into the dataset a command reads, two outputs never name one file, and
// a refused or failed output leaves no temporary behind; all checked before any work.
TEST(HostileInput, OutputsNeverOverwriteTheInputOrEachOther) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string g = d / "g";
  const std::string t = "train " + g + " --fanouts 5,5 --epochs 1 --no-progress ";
  expect_one_line_error("profile " + g + " --fanouts 5,5 -o " + g + "/labels.npy", "lies in the input");
  expect_one_line_error(t + "--metrics " + g + "/meta.json", "lies in the input");
  expect_one_line_error(t + "--save-model " + g + "/features.npy", "lies in the input");
  expect_one_line_error(t + "--checkpoint " + g + "/ck", "lies in the input");
  expect_one_line_error("bench traffic " + g + " --fanouts 5,5 --epochs 1 --json " + g + "/meta.json",
                        "lies in the input");
  expect_one_line_error("bench traffic " + g + " --fanouts 5,5 --epochs 1 --plot " + g + "/indptr.npy",
                        "lies in the input");
  expect_one_line_error(t + "--metrics " + d / "x" + " --save-model " + d / "x", "name the same file");
  // Results written to standard output must reach it: a full disk (/dev/full) is an error, not success.
  EXPECT_EQ(run_cli("info --json " + g + " >/dev/full"), 1);
  EXPECT_EQ(run_cli("info " + g + " >/dev/null"), 0);
  // A prepared dataset is profiled and benchmarked through the dataset it was prepared from.
  ASSERT_EQ(run_cli("-q prepare " + g + " -o " + d / "pp" + " --fanouts 5,5 --estimator degree"), 0);
  expect_one_line_error("profile " + d / "pp" + " --fanouts 5,5", "profile the dataset it was prepared from");
  expect_one_line_error("bench traffic " + d / "pp" + " --fanouts 5,5 --epochs 1", "the dataset it was prepared from");
  // info says what a prepared dataset was prepared from and for, and its tiers.
  std::string pinfo;
  ASSERT_EQ(run_cli("info " + d / "pp", &pinfo), 0) << pinfo;
  EXPECT_NE(pinfo.find("prepared     from " + fs::absolute(g).lexically_normal().string() + " by degree"),
            std::string::npos)
      << pinfo;
  EXPECT_NE(pinfo.find("tiers        GPU "), std::string::npos) << pinfo;
  fs::remove_all(d / "pp");
  // A file name that is not UTF-8 (Latin-1) becomes a dataset's name and source path: written to the
  // JSON files with U+FFFD for the bad byte, never the JSON library's exception.
  const std::string latin1 = d / "caf\xe9";
  tg::test::write_text(latin1 + ".txt", "0 1\n1 2\n2 0\n");
  ASSERT_EQ(run_cli("-q import edgelist '" + latin1 + ".txt' -o '" + latin1 + "'"), 0);
  std::string info;
  EXPECT_EQ(run_cli("info --json '" + latin1 + "'", &info), 0) << info;
  EXPECT_NE(info.find("caf\xef\xbf\xbd"), std::string::npos) << info;  // U+FFFD in UTF-8
  fs::remove_all(latin1);
  fs::remove(latin1 + ".txt");
  expect_one_line_error(t + "--checkpoint " + d / "ck" + " --save-model " + d / "ck/checkpoint.tgck",
                        "name the same file");
  expect_one_line_error("bench traffic " + g + " --fanouts 5,5 --epochs 1 --json " + d / "j" + " --plot " + d / "j",
                        "name the same file");
  fs::create_directories(d / "adir");
  expect_one_line_error("profile " + g + " --fanouts 5,5 -o " + d / "adir", "is a directory");
  std::string out;
  EXPECT_EQ(run_cli("-q info --check " + g, &out), 0) << "the dataset is intact\n" << out;
  // Nothing but what the test made: no temporaries of the refused outputs.
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_TRUE(e.path().filename() == "g" || e.path().filename() == "adir") << e.path();
  // A --save-model inside the --checkpoint directory is fine: that directory is created first.
  EXPECT_EQ(run_cli("-q " + t + "--checkpoint " + d / "ck2" + " --save-model " + d / "ck2/model.tgck", &out), 0) << out;
  EXPECT_TRUE(fs::exists(d / "ck2/model.tgck"));
}

// A FIFO (or anything but a regular file) where a dataset file belongs is refused, not read forever.
TEST(HostileInput, SpecialFilesInADatasetAreRefused) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  fs::remove(d / "g/labels.npy");
  ASSERT_EQ(::mkfifo((d / "g/labels.npy").c_str(), 0600), 0);
  expect_one_line_error("info " + d / "g", "is not a regular file");
  fs::remove(d / "g/meta.json");
  ASSERT_EQ(::mkfifo((d / "g/meta.json").c_str(), 0600), 0);
  expect_one_line_error("info " + d / "g", "is not a regular file");
}

// Only a first line of words is a header; ids that fail to parse are an error, not a skipped line.
TEST(HostileInput, EdgeListHeaderDetectionNeverDropsAnEdge) {
  scratch_dir d;
  for (const char* first : {"0 99999999999999999999999", "1.5 2", "0 1e3", "0x1 2"}) {
    std::ofstream(d / "e.txt") << first << "\n1 2\n";
    expect_one_line_error("import edgelist " + d / "e.txt" + " -o " + d / "e", "node id");
  }
  // Said in the user's terms: an overflow is a range, a carriage return is a line-ending problem.
  std::ofstream(d / "big.txt") << "0 9223372036854775808\n";
  expect_one_line_error("import edgelist " + d / "big.txt" + " -o " + d / "big", "outside the range");
  std::ofstream(d / "cr.txt") << "0 1\r1 2\r";
  expect_one_line_error("import edgelist " + d / "cr.txt" + " -o " + d / "cr", "CR-only");
  // Quoted CSV fields (pandas' QUOTE_ALL) are ids.
  std::ofstream(d / "q.csv") << "\"0\",\"1\"\n\"1\",\"2\"\n";
  ASSERT_EQ(run_cli("-q import edgelist " + d / "q.csv" + " -o " + d / "q"), 0);
  std::ofstream(d / "h.txt") << "FromNodeId\tToNodeId\n1\t2\n";
  std::string out;
  ASSERT_EQ(run_cli("import edgelist " + d / "h.txt" + " -o " + d / "h", &out), 0) << out;
  EXPECT_NE(out.find("skipped as a header line"), std::string::npos) << out;
}

// Giving train one of the two budgets of a prepared dataset keeps the plan's other one.
TEST(HostileInput, OneBudgetGivenKeepsThePlansOther) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p" + " --gpu-mem 5% --host-mem 20% --fanouts 5,5"), 0);
  for (const char* given : {"--host-mem 20%", "--gpu-mem 5%"}) {
    std::string out;
    ASSERT_EQ(run_cli("train " + d / "p" + " --fanouts 5,5 --epochs 1 --no-progress " + given, &out), 0) << out;
    EXPECT_NE(out.find("GPU budget 5% of the feature bytes, host budget 20% of the feature bytes"), std::string::npos)
        << given << "\n"
        << out;
  }
  expect_one_line_error("prepare " + d / "g" + " -o " + d / "q" + " --gpu-mem 5% --hidden -5", "--hidden");
  expect_one_line_error("launch -n 2 --grace -1 -- info " + d / "g", "--grace");
  expect_one_line_error("launch -n 2 --grace nan -- info " + d / "g", "--grace");
  expect_one_line_error("launch -n 2 --master-port 70000 -- info " + d / "g", "--master-port");
  // Short messages for negative counts (no range up to the largest double).
  expect_one_line_error("train " + d / "g" + " --max-batches -1", "must be a number >= 0");
  // An output that is a symbolic link is refused before any work, never replaced.
  fs::create_directory_symlink(d / "nowhere", d / "link");
  expect_one_line_error("prepare " + d / "g" + " -o " + d / "link" + " --gpu-mem 5%", "symbolic link");
}

// Non-finite input features stop training with the node named, not advice about the learning rate.
TEST(HostileInput, NonFiniteFeaturesAreNamedNotBlamedOnTheLearningRate) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  {
    std::fstream f(d / "g/features.npy", std::ios::in | std::ios::out | std::ios::binary);
    unsigned char head[10];
    f.read(reinterpret_cast<char*>(head), 10);
    ASSERT_EQ(head[6], 1) << ".npy version 1 expected";
    const std::streamoff data = 10 + (head[8] | (head[9] << 8));
    const float nan = std::nanf("");
    for (int row = 0; row < 500; row += 7) {  // every seventh node: some batch reads one
      f.seekp(data + static_cast<std::streamoff>((row * 8 + 3) * sizeof(float)));
      f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
    }
  }
  expect_one_line_error("-q train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress", "hold NaN");
}

TEST(HostileInput, IntegersOutOfRangeAreRefusedNotSaturated) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string t = "train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress ";
  // strtoll would make these 2^63 - 1 and 2^64 - 1: a run of zero batches, a seed nobody typed.
  expect_one_line_error(t + "--batch-size 99999999999999999999", "out of range");
  expect_one_line_error(t + "--seed -1", "--seed");
  expect_one_line_error(t + "--seed 18446744073709551616", "out of range");
  expect_one_line_error("-q generate community " + d / "h" + " --nodes 99999999999999999999", "out of range");
  // The largest batch size that parses trains the whole training set as one batch (no overflow to 0).
  std::string out;
  ASSERT_EQ(run_cli(t + "--batch-size 9223372036854775000", &out), 0) << out;
  EXPECT_NE(out.find(", 1 batch per epoch"), std::string::npos) << out;
  // A leading zero is not octal (CLI11 alone read 010 as 8).
  ASSERT_EQ(run_cli(t + "--batch-size 010", &out), 0) << out;
  EXPECT_NE(out.find("batch 10,"), std::string::npos) << out;
}

// A finite but absurd loss (logits of 10^10) is pointed out once, with what to try.
TEST(HostileInput, AHugeLossIsWarnedAbout) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  std::string out;
  ASSERT_EQ(run_cli("train " + d / "g" + " --fanouts 5 --epochs 3 --lr 1e10 --eval none --no-progress", &out), 0)
      << out;
  EXPECT_NE(out.find("the model's outputs are huge"), std::string::npos) << out;
  EXPECT_NE(out.find("Try a smaller --lr"), std::string::npos) << out;
  ASSERT_EQ(run_cli("train " + d / "g" + " --fanouts 5 --epochs 3 --eval none --no-progress", &out), 0) << out;
  EXPECT_EQ(out.find("outputs are huge"), std::string::npos) << out;
}

TEST(HostileInput, ImpossibleModelsAreRefusedBeforeAnythingIsAllocated) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  // 10^8 hidden units: 10^16 weights in the second layer. Refused with the estimate, not OOM-killed.
  expect_one_line_error("train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress --hidden 100000000",
                        "--hidden 100000000");
  // Full-neighbour evaluation holds every layer's outputs for all nodes (here 200k x 2 10^6 floats,
  // 1.6 TB: more than any machine) where a batch of 16 trains in ~1.3 GB: refused before training,
  // naming --eval, not OOM-killed at the first evaluation.
  ASSERT_EQ(run_cli("-q generate community " + d / "big" + " --nodes 200000 --feature-dim 8 --classes 4 --seed 1"), 0);
  expect_one_line_error(
      "train " + d / "big" + " --fanouts 5,5 --epochs 1 --no-progress --hidden 2000000 --batch-size 16",
      "--eval full with --hidden 2000000 on 200000 nodes");
  // Nothing to evaluate (no validation or test split): nothing refused (this run's evaluation would
  // need 160 GB).
  ASSERT_EQ(run_cli("-q generate community " + d / "trainonly" +
                    " --nodes 200000 --feature-dim 8 --classes 4 --seed 1 --valid 0 --test 0"),
            0);
  std::string out;
  EXPECT_EQ(run_cli("-q train " + d / "trainonly" +
                        " --fanouts 5,5 --epochs 1 --max-batches 1 --no-progress --hidden 100000 --batch-size 16",
                    &out),
            0)
      << out;
  // The training reserve of prepare saturates instead of wrapping to a size that fits.
  expect_one_line_error("-q prepare " + d / "g" + " -o " + d / "p" + " --hidden 1000000000 --gpu-mem 1GiB",
                        "more than 16 EiB");
  EXPECT_FALSE(fs::exists(d / "p"));
  // GAT's options on another model would change nothing: refused, named.
  expect_one_line_error("train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress --model gcn --residual",
                        "--residual applies to --model gat only");
  expect_one_line_error("train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress --input-dropout 1",
                        "--input-dropout");
}

TEST(HostileInput, TrainingStateIsNotReplacedThroughAnotherOutput) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string t = "-q train " + d / "g" + " --fanouts 5,5 --no-progress --batch-size 64 ";
  ASSERT_EQ(run_cli(t + "--epochs 2 --checkpoint " + d / "ck"), 0);
  const std::string ck = d / "ck/checkpoint.tgck", before = tg::test::read_text(ck);
  expect_one_line_error(t + "--epochs 1 --metrics " + ck, "holds a tiergnn model or checkpoint");
  expect_one_line_error(t + "--epochs 1 --save-model " + ck, "holds a training checkpoint");
  EXPECT_EQ(tg::test::read_text(ck), before);
  // A saved model (no optimizer state) may be saved over, as before.
  ASSERT_EQ(run_cli(t + "--epochs 1 --save-model " + d / "m.tgck"), 0);
  ASSERT_EQ(run_cli(t + "--epochs 1 --save-model " + d / "m.tgck"), 0);
  // An output of another kind never replaces a saved model, nor a model another kind of file; a rerun
  // replaces its own output.
  const std::string model = tg::test::read_text(d / "m.tgck");
  expect_one_line_error(t + "--epochs 1 --metrics " + d / "m.tgck", "holds a tiergnn model");
  expect_one_line_error("profile " + d / "g" + " --fanouts 5,5 --estimator degree -o " + d / "m.tgck",
                        "holds a tiergnn model");
  expect_one_line_error(
      "bench traffic " + d / "g" + " --fanouts 5,5 --epochs 1 --estimators degree --json " + d / "m.tgck",
      "holds a tiergnn model");
  EXPECT_EQ(tg::test::read_text(d / "m.tgck"), model);
  ASSERT_EQ(run_cli(t + "--epochs 1 --metrics " + d / "m.jsonl"), 0);
  ASSERT_EQ(run_cli(t + "--epochs 1 --metrics " + d / "m.jsonl"), 0);
  expect_one_line_error(t + "--epochs 1 --save-model " + d / "m.jsonl", "holds a train --metrics file");
  tg::test::write_text(d / "notes.txt", "my notes\n");
  expect_one_line_error(t + "--epochs 1 --metrics " + d / "notes.txt", "a file that tiergnn did not write");
  // The same format is not the same output (R14-F4): a user's JSON, .npy or SVG, and one command's
  // JSON, are not replaced by another output; each command's rerun replaces its own.
  const std::string package = "{\"name\": \"my-app\", \"version\": \"1.0.0\"}\n";
  tg::test::write_text(d / "package.json", package);
  expect_one_line_error(t + "--epochs 1 --metrics " + d / "package.json", "holds JSON that tiergnn did not write");
  const std::string bt = "bench traffic " + d / "g" + " --fanouts 5,5 --epochs 1 --estimators degree ";
  expect_one_line_error(bt + "--json " + d / "package.json", "holds JSON that tiergnn did not write");
  EXPECT_EQ(tg::test::read_text(d / "package.json"), package);
  ASSERT_EQ(run_cli("-q " + bt + "--json " + d / "bt.json --plot " + d / "bt.svg"), 0);
  ASSERT_EQ(run_cli("-q " + bt + "--json " + d / "bt.json --plot " + d / "bt.svg"), 0);
  expect_one_line_error(t + "--epochs 1 --metrics " + d / "bt.json", "holds a bench traffic --json result");
  expect_one_line_error(bt + "--json " + d / "m.jsonl", "holds a train --metrics file");
  tg::test::write_text(d / "logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"4\"/></svg>\n");
  expect_one_line_error(bt + "--plot " + d / "logo.svg", "an SVG image that tiergnn did not write");
  const std::vector<std::int64_t> mine = {1, 2, 3};
  tg::write_npy(d / "mine.npy", tg::dtype::int64, {3}, mine.data());
  const std::string pr = "profile " + d / "g" + " --fanouts 5,5 --estimator degree -o ";
  expect_one_line_error(pr + d / "mine.npy", "a NumPy array (.npy) that tiergnn did not write");
  ASSERT_EQ(run_cli("-q " + pr + d / "s.npy"), 0);
  ASSERT_EQ(run_cli("-q " + pr + d / "s.npy"), 0);
  // A checkpoint already past --epochs: refused, not reported as the shorter run.
  expect_one_line_error(t + "--epochs 1 --resume --checkpoint " + d / "ck", "beyond --epochs 1");
  // A directory where the checkpoint file goes: refused before training, also with --overwrite-checkpoint.
  fs::create_directories(d / "ck2/checkpoint.tgck");
  expect_one_line_error(t + "--epochs 1 --overwrite-checkpoint --checkpoint " + d / "ck2", "not a regular file");
  // A checkpoint of a 2-process job continues only with 2 processes.
  ASSERT_EQ(run_cli("-q launch -n 2 -- -q train " + d / "g" +
                    " --fanouts 5,5 --no-progress --batch-size 64 "
                    "--epochs 1 --checkpoint " +
                    d / "ck3"),
            0);
  expect_one_line_error(t + "--epochs 2 --resume --checkpoint " + d / "ck3", "2 data-parallel process(es)");
}

TEST(HostileInput, ChecksThatDependOnlyOnTheCommandLineComeFirst) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string b = "bench traffic " + d / "g" + " --fanouts 5,5 --batch-size 64 --epochs 2 ";
  // Named before the oracle replays the run (its "oracle done" line is never printed).
  expect_one_line_error(b + "--estimators degree,bogus", "bogus");
  expect_one_line_error("bench traffic " + d / "g" + " --fanouts 5,5 --epochs 0", "--epochs");
  expect_one_line_error(b + "--random-train-set --train-fraction 0.0001", "holds no node");
  std::string out;
  EXPECT_EQ(run_cli("-q " + b + "--estimators 'degree, wrpr'", &out), 0) << out;
  // An edge list that is a directory is not "no such file".
  fs::create_directories(d / "adir");
  expect_one_line_error("-q import edgelist " + d / "adir" + " -o " + d / "o", "is a directory");
}

TEST(HostileInput, APreparedDatasetWithoutItsPlanIsRefused) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p" + " --fanouts 5,5 --gpu-mem 10%"), 0);
  fs::remove(d / "p/plan.json");
  // It would train on the hot-first ids, not as the original: refused by every command that opens it.
  expect_one_line_error("info " + d / "p", "plan.json");
  expect_one_line_error("train " + d / "p" + " --fanouts 5,5 --epochs 1 --no-progress", "plan.json");
}

TEST(HostileInput, UndirectedEdgeCountsSelfLoopsOnce) {
  scratch_dir d;
  tg::test::write_text(d / "tri.txt", "0 1\n1 2\n2 0\n0 0\n1 1\n");  // a triangle and two loops: 5 edges
  ASSERT_EQ(run_cli("-q import edgelist " + d / "tri.txt" + " -o " + d / "t --undirected"), 0);
  std::string out;
  ASSERT_EQ(run_cli("info " + d / "t" + " --json", &out), 0) << out;
  EXPECT_NE(out.find("\"num_undirected_edges_stored\":5"), std::string::npos) << out;
}

TEST(HostileInput, CheckVerifiesWhatMetaJsonClaims) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate rmat " + d / "r" + " --scale 8 --classes 3 --feature-dim 8 --train 0.3 --seed 2"), 0);
  // A directed graph relabelled undirected in meta.json: its arcs' reverses are missing.
  std::string meta = tg::test::read_text(d / "r/meta.json");
  const std::size_t at = meta.find("\"directed\": true");
  ASSERT_NE(at, std::string::npos) << meta;
  meta.replace(at, std::string("\"directed\": true").size(), "\"directed\": false");
  tg::test::write_text(d / "r/meta.json", meta);
  expect_one_line_error("info " + d / "r" + " --check", "not symmetric");
  std::string out;
  ASSERT_EQ(run_cli("-q generate community " + d / "u" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  ASSERT_EQ(run_cli("info " + d / "u" + " --check", &out), 0) << out;
  EXPECT_NE(out.find("symmetric arcs"), std::string::npos) << out;
}

// JSON nested 100,000 levels deep in meta.json, plan.json or a checkpoint's header overflowed the
// stack when the library printed or destroyed it (R15-F5): refused while parsing, one line.
TEST(HostileInput, DeeplyNestedJsonIsRefusedNotACrash) {
  scratch_dir d;
  const std::string t = "-q generate community " + d / "g" + " --nodes 300 --feature-dim 4 --classes 3 --seed 1";
  ASSERT_EQ(run_cli(t), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p" + " --fanouts 5,5 --estimator degree"), 0);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto nest = [&](const std::string& file, const std::string& key) {
    std::string text = tg::test::read_text(file);
    const std::size_t brace = text.find('{');
    ASSERT_NE(brace, std::string::npos);
    text.insert(brace + 1, "\"" + key + "\": " + deep + ", ");
    tg::test::write_text(file, text);
  };
  fs::copy(d / "g", d / "m", fs::copy_options::recursive);
  nest(d / "m/meta.json", "source");
  expect_one_line_error("info " + d / "m", "meta.json: nests its values more than 256 levels deep");
  expect_one_line_error("train " + d / "m" + " --epochs 1 --no-progress", "levels deep");
  nest(d / "p/plan.json", "junk");
  expect_one_line_error("info " + d / "p", "plan.json: nests its values more than 256 levels deep");
}

// The room train asks for up front: a checkpoint is written beside the previous one from epoch 2 on,
// and --checkpoint and --save-model on one file system need their sum (R15-F1, F2: runs died after
// training). Needs a small tmpfs (root); skipped where mounting is not allowed.
TEST(HostileInput, TrainAsksForTheRoomItsOutputsWillTake) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 16 --classes 4 --seed 3"), 0);
  const std::string mnt = d / "small";
  fs::create_directories(mnt);
  if (std::system(("mount -t tmpfs -o size=2500k tmpfs " + mnt + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
  struct unmount {
    std::string m;
    ~unmount() { (void)std::system(("umount " + m).c_str()); }
  } guard{mnt};
  const std::string t = "train " + d / "g" + " --hidden 256 --no-progress ";
  // 1.7 MB a checkpoint: one fits in 2.5 MB, two do not.
  expect_one_line_error(t + "--epochs 3 --checkpoint " + mnt + "/ck", "needs 3.");
  EXPECT_FALSE(fs::exists(mnt + "/ck/checkpoint.tgck"));
  ASSERT_EQ(run_cli("-q " + t + "--epochs 1 --checkpoint " + mnt + "/ck"), 0);
  // One exists: replacing it needs room for one more beside it, not two (3.5 MB: it was refused).
  ASSERT_EQ(std::system(("mount -o remount,size=3600k " + mnt).c_str()), 0);
  ASSERT_EQ(run_cli("-q " + t + "--epochs 1 --checkpoint " + mnt + "/ck --overwrite-checkpoint"), 0);
  // With the checkpoint present, a saved model needs room for itself only: the checkpoints of the
  // run replace the present one (1.8 MB free, 1.7 + 0.6 MB on disk at the end).
  ASSERT_EQ(run_cli("-q " + t + "--epochs 1 --checkpoint " + mnt + "/ck --overwrite-checkpoint --save-model " + mnt +
                    "/m.tgck"),
            0);
  // A new checkpoint and a saved model: 1.7 + 0.6 MB do not fit in 2 MB.
  fs::remove_all(mnt + "/ck");
  fs::remove(mnt + "/m.tgck");
  ASSERT_EQ(std::system(("mount -o remount,size=2000k " + mnt).c_str()), 0);
  expect_one_line_error(t + "--epochs 1 --checkpoint " + mnt + "/ck --save-model " + mnt + "/m.tgck",
                        "writing both needs");
}

// Round 15: a killed run's temporary beside a file output is removed by the next run that writes it
// (only datasets and --metrics were cleaned: F8); a file-size limit is an error naming the output, not
// a silent SIGXFSZ (F9).
TEST(HostileInput, KilledRunsTemporariesAndFileSizeLimits) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 300 --feature-dim 4 --classes 3 --seed 1"), 0);
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  const std::string left = d / (".m.tgck.tmp-" + std::to_string(gone) + "-0");
  tg::test::write_text(left, "a killed run's half-written model");
  ASSERT_EQ(run_cli("-q train " + d / "g" + " --fanouts 5 --epochs 1 --no-progress --save-model " + d / "m.tgck"), 0);
  EXPECT_FALSE(fs::exists(left));
  EXPECT_TRUE(fs::is_regular_file(d / "m.tgck"));
  const std::string cmd = "(ulimit -f 64; " + std::string(TIERGNN_CLI) + " -q generate community " + d / "big" +
                          " --nodes 20000 --feature-dim 64 --classes 2) > " + d / "out.txt" + " 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "killed by a signal? (153: SIGXFSZ)";
  const std::string out = tg::test::read_text(d / "out.txt");
  EXPECT_NE(out.find("File too large"), std::string::npos) << out;
  EXPECT_NE(out.find(d / "big/"), std::string::npos) << out;  // the output's name, not its temporary's
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_EQ(e.path().filename().string().find(".big.tmp-"), std::string::npos) << e.path();
  // A --metrics file that reaches the limit keeps its complete lines (R15-F7: the temporary holding
  // them was deleted when the next line failed).
  const std::string train = "(ulimit -f 4; " + std::string(TIERGNN_CLI) + " train " + d / "g" +
                            " --fanouts 5 --hidden 8 --epochs 40 --max-batches 1 --eval none --no-progress " +
                            "--metrics " + d / "m.jsonl) > " + d / "out2.txt" + " 2>&1";
  const int rc = std::system(train.c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 1) << tg::test::read_text(d / "out2.txt");
  std::ifstream in(d / "m.jsonl");
  int expect = 1;
  for (std::string line; std::getline(in, line); ++expect)
    EXPECT_EQ(nlohmann::json::parse(line).at("epoch").get<int>(), expect) << line;
  EXPECT_GT(expect, 2) << "no complete line was kept: " << tg::test::read_text(d / "out2.txt");
}

// --help / --version: a full output is an error (it was success), a reader that stops early is not
// (R15-F10); an OGB table or an .npz that is a FIFO is refused, not waited on forever (R15-F7).
TEST(HostileInput, HelpOutputAndSpecialInputFiles) {
  scratch_dir d;
  const std::string cli = TIERGNN_CLI;
  if (fs::exists("/dev/full")) {
    int rc = std::system((cli + " --help > /dev/full 2> " + d / "err.txt").c_str());
    EXPECT_EQ(WEXITSTATUS(rc), 1);
    EXPECT_NE(tg::test::read_text(d / "err.txt").find("writing standard output failed"), std::string::npos);
    rc = std::system((cli + " --version > /dev/full 2>/dev/null").c_str());
    EXPECT_EQ(WEXITSTATUS(rc), 1);
  }
  const int rc = std::system(
      ("bash -o pipefail -c \"" + cli + " train --help 2> " + d / "err2.txt" + " | head -1 > /dev/null\"").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 0) << tg::test::read_text(d / "err2.txt");
  EXPECT_EQ(tg::test::read_text(d / "err2.txt"), "");
  fs::create_directories(d / "ogb/raw");
  ASSERT_EQ(::mkfifo((d / "ogb/raw/data.npz").c_str(), 0600), 0);
  expect_one_line_error("import ogb " + d / "ogb" + " -o " + d / "out", "data.npz: is not a regular file");
  fs::remove(d / "ogb/raw/data.npz");
  ASSERT_EQ(::mkfifo((d / "ogb/raw/edge.csv.gz").c_str(), 0600), 0);
  expect_one_line_error("import ogb " + d / "ogb" + " -o " + d / "out", "edge.csv.gz: is not a regular file");
}

TEST(HostileInput, BenchCommChecksItsOutputBeforeTheJob) {
  scratch_dir d;
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  std::string out;
  // A FIFO blocked rank 0 forever after the benchmark; a missing folder failed only after it.
  EXPECT_NE(run_cli("--threads 1 launch -n 2 -- -q bench comm --max-mib 1 --repeats 1 --json " + d / "fifo", &out), 0);
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
  EXPECT_NE(run_cli("--threads 1 launch -n 2 -- -q bench comm --max-mib 1 --json " + d / "no/dir/x.json", &out), 0);
  EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
  expect_one_line_error("bench comm --comm-timeout nan", "--comm-timeout");
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  expect_one_line_error("-q prepare " + d / "g" + " -o " + d / "p" + " --shards 0", "--shards 0");
}

TEST(HostileInput, TwoSpellingsOfOneOutputOrALinkAreRefused) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string b = "bench traffic " + d / "g" + " --fanouts 5,5 --batch-size 64 --epochs 1 --estimators degree ";
  expect_one_line_error(b + "--plot " + d / "f.out" + " --json " + d / "./f.out", "name the same file");
  fs::create_symlink(d / "target.json", d / "link.json");
  expect_one_line_error(b + "--json " + d / "link.json", "symbolic link");
}

// A --metrics or --json aimed at another dataset's plan.json or meta.json: refused, the dataset kept
// (they are JSON like the outputs, and were replaced: R13-F3). Splits of an R-MAT without classes.
TEST(HostileInput, OutputsNeverReplaceAnotherDatasetsFiles) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  ASSERT_EQ(run_cli("-q generate community " + d / "h" + " --nodes 400 --feature-dim 8 --classes 4 --seed 2"), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "h" + " -o " + d / "p --fanouts 5,5 --batch-size 64"), 0);
  const std::string plan = tg::test::read_text(d / "p/plan.json"), meta = tg::test::read_text(d / "p/meta.json");
  expect_one_line_error("train " + d / "g" + " --fanouts 5 --epochs 1 --no-progress --metrics " + d / "p/plan.json",
                        "is a file of the tiergnn dataset");
  expect_one_line_error(
      "bench traffic " + d / "g" + " --fanouts 5 --epochs 1 --estimators degree --json " + d / "p/meta.json",
      "is a file of the tiergnn dataset");
  expect_one_line_error("profile " + d / "g" + " --fanouts 5 -o " + d / "p/order.npy",
                        "is a file of the tiergnn dataset");
  EXPECT_EQ(tg::test::read_text(d / "p/plan.json"), plan);
  EXPECT_EQ(tg::test::read_text(d / "p/meta.json"), meta);
  std::string out;
  EXPECT_EQ(run_cli("info " + d / "p" + " --check", &out), 0) << out;
  // A new file beside a dataset's own files is fine.
  EXPECT_EQ(run_cli("-q train " + d / "g" + " --fanouts 5 --epochs 1 --metrics " + d / "p/run.jsonl", &out), 0) << out;
  expect_one_line_error("generate rmat " + d / "r --scale 6 --train 0.5", "--train: an R-MAT graph gets labels");
}

TEST(HostileInput, OptionsThatWouldDoNothingAreRefused) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --host-access copy", "--device cuda");
  // Round 16: --overwrite-checkpoint without a checkpoint, or with --resume (which won silently); a
  // --train-fraction bench traffic would not use; an empty --estimators (it meant all).
  expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --overwrite-checkpoint", "needs --checkpoint");
  expect_one_line_error(
      "train " + d / "g" + " --epochs 1 --no-progress --checkpoint " + d / "ck --resume " + "--overwrite-checkpoint",
      "give one of them");
  expect_one_line_error("bench traffic " + d / "g" + " --fanouts 5 --estimators degree --train-fraction 0.5",
                        "add --random-train-set");
  expect_one_line_error("bench traffic " + d / "g" + " --fanouts 5 --estimators ''", "no estimator given");
  expect_one_line_error("profile " + d / "g" + " -o ''", "empty path");
  expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --metrics ''", "empty path");
  expect_one_line_error("profile " + d / "g" + " --estimator presample:1e9", "plain decimal");
  // Floating-point options are decimal and within a double's range (R14-F8: 0x10 was 16, 1e-400 "got 0").
  expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --lr 0x10", "hexadecimal is not accepted");
  expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --lr 1e-400", "too close to 0");
  expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --dropout 1e999", "too large for a double");
  // A checkpoint directory that is a dataset's (R14-F10: it left a file there that --force then refused).
  ASSERT_EQ(run_cli("-q generate community " + d / "victim" + " --nodes 100 --feature-dim 2 --classes 2"), 0);
  expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --checkpoint " + d / "victim",
                        "is a tiergnn dataset directory");
  EXPECT_FALSE(fs::exists(d / "victim/checkpoint.tgck"));
  // A virtual file system (0 blocks) as the place of a saved model: not "0 B free" (R11-F7).
  if (::access("/proc", W_OK) == 0)
    expect_one_line_error("train " + d / "g" + " --epochs 1 --no-progress --save-model /proc/m.tgck",
                          "holds no files (a virtual one, like /proc or /sys)");
  // A reserve past 2^63 - 1 bytes under a share budget: refused, not written into an unreadable plan (R12-F1).
  expect_one_line_error("prepare " + d / "g" + " -o " + d / "huge --fanouts 5,5,5 --hidden 10000000000",
                        "comes to more than 8 EiB");
  EXPECT_FALSE(fs::exists(d / "huge"));
  // Round 11: bench traffic's outputs as empty paths, a run of no epochs for any estimator, an empty
  // training split (was replaced by a random 10% unasked); "1 epoch".
  const std::string b = "bench traffic " + d / "g" + " --fanouts 5,5 --batch-size 64 --estimators degree ";
  expect_one_line_error(b + "--json ''", "--json: an empty path");
  // A bad fanout is the one line printed (the banner came first), and train names the option too.
  expect_one_line_error("bench traffic " + d / "g" + " --fanouts 0 --estimators degree",
                        "--fanouts: fanout 0 is invalid");
  expect_one_line_error("train " + d / "g" + " --fanouts 5,0 --epochs 1", "--fanouts: fanout 0 is invalid");
  expect_one_line_error("train " + d / "g" + " --checkpoint ''", "an empty path: name a directory");
  expect_one_line_error(b + "--plot ''", "--plot: an empty path");
  expect_one_line_error("profile " + d / "g" + " --estimator degree --epochs -1", "--epochs must be at least 1");
  std::string out;
  ASSERT_EQ(run_cli("-q " + b + "--epochs 1", &out), 0) << out;
  EXPECT_NE(out.find("batch 64, 1 epoch;"), std::string::npos) << out;
  fs::copy(d / "g", d / "nosplit", fs::copy_options::recursive);
  tg::write_npy(d / "nosplit/train_idx.npy", tg::span<const std::int64_t>(nullptr, 0));
  nlohmann::json meta = nlohmann::json::parse(tg::test::read_text(d / "nosplit/meta.json"));
  meta["arrays"]["train_idx.npy"]["shape"] = {0};
  meta["arrays"]["train_idx.npy"]["bytes"] = fs::file_size(d / "nosplit/train_idx.npy");
  meta["splits"]["train"] = 0;
  tg::test::write_text(d / "nosplit/meta.json", meta.dump(1));
  expect_one_line_error("bench traffic " + d / "nosplit" + " --fanouts 5 --estimators degree",
                        "has an empty training split (train_idx.npy)");
  // A prepared copy of a graph with sparse original ids holds node_ids.npy in its hot-first order:
  // it opens and checks (node_ids.npy must be increasing in the numbering before prepare).
  std::string edges;
  for (int i = 0; i < 300; ++i)
    edges += std::to_string(1000 + 7 * i) + " " + std::to_string(1000 + 7 * ((i * i) % 300)) + "\n";
  tg::test::write_text(d / "sparse.txt", edges);
  ASSERT_EQ(run_cli("-q import edgelist " + d / "sparse.txt" + " -o " + d / "sp --undirected", &out), 0) << out;
  nlohmann::json sm = nlohmann::json::parse(tg::test::read_text(d / "sp/meta.json"));
  const std::int64_t sn = sm.at("num_nodes").get<std::int64_t>();
  const auto listed = [&](const std::string& file, const char* dtype, const std::vector<std::int64_t>& shape) {
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", tg::file_crc32(d / "sp" + "/" + file));
    sm["arrays"][file] = {{"bytes", fs::file_size(d / "sp" + "/" + file)},
                          {"crc32", crc},
                          {"dtype", dtype},
                          {"shape", nlohmann::json(shape)}};
  };
  const std::vector<std::int64_t> train{0, 5, 9, 40, 77, 150, sn - 1};
  tg::write_npy(d / "sp/train_idx.npy", tg::span<const std::int64_t>(train));
  listed("train_idx.npy", "int64", {static_cast<std::int64_t>(train.size())});
  const std::vector<float> feats(static_cast<std::size_t>(sn * 4), 0.5f);
  tg::write_npy(d / "sp/features.npy", tg::dtype::float32, {sn, 4}, feats.data());
  listed("features.npy", "float32", {sn, 4});
  sm["features"] = {{"dim", 4}, {"dtype", "float32"}};
  sm["splits"] = {{"train", train.size()}, {"valid", 0}, {"test", 0}};
  tg::test::write_text(d / "sp/meta.json", sm.dump(1));
  ASSERT_EQ(run_cli("info " + d / "sp" + " --check", &out), 0) << out;
  ASSERT_EQ(run_cli("-q prepare " + d / "sp" + " -o " + d / "spp --fanouts 5 --batch-size 4 --gpu-mem 10%", &out), 0)
      << out;
  EXPECT_EQ(run_cli("info " + d / "spp" + " --check", &out), 0) << out;
  EXPECT_NE(tg::dataset::open(d / "spp").get("node_ids.npy").to_int64(),
            tg::dataset::open(d / "sp").get("node_ids.npy").to_int64());  // renumbered, and still accepted
}

TEST(HostileInput, APlanThatIsNotARegularFileOrOverflowsIsRefused) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p" + " --fanouts 5,5 --batch-size 64"), 0);
  fs::copy(d / "p", d / "fifo", fs::copy_options::recursive);
  fs::remove(d / "fifo/plan.json");
  ASSERT_EQ(::mkfifo((d / "fifo/plan.json").c_str(), 0644), 0);
  expect_one_line_error("info " + d / "fifo", "plan.json: is not a regular file");  // would block forever
  fs::copy(d / "p", d / "dir", fs::copy_options::recursive);
  fs::remove(d / "dir/plan.json");
  fs::create_directory(d / "dir/plan.json");
  expect_one_line_error("info " + d / "dir", "plan.json: is not a regular file");
  // Tier sizes whose sum overflows, with the checksum recomputed as an editor would.
  for (const auto& [gpu, host] : {std::pair<std::string, std::string>{"9223372036854775807", "1"}, {"200.5", "0"}}) {
    fs::remove_all(d / "edit");
    fs::copy(d / "p", d / "edit", fs::copy_options::recursive);
    nlohmann::json j = nlohmann::json::parse(tg::test::read_text(d / "edit/plan.json"));
    j["tiers"]["gpu_rows"] = nlohmann::json::parse(gpu);
    j["tiers"]["host_rows"] = nlohmann::json::parse(host);
    j["checksum"] = tg::plan_file::checksum_of(j);
    tg::test::write_text(d / "edit/plan.json", j.dump(1));
    expect_one_line_error("info " + d / "edit" + " --check", "plan.json");
  }
  // Values shown to the user as they are: a hit rate outside [0, 1], control bytes in a name.
  for (const auto& [key, value, needle] :
       {std::tuple<std::string, std::string, std::string>{"curve", "5.0", "not a share of reads from 0 to 1"},
        {"curve", "-3", "not a share of reads from 0 to 1"},
        {"estimator", "\"bogus\\u0007\"", "budget name that tiergnn does not write: \"bogus\\x07\""},
        // Numbers that were wrapped or truncated, tier ends that disagree, a falling curve (R11-F6).
        {"/budgets/gpu_bytes", "-5", "budgets.gpu_bytes must be a whole number from 0 to 2^63-1, got -5"},
        {"/row_bytes", "64.5", "row_bytes must be a whole number from 0 to 2^63-1, got 64.5"},
        {"/num_nodes", "500.0", "num_nodes must be a whole number"},
        {"/tiers/g", "5000", "tiers.g = 5000 disagrees with tiers.gpu_rows and tiers.host_rows"},
        {"/tiers/disk_rows", "-7", "tiers.disk_rows = -7 disagrees"},
        {"/predicted_gpu_hit_rate_curve", "[1.0, 0.25]", "predicted_gpu_hit_rate_curve falls from 1.0 to 0.25"}}) {
    fs::remove_all(d / "edit");
    fs::copy(d / "p", d / "edit", fs::copy_options::recursive);
    nlohmann::json j = nlohmann::json::parse(tg::test::read_text(d / "edit/plan.json"));
    if (key == "curve")
      j["predicted_gpu_hit_rate_curve"][3] = nlohmann::json::parse(value);
    else if (key == "estimator")
      j["estimator"]["name"] = nlohmann::json::parse(value);
    else
      j[nlohmann::json::json_pointer(key)] = nlohmann::json::parse(value);
    j["checksum"] = tg::plan_file::checksum_of(j);
    tg::test::write_text(d / "edit/plan.json", j.dump(1));
    expect_one_line_error("info " + d / "edit", needle);
  }
  // A plan cut short: a syntax error, not "a key is missing".
  fs::remove_all(d / "edit");
  fs::copy(d / "p", d / "edit", fs::copy_options::recursive);
  tg::test::write_text(d / "edit/plan.json", "{\"a\":");
  expect_one_line_error("info " + d / "edit", "plan.json: is not valid JSON (cut short or damaged");
}

TEST(HostileInput, MetaJsonFieldErrorsNameTheFieldInFullAndDuplicateKeysAreRefused) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const nlohmann::json orig = nlohmann::json::parse(tg::test::read_text(d / "g/meta.json"));
  const auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = orig;
    edit(j);
    tg::test::write_text(d / "g/meta.json", j.dump(1));
    return "info " + d / "g";
  };
  expect_one_line_error(edited([](nlohmann::json& j) { j["arrays"]["labels.npy"] = nullptr; }),
                        "field 'arrays.labels.npy' must be an object");
  expect_one_line_error(edited([](nlohmann::json& j) { j["arrays"]["labels.npy"].erase("dtype"); }),
                        "missing field 'arrays.labels.npy.dtype'");
  expect_one_line_error(edited([](nlohmann::json& j) { j["arrays"]["labels.npy"]["shape"] = {500.5}; }),
                        "field 'arrays.labels.npy.shape' must be an integer");
  expect_one_line_error(edited([](nlohmann::json& j) { j["features"]["dim"] = "8"; }),
                        "field 'features.dim' must be an integer");
  // Two values for one key: refused, not read with the last one.
  std::string text = orig.dump(1);
  const std::size_t at = text.find("\"num_nodes\"");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "\"num_nodes\": 400,\n ");
  tg::test::write_text(d / "g/meta.json", text);
  expect_one_line_error("info " + d / "g", "meta.json: the key \"num_nodes\" appears twice in one object");
  tg::test::write_text(d / "g/meta.json", orig.dump(1));
  std::string out;
  EXPECT_EQ(run_cli("info " + d / "g" + " --check", &out), 0) << out;
  // A whole-number option given a fraction says so (CLI11 said "not in range 1 to 1024").
  expect_one_line_error("launch -n 2.5 -- train " + d / "g", "--nproc: '2.5' is not a whole number");
  expect_one_line_error("train " + d / "g" + " --epochs 1e1", "--epochs: '1e1' is not a whole number");
  // -q prints the run's result (the test metric) and nothing else; one layer is "1 layer".
  EXPECT_EQ(run_cli("-q --threads 1 train " + d / "g" + " --fanouts 5 --batch-size 64 --epochs 1", &out), 0) << out;
  EXPECT_EQ(out.rfind("test accuracy ", 0), 0u) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  // ... on stdout, as info, profile and bench print theirs: acc=$(tiergnn -q train ...) gets it (R11-F2).
  const std::string result_file = d / "result.txt";
  ASSERT_EQ(std::system((std::string(TIERGNN_CLI) + " -q --threads 1 train " + d / "g" +
                         " --fanouts 5 --batch-size 64 --epochs 1 > " + result_file + " 2>/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(tg::test::read_text(result_file), out);
  EXPECT_EQ(run_cli("--threads 1 train " + d / "g" + " --fanouts 5 --batch-size 64 --epochs 1 --no-progress", &out), 0)
      << out;
  EXPECT_NE(out.find("(1 layer, hidden"), std::string::npos) << out;
}

TEST(HostileInput, ForceRefusesADatasetFolderHoldingTheUsersFiles) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p" + " --fanouts 5,5 --batch-size 64"), 0);
  // Training outputs kept inside the prepared folder, and a folder that only claims to be a dataset.
  ASSERT_EQ(run_cli("-q train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress --checkpoint " + d / "p/runs" +
                    " --save-model " + d / "p/model.tgck"),
            0);
  expect_one_line_error("-q prepare " + d / "g" + " -o " + d / "p" + " --fanouts 5,5 --batch-size 64 --force",
                        "did not write (model.tgck, runs)");
  EXPECT_TRUE(fs::exists(d / "p/runs/checkpoint.tgck"));
  EXPECT_TRUE(fs::exists(d / "p/model.tgck"));
  fs::create_directory(d / "fake");
  tg::test::write_text(d / "fake/meta.json", "{\"format\":\"tiergnn-dataset\"}");
  tg::test::write_text(d / "fake/keep.txt", "precious");
  expect_one_line_error("-q generate community " + d / "fake" + " --nodes 100 --force", "keep.txt");
  EXPECT_EQ(tg::test::read_text(d / "fake/keep.txt"), "precious");
  // Only the dataset's own files: replaced.
  fs::remove_all(d / "p/runs");
  fs::remove(d / "p/model.tgck");
  EXPECT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p" + " --fanouts 5,5 --batch-size 64 --force"), 0);
}

TEST(HostileInput, AFailedRunKeepsTheMetricsFileAndOutputsAreCheckedFirst) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string t = "-q train " + d / "g" + " --fanouts 5,5 --epochs 2 --batch-size 64 --no-progress ";
  ASSERT_EQ(run_cli(t + "--metrics " + d / "m.jsonl"), 0);
  const std::string before = tg::test::read_text(d / "m.jsonl");
  ASSERT_FALSE(before.empty());
  // A run that fails before finishing an epoch (NaN in epoch 1's second batch) leaves it as it was;
  // one that fails after finishing epochs keeps their lines (as a checkpoint keeps their model).
  expect_one_line_error(t + "--batch-size 32 --metrics " + d / "m.jsonl" + " --lr 1e30", "at epoch 1, batch 2");
  EXPECT_EQ(tg::test::read_text(d / "m.jsonl"), before);
  expect_one_line_error(t + "--eval none --metrics " + d / "m.jsonl" + " --lr 1e30", "at epoch 2, batch 1");
  const std::string kept = tg::test::read_text(d / "m.jsonl");
  EXPECT_EQ(std::count(kept.begin(), kept.end(), '\n'), 1) << kept;
  EXPECT_EQ(nlohmann::json::parse(kept).at("epoch"), 1) << kept;
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  // Two spellings of one new file.
  const std::string rel = "hostile_same_" + std::to_string(::getpid()) + ".out";
  expect_one_line_error(t + "--metrics " + rel + " --save-model ./" + rel, "name the same file");
  EXPECT_FALSE(fs::exists(rel));
  // A checkpoint folder is created one level deep, never below a missing or non-directory parent.
  expect_one_line_error(t + "--checkpoint " + d / "no/such/ck", "not an existing directory");
  EXPECT_FALSE(fs::exists(d / "no"));
  expect_one_line_error("train " + d / "g" + " --fanouts 5,5 --comm-timeout inf", "--comm-timeout");
  expect_one_line_error("train " + d / "g" + " --fanouts 5,5 --comm-timeout 1e-300", "--comm-timeout");
  expect_one_line_error("launch -n 2 -- prepare " + d / "g" + " -o " + d / "lp", "data-parallel commands only");
  expect_one_line_error("launch -n 2 -- launch -n 2 -- train " + d / "g", "data-parallel commands only");
  EXPECT_FALSE(fs::exists(d / "lp"));
  // A subcommand's help under launch is printed once, not once per rank.
  std::string help;
  EXPECT_EQ(run_cli("launch -n 3 -- train --help", &help), 0);
  std::size_t usages = 0;
  for (std::size_t at = help.find("Usage:"); at != std::string::npos; at = help.find("Usage:", at + 1)) ++usages;
  EXPECT_EQ(usages, 1u) << help;
  // An error every rank meets is printed once (launch merges the ranks' stderr), then the job's end.
  std::string err;
  EXPECT_EQ(run_cli("launch -n 3 -- train " + d / "missing", &err), 1);
  std::size_t missing = 0;
  for (std::size_t at = err.find("no such dataset directory"); at != std::string::npos;
       at = err.find("no such dataset directory", at + 1))
    ++missing;
  EXPECT_EQ(missing, 1u) << err;
  EXPECT_NE(err.find("the job failed"), std::string::npos) << err;
}

// Output names that fail only at the final rename are refused first (a name longer than the file
// system takes; "nodir/../x", which the checks read as "x" but the kernel resolves only if nodir
// exists); names that fit are written although the temporary adds a suffix. A resumed run with
// --metrics ends with one "final" line; a first-layout checkpoint (no checksum) with a bad header
// is refused by field.
TEST(HostileInput, OutputNamesResumedMetricsAndOldCheckpoints) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::string t = "-q train " + d / "g" + " --fanouts 5,5 --epochs 2 --batch-size 64 --no-progress ";
  const std::string n250(250, 'm'), n256(256, 'm');
  ASSERT_EQ(run_cli(t + "--save-model " + d / n250), 0);
  EXPECT_TRUE(fs::is_regular_file(d / n250));
  expect_one_line_error(t + "--save-model " + d / n256, "this file system takes 255 at most");
  expect_one_line_error("-q generate community " + d / n256 + " --nodes 100 --feature-dim 2 --classes 2",
                        "the file name is 256 bytes long");
  expect_one_line_error(t + "--save-model " + d / "nodir/../m.tgck", "cannot be reached");
  expect_one_line_error("-q generate community " + d / "nodir/../g2" + " --nodes 100 --feature-dim 2 --classes 2",
                        "cannot be reached");
  EXPECT_FALSE(fs::exists(d / "m.tgck"));
  EXPECT_FALSE(fs::exists(d / "g2"));
  // An output ending in ".." after a missing directory; a new output directory typed with a
  // trailing slash is that directory.
  expect_one_line_error("-q generate community " + d / "nodir/.." + " --nodes 100 --feature-dim 2 --classes 2",
                        "cannot be reached");
  fs::create_directories(d / "empty");
  expect_one_line_error(t + "--checkpoint " + d / "empty/nodir/..", "cannot be reached");
  ASSERT_EQ(run_cli("-q generate community " + d / "g3/" + " --nodes 100 --feature-dim 2 --classes 2"), 0);
  EXPECT_TRUE(fs::is_regular_file(d / "g3/meta.json"));
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p3/" + " --fanouts 5,5 --estimator degree"), 0);
  EXPECT_TRUE(fs::is_regular_file(d / "p3/plan.json"));
  ASSERT_EQ(run_cli(t + "--checkpoint " + d / "ck3/"), 0);
  EXPECT_TRUE(fs::is_regular_file(d / "ck3/checkpoint.tgck"));
  // --resume with --metrics: the earlier run's lines, then this run's, one final line.
  ASSERT_EQ(run_cli(t + "--checkpoint " + d / "ck" + " --metrics " + d / "m.jsonl"), 0);
  ASSERT_EQ(run_cli("-q train " + d / "g" + " --fanouts 5,5 --epochs 4 --batch-size 64 --no-progress --checkpoint " +
                    d / "ck" + " --metrics " + d / "m.jsonl --resume"),
            0);
  const std::string lines = tg::test::read_text(d / "m.jsonl");
  std::size_t finals = 0, epochs = 0;
  for (std::size_t at = 0; (at = lines.find("\"final\"", at)) != std::string::npos; ++at) ++finals;
  for (std::size_t at = 0; (at = lines.find("\"epoch\":", at)) != std::string::npos; ++at) ++epochs;
  EXPECT_EQ(finals, 1u) << lines;
  EXPECT_EQ(epochs, 4u) << lines;
  // The checkpoint rewritten in the first layout (magic TGCKPT01, no CRC trailer) with a negative epoch.
  {
    const std::string b = tg::test::read_text(d / "ck/checkpoint.tgck");
    std::uint64_t len = 0;
    std::memcpy(&len, b.data() + 8, 8);
    nlohmann::json h = nlohmann::json::parse(b.substr(16, len));
    h["epoch"] = -5;
    const std::string text = h.dump();
    const std::uint64_t n = text.size();
    fs::create_directories(d / "v1");
    std::ofstream o(d / "v1/checkpoint.tgck", std::ios::binary);
    o << "TGCKPT01";
    o.write(reinterpret_cast<const char*>(&n), 8);
    o << text << b.substr(16 + len, b.size() - 16 - len - 4);
  }
  expect_one_line_error("-q train " + d / "g" +
                            " --fanouts 5,5 --epochs 4 --batch-size 64 --no-progress --checkpoint " + d / "v1 --resume",
                        "header: epoch must be a whole number in [0, 2147483647], got -5");
  // A dataset name with control characters (meta.json is input) reaches the terminal escaped.
  fs::copy(d / "g", d / "evil", fs::copy_options::recursive);
  nlohmann::json m = nlohmann::json::parse(tg::test::read_text(d / "evil/meta.json"));
  m["name"] = "evil\n\x1b[31mRED";
  tg::test::write_text(d / "evil/meta.json", m.dump());
  std::string out;
  ASSERT_EQ(run_cli("train " + d / "evil" + " --fanouts 5,5 --epochs 1 --no-progress --eval none", &out), 0) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_NE(out.find("evil\\x0a\\x1b[31mRED"), std::string::npos) << out;
}

// bench comm's largest message is checked against the machine's memory before the first size (it
// ran the smaller sizes and then failed with the generic out-of-memory text).
TEST(HostileInput, BenchCommRefusesAMessageTheMachineCannotHold) {
  // Two local ranks, 4 GiB messages, about three copies each: 24 GiB.
  if (tg::usable_memory_bytes() >= (std::uint64_t{24} << 30)) GTEST_SKIP() << "this machine could hold it";
  std::string out;
  EXPECT_NE(run_cli("launch -n 2 -- bench comm --max-mib 4096 --repeats 1", &out), 0);
  EXPECT_NE(out.find("--max-mib 4096: the largest message (4096 MiB) needs about"), std::string::npos) << out;
  EXPECT_EQ(out.find("4096  "), std::string::npos) << "no size ran first:\n" << out;
}

TEST(HostileInput, NonFiniteFeaturesThatOnlyEvaluationReadsAreNamed) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::int64_t node = tg::npy_array::open(d / "g/test_idx.npy").to_int64().front();
  {
    std::fstream f(d / "g/features.npy", std::ios::in | std::ios::out | std::ios::binary);
    unsigned char head[10];
    f.read(reinterpret_cast<char*>(head), 10);
    ASSERT_EQ(head[6], 1) << ".npy version 1 expected";
    const std::streamoff data = 10 + (head[8] | (head[9] << 8));
    const float inf = std::numeric_limits<float>::infinity();
    f.seekp(data + static_cast<std::streamoff>((node * 8 + 3) * sizeof(float)));
    f.write(reinterpret_cast<const char*>(&inf), sizeof inf);
  }
  // Without the graph, training batches read only training nodes: evaluation alone meets the value.
  for (const std::string mode : {"full", "sampled"})
    expect_one_line_error(
        "-q train " + d / "g" + " --fanouts 5,5 --epochs 1 --no-progress --ignore-graph --eval " + mode,
        "info --check");
}

TEST(HostileInput, ErrorsNameTheInputsOwnRowsOptionsAndBytes) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  // prepare finds a NaN in the renumbered output: it names the source's file and row, not its temporary.
  fs::copy(d / "g", d / "nan", fs::copy_options::recursive);
  {
    std::fstream f(d / "nan/features.npy", std::ios::in | std::ios::out | std::ios::binary);
    unsigned char head[10];
    f.read(reinterpret_cast<char*>(head), 10);
    const std::streamoff data = 10 + (head[8] | (head[9] << 8));
    const float nan = std::nanf("");
    f.seekp(data + static_cast<std::streamoff>((37 * 8 + 3) * sizeof(float)));
    f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  }
  expect_one_line_error("-q prepare " + d / "nan" + " -o " + d / "p" + " --fanouts 5,5 --gpu-mem 5% --host-mem 10%",
                        "nan/features.npy: non-finite value at row 37, column 3");
  EXPECT_FALSE(fs::exists(d / "p"));
  // meta.json's split counts against the arrays; a boolean mask where ids belong.
  fs::copy(d / "g", d / "sp", fs::copy_options::recursive);
  nlohmann::json j = nlohmann::json::parse(tg::test::read_text(d / "sp/meta.json"));
  j["splits"]["train"] = 5;
  tg::test::write_text(d / "sp/meta.json", j.dump());
  expect_one_line_error("info " + d / "sp", "splits.train is 5");
  fs::copy(d / "g", d / "bool", fs::copy_options::recursive);
  {
    const std::string bytes =
        tg::test::npy_header_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (500,), }") +
        std::string(500, '\1');
    std::ofstream(d / "bool/train_idx.npy", std::ios::binary | std::ios::trunc) << bytes;
    nlohmann::json b = nlohmann::json::parse(tg::test::read_text(d / "bool/meta.json"));
    b["arrays"]["train_idx.npy"]["dtype"] = "bool";
    b["arrays"]["train_idx.npy"]["shape"] = {500};
    b["arrays"]["train_idx.npy"]["bytes"] = bytes.size();
    b["splits"]["train"] = 500;
    tg::test::write_text(d / "bool/meta.json", b.dump());
  }
  expect_one_line_error("info " + d / "bool", "holds bool values");
  // Option names in the errors of options every command shares.
  for (const std::string& cmd :
       {"prepare " + d / "g" + " -o " + d / "p", "profile " + d / "g", "bench traffic " + d / "g" + " --epochs 1"})
    expect_one_line_error(cmd + " --fanouts 5,5 --batch-size 0", "--batch-size");
  EXPECT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p0" + " --fanouts 5,5 --gpu-mem -0 --host-mem 10%"), 0);
  expect_one_line_error("prepare " + d / "g" + " -o " + d / "p1" + " --fanouts 5,5 --gpu-mem -1%", "negative");
  // A NUL byte inside an edge list's field is shown, not the end of the message.
  {
    std::ofstream e(d / "nul.txt", std::ios::binary);
    e.write("0 1\n1 x\0y\n", 10);
  }
  expect_one_line_error("-q import edgelist " + d / "nul.txt" + " -o " + d / "e", "x\\x00y");
}
