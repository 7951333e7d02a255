// The embedding API's handles used the wrong way (include/tiergnn/*.hpp: "Every failure is a
// tiergnn::error"): a handle that was moved from, a prepared dataset whose plan disappears after it
// was opened, two threads of one program preparing into the same output.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "tiergnn/tiergnn.hpp"

namespace fs = std::filesystem;
using tg::test::run_cli;
using tg::test::scratch_dir;

namespace {
template <typename F>
void expect_api_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected '" << needle << "'";
  } catch (const tiergnn::error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(ApiHandles, MovedFromHandlesThrowInsteadOfCrashing) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  tiergnn::dataset ds = tiergnn::dataset::open(d / "g");
  tiergnn::sampler s(ds, {5, 3}, 1);
  tiergnn::feature_store f(ds);
  const tiergnn::sampler s2(std::move(s));
  const tiergnn::feature_store f2(std::move(f));
  EXPECT_EQ(s2.sample(std::vector<std::int64_t>{1, 2}, 0, 0).blocks.size(), 2u);
  expect_api_error([&] { (void)s.sample(std::vector<std::int64_t>{1}, 0, 0); }, "moved from");
  expect_api_error([&] { (void)s.fanouts(); }, "moved from");
  expect_api_error([&] { (void)f.dim(); }, "moved from");
  expect_api_error([&] { (void)f.traffic(); }, "moved from");
  const tiergnn::dataset ds2(std::move(ds));
  EXPECT_EQ(ds2.num_nodes(), 500);
  expect_api_error([&] { (void)ds.num_nodes(); }, "moved from");
  expect_api_error([&] { tiergnn::sampler t(ds, {5}, 0); }, "moved from");
  // A default-constructed handle is empty too, and says so (R14-F6).
  const tiergnn::dataset none;
  expect_api_error([&] { (void)none.num_nodes(); }, "default-constructed");
  // The sampler's errors name its argument, not the command line's option (R14-F5).
  expect_api_error([&] { tiergnn::sampler t(ds2, {}, 0); }, "fanouts: at least one layer");
  try {
    tiergnn::sampler t(ds2, {0}, 0);
    FAIL() << "a fanout of 0 was accepted";
  } catch (const tiergnn::error& e) {
    EXPECT_EQ(std::string(e.what()).find("--fanouts"), std::string::npos) << e.what();
  }
}

// A dataset opened by a relative path stays usable after the program changes its working directory
// (it was refused as "removed since the dataset was opened").
TEST(ApiHandles, ARelativePathSurvivesAChangeOfDirectory) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(d.path());
  tiergnn::dataset ds = tiergnn::dataset::open("g");
  std::filesystem::current_path("/");
  try {
    tiergnn::sampler s(ds, {5, 3}, 1);
    EXPECT_EQ(s.sample(std::vector<std::int64_t>{1, 2}, 0, 0).blocks.size(), 2u);
    tiergnn::feature_store f(ds);
    EXPECT_EQ(f.dim(), 8);
    ds.check();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  std::filesystem::current_path(before);
}

// dataset::check honours a stop request, as its header says (Ctrl-C from Python).
TEST(ApiHandles, CheckStopsOnRequest) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  const tiergnn::dataset ds = tiergnn::dataset::open(d / "g");
  std::atomic<bool> stop{true};
  tiergnn::set_stop_flag(&stop);
  try {
    ds.check();
    ADD_FAILURE() << "check() ignored the stop request";
  } catch (const tiergnn::error& e) {
    EXPECT_EQ(e.code(), tiergnn::error::kind::interrupted) << e.what();
  }
  tiergnn::set_stop_flag(nullptr);
  ds.check();
}

// A path the system refuses (too long) is a tiergnn::error like every other failure.
TEST(ApiHandles, APathTheSystemRefusesIsATiergnnError) {
  expect_api_error([] { (void)tiergnn::dataset::open("/tmp/" + std::string(300, 'a')); }, "File name too long");
}

TEST(ApiHandles, APlanRemovedAfterOpenIsATiergnnError) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 500 --feature-dim 8 --classes 4 --seed 1"), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "g" + " -o " + d / "p" + " --fanouts 5,5 --gpu-mem 10%"), 0);
  const tiergnn::dataset p = tiergnn::dataset::open(d / "p");
  EXPECT_TRUE(p.prepared());
  fs::remove(d / "p/plan.json");
  expect_api_error([&] { (void)p.prepared(); }, "plan.json");
  expect_api_error([&] { (void)p.plan(); }, "plan.json");
}

TEST(ApiHandles, ThreadsPreparingOneOutputDoNotShareATemporary) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  const tiergnn::dataset ds = tiergnn::dataset::open(d / "g");
  tiergnn::prepare_options o;
  o.overwrite = true;
  o.fanouts = {5};
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      try {
        (void)tiergnn::prepare(ds, d / "out", o);
      } catch (const tiergnn::error& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  // Each wrote its own temporary: both finish (the second replaces the first's output), or one is
  // told that the other's appeared meanwhile; never a write into the other's half-written folder.
  for (const auto& e : errors)
    EXPECT_TRUE(e.empty() ||
                e.find("was created by another process while this run was writing it") != std::string::npos)
        << e;
  const tiergnn::dataset out = tiergnn::dataset::open(d / "out");
  out.check();
  EXPECT_TRUE(out.prepared());
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "left " << e.path();
}

// An output that cannot be written is named as the caller named it, not by the temporary it was
// being written under (which no longer exists when the caller reads the message).
TEST(ApiHandles, AWriteErrorNamesTheOutputNotItsTemporary) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 64 --classes 4 --seed 1"), 0);
  const tiergnn::dataset ds = tiergnn::dataset::open(d / "g");
  tiergnn::prepare_options o;
  o.fanouts = {5};
  // A file-size limit below the features' bytes: writing them fails with EFBIG (SIGXFSZ ignored).
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 64 << 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    (void)tiergnn::prepare(ds, d / "out", o);
  } catch (const tiergnn::error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(message.empty()) << "prepare wrote 512 KB of features under a 64 KiB file-size limit";
  EXPECT_NE(message.find(d / "out"), std::string::npos) << message;
  EXPECT_EQ(message.find(".tmp-"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(d / "out"));
  for (const auto& e : fs::directory_iterator(d.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "left " << e.path();
}
