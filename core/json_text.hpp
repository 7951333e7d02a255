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

}  // namespace tg
