#pragma once
// Shared by the fuzz targets (libFuzzer): the input bytes as a file (an anonymous in-memory file
// reached through /proc/self/fd, so parsers that take a path and mmap it run unchanged), and the
// rule every target enforces: bad input may only raise tg::error (a clean, named refusal); any
// other exception, a crash or a sanitizer report is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace tg::fuzz {

class memory_file {
 public:
  memory_file(const std::uint8_t* data, std::size_t size, const char* suffix = "") {
    fd_ = ::memfd_create("tiergnn-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) std::abort();
    for (std::size_t off = 0; off < size;) {
      const ssize_t n = ::write(fd_, data + off, size - off);
      if (n <= 0) std::abort();
      off += static_cast<std::size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
    (void)suffix;
  }
  ~memory_file() { ::close(fd_); }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Runs f; a tg::error is the expected way to refuse bad input (TIERGNN_FUZZ_VERBOSE=1 prints it).
template <typename F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const tg::error& e) {
    static const bool verbose = std::getenv("TIERGNN_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
  }
}

}  // namespace tg::fuzz
