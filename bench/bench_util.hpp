#pragma once
// What every benchmark program records beside its numbers: the CPU model and the commit of the
// source tree (read from .git without running git; uncommitted edits are not reflected).
#include <fstream>
#include <string>

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

}  // namespace tg::bench
