#include "core/error.hpp"

#include <cerrno>
#include <cstring>

namespace tg {
namespace detail {
void throw_logic(const char* cond, const char* file, int line, const std::string& msg) {
  throw logic_error(
      concat("internal error: ", msg.empty() ? "" : msg + " ", "(", cond, " failed at ", file, ":", line, ")"));
}
}  // namespace detail

std::string at_input(const std::string& path, const std::string& problem) {
  return path + ": " + problem;
}
std::string at_input(const std::string& path, std::int64_t line, const std::string& problem) {
  return path + ":" + std::to_string(line) + ": " + problem;
}

void throw_errno(const std::string& what, const std::string& path) {
  const int e = errno;
  throw io_error(path + ": " + what + " failed: " + std::strerror(e));
}
}  // namespace tg
