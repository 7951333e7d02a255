// MUSAE Facebook page-page importer (benedekrozemberczki/MUSAE; Rozemberczki, Allen and Sarkar,
// "Multi-scale attributed node embedding", Journal of Complex Networks 2021). Reads <dir>/
//   facebook_target.csv    id,facebook_id,page_name,page_type (RFC 4180: page_name may hold
//                          commas, doubled quotes and line breaks inside quotes); ids 0..N-1
//   facebook_features.json {"node id": [feature ids, ...], ...}: sparse binary features
//   facebook_edges.csv     header id_1,id_2, then one undirected edge per line, listed once
// Labels: the index of page_type among the sorted class names (recorded in meta source).
// Graph: symmetrised; the file's self-loops (179) are dropped unless keep_self_loops.
//
// Features. The multi-hot vectors have 4,714 columns, so dense float32 would take 424 MB for a
// 22k-node graph. The default encoding is a sparse Johnson-Lindenstrauss projection to
// `projection_dim` (128) columns (Achlioptas 2003; Kane and Nelson, "Sparser Johnson-Lindenstrauss
// transforms", JACM 2014): feature id j adds sign(j, t) / sqrt(s) to column row(j, t) for
// t = 0..s-1, s = 4, where row and sign come from Philox(seed, j, t). Signs are independent, so
// E[<Px, Py>] = <x, y>: dot products of the multi-hot vectors are preserved in expectation and the
// output is deterministic for a seed. `multihot` writes the dense 0/1 vectors instead.
//
// Split. The dataset has no official split: for each class, its node ids are shuffled with
// Philox(seed) and the first round(train_fraction * size) go to train, the next
// round(valid_fraction * size) to valid and the rest to test (default 20/20/60); each split is
// stored sorted.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <map>

#include "core/error.hpp"
#include "core/json_text.hpp"
#include "core/resources.hpp"
#include "core/log.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "datasets/import_labelled.hpp"
#include "datasets/labelled_arrays.hpp"
#include "datasets/text_reader.hpp"

namespace tg {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kProjectionNonzeros = 4;
constexpr std::uint64_t kProjectionStream = 0x70726f6aull;  // "proj"
constexpr std::uint64_t kSplitStream = 0x73706c74ull;       // "splt"

// Reads RFC 4180 records: fields separated by ',', optionally quoted with '"', a doubled quote
// inside quotes standing for one, and line breaks allowed inside quotes.
class csv_records {
 public:
  explicit csv_records(const std::string& path) : reader_(path) {}
  // Next record; false at the end. first_line() is the line it started on.
  bool next(std::vector<std::string>* fields) {
    std::string_view line;
    if (!reader_.next(&line)) return false;
    first_line_ = reader_.line_number();
    fields->clear();
    std::string cur;
    bool quoted = false, in_quotes = false, after_quote = false;
    while (true) {
      for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (in_quotes) {
          if (c != '"') {
            cur += c;
          } else if (i + 1 < line.size() && line[i + 1] == '"') {
            cur += '"';
            ++i;
          } else {
            in_quotes = false;
            after_quote = true;
          }
        } else if (c == ',') {
          fields->push_back(std::move(cur));
          cur.clear();
          quoted = after_quote = false;
        } else if (after_quote) {
          throw input_error(
              at_input(reader_.path(), reader_.line_number(),
                       "unexpected character after a closing quote in field " + std::to_string(fields->size() + 1)));
        } else if (c == '"' && cur.empty() && !quoted) {
          quoted = in_quotes = true;
        } else {
          cur += c;
        }
      }
      if (!in_quotes) break;
      // A line break inside quotes belongs to the field.
      if (!reader_.next(&line))
        throw input_error(at_input(reader_.path(), first_line_, "quoted field is never closed"));
      cur += '\n';
    }
    fields->push_back(std::move(cur));
    return true;
  }
  std::int64_t first_line() const { return first_line_; }
  const std::string& path() const { return reader_.path(); }

 private:
  text_reader reader_;
  std::int64_t first_line_ = 0;
};

struct target_table {
  std::vector<std::int64_t> labels;  // by node id
  std::vector<std::string> classes;  // sorted
};

target_table read_target(const std::string& path) {
  csv_records r(path);
  std::vector<std::string> f;
  if (!r.next(&f)) throw input_error(at_input(path, "empty file"));
  const std::size_t width = f.size();
  const auto id_col = std::find(f.begin(), f.end(), "id");
  const auto type_col = std::find(f.begin(), f.end(), "page_type");
  if (id_col == f.end() || type_col == f.end())
    throw input_error(at_input(path, 1, "header must name the columns 'id' and 'page_type'"));
  const std::size_t ic = id_col - f.begin(), tc = type_col - f.begin();
  struct row {
    std::int64_t id, line;
    std::string type;
  };
  std::vector<row> rows;
  while (r.next(&f)) {
    if (f.size() == 1 && f[0].empty()) continue;
    if (f.size() != width)
      throw input_error(at_input(path, r.first_line(),
                                 "expected " + std::to_string(width) + " fields, found " + std::to_string(f.size())));
    std::int64_t id;
    if (!parse_int64(f[ic], &id))
      throw input_error(at_input(path, r.first_line(), "id '" + f[ic] + "' is not an integer"));
    if (f[tc].empty()) throw input_error(at_input(path, r.first_line(), "empty page_type"));
    rows.push_back({id, r.first_line(), f[tc]});
  }
  if (rows.empty()) throw input_error(at_input(path, "no rows after the header"));
  const std::int64_t n = static_cast<std::int64_t>(rows.size());
  target_table t;
  for (const auto& x : rows) t.classes.push_back(x.type);
  std::sort(t.classes.begin(), t.classes.end());
  t.classes.erase(std::unique(t.classes.begin(), t.classes.end()), t.classes.end());
  t.labels.assign(static_cast<std::size_t>(n), -1);
  for (const auto& x : rows) {
    if (x.id < 0 || x.id >= n) {
      // Usually a row is missing (or an id was skipped): name the first id without a row.
      std::vector<std::uint8_t> has(static_cast<std::size_t>(n), 0);
      for (const auto& y : rows)
        if (y.id >= 0 && y.id < n) has[static_cast<std::size_t>(y.id)] = 1;
      const auto gap = std::find(has.begin(), has.end(), std::uint8_t{0});
      throw input_error(at_input(
          path, x.line,
          "id " + std::to_string(x.id) + " is outside [0, " + std::to_string(n) + ") (ids must number the " +
              std::to_string(n) + " rows 0.." + std::to_string(n - 1) +
              (gap != has.end() ? "; id " + std::to_string(gap - has.begin()) + " has no row" : std::string()) + ")"));
    }
    if (t.labels[x.id] >= 0) throw input_error(at_input(path, x.line, "id " + std::to_string(x.id) + " appears twice"));
    t.labels[x.id] = std::lower_bound(t.classes.begin(), t.classes.end(), x.type) - t.classes.begin();
  }
  return t;
}

// Feature id lists by node, as CSR (offsets into ids).
struct feature_lists {
  std::vector<std::int64_t> offsets, ids;
  std::int64_t distinct = 0, max_id = -1, nodes_without = 0;
};

feature_lists read_features_json(const std::string& path, std::int64_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_errno("open", path);
  json j;
  // A key given twice in the top-level object: JSON parsers keep one of them (nlohmann the last), so
  // which feature list a node has would be a guess. Refused.
  std::set<std::string> seen_keys;
  std::string twice;
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && twice.empty() &&
        !seen_keys.insert(parsed.get<std::string>()).second)
      twice = parsed.get<std::string>();
    return true;
  };
  try {
    j = json::parse(in, json_depth_limit_for(path, cb));
  } catch (const json::parse_error& e) {
    throw input_error(at_input(path, "invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what()));
  }
  if (!j.is_object()) throw input_error(at_input(path, "expected an object {\"node id\": [feature ids]}"));
  if (!twice.empty())
    throw input_error(at_input(path, "node \"" + twice + "\" is listed twice: keep one feature list per node"));
  std::vector<const json*> by_node(static_cast<std::size_t>(n), nullptr);
  for (const auto& [key, value] : j.items()) {
    std::int64_t v;
    if (!parse_int64(key, &v)) throw input_error(at_input(path, "key \"" + key + "\" is not a node id"));
    if (v < 0 || v >= n)
      throw input_error(at_input(path, "node \"" + key + "\" is outside [0, " + std::to_string(n) +
                                           ") (the target file lists " + std::to_string(n) + " nodes)"));
    if (!value.is_array()) throw input_error(at_input(path, "node \"" + key + "\": expected a list of feature ids"));
    if (by_node[v])
      throw input_error(at_input(path, "node " + std::to_string(v) +
                                           " is listed twice (keys spelt differently, e.g. \"" + key +
                                           "\"): keep one feature list per node"));
    by_node[v] = &value;
  }
  feature_lists f;
  f.offsets.assign(1, 0);
  for (std::int64_t v = 0; v < n; ++v) {
    if (!by_node[v]) {
      ++f.nodes_without;
    } else {
      for (const auto& x : *by_node[v]) {
        if (!x.is_number_integer() || x.get<std::int64_t>() < 0)
          throw input_error(at_input(
              path, "node \"" + std::to_string(v) + "\": feature id " + x.dump() + " is not a non-negative integer"));
        const std::int64_t id = x.get<std::int64_t>();
        f.ids.push_back(id);
        f.max_id = std::max(f.max_id, id);
      }
    }
    f.offsets.push_back(static_cast<std::int64_t>(f.ids.size()));
  }
  if (f.max_id < 0) throw input_error(at_input(path, "no node has any feature"));
  // Distinct ids by sorting a copy, not a table indexed by id: one id of 10^12 must not ask for 125 GB.
  std::vector<std::int64_t> ids = f.ids;
  std::sort(ids.begin(), ids.end());
  f.distinct = std::unique(ids.begin(), ids.end()) - ids.begin();
  return f;
}

void write_facebook_features(dataset_writer& w, const feature_lists& f, std::int64_t n,
                             const facebook_import_options& opt) {
  const bool multihot = opt.encoding == facebook_encoding::multihot;
  const std::int64_t d = multihot ? f.max_id + 1 : opt.projection_dim;
  if (d > (std::int64_t{1} << 24))
    throw input_error(
        "feature dimension " + std::to_string(d) + (multihot ? " (the largest feature id + 1)" : "") +
        " is beyond 2^24: " + (multihot ? "the feature ids are not a vocabulary" : "choose a smaller --dim"));
  w.expect_space(saturating_mul(saturating_mul(static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(d)), 4),
                 "the " + std::to_string(d) + "-dim features");
  const counter_rng rng(opt.seed, stream_id(kProjectionStream));
  const float scale = 1.0f / std::sqrt(static_cast<float>(kProjectionNonzeros));
  npy_writer out(w.path("features.npy"), dtype::float32, {d});
  const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{1} << 22) / d);
  std::vector<float> buf;
  for (std::int64_t r0 = 0; r0 < n; r0 += chunk) {
    const std::int64_t r1 = std::min(n, r0 + chunk);
    buf.assign(static_cast<std::size_t>((r1 - r0) * d), 0.0f);
    for (std::int64_t v = r0; v < r1; ++v) {
      float* row = buf.data() + (v - r0) * d;
      for (std::int64_t k = f.offsets[v]; k < f.offsets[v + 1]; ++k) {
        const std::uint64_t id = static_cast<std::uint64_t>(f.ids[k]);
        if (multihot) {
          row[id] = 1.0f;
          continue;
        }
        for (int t = 0; t < kProjectionNonzeros; ++t) {
          const std::uint64_t pos = id * kProjectionNonzeros + static_cast<std::uint64_t>(t);
          const std::uint64_t bits = rng.u64(pos);
          const std::int64_t col = static_cast<std::int64_t>((bits >> 1) % static_cast<std::uint64_t>(d));
          row[col] += (bits & 1) ? scale : -scale;
        }
      }
    }
    out.append(buf.data(), r1 - r0);
  }
  out.finish();
  w.meta().feature_dim = d;
  w.meta().feature_dtype = dtype::float32;
}

// Reads the edge list (header id_1,id_2) into the builder.
std::int64_t read_edges(csr_builder& b, const std::string& path, std::int64_t n, std::int64_t* self_loops) {
  text_reader r(path);
  std::vector<std::string_view> f;
  std::string_view line;
  std::int64_t count = 0;
  bool first = true;
  while (r.next(&line)) {
    const std::size_t k = split_fields(line, ',', &f);
    if (k == 1 && f[0].empty()) continue;
    for (std::size_t j = 0; j < k; ++j)  // a quoted id ("0","18427": CSV as some tools write it)
      if (f[j].size() >= 2 && f[j].front() == '"' && f[j].back() == '"') f[j] = f[j].substr(1, f[j].size() - 2);
    std::int64_t id[2];
    if (first && k >= 1 && !parse_int64(f[0], &id[0])) {  // header
      first = false;
      continue;
    }
    first = false;
    if (k != 2)
      throw input_error(
          at_input(path, r.line_number(), "expected 2 columns \"id_1,id_2\", found " + std::to_string(k)));
    for (int j = 0; j < 2; ++j) {
      if (!parse_int64(f[j], &id[j]))
        throw input_error(at_input(path, r.line_number(), "'" + std::string(f[j]) + "' is not an integer node id"));
      if (id[j] < 0 || id[j] >= n)
        throw input_error(at_input(path, r.line_number(),
                                   "node id " + std::to_string(id[j]) + " is outside [0, " + std::to_string(n) + ")"));
    }
    *self_loops += id[0] == id[1];
    b.add(id[0], id[1]);
    ++count;
  }
  if (count == 0) throw input_error(at_input(path, "empty file: no edges"));
  return count;
}

labelled::split_set make_split(const std::vector<std::int64_t>& labels, std::int64_t num_classes,
                               const facebook_import_options& opt) {
  labelled::split_set s;
  for (int k = 0; k < 3; ++k) {
    s[k].present = true;
    s[k].from = std::string("generated ") + labelled::kSplitNames[k] + " split";
  }
  std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(num_classes));
  for (std::size_t v = 0; v < labels.size(); ++v)
    if (labels[v] >= 0) members[labels[v]].push_back(static_cast<std::int64_t>(v));
  for (std::int64_t c = 0; c < num_classes; ++c) {
    auto& m = members[c];
    const counter_rng rng(opt.seed, stream_id(kSplitStream, static_cast<std::uint64_t>(c)));
    for (std::size_t i = m.size(); i > 1; --i) std::swap(m[i - 1], m[rng.below(i - 1, i)]);
    const auto size = static_cast<double>(m.size());
    const std::size_t nt = static_cast<std::size_t>(std::llround(opt.train_fraction * size));
    const std::size_t nv = std::min(m.size() - nt, static_cast<std::size_t>(std::llround(opt.valid_fraction * size)));
    s[0].ids.insert(s[0].ids.end(), m.begin(), m.begin() + nt);
    s[1].ids.insert(s[1].ids.end(), m.begin() + nt, m.begin() + nt + nv);
    s[2].ids.insert(s[2].ids.end(), m.begin() + nt + nv, m.end());
  }
  for (auto& x : s) std::sort(x.ids.begin(), x.ids.end());
  return s;
}

}  // namespace

labelled_import_report import_facebook(const std::string& dir, const std::string& out_dir,
                                       const facebook_import_options& opt) {
  if (!(opt.train_fraction >= 0 && opt.valid_fraction >= 0 && opt.train_fraction + opt.valid_fraction <= 1))
    throw input_error("split fractions must be non-negative and sum to at most 1 (train " +
                      number_text(opt.train_fraction) + ", valid " + number_text(opt.valid_fraction) + ")");
  if (opt.encoding == facebook_encoding::projection && opt.projection_dim <= 0)
    throw input_error("projection dimension must be positive (got " + std::to_string(opt.projection_dim) + ")");
  const std::string target_path = dir + "/facebook_target.csv";
  const std::string feat_path = dir + "/facebook_features.json";
  const std::string edge_path = dir + "/facebook_edges.csv";
  for (const std::string* p : {&target_path, &feat_path, &edge_path})
    if (!fs::exists(*p)) throw input_error(at_input(*p, "missing (expected the MUSAE facebook files in " + dir + ")"));

  const target_table t = read_target(target_path);
  const std::int64_t n = static_cast<std::int64_t>(t.labels.size());
  const feature_lists feats = read_features_json(feat_path, n);
  if (feats.nodes_without > 0)
    log_warn(feat_path, ": ", feats.nodes_without, " of ", n,
             " nodes have no entry; their feature rows are all zeros (meta.json: nodes_without_features)");

  dataset_writer w(out_dir, opt.overwrite, {dir});
  write_facebook_features(w, feats, n, opt);
  csr_build_options g;
  g.symmetrize = true;
  g.remove_self_loops = !opt.keep_self_loops;
  csr_builder b(w.path(".edges.spill"), g);
  std::int64_t loops = 0;
  const std::int64_t m = read_edges(b, edge_path, n, &loops);
  const csr_build_stats st = b.build(w, n);
  const std::int64_t labelled = labelled::put_labels(w, t.labels, target_path);
  const labelled::split_set split = make_split(t.labels, static_cast<std::int64_t>(t.classes.size()), opt);
  labelled::check_splits(split, n, t.labels);
  labelled::put_splits(w, split);

  auto& meta = w.meta();
  meta.name = opt.name;
  const bool multihot = opt.encoding == facebook_encoding::multihot;
  meta.source = {
      {"importer", "facebook"},
      {"input", labelled::absolute_path(dir)},
      {"files",
       {labelled::absolute_path(target_path), labelled::absolute_path(feat_path), labelled::absolute_path(edge_path)}},
      {"classes", t.classes},
      {"label", "index of page_type in the sorted class names"},
      {"edges_in_file", m},
      {"self_loops_in_file", loops},
      {"self_loops", opt.keep_self_loops ? "kept" : "dropped"},
      {"features", multihot ? json{{"encoding", "multihot"},
                                   {"distinct_feature_ids", feats.distinct},
                                   {"nodes_without_features", feats.nodes_without}}
                            : json{{"encoding", "sparse random projection"},
                                   {"from_dim", feats.max_id + 1},
                                   {"dim", opt.projection_dim},
                                   {"nonzeros_per_feature", kProjectionNonzeros},
                                   {"values", "+-1/sqrt(nonzeros), rows and signs from Philox4x32(seed, feature id)"},
                                   {"seed", opt.seed},
                                   {"distinct_feature_ids", feats.distinct},
                                   {"nodes_without_features", feats.nodes_without}}},
      {"split",
       {{"kind", "random per class (no official split)"},
        {"train_fraction", opt.train_fraction},
        {"valid_fraction", opt.valid_fraction},
        {"seed", opt.seed}}}};
  return labelled::finish(w, st, labelled);
}

}  // namespace tg
