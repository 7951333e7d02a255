#pragma once
// Exception types thrown at library boundaries, and the checking macros. Library code never aborts:
// the CLI catches tg::error, prints one line and exits non-zero.
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace tg {

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

// Work stopped on request (Ctrl-C) before it finished; what was saved is intact.
class interrupted_error : public error {
 public:
  using error::error;
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
