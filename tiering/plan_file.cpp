#include "tiering/plan_file.hpp"

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>
#include <algorithm>

#include "core/json_text.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tg {

namespace fs = std::filesystem;

std::string plan_file::checksum_of(nlohmann::json j) {
  j.erase("checksum");
  const std::string text = json_text(j);
  char b[16];
  std::snprintf(
      b, sizeof b, "%08x",
      static_cast<unsigned>(crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()))));
  return b;
}

double plan_file::predicted_hit_rate(std::int64_t rows) const {
  if (hit_curve.size() < 2 || plan.num_nodes == 0) return 0.0;
  const double x =
      static_cast<double>(rows) / static_cast<double>(plan.num_nodes) * static_cast<double>(hit_curve.size() - 1);
  const auto i = static_cast<std::size_t>(std::min<double>(x, static_cast<double>(hit_curve.size() - 2)));
  const double t = std::min(1.0, x - static_cast<double>(i));
  return hit_curve[i] + t * (hit_curve[i + 1] - hit_curve[i]);
}

bool plan_file::present(const dataset& d) {
  if (fs::exists(d.dir() + "/plan.json")) return true;
  // Only prepare writes order.npy, always beside plan.json: without the plan a renumbered dataset would
  // train and sample by its hot-first ids, not as the original, without a word.
  if (d.has("order.npy"))
    throw input_error(at_input(d.dir() + "/plan.json",
                               "missing: this is a prepared dataset (meta.json lists order.npy), and its plan is "
                               "needed to use it; prepare the original dataset again"));
  return false;
}

plan_file plan_file::load(const dataset& d) {
  const std::string path = d.dir() + "/plan.json";
  // A FIFO would block the open and a directory fails its first read: only a regular file is read.
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st))
    throw input_error(
        at_input(path, "is not a regular file (a directory, a device or a pipe): a plan is a regular file"));
  std::ifstream in(path);
  if (!in) throw input_error(at_input(path, "missing: this dataset was not prepared (run tiergnn prepare)"));
  plan_file p;
  // Row counts and byte sizes are whole numbers >= 0 (nlohmann would truncate 200.5 and wrap -1).
  const auto whole = [&](const nlohmann::json& v, const char* key) -> std::int64_t {
    const bool ok = v.is_number_unsigned() ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)
                                           : v.is_number_integer() && v.get<std::int64_t>() >= 0;
    if (!ok)
      throw input_error(at_input(path, std::string(key) + " must be a whole number from 0 to 2^63-1, got " + v.dump()));
    return v.get<std::int64_t>();
  };
  std::int64_t prepared_order_crc = 0, prepared_features_crc = 0;
  std::pair<std::int64_t, std::int64_t> features_fingerprint{-1, -1};
  std::string source_path;
  nlohmann::json source_identity;
  try {
    try {
      p.json = nlohmann::json::parse(in, json_depth_limit_for(path));
    } catch (const nlohmann::json::parse_error& e) {
      throw input_error(
          at_input(path, "is not valid JSON (cut short or damaged; re-run tiergnn prepare): " + json_error_text(e)));
    }
    if (!p.json.is_object() || p.json.value("format", "") != "tiergnn-plan")
      throw input_error(at_input(path, "not a tiergnn plan (no \"format\": \"tiergnn-plan\")"));
    const int version = p.json.value("format_version", 0);
    if (version != 1)
      throw input_error(at_input(
          path, "plan format_version " + std::to_string(version) + " is not supported (this tiergnn reads version 1)"));
    // Written by tiergnn with the CRC-32 of its own content: a plan edited or damaged since is refused.
    if (!p.json.contains("checksum"))
      throw input_error(at_input(path, "has no checksum: it was not written by tiergnn prepare (re-run it)"));
    if (p.json["checksum"] != checksum_of(p.json))
      throw input_error(at_input(path, "checksum mismatch: the plan changed after tiergnn prepare wrote it"));
    const auto& t = p.json.at("tiers");
    p.plan.num_nodes = whole(p.json.at("num_nodes"), "num_nodes");
    p.plan.row_bytes = whole(p.json.at("row_bytes"), "row_bytes");
    p.plan.gpu_rows = whole(t.at("gpu_rows"), "tiers.gpu_rows");
    p.plan.host_rows = whole(t.at("host_rows"), "tiers.host_rows");
    p.plan.reserve_bytes = static_cast<std::uint64_t>(whole(p.json.at("reserve_bytes"), "reserve_bytes"));
    p.plan.gpu_budget = p.json.at("budgets").at("gpu").get<std::string>();
    p.plan.host_budget = p.json.at("budgets").at("host").get<std::string>();
    const auto& gb = p.json.at("budgets").value("gpu_bytes", nlohmann::json(nullptr));
    p.plan.gpu_budget_bytes = gb.is_null() ? 0 : static_cast<std::uint64_t>(whole(gb, "budgets.gpu_bytes"));
    // (Plans written before host_bytes was recorded keep only the text.)
    const auto& hb = p.json.at("budgets").value("host_bytes", nlohmann::json(nullptr));
    p.plan.host_budget_bytes = hb.is_null() ? 0 : static_cast<std::uint64_t>(whole(hb, "budgets.host_bytes"));
    p.plan.estimator = p.json.at("estimator").at("name").get<std::string>();
    p.hit_curve = p.json.at("predicted_gpu_hit_rate_curve").get<std::vector<double>>();
    // Shown to the user as they are: a share of reads, and names tiergnn itself writes.
    // (Plans written before the curve was clamped may hold 1 + 2^-52: rounding, kept as 1.)
    for (double& h : p.hit_curve)
      if (h > 1.0 && h <= 1.0 + 1e-9)
        h = 1.0;
      else if (!(h >= 0.0 && h <= 1.0))
        throw input_error(at_input(path, "predicted_gpu_hit_rate_curve holds " + nlohmann::json(h).dump() +
                                             ", not a share of reads from 0 to 1"));
    // A larger cache never hits less: the curve is cumulative (R11-F6).
    for (std::size_t i = 1; i < p.hit_curve.size(); ++i)
      if (p.hit_curve[i] < p.hit_curve[i - 1] - 1e-9)
        throw input_error(at_input(path, "predicted_gpu_hit_rate_curve falls from " +
                                             nlohmann::json(p.hit_curve[i - 1]).dump() + " to " +
                                             nlohmann::json(p.hit_curve[i]).dump() +
                                             ": a larger cache cannot hit less (re-run tiergnn prepare)"));
    for (const std::string* name : {&p.plan.estimator, &p.plan.gpu_budget, &p.plan.host_budget})
      if (printable_text(*name) != *name)
        throw input_error(at_input(
            path, "holds an estimator or budget name that tiergnn does not write: \"" + printable_text(*name) + "\""));
    prepared_order_crc = p.json.at("prepared").at("order_crc32").get<std::int64_t>();
    prepared_features_crc = p.json.at("prepared").at("features_crc32").get<std::int64_t>();
    const auto& prep = p.json.at("prepared");
    if (prep.contains("features_head_crc32"))
      features_fingerprint = {prep.at("features_head_crc32").get<std::int64_t>(),
                              prep.at("features_tail_crc32").get<std::int64_t>()};
    if (p.json.contains("sharding") && !p.json["sharding"].is_null()) {
      const auto& sh = p.json["sharding"];
      p.replicate_budget = sh.at("replicate").at("budget").get<std::string>();
      p.replicate_bytes = static_cast<std::uint64_t>(whole(sh.at("replicate").at("bytes"), "sharding.replicate.bytes"));
      for (const auto& e : sh.at("shards")) {
        shard_info si;
        si.file = e.at("file").get<std::string>();
        si.begin = whole(e.at("rows").at(0), "rows of a shard");
        si.end = whole(e.at("rows").at(1), "rows of a shard");
        si.gpu_rows = whole(e.at("gpu_rows"), "gpu_rows of a shard");
        si.host_rows = whole(e.at("host_rows"), "host_rows of a shard");
        si.bytes = static_cast<std::uint64_t>(whole(e.at("bytes"), "bytes of a shard"));
        si.crc32 = e.at("crc32").get<std::uint32_t>();
        si.head_crc32 = e.at("head_crc32").get<std::uint32_t>();
        si.tail_crc32 = e.at("tail_crc32").get<std::uint32_t>();
        p.shards.push_back(si);
      }
    }
    source_path = p.json.at("source").at("path").get<std::string>();
    source_identity = p.json.at("source").at("identity");
  } catch (const nlohmann::json::exception& e) {
    throw input_error(at_input(path, "malformed plan (a key is missing or has the wrong type): " + json_error_text(e)));
  }
  // The plan must belong to the dataset beside it.
  const auto& arrays = d.meta().arrays;
  const auto crc_of = [&](const char* f) -> std::int64_t {
    auto it = arrays.find(f);
    return it == arrays.end() ? -1 : static_cast<std::int64_t>(it->second.crc32);
  };
  if (p.plan.num_nodes != d.num_nodes() || crc_of("order.npy") != prepared_order_crc ||
      crc_of("features.npy") != prepared_features_crc)
    throw input_error(at_input(path,
                               "belongs to another dataset: its node count or the checksums of order.npy / "
                               "features.npy differ from " +
                                   d.dir() + "/meta.json. Re-run tiergnn prepare"));
  // The renumbering itself, not only its recorded checksum: another prepare's order.npy copied in is
  // still a permutation, and training would silently read every node's features under another id
  // (R11-F4). 8 bytes a node, read once (the trainer reads the whole file anyway).
  if (d.has("order.npy")) {
    const std::string order_path = d.dir() + "/order.npy";
    if (file_crc32(order_path) != static_cast<std::uint32_t>(prepared_order_crc))
      throw input_error(at_input(order_path, "its contents do not match the checksum recorded in " + d.dir() +
                                                 "/meta.json and plan.json (replaced or damaged after prepare). "
                                                 "Re-run tiergnn prepare"));
  }
  // features.npy itself, by its first and last 64 KiB (the whole file's checksum is info --check's:
  // it can be terabytes): the original's features.npy copied into a prepared dataset has the same
  // shape and trained silently on rows in the wrong order (R13-F12).
  if (features_fingerprint.first >= 0 && d.has("features.npy")) {
    const std::string features_path = d.dir() + "/features.npy";
    const auto [head, tail] = shard_fingerprint(features_path);
    if (static_cast<std::int64_t>(head) != features_fingerprint.first ||
        static_cast<std::int64_t>(tail) != features_fingerprint.second)
      throw input_error(at_input(features_path,
                                 "is not the file prepare wrote (its first or last 64 KiB differ; the source's "
                                 "features.npy copied in holds the rows in another order?). Re-run tiergnn prepare"));
  }
  // Each count alone first: their sum could overflow.
  if (p.plan.gpu_rows < 0 || p.plan.host_rows < 0 || p.plan.gpu_rows > p.plan.num_nodes ||
      p.plan.host_rows > p.plan.num_nodes - p.plan.gpu_rows)
    throw input_error(at_input(path, "tier boundaries are outside the dataset"));
  // The tier ends written beside the counts, for readers: they must agree with them (R11-F6).
  {
    const auto& t = p.json.at("tiers");
    const std::pair<const char*, std::int64_t> derived[] = {
        {"g", p.plan.g()}, {"c", p.plan.c()}, {"disk_rows", p.plan.disk_rows()}};
    for (const auto& [key, want] : derived)
      if (t.contains(key) && !(t[key].is_number_integer() && t[key].get<std::int64_t>() == want))
        throw input_error(at_input(path, std::string("tiers.") + key + " = " + t[key].dump() +
                                             " disagrees with tiers.gpu_rows and tiers.host_rows (" +
                                             std::to_string(want) + "): re-run tiergnn prepare"));
  }
  // Sharded features: the shards of the dataset's meta.json, contiguous, in order, covering every row.
  if (static_cast<int>(p.shards.size()) != d.meta().feature_shards &&
      !(p.shards.empty() && d.meta().feature_shards == 0))
    throw input_error(at_input(path, "describes " + std::to_string(p.shards.size()) + " feature shards but " + d.dir() +
                                         "/meta.json says " + std::to_string(d.meta().feature_shards)));
  for (std::size_t m = 0; m < p.shards.size(); ++m) {
    const shard_info& si = p.shards[m];
    const std::int64_t want_begin = m == 0 ? 0 : p.shards[m - 1].end;
    if (si.begin != want_begin || si.end < si.begin || si.end > p.plan.num_nodes || si.gpu_rows < 0 ||
        si.host_rows < 0 || si.gpu_rows > si.rows() || si.host_rows > si.rows() - si.gpu_rows ||
        si.file != "shards/features-" + std::to_string(m) + "-of-" + std::to_string(p.shards.size()) + ".npy")
      throw input_error(at_input(path, "shard " + std::to_string(m) + " is malformed (rows, tiers or file name)"));
    if (m + 1 == p.shards.size() && si.end != p.plan.num_nodes)
      throw input_error(at_input(path, "the shards do not cover every row"));
  }
  if (p.plan.row_bytes <= 0 ||
      (p.plan.num_nodes > 0 && d.meta().has_features() &&
       p.plan.row_bytes != d.meta().feature_dim * static_cast<std::int64_t>(dtype_size(d.meta().feature_dtype))))
    throw input_error(
        at_input(path, "row_bytes " + std::to_string(p.plan.row_bytes) + " does not match the dataset's feature rows"));
  // The source it was prepared from, when still there and changed since: a warning. The prepared
  // dataset holds everything it needs (it never reads the source) and still trains as the source did
  // when it was prepared; the user may have meant to follow the new source.
  if (fs::exists(source_path + "/meta.json")) {
    std::string changed;
    try {
      if (dataset::identity_of(source_path) != source_identity) changed = "its checksums no longer match";
    } catch (const error& e) {
      changed = std::string("it no longer opens: ") + e.what();
    }
    if (!changed.empty())
      log_warn(path, ": the source dataset ", source_path, " changed since this dataset was prepared (", changed,
               "); this prepared copy still holds the data it was prepared from. Re-run tiergnn prepare to follow "
               "the source");
  }
  return p;
}

nlohmann::json to_json(const shard_info& s) {
  return {{"file", s.file},   {"rows", {s.begin, s.end}}, {"gpu_rows", s.gpu_rows},     {"host_rows", s.host_rows},
          {"bytes", s.bytes}, {"crc32", s.crc32},         {"head_crc32", s.head_crc32}, {"tail_crc32", s.tail_crc32}};
}

std::pair<std::uint32_t, std::uint32_t> shard_fingerprint(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw_errno("open", path);
  std::vector<unsigned char> buf(64 << 10);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  const auto crc_at = [&](long off) {
    const std::size_t n = static_cast<std::size_t>(std::min<long>(size, static_cast<long>(buf.size())));
    std::fseek(f, off, SEEK_SET);
    const std::size_t got = std::fread(buf.data(), 1, n, f);
    return static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), buf.data(), static_cast<uInt>(got)));
  };
  const std::uint32_t head = crc_at(0);
  const std::uint32_t tail = crc_at(std::max<long>(0, size - static_cast<long>(buf.size())));
  std::fclose(f);
  return {head, tail};
}

void write_plan_file(const std::string& path, const tier_plan& plan, const std::vector<double>& hit_curve,
                     const nlohmann::json& profile_info, const nlohmann::json& training, const dataset& source,
                     std::uint32_t order_crc, std::int64_t features_crc, const nlohmann::json& sharding,
                     std::pair<std::int64_t, std::int64_t> features_fingerprint) {
  nlohmann::json j;
  j["format"] = "tiergnn-plan";
  j["format_version"] = 1;
  j["num_nodes"] = plan.num_nodes;
  j["row_bytes"] = plan.row_bytes;
  j["feature_bytes"] = plan.feature_bytes();
  j["tiers"] = {{"gpu_rows", plan.gpu_rows},
                {"host_rows", plan.host_rows},
                {"disk_rows", plan.disk_rows()},
                {"g", plan.g()},
                {"c", plan.c()}};
  j["budgets"] = {
      {"gpu", plan.gpu_budget},
      {"host", plan.host_budget},
      {"gpu_bytes", plan.gpu_budget_bytes ? nlohmann::json(plan.gpu_budget_bytes) : nlohmann::json(nullptr)},
      {"host_bytes", plan.host_budget_bytes ? nlohmann::json(plan.host_budget_bytes) : nlohmann::json(nullptr)}};
  j["reserve_bytes"] = plan.reserve_bytes;
  j["estimator"] = profile_info;
  j["training"] = training;
  j["predicted_gpu_hit_rate_curve"] = hit_curve;
  j["source"] = {{"path", fs::absolute(source.dir()).lexically_normal().string()}, {"identity", source.identity()}};
  j["prepared"] = {{"order_crc32", order_crc}, {"features_crc32", features_crc}};
  if (features_fingerprint.first >= 0) {
    j["prepared"]["features_head_crc32"] = features_fingerprint.first;
    j["prepared"]["features_tail_crc32"] = features_fingerprint.second;
  }
  if (!sharding.is_null()) j["sharding"] = sharding;
  j["checksum"] = plan_file::checksum_of(j);
  std::ofstream out(path);
  out << json_text(j, 1) << "\n";
  if (!out) throw io_error(at_input(path, "write failed"));
}

}  // namespace tg
