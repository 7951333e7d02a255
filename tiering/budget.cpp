#include "tiering/budget.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace tg {

std::uint64_t budget::resolve(std::uint64_t total_bytes) const {
  if (type == kind::bytes) return bytes;
  // A share that is a whole number of bytes stays one: 29% of 12,800 is 0.29 x 12800 = 3711.9999...
  // in doubles (0.29 has no exact binary form), which floor() made 3711 and cost a row. The product's
  // rounding error is a few units in the last place: forgiven, never more (a budget is a promise).
  const double x = fraction * static_cast<double>(total_bytes);
  return static_cast<std::uint64_t>(std::floor(x + 4.0 * std::numeric_limits<double>::epsilon() * x));
}

std::string budget::to_string() const {
  if (type == kind::bytes) return format_bytes(static_cast<double>(bytes));
  char b[64];
  std::snprintf(b, sizeof b, "%g%% of the feature bytes", fraction * 100.0);
  return b;
}

budget parse_budget(const std::string& text, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return input_error(what + " '" + text + "': " + why +
                       " (write bytes such as 512M, 24G, 1073741824, or a share such as 10% or 0.1)");
  };
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s.push_back(c);
  if (s.empty()) throw bad("empty size");
  // Decimal only: strtod also reads hexadecimal ("0x10B" would be 267 bytes, its B a hex digit; R11-F5).
  // (Only a 0x prefix is hexadecimal: "50%x" is a stray character, said as such below.)
  const std::size_t digits_at = s[0] == '-' || s[0] == '+' ? 1 : 0;
  if (s.size() > digits_at + 1 && s[digits_at] == '0' && (s[digits_at + 1] == 'x' || s[digits_at + 1] == 'X'))
    throw bad("write the number in decimal (hexadecimal is not read)");
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() && std::isinf(v) && std::isdigit(static_cast<unsigned char>(s[s[0] == '-' || s[0] == '+'])))
    throw bad(s[0] == '-' ? "a budget cannot be negative" : "too large: a budget is at most 2^63 - 1 bytes (8 EiB)");
  if (end == s.c_str() || !std::isfinite(v)) throw bad(s[0] == '-' ? "a budget cannot be negative" : "not a number");
  if (s[0] == '-' && v != 0) throw bad("a budget cannot be negative");
  v = std::fabs(v);  // -0 is 0
  std::string suffix(end);
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  budget b;
  if (suffix == "%") {
    if (v > 100.0) throw bad("a share cannot exceed 100%");
    b.type = budget::kind::fraction;
    b.fraction = v / 100.0;
    return b;
  }
  // A plain number below 1 (0.5, 5e-1) is a share; one with a point above 1 is neither.
  if (suffix.empty() && (v < 1.0 || s.find('.') != std::string::npos)) {
    if (v > 1.0) throw bad("a share written as a number must lie in [0, 1], and bytes as an integer");
    b.type = budget::kind::fraction;
    b.fraction = v;
    return b;
  }
  if (suffix.empty() && v == 1.0)  // one byte, or all of it? neither is guessed
    throw bad("ambiguous: write 100% (or 1.0) for all of it, or 1B for one byte");
  // "--host-mem 100" (or 50, 10): a share without its % is far likelier than a budget of 100 bytes.
  if (suffix.empty() && v > 1.0 && v <= 100.0)
    throw bad("ambiguous: " + s + " bytes, or " + s + "%? write " + s + "% for a share or " + s + "B for bytes");
  if (suffix == "B" && v != std::floor(v)) throw bad("bytes as an integer");
  double mult = 1;
  if (suffix.empty() || suffix == "B")
    mult = 1;
  else if (suffix == "K" || suffix == "KB" || suffix == "KIB")
    mult = 1024.0;
  else if (suffix == "M" || suffix == "MB" || suffix == "MIB")
    mult = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "GB" || suffix == "GIB")
    mult = 1024.0 * 1024 * 1024;
  else if (suffix == "T" || suffix == "TB" || suffix == "TIB")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    throw bad("unknown unit '" + std::string(end) + "'");
  // Byte counts are recorded in plan.json as integers of at most 2^63 - 1 (what its reader accepts);
  // a whole number of bytes is read exactly (a double would round 9223372036854775295 to another).
  constexpr std::uint64_t kMostBytes = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto too_large = [&] { return bad("too large: a budget is at most 2^63 - 1 bytes (8 EiB)"); };
  const std::string digits = s.substr(0, static_cast<std::size_t>(end - s.c_str()));
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos) {
    errno = 0;
    const unsigned long long n = std::strtoull(digits.c_str(), nullptr, 10);
    const auto m = static_cast<std::uint64_t>(mult);
    if (errno == ERANGE || n > kMostBytes / m) throw too_large();
    b.bytes = static_cast<std::uint64_t>(n) * m;
    return b;
  }
  const double bytes = std::floor(v * mult);
  if (!(bytes < 9223372036854775808.0)) throw too_large();
  b.bytes = static_cast<std::uint64_t>(bytes);
  return b;
}

}  // namespace tg
