#pragma once
// Progress reporter for long work: a single updating line on a terminal (rate and ETA), periodic
// plain lines when stderr is not a terminal, nothing when logging is quiet. Thread-safe add().
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tg {

class progress {
 public:
  // total <= 0: unknown total (shows count and rate only).
  progress(std::string label, std::int64_t total, std::string unit = "items");
  ~progress();
  void add(std::int64_t n);
  void set_total(std::int64_t n);  // a better estimate of the total (call between add()s from one thread)
  void set_suffix(std::string s);  // e.g. "loss 0.53"
  void finish();
  void silence() { enabled_ = false; }  // counts and times, never draws (e.g. train --no-progress)
  double seconds() const;

 private:
  void draw(bool final_line);
  std::string label_, unit_, suffix_;
  std::int64_t total_;
  std::atomic<std::int64_t> done_{0};
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
  bool tty_ = false, enabled_ = true, finished_ = false;
};

// A stop request (the Python module's Ctrl-C): while `flag` is non-null and true, progress::add()
// throws interrupted_error, so long work stops at its next progress step. nullptr: never.
void set_stop_flag(const std::atomic<bool>* flag);
// The stop signal (SIGINT, SIGTERM, SIGHUP; 0: none) that training's handler caught: training stops
// at its next batch, and waits on other ranks (the CPU communicator) give up once the others have
// had time to stop with it, instead of waiting out the whole communication timeout.
std::atomic<int>& pending_stop_signal();
// "SIGTERM", "SIGHUP", else "SIGINT": the names of the stop signals, for messages.
std::string stop_signal_name(int sig);
// Throws interrupted_error naming `what` if a stop was requested (set_stop_flag): for long loops
// that have no progress bar (dataset::check's checksums and scans).
void throw_if_stop_requested(const std::string& what);

// "1.23 GiB", "512 B"
std::string format_bytes(double bytes);
// A share (0..1) as a percentage with one decimal ("12.3"), never rounded to the ends it does not
// reach: "<0.1" for a share above 0, ">99.9" for one below 1 (a tier of 1999 of 2000 rows is not 100%).
// "1 epoch", "2 epochs": a count with its noun, singular for exactly one.
inline std::string count_text(long long n, const std::string& noun, const std::string& plural = "") {
  return std::to_string(n) + " " + (n == 1 ? noun : plural.empty() ? noun + "s" : plural);
}
std::string percent_text(double share);
// "12.3M"
std::string format_count(double n);

}  // namespace tg
