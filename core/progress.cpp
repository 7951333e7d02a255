#include "core/progress.hpp"

#include "core/error.hpp"

#include <csignal>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "core/log.hpp"

namespace tg {

std::string format_bytes(double b) {
  // 2^64 - 1 is the saturated "unknown / too large" of byte counts (kUnknownBytes), not a size.
  if (b >= 18446744073709551615.0) return "more than 16 EiB";
  static const char* u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int i = 0;
  while (b >= 1024.0 && i < 5) b /= 1024.0, ++i;
  char buf[32];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s" : "%.2f %s", b, u[i]);
  return buf;
}

std::string percent_text(double share) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", 100.0 * share);
  const std::string s = b;
  if (share > 0 && s == "0.0") return "<0.1";
  if (share < 1 && s == "100.0") return ">99.9";
  return s;
}

std::string format_count(double n) {
  static const char* u[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (n >= 1000.0 && i < 4) n /= 1000.0, ++i;
  char buf[32];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f%s" : "%.2f%s", n, u[i]);
  return buf;
}

progress::progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  // TIERGNN_STDERR_IS_TTY: rank 0 of `tiergnn launch`, whose stderr reaches the terminal through launch.
  const char* through = std::getenv("TIERGNN_STDERR_IS_TTY");
  tty_ = ::isatty(STDERR_FILENO) == 1 || (through != nullptr && std::string(through) == "1");
  enabled_ = get_log_level() <= log_level::info;
}

progress::~progress() {
  if (!finished_) finish();
}

double progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void progress::set_suffix(std::string s) {
  std::lock_guard<std::mutex> g(mu_);
  suffix_ = std::move(s);
}

void progress::set_total(std::int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  total_ = n;
}

namespace {
std::atomic<const std::atomic<bool>*> g_stop_flag{nullptr};
std::atomic<int> g_pending_stop_signal{0};  // constant-initialized: safe to touch from a signal handler
}  // namespace

std::atomic<int>& pending_stop_signal() {
  return g_pending_stop_signal;
}

std::string stop_signal_name(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "SIGINT";
}

void set_stop_flag(const std::atomic<bool>* flag) {
  g_stop_flag.store(flag);
}

void throw_if_stop_requested(const std::string& what) {
  if (const std::atomic<bool>* stop = g_stop_flag.load(std::memory_order_relaxed);
      stop != nullptr && stop->load(std::memory_order_relaxed))
    throw interrupted_error(what + ": stopped on request (Ctrl-C)");
}

void progress::add(std::int64_t n) {
  if (const std::atomic<bool>* stop = g_stop_flag.load(std::memory_order_relaxed);
      stop != nullptr && stop->load(std::memory_order_relaxed))
    throw interrupted_error(label_ + ": stopped on request (Ctrl-C)");
  done_.fetch_add(n, std::memory_order_relaxed);
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.25 : 10.0)) return;
  std::unique_lock<std::mutex> g(mu_, std::try_to_lock);
  if (!g.owns_lock()) return;
  last_draw_ = now;
  draw(false);
}

void progress::draw(bool final_line) {
  const double secs = seconds();
  const auto d = done_.load();
  const double rate = secs > 0 ? d / secs : 0.0;
  char buf[512];
  if (total_ > 0) {
    const double frac = static_cast<double>(d) / total_;
    const double eta = rate > 0 ? (total_ - d) / rate : 0.0;
    std::snprintf(buf, sizeof buf, "%s: %5.1f%% %s/%s %s, %s %s/s, %s %.0fs%s%s", label_.c_str(), 100.0 * frac,
                  format_count(d).c_str(), format_count(total_).c_str(), unit_.c_str(), format_count(rate).c_str(),
                  unit_.c_str(), final_line ? "took" : "eta", final_line ? secs : eta, suffix_.empty() ? "" : ", ",
                  suffix_.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s: %s %s, %s %s/s, %.0fs%s%s", label_.c_str(), format_count(d).c_str(),
                  unit_.c_str(), format_count(rate).c_str(), unit_.c_str(), secs, suffix_.empty() ? "" : ", ",
                  suffix_.c_str());
  }
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", buf, final_line ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", buf);
  std::fflush(stderr);
}

void progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  std::lock_guard<std::mutex> g(mu_);
  // Short jobs print nothing on a non-terminal, to keep logs readable.
  if (tty_ || seconds() >= 10.0) draw(true);
}

}  // namespace tg
