// The `tiergnn` command line: generate, import and inspect datasets (profile, prepare, train and
// bench come with later modules). Errors print one line naming the input and exit with status 1.
#include <signal.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/mmap_file.hpp"
#include "core/temp_files.hpp"
#include "multigpu/communicator.hpp"
#include "include/tiergnn/version.hpp"

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when the byte there does not start one.
std::size_t utf8_length(const std::string& s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  return n;
}

// One line for the terminal: control bytes and bytes that are not UTF-8 escaped as \xNN, and any
// run of more than 80 characters without a space (an echoed token, a number of 300 digits) cut.
std::string printable(const std::string& msg) {
  std::string out;
  std::size_t run = 0;
  for (std::size_t i = 0; i < msg.size();) {
    const auto c = static_cast<unsigned char>(msg[i]);
    std::string piece;
    std::size_t used = 1;
    if (c == '\n' || c == '\t' || c == '\r') {
      piece = " ";
    } else if (c >= 0x80 && (used = utf8_length(msg, i)) > 0) {
      piece = msg.substr(i, used);
    } else if (c < 0x20 || c >= 0x7f) {
      used = 1;
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      piece = b;
    } else {
      piece = std::string(1, msg[i]);
    }
    i += used;
    run = piece == " " ? 0 : run + 1;
    if (run > 80) {
      if (run == 81) out += "...";
      continue;
    }
    out += piece;
  }
  return out;
}

void print_error(const std::string& msg) {
  std::fprintf(stderr, "tiergnn: error: %s\n", printable(tg::with_output_names(msg)).c_str());
}

// CLI11 converts integers with strtoll/strtoull, which saturate (99999999999999999999 becomes 2^63 - 1)
// and wrap signs (-1 becomes 2^64 - 1 for an unsigned option) without a word. Every integer option of
// every command refuses such values instead, naming what was typed.
// An empty value of a numeric option (`--epochs "$EPOCHS"` with the variable unset), which CLI11
// reads as 0, is refused too.
void guard_integer_ranges(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    // An option given twice (a wrapper script appending an override) takes the last value, as in most
    // command-line tools, instead of CLI11's "At Most 1 required but received 2".
    if (opt->get_items_expected_max() == 1 && opt->get_expected_min() == 1)
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    const std::string type = opt->get_type_name();
    const bool is_signed = type.rfind("INT", 0) == 0, is_unsigned = type.rfind("UINT", 0) == 0;
    const bool is_float = type.rfind("FLOAT", 0) == 0 || type.rfind("NUMBER", 0) == 0;
    if (is_float || is_signed || is_unsigned)
      opt->transform(CLI::Validator(
          [](std::string& v) -> std::string {
            return v.find_first_not_of(" \t") == std::string::npos
                       ? "'" + v + "' is not a number (an empty value: an unset shell variable?)"
                       : std::string();
          },
          "", ""));
    if (is_float)
      opt->transform(CLI::Validator(
          [](std::string& v) -> std::string {
            // Decimal only: strtod reads "0x10" as 16; and a value past a double's range is named, not
            // turned into 0 or infinity behind the user's back.
            const std::size_t digits = v.find_first_not_of(" \t+-");
            if (digits != std::string::npos && (v.compare(digits, 2, "0x") == 0 || v.compare(digits, 2, "0X") == 0))
              return "'" + v + "' is not a decimal number (hexadecimal is not accepted)";
            errno = 0;
            char* end = nullptr;
            const double x = std::strtod(v.c_str(), &end);
            // ERANGE also marks a subnormal result, which is a value: only 0 and infinity are refused.
            if (end != v.c_str() && errno == ERANGE && (x == 0 || std::isinf(x)))
              return "'" + v + "' is " +
                     (x == 0 ? "too close to 0 for a double (it would be 0)" : "too large for a double");
            return std::string();
          },
          "", ""));
    if (!is_signed && !is_unsigned) continue;
    opt->transform(CLI::Validator(  // a transform: it may rewrite the value (leading zeros), a check may not
        [is_unsigned](std::string& v) -> std::string {
          std::size_t i = 0;
          const bool negative = !v.empty() && v[0] == '-';
          if (!v.empty() && (v[0] == '-' || v[0] == '+')) i = 1;
          if (i < v.size() && v.find_first_not_of("0123456789.eE+-", i) == std::string::npos &&
              v.find_first_of(".eE", i) != std::string::npos && std::isdigit(static_cast<unsigned char>(v[i])))
            return "'" + v + "' is not a whole number";  // 2.5, 1e3: CLI11 said "not in range" or "failed"
          if (i == v.size() || v.find_first_not_of("0123456789", i) != std::string::npos)
            return std::string();  // not a decimal literal: CLI11's own conversion judges it
          if (negative && is_unsigned) return "'" + v + "' must be a number >= 0";
          errno = 0;
          char* end = nullptr;
          if (is_unsigned)
            (void)std::strtoull(v.c_str(), &end, 10);
          else
            (void)std::strtoll(v.c_str(), &end, 10);
          if (errno == ERANGE)
            return "'" + v + "' is out of range (at most " +
                   (is_unsigned ? std::to_string(std::numeric_limits<std::uint64_t>::max())
                                : std::to_string(std::numeric_limits<std::int64_t>::max())) +
                   ")";
          // CLI11 reads a leading 0 as octal (010 would be 8): a decimal literal is decimal.
          const std::size_t first = v.find_first_not_of('0', i);
          v.erase(i, (first == std::string::npos ? v.size() - 1 : first) - i);
          return std::string();
        },
        "", ""));
  }
  for (CLI::App* sub : app.get_subcommands({})) guard_integer_ranges(*sub);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tiergnn: train graph neural networks on graphs larger than GPU memory, with node features\n"
      "tiered across GPU memory, pinned host memory and disk.\n"};
  app.name("tiergnn");
  app.require_subcommand(1);
  app.set_version_flag("--version", "tiergnn " TIERGNN_VERSION);
  int threads = 0;
  bool quiet = false;
  app.add_option("--threads", threads, "Worker threads (default: all cores; more than the cores are not started)")
      ->check(CLI::Range(0, 65536));
  app.add_flag("-q,--quiet", quiet,
               "Print only errors and the results (train: the test metric); no progress or log lines");
  // Ctrl-C, SIGTERM or SIGHUP remove the temporary output of the command under way.
  tg::install_temp_cleanup();
  // A mapped dataset file cut short by someone else while it is read faults with SIGBUS (as does a
  // mapped output whose disk filled up): one line naming the file, exit status 1, instead of "Bus
  // error". Only write(2) here: the handler runs inside the faulting access.
  struct sigaction bus {};
  bus.sa_flags = SA_SIGINFO;
  bus.sa_sigaction = [](int, siginfo_t* info, void*) {
    auto say = [](const char* s) { (void)!::write(2, s, std::strlen(s)); };
    bool writable = false;
    const char* path = info != nullptr ? tg::mapped_file_at(info->si_addr, &writable) : nullptr;
    say("tiergnn: error: ");
    if (path != nullptr) {
      say(path);
      say(writable ? ": this memory-mapped output could not be written (is its disk full?); stopped\n"
                   : ": this memory-mapped file became shorter while this command was reading it (truncated or "
                     "replaced by another program?); stopped\n");
    } else {
      say("a memory-mapped dataset file became shorter while this command was reading it (truncated or replaced "
          "by another program?); stopped\n");
    }
    tg::remove_registered_temps_signal_safe();  // the half-written output goes too
    ::_exit(1);
  };
  sigaction(SIGBUS, &bus, nullptr);
  // A closed pipe on stderr or stdout (launch killed with -9, `| head`) makes a write fail, not kill
  // the process: a stopping run still saves its checkpoint and metrics (R12-F15: rank 0 died of
  // SIGPIPE writing "stopping" to a dead launch and its finished epochs' metrics were lost).
  signal(SIGPIPE, SIG_IGN);
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, reported with the file's name and its
  // temporaries removed, instead of killing the process silently by SIGXFSZ (R15-F9).
  signal(SIGXFSZ, SIG_IGN);
  std::unique_ptr<tbb::global_control> limit;
  app.parse_complete_callback([&] {
    if (quiet) tg::set_log_level(tg::log_level::error);
    if (threads > 0) {
      limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<std::size_t>(threads));
      // oneTBB runs at most as many threads as the cores this process may use: say so, not silently.
      const int cores = tbb::this_task_arena::max_concurrency();
      if (threads > cores)
        tg::log_info("--threads ", threads, ": this machine lets this process use ", cores, " cores; using ", cores);
    }
  });
  app.fallthrough();

  tg::cli::register_generate(app);
  CLI::App* import_cmd =
      app.add_subcommand("import", "Import a graph or a labelled dataset into a tiergnn dataset directory");
  import_cmd->require_subcommand(1);
  tg::cli::register_import_edgelist(*import_cmd);
  tg::cli::register_import_labelled(*import_cmd);
  tg::cli::register_info(app);
  tg::cli::register_profile(app);
  tg::cli::register_prepare(app);
  tg::cli::register_train(app);
  tg::cli::register_bench(app);
  tg::cli::register_launch(app);
  guard_integer_ranges(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // The words that are not options (nor --threads' value) name a command, and below a command that
    // has subcommands (bench, generate, import) one of those: an unknown one is named, also before
    // --help (which would otherwise print the parent's help as if the word were fine).
    const CLI::App* cur = &app;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--threads") {
        ++i;
        continue;
      }
      if (a.empty() || a[0] == '-') continue;
      const CLI::App* next = nullptr;
      std::string names;
      const auto subs = cur->get_subcommands({});
      for (std::size_t k = 0; k < subs.size(); ++k) {
        if (subs[k]->get_name() == a) next = subs[k];
        names += (k == 0 ? "" : k + 1 == subs.size() ? " or " : ", ") + subs[k]->get_name();
      }
      if (next == nullptr) {
        if (cur->get_require_subcommand_min() == 0) break;  // a command's own arguments
        const std::string parent = cur == &app ? std::string() : cur->get_name() + " ";
        print_error("unknown " + parent + "command '" + printable(a) + "': choose " + names + " (see tiergnn " +
                    parent + "--help)");
        return 1;
      }
      cur = next;
      if (cur->get_subcommands({}).empty()) break;
    }
    if (e.get_exit_code() == 0) {  // --help, --version: written, or an error (R15-F10: > /dev/full was success)
      const int rc = app.exit(e);
      errno = 0;
      std::cout.flush();
      const bool flushed = std::fflush(stdout) == 0;
      const int err = errno;
      // A reader that stopped early (--help | head) is no failure: the help was wanted up to there.
      if ((!std::cout || !flushed || std::ferror(stdout)) && err != EPIPE) {
        print_error(std::string("writing standard output failed") +
                    (err != 0 ? ": " + std::string(std::strerror(err)) : std::string()));
        return 1;
      }
      return rc;
    }
    if (cur->get_require_subcommand_min() > 0 && !cur->get_subcommands({}).empty() &&
        std::string(e.what()).find("subcommand is required") != std::string::npos) {
      std::string names;
      const auto subs = cur->get_subcommands({});
      for (std::size_t k = 0; k < subs.size(); ++k)
        names += (k == 0 ? "" : k + 1 == subs.size() ? " or " : ", ") + subs[k]->get_name();
      const std::string who = cur == &app ? std::string("tiergnn") : "tiergnn " + cur->get_name();
      print_error(who + " needs a command: " + names + " (see " + who + " --help)");
      return 1;
    }
    std::string what = e.what();
    // A decimal integer within 64 bits (guard_integer_ranges passed it) that CLI11 could not convert
    // is out of the range of a 32-bit option ("Could not convert: --epochs = 2147483648").
    const std::string prefix = "Could not convert: ", sep = " = ";
    if (what.rfind(prefix, 0) == 0 && what.find(sep) != std::string::npos) {
      const std::string name = what.substr(prefix.size(), what.find(sep) - prefix.size());
      const std::string value = what.substr(what.find(sep) + sep.size());
      const std::size_t digits = value.find_first_not_of('-') == 1 ? 1 : 0;
      if (!value.empty() && digits < value.size() && value.find_first_not_of("0123456789", digits) == std::string::npos)
        what = name + ": '" + value + "' is out of range (" +
               (value[0] == '-' ? "at least " + std::to_string(std::numeric_limits<int>::min())
                                : "at most " + std::to_string(std::numeric_limits<int>::max())) +
               ")";
    }
    print_error(what + " (see tiergnn --help, or tiergnn COMMAND --help)");
    return 1;
  } catch (const tg::interrupted_error& e) {
    std::fprintf(stderr, "tiergnn: %s\n", printable(e.what()).c_str());
    return 128 + e.signal();
  } catch (const std::bad_alloc&) {
    print_error(
        "out of memory: this command needs more memory than this machine has (or this process's memory "
        "limit allows) for this dataset and these options (sizes such as --nodes, --scale, --batch-size, "
        "--hidden, --fanouts)");
    tg::end_mpi_job_after_error();
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    print_error(tg::filesystem_error_text(e));
    tg::end_mpi_job_after_error();
    return 1;
  } catch (const std::exception& e) {
    print_error(e.what());
    tg::end_mpi_job_after_error();
    return 1;
  }
  // The results written to standard output (info --json > file) must have reached it: a full disk
  // or a closed descriptor is an error, not success.
  errno = 0;  // before the first flush: the error of either one is the one to report
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  if (!std::cout || !flushed || std::ferror(stdout)) {
    print_error(
        std::string("writing standard output failed") +
        (errno != 0 ? ": " + std::string(std::strerror(errno)) : std::string(" (a full disk or a closed output?)")));
    return 1;
  }
  return 0;
}
