#include "core/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tg {

namespace {
log_level initial_level() {
  const char* e = std::getenv("TIERGNN_LOG");
  if (!e) return log_level::info;
  if (!std::strcmp(e, "debug")) return log_level::debug;
  if (!std::strcmp(e, "warn")) return log_level::warn;
  if (!std::strcmp(e, "error")) return log_level::error;
  if (!std::strcmp(e, "quiet")) return log_level::quiet;
  return log_level::info;
}
std::atomic<log_level>& level() {
  static std::atomic<log_level> l{initial_level()};
  return l;
}
std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

void set_log_level(log_level l) {
  level().store(l);
}
log_level get_log_level() {
  return level().load();
}

void print_result(const std::string& msg) {
  std::lock_guard<std::mutex> g(log_mutex());
  std::fflush(stderr);  // the log lines before it stay before it on a terminal showing both
  std::fprintf(stdout, "%s\n", msg.c_str());
  std::fflush(stdout);
}

void log_message(log_level l, const std::string& msg) {
  static const char* names[] = {"debug", "info", "warn", "error"};
  std::lock_guard<std::mutex> g(log_mutex());
  if (l == log_level::info)
    std::fprintf(stderr, "%s\n", msg.c_str());
  else
    std::fprintf(stderr, "[%s] %s\n", names[static_cast<int>(l)], msg.c_str());
}

}  // namespace tg
