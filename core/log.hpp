#pragma once
// Logging to stderr with a level set once (TIERGNN_LOG=debug|info|warn|error or set_log_level).
#include <string>

#include "core/error.hpp"

namespace tg {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

void set_log_level(log_level l);
log_level get_log_level();
void log_message(log_level l, const std::string& msg);

template <typename... Args>
void log_info(const Args&... a) {
  if (get_log_level() <= log_level::info) log_message(log_level::info, detail::concat(a...));
}
// A command's result (train's test metric): printed on stdout, like the results of info, profile
// and bench (logs, progress and errors go to stderr), and also under -q (level error), which
// silences progress and log lines but not what the command was run for.
void print_result(const std::string& msg);
template <typename... Args>
void log_result(const Args&... a) {
  if (get_log_level() <= log_level::error) print_result(detail::concat(a...));
}
template <typename... Args>
void log_debug(const Args&... a) {
  if (get_log_level() <= log_level::debug) log_message(log_level::debug, detail::concat(a...));
}
template <typename... Args>
void log_warn(const Args&... a) {
  if (get_log_level() <= log_level::warn) log_message(log_level::warn, detail::concat(a...));
}

}  // namespace tg
