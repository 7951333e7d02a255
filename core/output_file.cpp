#include "core/output_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/npy.hpp"
#include "core/temp_files.hpp"

namespace tg {

namespace fs = std::filesystem;

namespace {
fs::path resolved(const fs::path& p) {
  // Absolute first: weakly_canonical leaves a relative path with no existing prefix relative ("F")
  // but resolves "./F" against the working directory, and the two must compare equal.
  std::error_code ec;
  const fs::path a = fs::absolute(p, ec);
  if (ec) return p.lexically_normal();
  fs::path r = fs::weakly_canonical(a, ec);
  if (ec || r.empty()) r = a;
  return r.lexically_normal();  // "./F" and "F" name one file (weakly_canonical keeps a "." it cannot resolve)
}

void check_name_length(const std::string& path, const std::string& what) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string name = p.filename().string();
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  long max = ::pathconf(fs::is_directory(parent) ? parent.c_str() : ".", _PC_NAME_MAX);
  if (max <= 0) max = 255;
  if (static_cast<long>(name.size()) > max)
    throw input_error(what + ": the file name is " + std::to_string(name.size()) +
                      " bytes long; this file system takes " + std::to_string(max) + " at most");
}
// "nodir/../x" and "nodir/..": the kernel resolves a ".." only after the directory before it, which
// lexical checks read past; refused unless that directory exists.
void check_raw_parent(const std::string& path, const std::string& what) {
  fs::path prefix;
  for (const auto& part : fs::path(path)) {
    std::error_code ec;
    if (part == ".." && !prefix.empty() && !fs::is_directory(prefix, ec))
      throw input_error(what + ": the directory " + (prefix / part).string() + " cannot be reached (" +
                        prefix.string() + ", before its \"..\", does not exist)");
    prefix /= part;
  }
}
}  // namespace

void check_output_name(const std::string& path, const std::string& what) {
  check_name_length(path, what);
  check_raw_parent(path, what);
}

std::string parent_dir(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty() && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();  // "out/" is "out"
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

bool path_same_or_inside(const std::string& inner, const std::string& outer) {
  const fs::path a = resolved(inner), b = resolved(outer);
  if (a.empty() || b.empty()) return false;
  auto i = a.begin(), j = b.begin();
  for (; j != b.end(); ++i, ++j)
    if (i == a.end() || *i != *j) return j->empty() && std::next(j) == b.end();  // trailing separator
  return true;
}

namespace {
// What an existing file holds: "model", "metrics", "traffic", "comm", "scores", "plot" (tiergnn's
// own outputs, see check_output_file), or "npy", "json", "svg", "other" (files of those formats that
// tiergnn did not write), or "" when it is empty (or cannot be read: the write will say why). Judged
// by the first 64 KiB; a pretty-printed JSON object by its top-level keys (a SAX pass, up to 16 MiB).
std::string file_kind(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  std::string h(64 << 10, '\0');
  f.read(h.data(), static_cast<std::streamsize>(h.size()));
  h.resize(static_cast<std::size_t>(f.gcount()));
  if (h.empty()) return "";
  if (h.rfind("TGCKPT", 0) == 0) return "model";
  if (h.rfind("\x93NUMPY", 0) == 0) {
    try {
      const npy_header nh = parse_npy_header(reinterpret_cast<const std::uint8_t*>(h.data()), h.size(), path);
      return nh.type == dtype::float64 && nh.shape.size() == 1 ? "scores" : "npy";
    } catch (const std::exception&) {
      return "npy";
    }
  }
  const std::size_t first = h.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {  // blank: nothing is lost (unless the blank part is only its start)
    std::error_code ec;
    return std::filesystem::file_size(path, ec) <= h.size() && !ec ? "" : "other";
  }
  if (h.compare(first, 4, "<svg") == 0 || h.compare(first, 5, "<?xml") == 0)
    return h.find("GPU hit rate vs cache size") != std::string::npos ? "plot" : "svg";
  if (h[first] != '{' && h[first] != '[') return "other";
  // train --metrics: JSON lines, the first an epoch's or the final one.
  const std::size_t eol = h.find('\n', first);
  nlohmann::json line;
  try {
    line = nlohmann::json::parse(h.substr(first, eol == std::string::npos ? std::string::npos : eol - first),
                                 json_depth_limit_for(path), false);
  } catch (const input_error&) {
    return "json";  // nested past reason: not one of tiergnn's
  }
  // An epoch's line names its loss, time and traffic; the final line its metric.
  if (line.is_object() &&
      ((line.contains("epoch") && line.contains("loss") && line.contains("seconds") && line.contains("traffic")) ||
       (line.contains("final") && line.contains("metric"))))
    return "metrics";
  // A benchmark's JSON by its top-level keys, read by a SAX pass that keeps nothing else (a whole
  // parse of a large or deeply nested file would take memory to refuse it), up to 16 MiB.
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) > (16u << 20) || ec) return "json";
  struct top_keys : nlohmann::json_sax<nlohmann::json> {
    std::vector<std::string> keys;
    int depth = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return ++depth <= 64; }
    bool end_object() override { return --depth, true; }
    bool start_array(std::size_t) override { return ++depth <= 64; }
    bool end_array() override { return --depth, true; }
    bool key(string_t& k) override {
      if (depth == 1) keys.push_back(k);
      return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  } sax;
  std::ifstream whole(path, std::ios::binary);
  if (!nlohmann::json::sax_parse(whole, &sax)) return "json";
  auto has = [&](const char* k) { return std::find(sax.keys.begin(), sax.keys.end(), k) != sax.keys.end(); };
  if (has("estimators") && has("fanouts") && has("batch_size")) return "traffic";
  if (has("engine") && has("ranks") && has("rows")) return "comm";
  return "json";
}
// Whether `path` is a file of a tiergnn dataset: its meta.json, its plan.json or an array its
// meta.json lists. Such a file is nobody's output: a --metrics or --json pointed at another dataset's
// plan.json or meta.json replaced it, "JSON" like theirs, and destroyed that dataset (R13-F3).
bool is_dataset_file(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  const fs::path meta = dir / "meta.json";
  if (!fs::is_regular_file(meta, ec) || fs::file_size(meta, ec) > (64u << 20)) return false;
  std::ifstream in(meta);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in, json_depth_limit_for(meta.string()), false);
  } catch (const input_error&) {
    return false;
  }
  if (!j.is_object()) return false;
  const auto format = j.find("format");
  if (format == j.end() || !format->is_string() || format->get<std::string>() != "tiergnn-dataset") return false;
  const std::string name = p.filename().string();
  if (name == "meta.json" || name == "plan.json") return true;
  const auto arrays = j.find("arrays");
  return arrays != j.end() && arrays->is_object() && arrays->contains(name);
}

const char* kind_text(const std::string& kind) {
  return kind == "model"     ? "a tiergnn model or checkpoint"
         : kind == "metrics" ? "a train --metrics file"
         : kind == "traffic" ? "a bench traffic --json result"
         : kind == "comm"    ? "a bench comm --json result"
         : kind == "scores"  ? "per-node scores (a 1-D float64 .npy, as profile -o writes)"
         : kind == "plot"    ? "a bench traffic --plot image"
         : kind == "npy"     ? "a NumPy array (.npy) that tiergnn did not write"
         : kind == "json"    ? "JSON that tiergnn did not write"
         : kind == "svg"     ? "an SVG image that tiergnn did not write"
                             : "a file that tiergnn did not write";
}
}  // namespace

bool is_dataset_dir(const std::string& dir) {
  return is_dataset_file((fs::path(dir) / "meta.json").string());
}

void check_output_file(const std::string& path, const std::string& option, const std::vector<std::string>& inputs,
                       const std::string& will_create, const std::string& writes) {
  if (path.empty()) return;
  const std::string what = option + " " + path;
  for (const std::string& in : inputs)
    if (!in.empty() && path_same_or_inside(path, in))
      throw input_error(what + ": lies in the input " + in + ", which it would overwrite; write it somewhere else");
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(path, ec)))  // the rename into place would replace the link itself
    throw input_error(what + ": is a symbolic link; name the file itself (an output never goes through a link)");
  const fs::file_status st = fs::status(path, ec);
  if (fs::exists(st)) {
    if (fs::is_directory(st))
      throw input_error(what + ": is a directory; name a file (e.g. " +
                        (fs::path(path) / "out").lexically_normal().string() + ")");
    if (!fs::is_regular_file(st)) throw input_error(what + ": exists and is not a regular file");
    if (is_dataset_file(path))
      throw input_error(
          what + ": is a file of the tiergnn dataset " + parent_dir(path) +
          " (its meta.json, plan.json or one of its arrays), which this would replace; name another file");
    const std::string kind = writes.empty() ? std::string() : file_kind(path);
    if (!kind.empty() && kind != writes)
      throw input_error(what + ": holds " + kind_text(kind) + ", which this would replace with " +
                        (writes == "model" ? std::string("a model") : kind_text(writes)) +
                        "; name another file, or delete it first");
  }
  check_name_length(path, what);
  const std::string parent = parent_dir(path);
  if (!will_create.empty() && resolved(parent) == resolved(will_create)) return;
  if (!fs::is_directory(parent)) throw input_error(what + ": the directory " + parent + " does not exist");
  check_raw_parent(path, what);
  if (::access(parent.c_str(), W_OK) != 0) throw input_error(what + ": the directory " + parent + " is not writable");
}

void check_output_dir(const std::string& dir, const std::string& option, const std::vector<std::string>& inputs) {
  if (dir.empty()) return;
  const std::string what = option + " " + dir;
  for (const std::string& in : inputs) {
    if (in.empty()) continue;
    if (path_same_or_inside(dir, in))
      throw input_error(what + ": lies in the input " + in + "; write it somewhere else");
    if (path_same_or_inside(in, dir)) throw input_error(what + ": holds the input " + in + "; write it somewhere else");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) throw input_error(what + ": exists and is not a directory");
  check_output_name(dir, what);
}

void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i)
    for (std::size_t j = i + 1; j < outputs.size(); ++j) {
      if (outputs[i].second.empty() || outputs[j].second.empty()) continue;
      if (resolved(outputs[i].second) == resolved(outputs[j].second))
        throw input_error(outputs[i].first + " and " + outputs[j].first + " name the same file " + outputs[i].second +
                          ": one would overwrite the other");
    }
}

void write_output_file(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  const std::string tmp = temp_sibling(path);
  remove_stale_temps(path);  // left by runs that were killed (R15-F8: only datasets and --metrics were cleaned)
  register_temp(tmp);
  try {
    write(tmp);
  } catch (const error& e) {
    std::remove(tmp.c_str());
    unregister_temp(tmp);
    rethrow_renamed(e, tmp, path);  // the temporary's name means nothing to the user
  } catch (...) {
    std::remove(tmp.c_str());
    unregister_temp(tmp);
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    unregister_temp(tmp);
    throw io_error(path + ": cannot rename the finished file into place: " + std::strerror(err));
  }
  unregister_temp(tmp);
}

}  // namespace tg
