// Sequential streams around the page cache (core/stream_io.hpp): exact bytes for every length and
// buffer size, with O_DIRECT and without, reading from any offset, and errors that name the file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/csr.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/stream_io.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::scratch_dir;

namespace {

std::vector<unsigned char> pattern(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<unsigned char> v(n);
  for (auto& b : v) b = static_cast<unsigned char>(rng());
  return v;
}

std::vector<unsigned char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Sets TIERGNN_DIRECT_IO for a scope.
struct direct_io_env {
  explicit direct_io_env(const char* v) { ::setenv("TIERGNN_DIRECT_IO", v, 1); }
  ~direct_io_env() { ::unsetenv("TIERGNN_DIRECT_IO"); }
};

// Writes `data` in pieces of varying size (1 byte up to 3 buffers) through a writer with a
// 4 KiB..12 KiB buffer, so whole buffers go through the writer thread and tails do not.
void write_in_pieces(stream_writer& w, const std::vector<unsigned char>& data, unsigned seed) {
  std::mt19937 rng(seed);
  std::size_t at = 0;
  while (at < data.size()) {
    const std::size_t n = std::min<std::size_t>(data.size() - at, 1 + rng() % 30000);
    w.write(data.data() + at, n);
    at += n;
  }
}

}  // namespace

TEST(StreamIo, WriterAndReaderKeepEveryByteForAnyLengthAndBuffer) {
  scratch_dir d;
  for (const char* mode : {"1", "0"}) {
    direct_io_env env(mode);
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, std::size_t{4096}, std::size_t{4097},
                            std::size_t{12288}, std::size_t{100003}, std::size_t{1} << 20}) {
      for (std::size_t buf : {std::size_t{4096}, std::size_t{12288}, std::size_t{8} << 20}) {
        SCOPED_TRACE(std::string("direct=") + mode + " len=" + std::to_string(len) + " buffer=" + std::to_string(buf));
        const auto data = pattern(len, static_cast<unsigned>(len + buf));
        const std::string path = d / "f.bin";
        {
          stream_writer w(path, buf);
          write_in_pieces(w, data, 7);
          EXPECT_EQ(w.size(), len);
          w.finish();
        }
        ASSERT_EQ(slurp(path), data);
        // Read back from several offsets, in odd-sized pieces.
        for (std::size_t off : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, len / 2, len}) {
          if (off > len) continue;
          stream_reader r(path, off, buf);
          std::vector<unsigned char> got;
          std::vector<unsigned char> piece(777);
          std::size_t n;
          while ((n = r.read(piece.data(), piece.size())) > 0) got.insert(got.end(), piece.begin(), piece.begin() + n);
          ASSERT_EQ(got, std::vector<unsigned char>(data.begin() + off, data.end())) << "offset " << off;
        }
      }
    }
  }
}

TEST(StreamIo, ReadExactNamesAFileThatEndsEarly) {
  scratch_dir d;
  const auto data = pattern(5000, 1);
  {
    stream_writer w(d / "short.bin");
    w.write(data.data(), data.size());
    w.finish();
  }
  stream_reader r(d / "short.bin");
  std::vector<unsigned char> out(6000);
  try {
    r.read_exact(out.data(), out.size());
    FAIL() << "no error";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("short.bin"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ends early"), std::string::npos) << e.what();
  }
}

// A directory, a FIFO or a device where a dataset file should be: refused when opened. (A directory
// used to fail its first read inside the constructor, which left the reader thread waiting and hung
// the process, as any error of the first read still would without the constructor's cleanup; a
// FIFO blocked the open; /dev/zero never ended.)
TEST(StreamIo, OnlyRegularFilesAreRead) {
  scratch_dir d;
  ASSERT_EQ(::mkdir((d / "dir.npy").c_str(), 0700), 0);
  ASSERT_EQ(::mkfifo((d / "fifo.npy").c_str(), 0600), 0);
  for (const std::string& p : {d / "dir.npy", d / "fifo.npy", std::string("/dev/zero")}) {
    try {
      stream_reader r(p);
      FAIL() << p << ": no error";
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)file_crc32(p), input_error) << p;
  }
}

TEST(StreamIo, FileSystemsWithoutDirectIoFallBackToThePageCache) {
  // tmpfs refuses O_DIRECT at open: the writer must fall back, not fail.
  struct stat st {};
  if (::stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) GTEST_SKIP() << "no /dev/shm on this machine";
  const std::string path = "/dev/shm/tiergnn_stream_io_test_" + std::to_string(::getpid());
  const auto data = pattern(3 * 4096 + 17, 3);
  {
    stream_writer w(path, 4096);
    w.write(data.data(), data.size());
    w.finish();
  }
  EXPECT_EQ(slurp(path), data);
  stream_reader r(path, 5);
  std::vector<unsigned char> got(data.size() - 5);
  r.read_exact(got.data(), got.size());
  EXPECT_EQ(got, std::vector<unsigned char>(data.begin() + 5, data.end()));
  ::unlink(path.c_str());
}

TEST(StreamIo, AFullDiskIsAnErrorNamingTheFile) {
  // /dev/full fails every write with ENOSPC, on the writer thread or in finish().
  struct stat st {};
  if (::stat("/dev/full", &st) != 0) GTEST_SKIP() << "no /dev/full on this machine";
  const auto data = pattern(64 << 10, 4);
  try {
    stream_writer w("/dev/full", 4096);
    w.write(data.data(), data.size());
    w.finish();
    FAIL() << "no error";
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos) << e.what();
  }
}

TEST(StreamIo, ChecksumsComputedWhileWritingMatchTheFilesAndLapseWhenTheyChange) {
  scratch_dir d;
  auto crc_of_file = [](const std::string& path) {
    const auto bytes = slurp(path);
    return static_cast<std::uint32_t>(::crc32_z(::crc32(0L, Z_NULL, 0), bytes.data(), bytes.size()));
  };
  for (const char* mode : {"1", "0"}) {
    direct_io_env env(mode);
    for (std::int64_t rows : {std::int64_t{0}, std::int64_t{3}, std::int64_t{100000}}) {
      SCOPED_TRACE(std::string("direct=") + mode + " rows=" + std::to_string(rows));
      const std::string path = d / "a.npy";
      std::vector<float> v(static_cast<std::size_t>(rows) * 7);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f;
      npy_writer w(path, dtype::float32, {7});
      w.append(v.data(), rows / 2);
      w.append(v.data() + (rows / 2) * 7, rows - rows / 2);
      w.finish();
      std::uint32_t known = 0;
      ASSERT_TRUE(recall_file_crc32(path, known));
      EXPECT_EQ(known, crc_of_file(path));
      EXPECT_EQ(file_crc32(path), crc_of_file(path));
      EXPECT_EQ(npy_array::open(path).shape(), (std::vector<std::int64_t>{rows, 7}));
      // Any change to the file (here one byte appended) and the remembered value no longer applies.
      {
        std::ofstream out(path, std::ios::binary | std::ios::app);
        out.put('x');
      }
      EXPECT_FALSE(recall_file_crc32(path, known));
      EXPECT_EQ(file_crc32(path), crc_of_file(path));
    }
  }
}

// Large index arrays are validated by streaming their file; the first bad entry and the message are
// the same as when validating through memory, also when it lies pieces (8 MiB) into the file.
TEST(StreamIo, StreamedCsrValidationReportsTheSameFirstBadIndex) {
  scratch_dir d;
  const std::int64_t n = 1000, e = 5000000;  // 20 MB of int32: three 8 MiB pieces
  std::vector<std::int64_t> indptr(n + 1);
  for (std::int64_t v = 0; v <= n; ++v) indptr[v] = v * (e / n);
  std::vector<std::int32_t> idx(e);
  for (std::int64_t i = 0; i < e; ++i) idx[i] = static_cast<std::int32_t>((i * 7) % n);
  auto message = [&](bool streamed) {
    write_npy(d / "indices.npy", span<const std::int32_t>(idx));
    const npy_array a = npy_array::open(d / "indices.npy");
    try {
      if (streamed)
        validate_csr_streamed("indptr.npy", a.file(), a.data_offset(), n, span<const std::int64_t>(indptr),
                              dtype::int32, e);
      else
        validate_csr("indptr.npy", a.file(), n, span<const std::int64_t>(indptr), a.raw(), dtype::int32, e);
    } catch (const input_error& err) {
      return std::string(err.what());
    }
    return std::string();
  };
  EXPECT_EQ(message(true), "");
  for (std::int64_t at : {std::int64_t{0}, std::int64_t{2097151}, std::int64_t{2097152}, e - 1}) {
    idx[at] = static_cast<std::int32_t>(n);  // one past the last node
    idx[e - 1 - at / 2] = -1;                // and a later one (the earlier must be reported)
    const std::string m = message(true);
    EXPECT_NE(m.find("indices[" + std::to_string(std::min(at, e - 1 - at / 2)) + "]"), std::string::npos) << m;
    EXPECT_EQ(m, message(false));
    for (std::int64_t i = 0; i < e; ++i) idx[i] = static_cast<std::int32_t>((i * 7) % n);
  }
}
