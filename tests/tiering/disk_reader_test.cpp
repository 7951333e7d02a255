// The disk tier's reader: both engines (io_uring and pread threads) return the file's bytes for
// any set of rows, with runs of consecutive rows, shallow and deep queues; a file whose size or
// header disagrees with what the reader expects is refused before any read.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/npy.hpp"
#include "test_util.hpp"
#include "tiering/disk_reader.hpp"

using namespace tg;

namespace {

feature_file write_features(const std::string& path, std::int64_t rows, std::int64_t dim) {
  std::vector<float> v(static_cast<std::size_t>(rows * dim));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f + 1.0f;
  write_npy(path, dtype::float32, {rows, dim}, v.data());
  feature_file f;
  f.path = path;
  f.rows = rows;
  f.dim = dim;
  f.type = dtype::float32;
  return f;
}

// Rows (sorted by id, each with its output slot): a random subset plus a long consecutive run.
std::vector<std::pair<std::int64_t, std::size_t>> pick(std::int64_t rows, unsigned seed) {
  std::mt19937 g(seed);
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < rows; ++i)
    if (g() % 7 == 0 || (i >= 1000 && i < 1700)) ids.push_back(i);
  std::vector<std::size_t> slots(ids.size());
  std::iota(slots.begin(), slots.end(), 0);
  std::vector<std::pair<std::int64_t, std::size_t>> out;
  for (std::size_t k = 0; k < ids.size(); ++k) out.emplace_back(ids[k], slots[k]);
  return out;
}

void expect_rows(const std::vector<std::pair<std::int64_t, std::size_t>>& rows, const std::vector<float>& got,
                 std::int64_t dim, const std::string& what) {
  for (const auto& [id, slot] : rows)
    for (std::int64_t j = 0; j < dim; ++j)
      ASSERT_EQ(got[slot * static_cast<std::size_t>(dim) + static_cast<std::size_t>(j)],
                static_cast<float>(id * dim + j) * 0.5f + 1.0f)
          << what << ": row " << id << " column " << j;
}

}  // namespace

TEST(DiskReader, BothEnginesReturnTheFilesRows) {
  test::scratch_dir d;
  const std::int64_t rows = 5000, dim = 24;
  const feature_file f = write_features(d / "f.npy", rows, dim);
  const auto want = pick(rows, 3);
  std::vector<disk_io> engines = {disk_io::pread};
  if (io_uring_usable()) engines.push_back(disk_io::io_uring);
  for (disk_io e : engines)
    for (int depth : {1, 3, 128}) {
      disk_row_reader r(f, 3, e, depth);
      std::vector<float> got(want.size() * static_cast<std::size_t>(dim), -1.0f);
      r.read(want, reinterpret_cast<std::uint8_t*>(got.data()));
      ASSERT_NO_FATAL_FAILURE(expect_rows(want, got, dim, r.engine()));
      // An empty request and a contiguous range.
      r.read({}, nullptr);
      std::vector<float> range(10 * static_cast<std::size_t>(dim));
      r.read_range(rows - 10, 10, reinterpret_cast<std::uint8_t*>(range.data()));
      EXPECT_EQ(range.back(), static_cast<float>(rows * dim - 1) * 0.5f + 1.0f);
    }
  if (!io_uring_usable())
    GTEST_SKIP() << "io_uring is not available here ("
                 << (io_uring_compiled() ? "the kernel refuses it" : "no liburing")
                 << "): only the pread engine was checked";
}

// The pread engine keeps its threads between calls: many calls in a row, and calls from several
// threads at once on one reader (they take turns), each get exactly their own rows.
TEST(DiskReader, ThePreadPoolServesRepeatedAndConcurrentCalls) {
  test::scratch_dir d;
  const std::int64_t rows = 5000, dim = 8;
  const feature_file f = write_features(d / "f.npy", rows, dim);
  for (int readers : {1, 4, 64}) {
    const disk_row_reader r(f, readers, disk_io::pread);
    std::vector<std::thread> callers;
    std::vector<std::string> failures(4);
    for (int t = 0; t < 4; ++t)
      callers.emplace_back([&, t] {
        for (unsigned call = 0; call < 25; ++call) {
          const auto want = pick(rows, 100 * static_cast<unsigned>(t) + call);
          std::vector<float> got(want.size() * static_cast<std::size_t>(dim), -1.0f);
          r.read(want, reinterpret_cast<std::uint8_t*>(got.data()));
          for (const auto& [id, slot] : want)
            if (got[slot * static_cast<std::size_t>(dim)] != static_cast<float>(id * dim) * 0.5f + 1.0f) {
              failures[static_cast<std::size_t>(t)] = "thread " + std::to_string(t) + " call " + std::to_string(call) +
                                                      ": wrong bytes for row " + std::to_string(id);
              return;
            }
        }
      });
    for (auto& c : callers) c.join();
    for (const auto& fail : failures) EXPECT_TRUE(fail.empty()) << r.engine() << ": " << fail;
  }
}

// A thread the system refuses (here: an address-space limit smaller than the threads' stacks) leaves
// the pool with the threads it could start: the reads still return the right rows, no abort (R14-F2:
// std::terminate from a vector of joinable threads). Run in a child process: the limit is per process.
TEST(DiskReader, ThePreadPoolReadsWithTheThreadsTheSystemAllows) {
  test::scratch_dir d;
  const std::int64_t rows = 5000, dim = 8;
  const feature_file f = write_features(d / "f.npy", rows, dim);
  const auto want = pick(rows, 7);
  std::vector<float> got(want.size() * static_cast<std::size_t>(dim), -1.0f);
  const std::string log = d / "stderr.txt";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (std::freopen(log.c_str(), "w", stderr) == nullptr) ::_exit(4);
    const disk_row_reader r(f, 1024, disk_io::pread);
    struct rlimit lim {};
    ::getrlimit(RLIMIT_AS, &lim);
    // Room for what is mapped now plus a few thread stacks (8 MiB each by default), not 1023.
    std::uint64_t mapped = 0;
    if (FILE* st = std::fopen("/proc/self/statm", "r")) {
      unsigned long pages = 0;
      if (std::fscanf(st, "%lu", &pages) == 1) mapped = static_cast<std::uint64_t>(pages) * 4096;
      std::fclose(st);
    }
    lim.rlim_cur = mapped + (std::uint64_t{64} << 20);
    if (::setrlimit(RLIMIT_AS, &lim) != 0) ::_exit(3);
    r.read(want, reinterpret_cast<std::uint8_t*>(got.data()));
    std::fflush(stderr);  // _exit does not flush, and stderr is buffered once it is a file
    for (const auto& [id, slot] : want)
      if (got[slot * static_cast<std::size_t>(dim)] != static_cast<float>(id * dim) * 0.5f + 1.0f) ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the reader died of signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: wrong rows; 3: setrlimit failed";
  // The limit did refuse threads (else this test would not test the fallback), and the user was told.
  EXPECT_NE(test::read_text(log).find("the system refused reader thread"), std::string::npos) << test::read_text(log);
}

// A process that forks after the pool started (Python's multiprocessing does): the child reads with a
// pool of its own and can destroy the reader; the parent's pool goes on (the child joined the
// parent's threads, which are not in it, and crashed).
TEST(DiskReader, AForkedChildReadsWithAPoolOfItsOwn) {
  test::scratch_dir d;
  const std::int64_t rows = 5000, dim = 8;
  const feature_file f = write_features(d / "f.npy", rows, dim);
  const auto want = pick(rows, 9);
  auto reads_right = [&](const disk_row_reader& r) {
    std::vector<float> got(want.size() * static_cast<std::size_t>(dim), -1.0f);
    r.read(want, reinterpret_cast<std::uint8_t*>(got.data()));
    for (const auto& [id, slot] : want)
      if (got[slot * static_cast<std::size_t>(dim)] != static_cast<float>(id * dim) * 0.5f + 1.0f) return false;
    return true;
  };
  for (bool child_reads : {true, false}) {
    auto r = std::make_unique<disk_row_reader>(f, 4, disk_io::pread);
    ASSERT_TRUE(reads_right(*r));  // the parent's pool is running
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (child_reads && !reads_right(*r)) ::_exit(2);
      r.reset();
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
                                   << (child_reads ? " (it read)" : " (it did not read)");
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2: wrong rows in the child";
    EXPECT_TRUE(reads_right(*r));
  }
}

TEST(DiskReader, EngineChoiceAndBadFilesAreCheckedUpFront) {
  test::scratch_dir d;
  const feature_file f = write_features(d / "f.npy", 100, 8);
  ::setenv("TIERGNN_DISK_IO", "pread", 1);
  EXPECT_EQ(disk_row_reader(f, 2).engine(), "pread (2 threads)");
  ::setenv("TIERGNN_DISK_IO", "mmap", 1);
  EXPECT_THROW(disk_row_reader(f, 2), input_error);
  ::unsetenv("TIERGNN_DISK_IO");
  if (io_uring_usable()) {
    EXPECT_EQ(disk_row_reader(f, 2).engine(), "io_uring (queue depth 128)");
  }
  // The file must hold exactly what the reader is told.
  feature_file wrong = f;
  wrong.rows = 101;
  EXPECT_THROW(disk_row_reader(wrong, 2), input_error);
  wrong = f;
  wrong.type = dtype::float16;
  wrong.dim = 16;
  EXPECT_THROW(disk_row_reader(wrong, 2), input_error);
  {
    std::FILE* fp = std::fopen(f.path.c_str(), "ab");
    std::fputc(0, fp);
    std::fclose(fp);
  }
  try {
    disk_row_reader r(f, 2);
    FAIL() << "a padded file was accepted";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated or padded"), std::string::npos) << e.what();
  }
}

// A file cut short after the reader opened it: each engine reports the end of file as an io_error
// naming it, with many reads in flight (io_uring waits for them before it throws: R13-F8), and rows
// that still exist read correctly afterwards.
TEST(DiskReader, AFileCutShortWhileOpenIsAnErrorNamingIt) {
  test::scratch_dir d;
  const std::int64_t rows = 5000, dim = 24;
  const feature_file f = write_features(d / "f.npy", rows, dim);
  std::vector<disk_io> engines = {disk_io::pread};
  if (io_uring_usable()) engines.push_back(disk_io::io_uring);
  const auto want = pick(rows, 5);
  for (disk_io e : engines) {
    disk_row_reader r(f, 3, e, 128);
    ASSERT_EQ(::truncate(f.path.c_str(), 128 + 2000 * dim * 4), 0);  // rows >= ~2000 are gone
    std::vector<float> got(want.size() * static_cast<std::size_t>(dim), -1.0f);
    try {
      r.read(want, reinterpret_cast<std::uint8_t*>(got.data()));
      FAIL() << r.engine() << ": a read past the end was not reported";
    } catch (const io_error& err) {
      EXPECT_NE(std::string(err.what()).find("f.npy"), std::string::npos) << err.what();
    }
    std::vector<std::pair<std::int64_t, std::size_t>> early;
    for (const auto& w : want)
      if (w.first < 1500) early.emplace_back(w.first, early.size());
    std::vector<float> again(early.size() * static_cast<std::size_t>(dim), -1.0f);
    r.read(early, reinterpret_cast<std::uint8_t*>(again.data()));
    ASSERT_NO_FATAL_FAILURE(expect_rows(early, again, dim, r.engine()));
    write_features(d / "f.npy", rows, dim);  // whole again for the next engine
  }
}
