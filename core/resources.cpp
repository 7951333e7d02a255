#include "core/resources.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

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

bool holds_no_files(const std::string& path) {
  struct statvfs st {};
  return ::statvfs(path.c_str(), &st) == 0 && st.f_blocks == 0;
}

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return kUnknownBytes;
  return saturating_mul(static_cast<std::uint64_t>(pages), static_cast<std::uint64_t>(page));
}

namespace {
// The number in a cgroup limit file ("max" or unreadable: unknown).
std::uint64_t read_limit(const std::string& path) {
  std::ifstream f(path);
  std::string text;
  if (!(f >> text) || text == "max") return kUnknownBytes;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0') return kUnknownBytes;
  // cgroup v1 reports "no limit" as a huge page-rounded number.
  return v >= (std::uint64_t{1} << 62) ? kUnknownBytes : static_cast<std::uint64_t>(v);
}
}  // namespace

std::uint64_t cgroup_memory_limit_bytes() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  std::uint64_t limit = kUnknownBytes;
  while (std::getline(f, line)) {
    // "0::/path" (v2) or "N:memory:/path" (v1; the controller list may name several).
    const std::size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::uint64_t v = kUnknownBytes;
    if (controllers.empty()) {
      v = read_limit("/sys/fs/cgroup" + path + "/memory.max");
      if (v == kUnknownBytes) v = read_limit("/sys/fs/cgroup/unified" + path + "/memory.max");
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      v = read_limit("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes");
    }
    limit = std::min(limit, v);
  }
  return limit;
}

std::uint64_t usable_memory_bytes() {
  return std::min(physical_memory_bytes(), cgroup_memory_limit_bytes());
}

std::uint64_t available_memory_bytes() {
  std::uint64_t avail = kUnknownBytes;
  std::ifstream f("/proc/meminfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("MemAvailable:", 0) == 0) {
      avail = std::strtoull(line.c_str() + 13, nullptr, 10) << 10;  // "MemAvailable:   123 kB"
      break;
    }
  return std::min(avail, usable_memory_bytes());
}

std::uint64_t bucket_budget_bytes(const char* env_override) {
  if (const char* e = std::getenv(env_override)) {
    const long long v = std::atoll(e);
    if (v > 0) return static_cast<std::uint64_t>(v);
  }
  return std::max<std::uint64_t>(std::uint64_t{64} << 20, usable_memory_bytes() / 4);
}

namespace {
std::string bytes_text(std::uint64_t b) {
  return b == kUnknownBytes ? std::string("more than 16 EiB") : format_bytes(static_cast<double>(b));
}
}  // namespace

void expect_memory(std::uint64_t bytes, const std::string& input, const std::string& what) {
  const std::uint64_t physical = physical_memory_bytes(), limit = cgroup_memory_limit_bytes();
  const std::uint64_t have = std::min(physical, limit);
  if (have != kUnknownBytes && bytes > have)
    throw input_error(at_input(input, what + " needs " + bytes_text(bytes) +
                                          (limit < physical ? " of memory but this process's memory limit (cgroup) is "
                                                            : " of memory but this machine has ") +
                                          bytes_text(have)));
}

void expect_disk_space(const std::string& path, std::uint64_t bytes, const std::string& input,
                       const std::string& what) {
  const std::uint64_t avail = free_disk_bytes(path);
  if (avail == 0 && holds_no_files(path))
    throw input_error(at_input(input, "the file system of " + path +
                                          " holds no files (a virtual one, like /proc or /sys): write " + what +
                                          " elsewhere"));
  // An I/O error (Python: OSError), not bad input: the same command succeeds where there is room.
  if (avail != kUnknownBytes && bytes > avail)
    throw io_error(at_input(input, what + " needs " + bytes_text(bytes) + " but the file system of " + path + " has " +
                                       bytes_text(avail) + " free"));
}

}  // namespace tg
