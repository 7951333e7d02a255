#pragma once
// JSON written by tiergnn (meta.json, plan.json, checkpoints, metrics, info --json, bench --json).
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

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

// JSON read from files is nested at most this deep (tiergnn's own files: under 10 levels).
inline constexpr int kMaxJsonDepth = 256;

// A parser callback for input JSON: refuses nesting deeper than kMaxJsonDepth with the error
// `too_deep` builds from the depth reached (a value nested 100,000 levels deep overflowed the stack
// when the library printed or destroyed it), then defers to `then` when given.
template <typename Error>
nlohmann::json::parser_callback_t json_depth_limit(Error too_deep, nlohmann::json::parser_callback_t then = nullptr) {
  return [too_deep, then](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      too_deep(depth);
    return then ? then(depth, event, parsed) : true;
  };
}

// The same, refusing with input_error naming `path`.
inline nlohmann::json::parser_callback_t json_depth_limit_for(const std::string& path,
                                                              nlohmann::json::parser_callback_t then = nullptr) {
  return json_depth_limit(
      [path](int) {
        throw input_error(at_input(path, "nests its values more than " + std::to_string(kMaxJsonDepth) +
                                             " levels deep: not a file tiergnn reads (damaged, or not what it "
                                             "claims to be)"));
      },
      std::move(then));
}

}  // namespace tg
