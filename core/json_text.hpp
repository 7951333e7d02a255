#pragma once
// JSON written by tiergnn (meta.json, plan.json, checkpoints, metrics, info --json, bench --json).
#include <string>

#include <nlohmann/json.hpp>

namespace tg {

// j as text. Strings that are not valid UTF-8 (a Latin-1 file name that became a dataset's name or
// source path) are written with U+FFFD for each bad byte instead of failing the whole output with
// the library's "invalid UTF-8 byte" exception: the file stays valid JSON and reads back the same.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A JSON library error for a message: without its "[json.exception.parse_error.101] parse error at "
// prefix ("line 19, column 1: syntax error while parsing object - unexpected end of input").
inline std::string json_error_text(const nlohmann::json::exception& e) {
  std::string s = e.what();
  if (s.rfind("[json.exception.", 0) == 0) {
    const std::size_t close = s.find("] ");
    if (close != std::string::npos) s.erase(0, close + 2);
  }
  for (const char* lead : {"parse error at ", "parse error: "})
    if (s.rfind(lead, 0) == 0) s.erase(0, std::string(lead).size());
  return s;
}

}  // namespace tg
