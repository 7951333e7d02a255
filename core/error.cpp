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

void rethrow_renamed(const error& e, const std::string& from, const std::string& to) {
  std::string msg = e.what();
  if (!from.empty())
    for (std::size_t at = msg.find(from); at != std::string::npos; at = msg.find(from, at + to.size()))
      msg.replace(at, from.size(), to);
  if (const auto* nf = dynamic_cast<const nonfinite_error*>(&e)) throw nonfinite_error(msg, nf->row, nf->column);
  if (dynamic_cast<const input_error*>(&e)) throw input_error(msg);
  throw io_error(msg);
}

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
