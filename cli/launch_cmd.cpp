// `tiergnn launch -n K [--master-port P] -- SUBCOMMAND ...`: starts K local processes of this
// tiergnn, rank r with RANK=r, WORLD_SIZE=K, LOCAL_RANK=r, MASTER_ADDR=127.0.0.1 and MASTER_PORT, for
// users without MPI (`mpirun -np K tiergnn ...` works too). If a rank fails (non-zero exit or a
// signal), the others are stopped (SIGTERM, then SIGKILL after a grace period) and launch exits
// non-zero naming the rank. Ctrl-C (and SIGTERM) is passed on to every rank; a job whose ranks all
// stopped as asked exits 128 + the signal, as one process would.
//
// The ranks' stderr comes through launch (a pipe per rank): rank 0's is passed on as it arrives (with
// TIERGNN_STDERR_IS_TTY=1 when launch's own stderr is a terminal, so its progress lines redraw in place),
// and a line of another rank is held for a moment and dropped if a rank printed the same line: an error
// that every rank meets (a missing dataset, a bad option value) is printed once, not K times.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/temp_files.hpp"

namespace tg::cli {

namespace {

std::atomic<int> g_forward_signal{0};
extern "C" void launch_on_signal(int sig) {
  g_forward_signal.store(sig);
}

// A free TCP port on the loopback interface (bound and released; the job's rank 0 binds it next).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw io_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw io_error(std::string("cannot find a free port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "stopped";
}

// One rank's stderr as it reaches launch (see the top of this file).
struct rank_stderr {
  int fd = -1;
  std::string partial;  // the part of the last line read so far
  struct held {
    std::string text;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<held> lines;  // ranks above 0: complete lines not yet printed
};

// Lines of rank 0, or of another rank once printed: a later identical line of any rank is dropped.
class stderr_merger {
 public:
  explicit stderr_merger(std::vector<rank_stderr>* ranks) : ranks_(*ranks) {}

  // Reads what rank r has written so far (all of it once the pipe is blocking and the rank has
  // exited); passes rank 0's bytes on at once and holds the other ranks' complete lines.
  void drain(std::size_t r) {
    rank_stderr& rs = ranks_[r];
    if (rs.fd < 0) return;
    char buf[4096];
    for (;;) {
      const ssize_t got = ::read(rs.fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        if (got == 0) {  // end of file: the rank and everything it started are gone
          ::close(rs.fd);
          rs.fd = -1;
          if (!rs.partial.empty()) take_line(r, rs.partial + "\n");
          rs.partial.clear();
        }
        return;
      }
      if (r == 0) (void)!::write(STDERR_FILENO, buf, static_cast<std::size_t>(got));
      rs.partial.append(buf, static_cast<std::size_t>(got));
      for (std::size_t nl; (nl = rs.partial.find('\n')) != std::string::npos;) {
        take_line(r, rs.partial.substr(0, nl + 1));
        rs.partial.erase(0, nl + 1);
      }
    }
  }

  // Prints the held lines that no rank printed and that waited long enough (every one with `all`);
  // drops the ones some rank printed.
  void release(bool all) {
    const auto now = std::chrono::steady_clock::now();
    for (rank_stderr& rs : ranks_)
      while (!rs.lines.empty()) {
        const rank_stderr::held& h = rs.lines.front();
        if (printed_.count(shown(h.text)) == 0) {
          if (!all && now - h.since < std::chrono::milliseconds(1000)) break;
          (void)!::write(STDERR_FILENO, h.text.data(), h.text.size());
          printed_.insert(shown(h.text));
        }
        rs.lines.pop_front();
      }
  }

 private:
  // A line as a terminal shows it: what follows its last carriage return (progress redraws with \r).
  static std::string shown(const std::string& line) {
    const std::size_t cr = line.rfind('\r');
    return cr == std::string::npos ? line : line.substr(cr + 1);
  }
  void take_line(std::size_t r, std::string line) {
    if (r == 0)
      printed_.insert(shown(line));
    else
      ranks_[r].lines.push_back({std::move(line), std::chrono::steady_clock::now()});
  }

  std::vector<rank_stderr>& ranks_;
  std::set<std::string> printed_;
};

}  // namespace

void register_launch(CLI::App& app) {
  struct opts {
    int n = 2;
    int port = 0;
    double grace = 10;
    std::vector<std::string> args;
  };
  auto o = std::make_shared<opts>();
  CLI::App* c = app.add_subcommand(
      "launch", "Start a data-parallel job of K local processes: tiergnn launch -n K -- train DATASET ...");
  c->add_option("-n,--nproc", o->n, "Number of processes (ranks)")->check(CLI::Range(1, 1024))->capture_default_str();
  c->add_option("--master-port", o->port, "TCP port of rank 0 on 127.0.0.1 (default: a free port)")
      ->check(CLI::Range(1, 65535));
  c->add_option("--grace", o->grace, "Seconds a failed job's other ranks get to stop before they are killed")
      ->capture_default_str()
      ->check(number_check([](double x) { return x >= 0 && x <= 86400; }, "0 to 86400 seconds", "SECONDS"));
  c->add_option("command", o->args, "The tiergnn subcommand and its arguments, after --")->required();
  c->footer(
      "Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. Only rank 0 prints progress\n"
      "and writes checkpoints, metrics and the saved model; it evaluates alone, except with sharded features,\n"
      "where every rank takes part. A line that several ranks print is shown once.");
  c->callback([o, c] {
    const int port = o->port > 0 ? o->port : free_port();
    std::vector<std::string> argv_s{"tiergnn"};
    // `tiergnn --threads T -q launch -- train ...`: the options given before launch reach every rank
    // too, unless the rank's own command line (before its subcommand) sets them again.
    bool own_threads = false, own_quiet = false;
    for (const std::string& a : o->args) {
      if (a.empty() || a[0] != '-') break;
      own_threads = own_threads || a == "--threads" || a.rfind("--threads=", 0) == 0;
      own_quiet = own_quiet || a == "-q" || a == "--quiet";
    }
    // Only the data-parallel commands: every rank of any other (prepare, generate, launch itself)
    // would do the whole work and write the same outputs.
    {
      std::size_t i = 0;
      while (i < o->args.size() && !o->args[i].empty() && o->args[i][0] == '-') i += o->args[i] == "--threads" ? 2 : 1;
      const std::string sub = i < o->args.size() ? o->args[i] : std::string();
      const std::string next = i + 1 < o->args.size() ? o->args[i + 1] : std::string();
      if (sub != "train" && !(sub == "bench" && next == "comm"))
        throw input_error(
            "launch runs the data-parallel commands only (train, bench comm), got " +
            (sub.empty() ? std::string("no subcommand") : "'" + sub + (sub == "bench" ? " " + next : "") + "'") +
            ": tiergnn launch -n K -- train DATASET ...");
    }
    const CLI::App* root = c->get_parent();
    if (const CLI::Option* t = root->get_option_no_throw("--threads"); t && t->count() > 0 && !own_threads) {
      argv_s.push_back("--threads");
      argv_s.push_back(t->as<std::string>());
    }
    if (const CLI::Option* q = root->get_option_no_throw("--quiet"); q && q->count() > 0 && !own_quiet)
      argv_s.push_back("-q");
    argv_s.insert(argv_s.end(), o->args.begin(), o->args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    // `launch -n K -- train --help`: the help once, from this process (K ranks would print it K times).
    if (std::find_if(o->args.begin(), o->args.end(), [](const std::string& x) { return x == "-h" || x == "--help"; }) !=
        o->args.end()) {
      ::execv("/proc/self/exe", argv.data());
      throw io_error(std::string("cannot run ") + argv_s[0] + ": " + std::strerror(errno));
    }
    // An ignored one stays ignored, in the ranks too (nohup).
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) catch_unless_ignored(sig, launch_on_signal);
    std::vector<pid_t> pids(static_cast<std::size_t>(o->n), -1);
    const pid_t launcher = ::getpid();
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    // Where launch's stdout and stderr are one file (`2>&1` into a log), a rank's stdout goes into
    // its stderr pipe too: two paths to one file, one of them delayed by the relay, had put rank 0's
    // result line above its epoch lines.
    struct stat out_st {
    }, err_st{};
    const bool one_target = ::fstat(STDOUT_FILENO, &out_st) == 0 && ::fstat(STDERR_FILENO, &err_st) == 0 &&
                            out_st.st_dev == err_st.st_dev && out_st.st_ino == err_st.st_ino;
    std::vector<rank_stderr> errs(static_cast<std::size_t>(o->n));
    stderr_merger merger(&errs);
    for (int r = 0; r < o->n; ++r) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) throw io_error(std::string("pipe: ") + std::strerror(errno));
      const pid_t pid = ::fork();
      if (pid < 0) throw io_error(std::string("fork: ") + std::strerror(errno));
      if (pid == 0) {
        ::dup2(fds[1], STDERR_FILENO);  // the copy stays open across exec, the pipe's own ends close
        if (one_target) ::dup2(fds[1], STDOUT_FILENO);
        if (r == 0 && tty) ::setenv("TIERGNN_STDERR_IS_TTY", "1", 1);
        // A rank never outlives its launcher: if launch dies, even by kill -9, the kernel sends the
        // rank SIGTERM (the check after it covers a launcher that died before the call).
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != launcher) ::_exit(143);
        ::setenv("RANK", std::to_string(r).c_str(), 1);
        ::setenv("WORLD_SIZE", std::to_string(o->n).c_str(), 1);
        ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
        ::setenv("MASTER_ADDR", "127.0.0.1", 1);
        ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
        ::execv("/proc/self/exe", argv.data());
        std::fprintf(stderr, "tiergnn launch: cannot start rank %d: %s\n", r, std::strerror(errno));
        ::_exit(127);
      }
      pids[static_cast<std::size_t>(r)] = pid;
      ::close(fds[1]);
      ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
      errs[static_cast<std::size_t>(r)].fd = fds[0];
    }
    // Every rank's end; the first failure stops the others. The report puts ranks that died from a
    // signal first (usually the cause), then ranks that exited with an error, then ranks launch stopped.
    int alive = o->n;
    std::vector<int> status(static_cast<std::size_t>(o->n), 0);
    std::vector<bool> stopped_by_us(static_cast<std::size_t>(o->n), false),
        failed(static_cast<std::size_t>(o->n), false);
    bool stopping = false, killed = false;
    std::string first_failure;
    int passed_on = 0;  // a stop signal launch received and passed on to every rank
    // A rank that ended by the signal passed on to it (or by exiting 128 + it, as train does after
    // stopping at a safe point) did as asked: not a failure of the job.
    auto stopped_as_asked = [&](int st) {
      return passed_on != 0 &&
             ((WIFEXITED(st) && WEXITSTATUS(st) == 128 + passed_on) || (WIFSIGNALED(st) && WTERMSIG(st) == passed_on));
    };
    auto stop_at = std::chrono::steady_clock::time_point::max();
    while (alive > 0) {
      if (const int sig = g_forward_signal.exchange(0)) {
        passed_on = sig;
        for (pid_t p : pids)
          if (p > 0) ::kill(p, sig);
      }
      for (std::size_t r = 0; r < errs.size(); ++r) merger.drain(r);
      merger.release(false);
      int st = 0;
      const pid_t done = ::waitpid(-1, &st, WNOHANG);
      if (done > 0) {
        for (int r = 0; r < o->n; ++r)
          if (pids[static_cast<std::size_t>(r)] == done) {
            pids[static_cast<std::size_t>(r)] = -1;
            merger.drain(static_cast<std::size_t>(r));  // its last words before launch's report
            --alive;
            status[static_cast<std::size_t>(r)] = st;
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) continue;
            failed[static_cast<std::size_t>(r)] = true;
            // A rank stopped by a signal that did not come through launch (a scheduler's SIGTERM to
            // one process): passed on to every rank, as if launch had received it.
            if (passed_on == 0 && !stopping && !killed) {
              const int s = WIFEXITED(st) ? WEXITSTATUS(st) - 128 : WIFSIGNALED(st) ? WTERMSIG(st) : 0;
              if (s == SIGINT || s == SIGTERM || s == SIGHUP) {
                passed_on = s;
                const std::string note = "tiergnn launch: rank " + std::to_string(r) + " stopped on " +
                                         (s == SIGINT    ? "SIGINT"
                                          : s == SIGTERM ? "SIGTERM"
                                                         : "SIGHUP") +
                                         ", which did not come through launch; passing it on to every rank\n";
                (void)!::write(STDERR_FILENO, note.data(), note.size());
                for (pid_t p : pids)
                  if (p > 0) ::kill(p, s);
                continue;
              }
            }
            if (!stopping && !killed && !stopped_as_asked(st)) {
              // A short delay lets ranks that failed at the same moment report first (and the
              // merger see that their errors are one).
              first_failure = "tiergnn launch: rank " + std::to_string(r) + " " + describe_status(st) +
                              "; stopping the other ranks\n";
              stopping = true;
              stop_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
            }
          }
        continue;
      }
      if (stopping && std::chrono::steady_clock::now() > stop_at) {
        merger.release(true);
        (void)!::write(STDERR_FILENO, first_failure.data(), first_failure.size());
        for (int r = 0; r < o->n; ++r)
          if (pids[static_cast<std::size_t>(r)] > 0) {
            ::kill(pids[static_cast<std::size_t>(r)], SIGTERM);
            stopped_by_us[static_cast<std::size_t>(r)] = true;
          }
        stopping = false;
        killed = true;
        stop_at =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(o->grace * 1000));
      } else if (killed && std::chrono::steady_clock::now() > stop_at) {
        for (pid_t p : pids)
          if (p > 0) ::kill(p, SIGKILL);
        stop_at = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Every rank has exited: what is left in the pipes, then the held lines.
    for (std::size_t r = 0; r < errs.size(); ++r) {
      if (errs[r].fd >= 0) ::fcntl(errs[r].fd, F_SETFL, ::fcntl(errs[r].fd, F_GETFL) & ~O_NONBLOCK);
      merger.drain(r);
    }
    merger.release(true);
    std::string report;
    for (int pass = 0; pass < 3; ++pass)
      for (int r = 0; r < o->n; ++r) {
        const auto i = static_cast<std::size_t>(r);
        if (!failed[i]) continue;
        const bool by_signal = WIFSIGNALED(status[i]) && !stopped_by_us[i];
        const int kind = stopped_by_us[i] ? 2 : by_signal ? 0 : 1;
        if (kind != pass) continue;
        report +=
            (report.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + " " +
            (stopped_by_us[i] ? std::string("was still running (stopped by launch)") : describe_status(status[i]));
      }
    bool as_asked = passed_on != 0;
    for (int r = 0; r < o->n; ++r) {
      const auto i = static_cast<std::size_t>(r);
      as_asked = as_asked && (!failed[i] || stopped_by_us[i] || stopped_as_asked(status[i]));
    }
    if (as_asked)
      throw interrupted_error("the job stopped: " +
                                  std::string(passed_on == SIGINT    ? "Ctrl-C (SIGINT)"
                                              : passed_on == SIGTERM ? "SIGTERM"
                                              : passed_on == SIGHUP  ? "SIGHUP"
                                                                     : strsignal(passed_on)) +
                                  " was passed on to every rank",
                              passed_on);
    if (!report.empty()) throw error("the job failed: " + report);
  });
}

}  // namespace tg::cli
