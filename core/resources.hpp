#pragma once
// What this machine can hold: physical memory and the free space of a file system, and size
// arithmetic that cannot wrap. Importers and generators check what they are about to allocate or
// write against these before they start, so that an impossible request (a node count of 10^12, a
// feature width of 10^8) is refused with both numbers instead of failing half-way or with a bare
// "out of memory".
#include <cstdint>
#include <string>

namespace tg {

inline constexpr std::uint64_t kUnknownBytes = ~std::uint64_t{0};

// a * b and a + b, or kUnknownBytes (2^64 - 1) when the result does not fit: a size that saturates
// is still compared against (and refused by) every limit below.
std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b);
std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b);

// Bytes an unprivileged writer may still write on the file system holding `path` (statvfs
// f_bavail); kUnknownBytes when it cannot be told.
std::uint64_t free_disk_bytes(const std::string& path);
// Whether the file system of `path` has no blocks at all: a virtual one (/proc, /sys), where "0 B
// free" would send a user looking for space to free.
bool holds_no_files(const std::string& path);

// Physical memory of this machine; kUnknownBytes when it cannot be told.
std::uint64_t physical_memory_bytes();

// The memory limit of this process's cgroup (v2 memory.max, or v1 memory.limit_in_bytes, of the
// cgroup named in /proc/self/cgroup); kUnknownBytes when there is none or it cannot be told.
std::uint64_t cgroup_memory_limit_bytes();

// What this process may use: the smaller of physical memory and its cgroup's limit.
std::uint64_t usable_memory_bytes();

// What it can have now without swapping or evicting others: the smaller of /proc/meminfo's
// MemAvailable and usable_memory_bytes() (usable_memory_bytes() when MemAvailable is missing).
std::uint64_t available_memory_bytes();

// Anonymous memory one bucketed pass over data larger than memory may fill (the CSR build's
// scatter, prepare's feature permutation): a quarter of usable_memory_bytes(), at least 64 MiB.
// The environment variable `env_override`, when set to a positive byte count, replaces it (tests
// force many buckets with it).
std::uint64_t bucket_budget_bytes(const char* env_override);

// Anonymous memory a tiergnn process holds before any work (its libraries' heaps and threads: 99 MiB
// measured for `tiergnn --version`), counted beside a command's own needs in its memory checks.
inline constexpr std::uint64_t kProcessBaselineBytes = std::uint64_t{100} << 20;

// Throws input_error naming `input`: "<what> needs <bytes> of memory but this machine has <usable>"
// (or "... but this process's memory limit (cgroup) is <limit>").
void expect_memory(std::uint64_t bytes, const std::string& input, const std::string& what);

// Throws input_error naming `input`: "<what> needs <bytes> but the file system of <path> has <free> free".
void expect_disk_space(const std::string& path, std::uint64_t bytes, const std::string& input, const std::string& what);

}  // namespace tg
