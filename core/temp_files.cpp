// Temporary outputs removed on signals and by later runs (core/temp_files.hpp).
#include "core/temp_files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

namespace tg {

namespace {

constexpr int kSlots = 64;
constexpr std::size_t kPathMax = 4096;
char g_paths[kSlots][kPathMax];
std::atomic<bool> g_used[kSlots];
std::mutex g_mu;
constexpr int kChildSlots = 8;
std::atomic<int> g_children[kChildSlots];

// Removes the entries of the open directory dirfd, and those of its subdirectories (a sharded
// dataset's shards/) up to `depth` levels below: raw system calls only. Entries removed while the
// directory is read may be skipped by the reading, so it is read again until a pass removes nothing.
void remove_entries_signal_safe(int dirfd, int depth) {
  for (int pass = 0; pass < 4; ++pass) {
    bool removed = false;
    ::lseek(dirfd, 0, SEEK_SET);
    alignas(8) char buf[4096];
    for (;;) {
      const long n = ::syscall(SYS_getdents64, dirfd, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        const auto* reclen = reinterpret_cast<const unsigned short*>(buf + off + 16);
        const char* name = buf + off + 19;
        off += *reclen;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
        if (::unlinkat(dirfd, name, 0) == 0) {
          removed = true;
          continue;
        }
        if ((errno != EISDIR && errno != EPERM) || depth <= 0) continue;
        const int sub = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        remove_entries_signal_safe(sub, depth - 1);
        ::close(sub);
        removed = ::unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || removed;
      }
    }
    if (!removed) return;
  }
}

// Removes a file, or a directory with its entries (and its subdirectories' few levels down).
void remove_signal_safe(const char* path) {
  if (::unlink(path) == 0 || (errno != EISDIR && errno != EPERM)) return;
  const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    remove_entries_signal_safe(fd, 3);
    ::close(fd);
  }
  ::rmdir(path);
}

extern "C" void on_stop_signal(int sig) {
  remove_registered_temps_signal_safe();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void remove_registered_temps_signal_safe() {
  for (auto& c : g_children)  // first the helpers that write them
    if (const int pid = c.load(std::memory_order_acquire); pid > 0) ::kill(-pid, SIGTERM);
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load(std::memory_order_acquire)) remove_signal_safe(g_paths[i]);
}

void register_child_process(int pid) {
  for (auto& c : g_children) {
    int none = 0;
    if (c.compare_exchange_strong(none, pid)) return;
  }
}

void unregister_child_process(int pid) {
  for (auto& c : g_children) {
    int mine = pid;
    c.compare_exchange_strong(mine, 0);
  }
}

void register_temp(const std::string& path) {
  if (path.size() >= kPathMax) return;
  std::lock_guard<std::mutex> lock(g_mu);
  for (int i = 0; i < kSlots; ++i)
    if (!g_used[i].load(std::memory_order_relaxed)) {
      std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
      g_used[i].store(true, std::memory_order_release);
      return;
    }
}

void unregister_temp(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mu);
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load(std::memory_order_relaxed) && path == g_paths[i])
      g_used[i].store(false, std::memory_order_release);
}

void install_temp_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) catch_unless_ignored(sig, on_stop_signal);
  });
}

bool catch_unless_ignored(int sig, void (*handler)(int), struct sigaction* old) {
  struct sigaction was {};
  if (sigaction(sig, nullptr, &was) != 0 || was.sa_handler == SIG_IGN) return false;
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, nullptr) != 0) return false;
  if (old != nullptr) *old = was;
  return true;
}

std::string temp_prefix(const std::string& name) {
  // A long name is cut and given a hash of the whole (FNV-1a), so that the temporary, which adds
  // ~30 bytes, still fits a file system's 255-byte names.
  constexpr std::size_t kKeep = 180;
  if (name.size() <= kKeep) return "." + name + ".tmp-";
  std::uint32_t h = 2166136261u;
  for (const unsigned char c : name) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return "." + name.substr(0, kKeep) + "~" + hex + ".tmp-";
}

namespace {
std::mutex g_names_mutex;
std::vector<std::pair<std::string, std::string>>& temp_names() {
  static std::vector<std::pair<std::string, std::string>> names;
  return names;
}
}  // namespace

void name_temp(const std::string& tmp, const std::string& output) {
  const std::lock_guard<std::mutex> lock(g_names_mutex);
  auto& names = temp_names();
  if (names.size() < 256) names.emplace_back(tmp, output);
}

std::string with_output_names(std::string message) {
  const std::lock_guard<std::mutex> lock(g_names_mutex);
  for (const auto& [tmp, output] : temp_names())
    for (std::size_t at = message.find(tmp); at != std::string::npos;) {
      // ".out.tmp-7-1" is not the start of ".out.tmp-7-12": the name must end where the match does.
      const std::size_t end = at + tmp.size();
      if (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) {
        at = message.find(tmp, end);
        continue;
      }
      message.replace(at, tmp.size(), output);
      at = message.find(tmp, at + output.size());
    }
  return message;
}

std::vector<std::string> stale_temps(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string prefix = temp_prefix(p.filename().string());
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    std::error_code te;
    found.emplace_back(fs::last_write_time(it->path(), te), it->path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

void remove_stale_temps(const std::string& path) {
  for (const std::string& t : stale_temps(path)) {
    std::error_code rm;
    std::filesystem::remove_all(t, rm);
  }
}

}  // namespace tg
