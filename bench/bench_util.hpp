#pragma once
// What every benchmark program records beside its numbers: the CPU model and the commit of the
// source tree (read from .git without running git; uncommitted edits are not reflected).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace tg::bench {

inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto p = line.find(':');
      return p == std::string::npos ? line : line.substr(p + 2);
    }
  return "unknown";
}

inline std::string source_commit(const std::string& source_dir) {
  const std::string git = source_dir + "/.git";
  std::ifstream head(git + "/HEAD");
  std::string ref;
  if (!std::getline(head, ref)) return "unknown";
  if (ref.rfind("ref: ", 0) != 0) return ref;
  ref = ref.substr(5);
  std::ifstream loose(git + "/" + ref);
  std::string hash;
  if (std::getline(loose, hash)) return hash;
  std::ifstream packed(git + "/packed-refs");
  std::string line;
  while (std::getline(packed, line))
    if (line.size() > 41 && line.substr(41) == ref) return line.substr(0, 40);
  return "unknown";
}

// A random `fraction` of the ids [0, n), sorted: partial Fisher-Yates with a modulo-free draw from
// mt19937_64, so the set does not depend on the standard library's distribution implementation.
inline std::vector<std::int64_t> random_ids(std::int64_t n, double fraction, std::uint64_t seed) {
  const auto k = static_cast<std::int64_t>(static_cast<double>(n) * fraction);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), std::int64_t{0});
  std::mt19937_64 gen(seed);
  for (std::int64_t i = 0; i < k; ++i) {
    const auto range = static_cast<std::uint64_t>(n - i);
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    std::uint64_t r;
    do r = gen();
    while (r >= limit);
    std::swap(ids[static_cast<std::size_t>(i)], ids[static_cast<std::size_t>(i) + r % range]);
  }
  ids.resize(static_cast<std::size_t>(k));
  std::sort(ids.begin(), ids.end());
  return ids;
}

// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
inline std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

// {15, 10, 5} -> "15,10,5"
inline std::string join(const std::vector<std::int64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

// The last component of a directory path ("out/cnr/" -> "cnr").
inline std::string base_name(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const auto p = dir.find_last_of('/');
  return p == std::string::npos ? dir : dir.substr(p + 1);
}

}  // namespace tg::bench
