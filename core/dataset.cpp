#include "core/dataset.hpp"
#include "core/output_file.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <set>
#include <fstream>
#include <limits>
#include <type_traits>

#include "core/stream_io.hpp"
#include "core/error.hpp"
#include "core/file_handle.hpp"
#include "core/json_text.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
#include "core/temp_files.hpp"

namespace tg {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
const char* kSplitFiles[] = {"train_idx.npy", "valid_idx.npy", "test_idx.npy"};

std::string hex32(std::uint32_t x) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", x);
  return b;
}

// Integers in JSON must be written as integers that fit: nlohmann converts a float such as 3e20 to
// an integer type without a check (undefined behaviour), so other numbers are refused here.
// `key` is the field's full name ("arrays.labels.npy.shape"), for the messages.
template <typename T>
void check_integers(const json& v, const std::string& key, const std::string& path) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!v.is_number_integer() && !v.is_number_unsigned())
      throw input_error(at_input(path, std::string("field '") + key + "' must be an integer"));
    if (v.is_number_unsigned() ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max())
                               : (v.get<std::int64_t>() < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
                                  (std::is_signed_v<T> &&
                                   v.get<std::int64_t>() > static_cast<std::int64_t>(std::numeric_limits<T>::max()))))
      throw input_error(at_input(path, std::string("field '") + key + "' is out of range"));
  } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
    if (!v.is_array()) throw input_error(at_input(path, std::string("field '") + key + "' must be a list"));
    for (const auto& e : v) check_integers<std::int64_t>(e, key, path);
  }
}

// The field `key` of the object `j`, which is `within` ("" for meta.json's top level, else the
// object's full name, such as "arrays.labels.npy"): messages name the field in full.
template <typename T>
T field(const json& j, const char* key, const std::string& path, const std::string& within = "") {
  const std::string name = within.empty() ? std::string(key) : within + "." + key;
  if (!within.empty() && !j.is_object())
    throw input_error(at_input(path, "field '" + within + "' must be an object, got " + j.dump()));
  if (!j.is_object() || !j.contains(key)) throw input_error(at_input(path, "missing field '" + name + "'"));
  check_integers<T>(j.at(key), name, path);
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw input_error(at_input(path, "field '" + name + "' has the wrong type"));
  }
}

// JSON parsing that refuses a key repeated within one object (nlohmann keeps the last value
// silently: an edited meta.json with two "num_nodes" would be read with the second).
json parse_without_duplicate_keys(std::istream& in, const std::string& path) {
  std::vector<std::vector<std::string>> keys;  // per open object, its keys so far
  return json::parse(
      in, json_depth_limit_for(path, [&](int, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) {
          keys.emplace_back();
        } else if (event == json::parse_event_t::object_end) {
          if (!keys.empty()) keys.pop_back();
        } else if (event == json::parse_event_t::key && !keys.empty()) {
          const std::string k = parsed.get<std::string>();
          auto& seen = keys.back();
          if (std::find(seen.begin(), seen.end(), k) != seen.end())
            throw input_error(at_input(path, "the key \"" + printable_text(k) + "\" appears twice in one object"));
          seen.push_back(k);
        }
        return true;
      }));
}
}  // namespace

json dataset_meta::to_json() const {
  json j;
  j["format"] = "tiergnn-dataset";
  j["format_version"] = format_version;
  j["name"] = name;
  j["num_nodes"] = num_nodes;
  j["num_edges"] = num_edges;
  j["directed"] = directed;
  j["graph"] = {{"index_dtype", dtype_name(index_dtype)}};
  if (self_loops >= 0) j["graph"]["self_loops"] = self_loops;
  j["features"] = has_features() ? json{{"dim", feature_dim}, {"dtype", dtype_name(feature_dtype)}} : json(nullptr);
  if (has_features() && feature_shards > 0) j["features"]["shards"] = feature_shards;
  j["labels"] = has_labels() ? json{{"num_classes", num_classes}, {"dtype", dtype_name(label_dtype)}} : json(nullptr);
  json splits = json::object();
  for (const char* s : kSplitFiles) {
    auto it = arrays.find(s);
    if (it != arrays.end()) splits[std::string(s).substr(0, std::string(s).find('_'))] = it->second.shape[0];
  }
  j["splits"] = splits;
  json arr = json::object();
  for (const auto& [file, a] : arrays)
    arr[file] = {{"dtype", dtype_name(a.type)}, {"shape", a.shape}, {"crc32", hex32(a.crc32)}, {"bytes", a.bytes}};
  j["arrays"] = arr;
  j["source"] = source;
  return j;
}

namespace {
dataset_meta meta_from_json(const json& j, const std::string& path);
}  // namespace

dataset_meta dataset_meta::from_json(const json& j, const std::string& path) {
  try {
    return meta_from_json(j, path);
  } catch (const json::exception& e) {  // a value of the wrong type where nlohmann checks it itself
    throw input_error(at_input(path, "malformed: " + json_error_text(e)));
  }
}

namespace {
dataset_meta meta_from_json(const json& j, const std::string& path) {
  if (!j.is_object()) throw input_error(at_input(path, "meta.json must hold a JSON object"));
  if (field<std::string>(j, "format", path) != "tiergnn-dataset")
    throw input_error(at_input(path, "field 'format' is not \"tiergnn-dataset\""));
  dataset_meta m;
  m.format_version = field<int>(j, "format_version", path);
  if (m.format_version != kDatasetFormatVersion)
    throw input_error(at_input(path, "format_version " + std::to_string(m.format_version) +
                                         " is not supported (this tiergnn reads version " +
                                         std::to_string(kDatasetFormatVersion) + ")"));
  m.name = j.value("name", "");
  m.num_nodes = field<std::int64_t>(j, "num_nodes", path);
  m.num_edges = field<std::int64_t>(j, "num_edges", path);
  if (m.num_nodes < 0 || m.num_edges < 0)
    throw input_error(at_input(path, "num_nodes and num_edges must be non-negative"));
  // Far beyond any graph a machine holds (2^48 nodes of 8-byte indptr is 2 PiB), and small enough
  // that N + 1 and N x width never overflow.
  constexpr std::int64_t kMaxCount = std::int64_t{1} << 48;
  if (m.num_nodes >= kMaxCount || m.num_edges >= kMaxCount)
    throw input_error(at_input(path, "num_nodes " + std::to_string(m.num_nodes) + " or num_edges " +
                                         std::to_string(m.num_edges) + " is beyond 2^48: the file is corrupt"));
  m.directed = field<bool>(j, "directed", path);
  const json g = field<json>(j, "graph", path);
  m.index_dtype = dtype_from_name(field<std::string>(g, "index_dtype", path, "graph"), path + ": graph.index_dtype");
  if (g.contains("self_loops")) {
    m.self_loops = field<std::int64_t>(g, "self_loops", path, "graph");
    if (m.self_loops < 0 || m.self_loops > m.num_edges)
      throw input_error(at_input(path, "graph.self_loops " + std::to_string(m.self_loops) +
                                           " is outside [0, num_edges " + std::to_string(m.num_edges) +
                                           "]: the file is corrupt"));
  }
  const json f = field<json>(j, "features", path);
  if (!f.is_null()) {
    m.feature_dim = field<std::int64_t>(f, "dim", path, "features");
    if (m.feature_dim < 1 || m.feature_dim > (std::int64_t{1} << 24))
      throw input_error(at_input(path, "features.dim " + std::to_string(m.feature_dim) + " is outside [1, 2^24]"));
    m.feature_dtype = dtype_from_name(field<std::string>(f, "dtype", path, "features"), path + ": features.dtype");
    if (f.contains("shards")) {
      const std::int64_t k = field<std::int64_t>(f, "shards", path, "features");
      if (k < 2 || k > 4096)
        throw input_error(at_input(path, "features.shards " + std::to_string(k) + " is outside [2, 4096]"));
      m.feature_shards = static_cast<int>(k);
    }
  }
  const json l = field<json>(j, "labels", path);
  if (!l.is_null()) {
    m.num_classes = field<std::int64_t>(l, "num_classes", path, "labels");
    if (m.num_classes < 1 || m.num_classes > kMaxClasses)
      throw input_error(at_input(path, "labels.num_classes " + std::to_string(m.num_classes) + " is outside [1, " +
                                           std::to_string(kMaxClasses) + "]"));
    m.label_dtype = dtype_from_name(field<std::string>(l, "dtype", path, "labels"), path + ": labels.dtype");
  }
  const json arr = field<json>(j, "arrays", path);
  if (!arr.is_object()) throw input_error(at_input(path, "field 'arrays' must be an object"));
  for (const auto& [file, a] : arr.items()) {
    array_info info;
    info.type = dtype_from_name(field<std::string>(a, "dtype", path, "arrays." + file), path + ": arrays." + file);
    info.shape = field<std::vector<std::int64_t>>(a, "shape", path, "arrays." + file);
    const std::string crc = field<std::string>(a, "crc32", path, "arrays." + file);
    if (crc.empty() || crc.size() > 8 || crc.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      throw input_error(at_input(path, "arrays." + file + ".crc32 \"" + crc.substr(0, 16) + "\" is not 8 hex digits"));
    info.crc32 = static_cast<std::uint32_t>(std::stoul(crc, nullptr, 16));
    info.bytes = field<std::uint64_t>(a, "bytes", path, "arrays." + file);
    m.arrays[file] = info;
  }
  for (const char* req : {"indptr.npy", "indices.npy"})
    if (!m.has_array(req)) throw input_error(at_input(path, std::string("arrays lists no '") + req + "'"));
  if (m.has_features() && m.feature_shards == 0 && !m.has_array("features.npy"))
    throw input_error(at_input(path, "features are declared but arrays lists no 'features.npy'"));
  if (m.feature_shards > 0 && m.has_array("features.npy"))
    throw input_error(at_input(path, "features are sharded (features.shards) but arrays also lists 'features.npy'"));
  if (m.has_labels() && !m.has_array("labels.npy"))
    throw input_error(at_input(path, "labels are declared but arrays lists no 'labels.npy'"));
  // "splits" restates the split arrays' lengths (written from them): a count that disagrees with its
  // listed array was edited (a split removed with its array is fine).
  if (j.contains("splits") && !j["splits"].is_null()) {
    const json& sp = j["splits"];
    if (!sp.is_object()) throw input_error(at_input(path, "field 'splits' must be an object"));
    for (const char* f : kSplitFiles) {
      const std::string key = std::string(f).substr(0, std::string(f).find('_'));
      const auto it = m.arrays.find(f);
      if (it == m.arrays.end() || it->second.shape.empty() || !sp.contains(key)) continue;
      if (!sp[key].is_number_integer() || sp[key].get<std::int64_t>() != it->second.shape[0])
        throw input_error(at_input(path, "splits." + key + " is " + sp[key].dump() + " but arrays." + f + " holds " +
                                             std::to_string(it->second.shape[0]) + " ids"));
    }
  }
  m.source = j.value("source", json::object());
  return m;
}
}  // namespace

std::uint32_t file_crc32(const std::string& path) {
  // A file this process just wrote has its checksum already (computed while writing).
  std::uint32_t known = 0;
  if (recall_file_crc32(path, known)) return known;
  // Streamed around the page cache (core/stream_io.hpp), read ahead while the checksum runs.
  stream_reader f(path);
  std::vector<unsigned char> buf(8 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t n;
  while ((n = f.read(buf.data(), buf.size())) > 0) {
    throw_if_stop_requested(path);  // every 8 MiB (dataset::check of a large dataset)
    crc = crc32_z(crc, buf.data(), n);
  }
  // Remembered too: a train on a prepared dataset checks order.npy once when the dataset opens and
  // once when the trainer loads its plan (8 bytes a node each time), info up to three times.
  remember_file_crc32(path, static_cast<std::uint32_t>(crc));
  return static_cast<std::uint32_t>(crc);
}

namespace {
dataset_meta read_meta(const std::string& dir) {
  if (dir.empty()) throw input_error("the dataset path is empty: name a dataset directory");
  if (!fs::is_directory(dir))
    throw input_error(
        at_input(dir, fs::exists(dir) ? "is not a directory (a dataset is a directory)" : "no such dataset directory"));
  const std::string mp = (fs::path(dir) / "meta.json").string();
  // A FIFO or device would block or stream forever: only regular files are read.
  if (fs::exists(mp) && !fs::is_regular_file(mp)) throw input_error(at_input(mp, "is not a regular file"));
  std::ifstream in(mp);
  if (!in) throw input_error(at_input(mp, "missing: not a tiergnn dataset directory"));
  json j;
  try {
    j = parse_without_duplicate_keys(in, mp);
  } catch (const json::parse_error& e) {
    throw input_error(at_input(mp, "invalid JSON: " + json_error_text(e)));
  }
  try {
    return dataset_meta::from_json(j, mp);
  } catch (const json::exception& e) {
    throw input_error(at_input(mp, "malformed: " + json_error_text(e)));
  }
}

nlohmann::json identity_json(const dataset_meta& m) {
  json arrays = json::object();
  for (const auto& [file, info] : m.arrays) arrays[file] = info.crc32;
  return {{"name", m.name}, {"num_nodes", m.num_nodes}, {"num_edges", m.num_edges}, {"crc32", arrays}};
}
}  // namespace

nlohmann::json dataset::identity_of(const std::string& dir) {
  return identity_json(read_meta(dir));
}

dataset dataset::open(const std::string& dir) {
  return open(dir, open_options{});
}

dataset dataset::open(const std::string& given, const open_options& opt) {
  dataset d;
  d.meta_ = read_meta(given);  // its errors name the path as given
  // Held as an absolute path: a program that opens a dataset and then changes its working directory
  // (a notebook's os.chdir, a framework that moves into its output folder) keeps a valid handle,
  // whose files are checked and reopened under the same names.
  std::string dir = given;
  {
    std::error_code ec;
    const fs::path a = fs::absolute(given, ec).lexically_normal();
    if (!ec && !a.empty()) {
      dir = a.string();
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    }
  }
  d.dir_ = dir;
  for (const auto& [file, info] : d.meta_.arrays) {
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos)
      throw input_error(at_input(dir + "/meta.json", "lists the array '" + file +
                                                         "': array names must be plain file names in the dataset "
                                                         "directory"));
    const std::string p = dir + "/" + file;
    if (!fs::exists(p)) throw input_error(at_input(p, "listed in meta.json but missing"));
    if (!fs::is_regular_file(p)) throw input_error(at_input(p, "is not a regular file"));
    npy_array a = npy_array::open(p);
    if (a.type() != info.type)
      throw input_error(at_input(p, "dtype is " + std::string(dtype_name(a.type())) + " but meta.json says " +
                                        std::string(dtype_name(info.type))));
    if (a.shape() != info.shape) {
      a.expect_shape(info.shape);
    }
    d.arrays_.emplace(file, std::move(a));
  }
  // Nothing uses the arrays before their structure is known to be sound.
  d.check_structure(opt.stream_large_indices);
  return d;
}

nlohmann::json dataset::identity() const {
  return identity_json(meta_);
}

const npy_array& dataset::get(const std::string& file) const {
  auto it = arrays_.find(file);
  if (it == arrays_.end()) throw input_error(at_input(dir_, "dataset has no " + file));
  return it->second;
}

namespace {
template <typename T>
std::int64_t first_nonfinite(const T* p, std::int64_t n) {
  return tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, n, 1 << 16), std::numeric_limits<std::int64_t>::max(),
      [&](const auto& r, std::int64_t acc) {
        for (std::int64_t i = r.begin(); i < r.end(); ++i) {
          float x;
          if constexpr (std::is_same_v<T, std::uint16_t>)
            x = half_to_float(p[i]);
          else
            x = p[i];
          if (!std::isfinite(x)) return std::min(acc, i);
        }
        return acc;
      },
      [](std::int64_t a, std::int64_t b) { return std::min(a, b); });
}
}  // namespace

void dataset::check_structure(bool stream_large_indices) const {
  const std::int64_t n = meta_.num_nodes, e = meta_.num_edges;
  auto p = [&](const std::string& f) { return dir_ + "/" + f; };
  // Graph.
  const npy_array& ip = indptr();
  ip.expect_dtype(dtype::int64);
  ip.expect_shape({n + 1});
  const npy_array& ix = indices();
  if (ix.type() != meta_.index_dtype)
    throw input_error(at_input(p("indices.npy"), "dtype is " + std::string(dtype_name(ix.type())) +
                                                     " but meta.json says " +
                                                     std::string(dtype_name(meta_.index_dtype))));
  ix.expect_shape({e});
  if (meta_.index_dtype == dtype::int32 && n > std::numeric_limits<std::int32_t>::max())
    throw input_error(at_input(p("indices.npy"), "int32 indices cannot address " + std::to_string(n) + " nodes"));
  // A large index array of a dataset just written is checked by streaming its file: paging in a
  // cold 4 GiB CSR through the mapping took several times longer on the machines measured, and
  // nothing reads those pages next. Otherwise the check pages in what training will read anyway.
  if (stream_large_indices && ix.mapped() && ix.nbytes() >= (std::size_t{1} << 30))
    validate_csr_streamed(p("indptr.npy"), ix.file(), ix.data_offset(), n, ip.as<std::int64_t>(), ix.type(), e);
  else
    validate_csr(p("indptr.npy"), p("indices.npy"), n, ip.as<std::int64_t>(), ix.raw(), ix.type(), e);
  // Features (a sharded dataset's shard files are opened and checked by the sharded store).
  if (meta_.has_features() && meta_.feature_shards == 0) {
    const npy_array& f = get("features.npy");
    if (f.type() != meta_.feature_dtype)
      throw input_error(at_input(p("features.npy"), "dtype is " + std::string(dtype_name(f.type())) +
                                                        " but meta.json says " +
                                                        std::string(dtype_name(meta_.feature_dtype))));
    if (f.type() != dtype::float32 && f.type() != dtype::float16)
      throw input_error(at_input(p("features.npy"), "features must be float32 or float16"));
    f.expect_shape({n, meta_.feature_dim});
  }
  // Labels.
  std::vector<std::int64_t> labels;
  if (meta_.has_labels()) {
    const npy_array& l = get("labels.npy");
    if (l.type() != dtype::int32 && l.type() != dtype::int64)
      throw input_error(at_input(p("labels.npy"), "labels must be int32 or int64"));
    l.expect_shape({n});
    labels = l.to_int64();
    for (std::int64_t v = 0; v < n; ++v)
      if (labels[v] < -1 || labels[v] >= meta_.num_classes)
        throw input_error(at_input(p("labels.npy"), "label " + std::to_string(labels[v]) + " of node " +
                                                        std::to_string(v) + " is outside [-1, " +
                                                        std::to_string(meta_.num_classes) + ")"));
  }
  // Splits: in range, no duplicates, disjoint, labelled.
  std::vector<std::uint8_t> owner(
      meta_.has_array("train_idx.npy") || meta_.has_array("valid_idx.npy") || meta_.has_array("test_idx.npy")
          ? static_cast<std::size_t>(n)
          : 0,
      0);
  for (int s = 0; s < 3; ++s) {
    const std::string f = kSplitFiles[s];
    if (!has(f)) continue;
    const npy_array& a = get(f);
    a.expect_ndim(1);
    if (a.type() == dtype::boolean || a.type() == dtype::float16 || a.type() == dtype::float32 ||
        a.type() == dtype::float64)
      throw input_error(at_input(
          p(f), "holds " + std::string(dtype_name(a.type())) + " values: a split lists node ids (integers)" +
                    (a.type() == dtype::boolean ? std::string("; convert a boolean mask with numpy.flatnonzero")
                                                : std::string())));
    const auto ids = a.to_int64();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::int64_t v = ids[i];
      if (v < 0 || v >= n)
        throw input_error(at_input(p(f), "entry " + std::to_string(i) + " = " + std::to_string(v) + " is outside [0, " +
                                             std::to_string(n) + ")"));
      if (owner[v] == s + 1) throw input_error(at_input(p(f), "node " + std::to_string(v) + " appears twice"));
      if (owner[v] != 0)
        throw input_error(at_input(p(f), "node " + std::to_string(v) + " is also in " + kSplitFiles[owner[v] - 1]));
      owner[v] = static_cast<std::uint8_t>(s + 1);
      if (!labels.empty() && labels[v] < 0)
        throw input_error(at_input(p(f), "node " + std::to_string(v) + " has no label (-1)"));
    }
  }
  if (has("node_ids.npy")) {
    const npy_array& a = get("node_ids.npy");
    a.expect_dtype(dtype::int64);
    a.expect_shape({n});
  }
  // A prepared dataset's renumbering: order.npy must be a permutation of [0, N).
  if (has("order.npy")) {
    const npy_array& a = get("order.npy");
    a.expect_dtype(dtype::int64);
    a.expect_shape({n});
    const std::int64_t* order = a.as<std::int64_t>().data();
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(n), 0);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t v = order[i];
      if (v < 0 || v >= n)
        throw input_error(at_input(p("order.npy"), "entry " + std::to_string(i) + " = " + std::to_string(v) +
                                                       " is outside [0, " + std::to_string(n) + ")"));
      if (seen[static_cast<std::size_t>(v)])
        throw input_error(
            at_input(p("order.npy"), "node " + std::to_string(v) + " appears twice: not a permutation of the nodes"));
      seen[static_cast<std::size_t>(v)] = 1;
    }
  }
  // The original ids of the nodes (node_ids.npy): distinct, and increasing in the original numbering
  // as the importers write them; a prepared copy holds them in its hot-first order, node i's being
  // the original node order[i]'s (order.npy is a permutation by now). O(N); R11-F7.
  if (has("node_ids.npy")) {
    std::vector<std::int64_t> ids = get("node_ids.npy").to_int64();
    if (has("order.npy")) {
      const std::int64_t* order = get("order.npy").as<std::int64_t>().data();
      std::vector<std::int64_t> original(ids.size());
      for (std::size_t i = 0; i < ids.size(); ++i) original[static_cast<std::size_t>(order[i])] = ids[i];
      ids.swap(original);
    }
    for (std::size_t i = 1; i < ids.size(); ++i)
      if (ids[i] <= ids[i - 1])
        throw input_error(at_input(
            p("node_ids.npy"),
            "the original ids are not distinct and increasing (node " + std::to_string(i) + " has " +
                std::to_string(ids[i]) + ", node " + std::to_string(i - 1) + " has " + std::to_string(ids[i - 1]) +
                (has("order.npy") ? std::string(", in the numbering before prepare") : std::string()) +
                "): the importers write them so; re-import the graph"));
  }
  for (const auto& [file, info] : meta_.arrays) {
    const std::string path = p(file);
    const auto size = fs::file_size(path);
    if (size != info.bytes)
      throw input_error(
          at_input(path, "size is " + std::to_string(size) + " bytes, meta.json says " + std::to_string(info.bytes)));
  }
}

namespace {
// A 64-bit mix of an arc (Stafford's variant 13 of the SplitMix64 finaliser over both ends).
inline std::uint64_t arc_hash(std::uint64_t u, std::uint64_t v) {
  std::uint64_t z = u * 0x9E3779B97F4A7C15ull ^ (v + 0x632BE59BD9B4E019ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Sums, over every arc u -> v, of hash(u, v) and of hash(v, u): equal (up to a 2^-64 collision) when
// the arcs are symmetric, as an undirected dataset's must be; integer sums, so any thread count agrees.
template <typename Index>
std::pair<std::uint64_t, std::uint64_t> arc_hash_sums(const std::int64_t* indptr, const Index* indices,
                                                      std::int64_t n) {
  using sums = std::pair<std::uint64_t, std::uint64_t>;
  return tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, n), sums{0, 0},
      [&](const tbb::blocked_range<std::int64_t>& r, sums s) {
        for (std::int64_t v = r.begin(); v < r.end(); ++v)
          for (std::int64_t e = indptr[v]; e < indptr[v + 1]; ++e) {
            const auto u = static_cast<std::uint64_t>(indices[e]);
            s.first += arc_hash(u, static_cast<std::uint64_t>(v));
            s.second += arc_hash(static_cast<std::uint64_t>(v), u);
          }
        return s;
      },
      [](sums a, sums b) {
        return sums{a.first + b.first, a.second + b.second};
      });
}
}  // namespace

void dataset::verify_files() const {
  for (const auto& [file, a] : arrays_) {
    if (!a.mapped() || a.file().empty()) continue;
    const std::uint64_t need = a.data_offset() + a.nbytes();
    std::error_code ec;
    const std::uint64_t now = fs::file_size(a.file(), ec);
    // Another file under the name (a dataset written again with --force): the mapping still holds the
    // old one whole; "replaced" says what happened (R14-F9: it was called "shorter than it held").
    if (!ec && a.replaced_now())
      throw io_error(at_input(a.file(),
                              "was replaced by another file since the dataset was opened (the dataset was written "
                              "again?): open the dataset again"));
    if (ec || now < need)
      throw io_error(at_input(a.file(), (ec ? std::string("was removed")
                                            : "is " + std::to_string(now) + " bytes, shorter than the " +
                                                  std::to_string(need) + " it held") +
                                            " since the dataset was opened: another program changed it; open the "
                                            "dataset again"));
  }
  // Then the same length is not enough: a file replaced or rewritten in place is another file.
  for (const auto& [file, a] : arrays_)
    if (!a.file().empty() && !a.same_file_now())
      throw io_error(at_input(a.file(),
                              "was replaced or rewritten since the dataset was opened (another program "
                              "changed it): open the dataset again"));
}

void dataset::check(const check_options& opt) const {
  // The structure was validated when the dataset was opened; this adds what reads every byte.
  auto p = [&](const std::string& f) { return dir_ + "/" + f; };
  throw_if_stop_requested("check");
  if (opt.values && !meta_.directed) {
    // meta.json says undirected: every arc's reverse must be stored too (samplers and estimators
    // treat in-neighbours as out-neighbours on such graphs).
    const std::int64_t* ip = indptr().as<std::int64_t>().data();
    const auto s = indices().type() == dtype::int32
                       ? arc_hash_sums(ip, static_cast<const std::int32_t*>(indices().raw()), meta_.num_nodes)
                       : arc_hash_sums(ip, static_cast<const std::int64_t*>(indices().raw()), meta_.num_nodes);
    if (s.first != s.second)
      throw input_error(at_input(p("meta.json"),
                                 "says the graph is undirected, but indices.npy holds arcs "
                                 "whose reverse is missing: the CSR is not symmetric"));
  }
  throw_if_stop_requested("check");
  if (opt.values && meta_.has_labels() && meta_.num_classes > 0) {
    const std::vector<std::int64_t> labels = get("labels.npy").to_int64();
    std::int64_t top = -1;
    for (std::int64_t l : labels) top = std::max(top, l);
    if (top + 1 < meta_.num_classes)
      log_warn(opt.shown_as.empty() ? p("meta.json") : opt.shown_as + "/meta.json", ": declares ", meta_.num_classes,
               " classes, but no node has a label above ", top, ": training builds a ", meta_.num_classes,
               "-way classifier");
  }
  throw_if_stop_requested("check");
  if (opt.values && meta_.has_features() && meta_.feature_shards == 0) {
    const npy_array& f = get("features.npy");
    const std::int64_t bad = f.type() == dtype::float32
                                 ? first_nonfinite(static_cast<const float*>(f.raw()), f.count())
                                 : first_nonfinite(static_cast<const std::uint16_t*>(f.raw()), f.count());
    if (bad != std::numeric_limits<std::int64_t>::max())
      throw nonfinite_error(
          at_input(p("features.npy"), "non-finite value at row " + std::to_string(bad / meta_.feature_dim) +
                                          ", column " + std::to_string(bad % meta_.feature_dim)),
          bad / meta_.feature_dim, bad % meta_.feature_dim);
  }
  if (opt.checksums) {
    for (const auto& [file, info] : meta_.arrays) {
      throw_if_stop_requested("check");
      const std::string path = p(file);
      const std::uint32_t c = file_crc32(path);
      if (c != info.crc32)
        throw input_error(at_input(path, "checksum mismatch (crc32 " + hex32(c) + ", meta.json says " +
                                             hex32(info.crc32) + "): the file changed after it was written"));
    }
  }
}

std::string temp_sibling(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  // The pid (stale temporaries of killed runs are found by it: remove_stale_temps) and a number of
  // this process, so that two writers in one process (threads of an embedding program) never share one.
  static std::atomic<std::uint64_t> serial{0};
  return (parent /
          (temp_prefix(p.filename().string()) + std::to_string(::getpid()) + "-" + std::to_string(serial.fetch_add(1))))
      .string();
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

namespace {
// Entries of an existing dataset directory that tiergnn did not write there: anything but meta.json,
// plan.json, the arrays meta.json lists and shards/features-M-of-K.npy (a checkpoint folder, a saved
// model, a metrics file or notes the user put inside). --force must not delete them with the dataset.
std::vector<std::string> foreign_entries(const std::string& dir) {
  std::set<std::string> ours{"meta.json", "plan.json"};
  try {
    std::ifstream in(dir + "/meta.json");
    const json m = json::parse(in, json_depth_limit_for(dir + "/meta.json"));
    if (m.contains("arrays") && m["arrays"].is_object())
      for (const auto& [name, info] : m["arrays"].items()) ours.insert(name);
  } catch (const std::exception&) {
  }
  auto is_shard = [](const std::string& f) {
    return f.rfind("features-", 0) == 0 && f.size() > 13 && f.compare(f.size() - 4, 4, ".npy") == 0 &&
           f.find("-of-") != std::string::npos;
  };
  std::vector<std::string> foreign;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == "shards" && e.is_directory() && !e.is_symlink()) {
      for (const auto& f : fs::directory_iterator(e.path(), ec))
        if (!(f.is_regular_file() && !f.is_symlink() && is_shard(f.path().filename().string())))
          foreign.push_back("shards/" + f.path().filename().string());
      continue;
    }
    if (!(ours.count(name) != 0 && e.is_regular_file() && !e.is_symlink())) foreign.push_back(name);
  }
  std::sort(foreign.begin(), foreign.end());
  return foreign;
}

void refuse_foreign_entries(const std::string& dir) {
  const std::vector<std::string> foreign = foreign_entries(dir);
  if (foreign.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < std::min<std::size_t>(3, foreign.size()); ++i) list += (i ? ", " : "") + foreign[i];
  if (foreign.size() > 3) list += " and " + std::to_string(foreign.size() - 3) + " more";
  throw input_error(at_input(dir, "holds files tiergnn did not write (" + list +
                                      "); --force replaces a dataset directory only with nothing of yours inside: "
                                      "move them out first"));
}
}  // namespace

dataset_writer::dataset_writer(std::string dir, bool overwrite, const std::vector<std::string>& inputs)
    : dir_(std::move(dir)), overwrite_(overwrite) {
  if (dir_.empty()) throw input_error("the output directory is empty: name one");
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();  // "out/" is the directory out
  check_output_name(dir_, dir_);
  for (const std::string& in : inputs) {
    if (in.empty()) continue;
    if (path_same_or_inside(in, dir_))
      throw input_error(at_input(dir_, "is the input " + in + " or holds it: write the output somewhere else"));
    if (path_same_or_inside(dir_, in))
      throw input_error(at_input(dir_, "lies inside the input " + in + ": write the output somewhere else"));
  }
  if (fs::is_symlink(fs::symlink_status(dir_)))
    throw input_error(at_input(dir_, "is a symbolic link; give the directory it should be (a link is never replaced)"));
  if (fs::exists(dir_) && !overwrite_)
    throw input_error(at_input(dir_, "already exists; choose another output or pass --force to replace it"));
  if (fs::exists(dir_)) {
    // --force replaces tiergnn datasets only: never a user's file or folder that happens to be there.
    const bool ours = fs::is_directory(dir_) && is_dataset_dir(dir_);
    if (!ours)
      throw input_error(at_input(dir_,
                                 "exists and is not a tiergnn dataset directory; --force replaces only those "
                                 "(move or delete it yourself, or choose another output)"));
    refuse_foreign_entries(dir_);
  }
  const fs::path parent = parent_dir(dir_);
  if (!parent.empty() && !fs::is_directory(parent))
    throw input_error(at_input(dir_, "parent directory " + parent.string() + " does not exist"));
  tmp_ = temp_sibling(dir_);
  name_temp(tmp_, dir_);
  remove_stale_temps(dir_);  // left by runs that were killed
  remove_tree(tmp_);
  // Registered before it exists: a signal between the two would otherwise leave it behind.
  register_temp(tmp_);
  std::error_code ec;
  if (!fs::create_directory(tmp_, ec)) {
    unregister_temp(tmp_);
    throw io_error(at_input(tmp_, "cannot create: " + (ec ? ec.message() : std::string("it exists already"))));
  }
}

dataset_writer::~dataset_writer() {
  unregister_temp(tmp_);
  if (!committed_) remove_tree(tmp_);
}

void dataset_writer::put(const std::string& file, dtype t, const std::vector<std::int64_t>& shape, const void* data) {
  write_npy(path(file), t, shape, data);
}

void dataset_writer::expect_space(std::uint64_t bytes, const std::string& what) const {
  // The temporary directory is a sibling of the output, on the same file system.
  const std::uint64_t avail = free_disk_bytes(tmp_);
  if (avail == kUnknownBytes || bytes <= avail) return;  // unknown: the writes will report a full disk
  const std::string need =
      bytes == kUnknownBytes ? std::string("more than 16 EiB") : format_bytes(static_cast<double>(bytes));
  throw input_error(at_input(dir_, what + " needs " + need + " but its file system has " +
                                       format_bytes(static_cast<double>(avail)) + " free"));
}

std::string dataset_writer::commit() {
  TG_EXPECTS(!committed_, "dataset committed twice");
  meta_.arrays.clear();
  for (const auto& entry : fs::directory_iterator(tmp_)) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".npy") continue;
    npy_array a = npy_array::open(entry.path().string());
    array_info info;
    info.type = a.type();
    info.shape = a.shape();
    info.bytes = fs::file_size(entry.path());
    info.crc32 = file_crc32(entry.path().string());
    meta_.arrays[file] = info;
  }
  {
    const std::string mp = path("meta.json");
    const std::string text = json_text(meta_.to_json(), 2) + "\n";
    const unique_fd fd = unique_fd::open(mp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t k = ::write(fd.get(), text.data() + done, text.size() - done);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) throw_errno("write", mp);  // with the cause: "No space left on device"
      done += static_cast<std::size_t>(k);
    }
  }
  // The same validation as `tiergnn info --check`; checksums were just computed. An error names the
  // output, not its hidden temporary.
  try {
    dataset::check_options co;
    co.checksums = false;
    co.shown_as = dir_;
    dataset::open(tmp_, dataset::open_options{true}).check(co);
  } catch (const error& e) {
    rethrow_renamed(e, tmp_, dir_);
  }
  auto appeared_meanwhile = [&] {
    return input_error(at_input(dir_,
                                "was created by another process while this run was writing it (two runs with "
                                "the same output?); it was left as it is and this run's result discarded"));
  };
  if (fs::exists(dir_) && !overwrite_) throw appeared_meanwhile();
  if (fs::exists(dir_)) {
    refuse_foreign_entries(dir_);  // anything the user put there since this run began
    // One atomic exchange: at every instant the output path holds either the old dataset or the
    // new one (a kill between two renames would leave nothing there). The old one ends up at the
    // temporary name and is removed.
    if (::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) != 0) {
      if (errno != EINVAL && errno != ENOSYS) throw_errno("replace", dir_);
      // A file system without RENAME_EXCHANGE: two renames, the old dataset kept until the end.
      const std::string old = temp_sibling(dir_) + ".old";
      fs::rename(dir_, old);
      fs::rename(tmp_, dir_);
      remove_tree(old);
    } else {
      remove_tree(tmp_);
    }
  } else {
    // Never over something that appeared meanwhile (another run's output, even an empty directory).
    if (::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_NOREPLACE) != 0) {
      const int err = errno;
      if (err == EEXIST || err == ENOTEMPTY) throw appeared_meanwhile();
      if (err != EINVAL && err != ENOSYS)
        throw io_error(
            at_input(dir_, std::string("cannot rename the finished dataset into place: ") + std::strerror(err)));
      std::error_code ec;  // a file system without RENAME_NOREPLACE
      fs::rename(tmp_, dir_, ec);
      if (ec) throw io_error(at_input(dir_, "cannot rename the finished dataset into place: " + ec.message()));
    }
  }
  committed_ = true;
  return dir_;
}

}  // namespace tg
