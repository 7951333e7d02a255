#pragma once
// Exception types thrown at library boundaries, and the checking macros. Library code never aborts:
// the CLI catches tg::error, prints one line and exits non-zero.
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <filesystem>
#include <string>

namespace tg {

// Text from an input (a dataset's name in meta.json) for a message: control characters escaped as
// \xNN, never sent to the terminal.
inline std::string printable_text(const std::string& t) {
  std::string out;
  for (const unsigned char ch : t) {
    if (ch < 0x20 || ch == 0x7f) {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[ch >> 4];
      out += hex[ch & 15];
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

// A path the operating system refused (too long, a component over NAME_MAX) for a message: the path
// (its start and length when it is very long) and the system's reason, not the C++ library's
// "filesystem error: status: ..." text.
inline std::string filesystem_error_text(const std::filesystem::filesystem_error& e) {
  std::string p = e.path1().string();
  if (p.size() > 120) p = p.substr(0, 100) + "... (a path of " + std::to_string(p.size()) + " bytes)";
  return printable_text(p) + ": " + e.code().message();
}

// A number for a message: as short as it is exact to 10 digits ("-1e-09", "0.5000001", "1e+308"),
// not std::to_string's fixed six decimals.
inline std::string number_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

// Base of every error tiergnn throws on purpose.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file or argument supplied by the user is wrong. The message names the input (and line, where
// there is one) and the problem.
class input_error : public error {
 public:
  using error::error;
};

// A non-finite feature value (dataset::check): the row and column as found in the file checked.
class nonfinite_error : public input_error {
 public:
  nonfinite_error(const std::string& what, std::int64_t row, std::int64_t column)
      : input_error(what), row(row), column(column) {}
  std::int64_t row, column;
};

// Rethrows `e` with every occurrence of `from` in its message replaced by `to` (a hidden temporary's
// name by the output's, which is what the user knows): a nonfinite_error or input_error keeps its
// type, anything else becomes an io_error.
[[noreturn]] void rethrow_renamed(const error& e, const std::string& from, const std::string& to);

// A memory budget cannot be met.
class budget_error : public error {
 public:
  using error::error;
};

// An operating-system call failed (open, read, mmap, rename, ...).
class io_error : public error {
 public:
  using error::error;
};

// A precondition inside tiergnn does not hold: a bug, not bad input.
class logic_error : public error {
 public:
  using error::error;
};

// Work stopped on request (Ctrl-C, or the signal `signal` such as SIGTERM) before it finished; what
// was saved is intact. The command line exits with 128 + signal, as a shell reports a signal.
class interrupted_error : public error {
 public:
  explicit interrupted_error(const std::string& what, int signal = 2 /* SIGINT */) : error(what), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// A CUDA runtime call failed.
class cuda_error : public error {
 public:
  using error::error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void throw_logic(const char* cond, const char* file, int line, const std::string& msg);
}  // namespace detail

// "path: problem" or "path:line: problem".
std::string at_input(const std::string& path, const std::string& problem);
std::string at_input(const std::string& path, std::int64_t line, const std::string& problem);

// Throws io_error naming the path and strerror(errno).
[[noreturn]] void throw_errno(const std::string& what, const std::string& path);

}  // namespace tg

// Precondition check inside the library; failing it is a bug (logic_error).
#define TG_EXPECTS(cond, ...)                                                                             \
  do {                                                                                                    \
    if (!(cond)) ::tg::detail::throw_logic(#cond, __FILE__, __LINE__, ::tg::detail::concat(__VA_ARGS__)); \
  } while (0)

// Input check: throws input_error with the concatenated message.
#define TG_CHECK_INPUT(cond, ...)                                            \
  do {                                                                       \
    if (!(cond)) throw ::tg::input_error(::tg::detail::concat(__VA_ARGS__)); \
  } while (0)
