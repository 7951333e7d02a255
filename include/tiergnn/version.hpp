#pragma once
// The version of tiergnn: this line is the only place it is written. CMake (the project and package
// version), the Python package (pyproject.toml's regex) and the command line (`tiergnn --version`)
// all read it from here.
#define TIERGNN_VERSION "0.1.0"

namespace tiergnn {
namespace detail {
// Part `which` (0 major, 1 minor, 2 patch) of a "MAJOR.MINOR.PATCH" string, at compile time.
constexpr int version_part(const char* s, int which) {
  int part = 0, value = 0;
  for (; *s; ++s) {
    if (*s == '.') {
      if (part == which) return value;
      ++part;
      value = 0;
    } else {
      value = value * 10 + (*s - '0');
    }
  }
  return part == which ? value : 0;
}
}  // namespace detail

inline constexpr int kVersionMajor = detail::version_part(TIERGNN_VERSION, 0);
inline constexpr int kVersionMinor = detail::version_part(TIERGNN_VERSION, 1);
inline constexpr int kVersionPatch = detail::version_part(TIERGNN_VERSION, 2);
}  // namespace tiergnn
