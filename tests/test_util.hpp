#pragma once
// Helpers shared by the test executables: scratch directories, the real-dataset folder, running
// the tiergnn executable.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tg::test {

// A fresh empty directory under the system temp folder, removed when the object dies.
class scratch_dir {
 public:
  scratch_dir();
  ~scratch_dir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// ../shared/datasets/<name>, or "" when the folder is not there (tests then GTEST_SKIP).
std::string shared_dataset(const std::string& name);

// Writes a text file (or gzip file when gz is set).
void write_text(const std::string& path, const std::string& text, bool gz = false);
std::string read_text(const std::string& path);
// One JSON value per non-empty line (a --metrics file).
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// Runs `tiergnn ARGS`, capturing stdout+stderr. Returns the exit status.
int run_cli(const std::string& args, std::string* output = nullptr);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released), for tests
// that start a data-parallel job.
int free_tcp_port();

// Runs body(rank) in `size` forked processes (the ranks of a job in tests of collectives); returns
// each one's exit status: 0 when body returned true, 1 when false, 3 when it threw (the message goes
// to stderr), 100 + the signal when one killed it.
std::vector<int> run_in_processes(int size, const std::function<bool(int)>& body);

// In a rank body of run_in_processes (rank `r` in scope): prints the failed condition and returns false.
#define TG_RANK_CHECK(cond)                                          \
  do {                                                               \
    if (!(cond)) {                                                   \
      std::fprintf(stderr, "rank %d: check failed: %s\n", r, #cond); \
      return false;                                                  \
    }                                                                \
  } while (0)

// The number of CUDA devices, asked in a forked child: a test that forks ranks which use CUDA
// must not initialise CUDA itself (a child cannot use its parent's context).
int cuda_devices_in_child();

// A .npy version-1 header for a hand-written header dict ("{'descr': '<f4', ...}"), padded with
// spaces and a newline so that the data starts at a multiple of 64 bytes, as numpy writes it.
std::string npy_header_bytes(const std::string& dict);

// Recursive listing "name:size" of a directory (to prove nothing changed).
std::vector<std::string> list_tree(const std::string& dir);

}  // namespace tg::test
