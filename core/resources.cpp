#include "core/resources.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace tg {

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? kUnknownBytes : r;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? kUnknownBytes : r;
}

std::uint64_t free_disk_bytes(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return kUnknownBytes;
  return saturating_mul(static_cast<std::uint64_t>(st.f_bavail), static_cast<std::uint64_t>(st.f_frsize));
}

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return kUnknownBytes;
  return saturating_mul(static_cast<std::uint64_t>(pages), static_cast<std::uint64_t>(page));
}

namespace {
std::string bytes_text(std::uint64_t b) {
  return b == kUnknownBytes ? std::string("more than 16 EiB") : format_bytes(static_cast<double>(b));
}
}  // namespace

void expect_memory(std::uint64_t bytes, const std::string& input, const std::string& what) {
  const std::uint64_t have = physical_memory_bytes();
  if (have != kUnknownBytes && bytes > have)
    throw input_error(
        at_input(input, what + " needs " + bytes_text(bytes) + " of memory but this machine has " + bytes_text(have)));
}

void expect_disk_space(const std::string& path, std::uint64_t bytes, const std::string& input,
                       const std::string& what) {
  const std::uint64_t avail = free_disk_bytes(path);
  if (avail != kUnknownBytes && bytes > avail)
    throw input_error(at_input(input, what + " needs " + bytes_text(bytes) + " but the file system of " + path +
                                          " has " + bytes_text(avail) + " free"));
}

}  // namespace tg
