// OGB node-property-prediction importer (Hu et al., "Open Graph Benchmark", NeurIPS 2020), for the
// layout the ogb package downloads under <root>/:
//   raw/edge.csv.gz            one "src,dst" line per edge (each undirected edge listed once)
//   raw/num-node-list.csv.gz   one line: N          raw/num-edge-list.csv.gz   one line: E
//   raw/node-feat.csv.gz       N lines of D comma-separated floats (optional)
//   raw/node-label.csv.gz      N lines of one class id; "nan" or empty = unlabelled (optional)
// or, for the largest datasets (ogbn-papers100M), raw/data.npz (edge_index 2 x E, node_feat,
// num_nodes_list, num_edges_list) with raw/node-label.npz (node_label, float with NaN);
//   split/<scheme>/{train,valid,test}.csv.gz   one node id per line (the single scheme folder
//                                               present, or the one named)
// Every text file may also be uncompressed (.csv). The text files are streamed: features go to
// features.npy row by row and edges to the CSR builder's spill file as they are parsed.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/npz.hpp"
#include "core/progress.hpp"
#include "core/resources.hpp"
#include "datasets/import_labelled.hpp"
#include "datasets/labelled_arrays.hpp"
#include "datasets/text_reader.hpp"

namespace tg {

namespace {

namespace fs = std::filesystem;

// <folder>/<name>.csv.gz, else <folder>/<name>.csv, else "".
std::string find_text(const std::string& folder, const std::string& name) {
  for (const char* ext : {".csv.gz", ".csv"}) {
    const std::string p = folder + "/" + name + ext;
    std::error_code ec;
    if (fs::exists(p, ec)) {
      // The dataset folder as the ogb package writes it holds files: a FIFO there would block the
      // import forever, a directory is no table (R15-F7).
      if (!fs::is_regular_file(p, ec))
        throw input_error(at_input(p, "is not a regular file (an OGB dataset folder holds its tables as files)"));
      return p;
    }
  }
  return "";
}

// A file holding one count (num-node-list / num-edge-list of a single graph).
std::int64_t read_count(const std::string& path) {
  text_reader r(path);
  std::string_view line;
  std::int64_t value = -1;
  while (r.next(&line)) {
    std::vector<std::string_view> f;
    if (split_fields(line, ',', &f) == 1 && f[0].empty()) continue;
    if (value >= 0)
      throw input_error(at_input(path, r.line_number(),
                                 "more than one graph listed; only single-graph (node-property) datasets "
                                 "can be imported"));
    if (f.size() != 1 || !parse_int64(f[0], &value) || value < 0)
      throw input_error(
          at_input(path, r.line_number(), "expected one non-negative count, found '" + std::string(line) + "'"));
  }
  if (value < 0) throw input_error(at_input(path, "empty file: expected a count"));
  return value;
}

// Streams N lines of D floats into features.npy. `n` < 0: any row count. Returns the row count.
std::int64_t read_features(dataset_writer& w, const std::string& path, std::int64_t n) {
  text_reader r(path);
  progress prog("reading " + fs::path(path).filename().string(), n, "rows");
  std::vector<std::string_view> f;
  std::vector<float> rows;
  std::optional<npy_writer> out;
  std::int64_t d = 0, count = 0;
  // Values too small for float32 (below 1.2e-38 in magnitude) flush towards 0: counted, said once.
  std::int64_t underflow = 0, first_underflow_line = 0;
  std::string_view line;
  while (r.next(&line)) {
    const std::size_t k = split_fields(line, ',', &f);
    if (d == 0) {
      if (k == 1 && f[0].empty())
        throw input_error(at_input(path, r.line_number(), "empty line: expected feature values"));
      d = static_cast<std::int64_t>(k);
      if (n >= 0)
        w.expect_space(
            saturating_mul(saturating_mul(static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(d)), sizeof(float)),
            "features.npy (" + std::to_string(n) + " rows of " + std::to_string(d) + " float32 values from " + path +
                ")");
      out.emplace(w.path("features.npy"), dtype::float32, std::vector<std::int64_t>{d});
    } else if (static_cast<std::int64_t>(k) != d) {
      throw input_error(
          at_input(path, r.line_number(),
                   "expected " + std::to_string(d) + " values (as on line 1), found " + std::to_string(k)));
    }
    if (n >= 0 && count == n)
      throw input_error(at_input(path, r.line_number(), "more feature rows than the " + std::to_string(n) + " nodes"));
    for (std::size_t j = 0; j < k; ++j) {
      double x;
      if (!parse_double(f[j], &x))
        throw input_error(
            at_input(path, r.line_number(),
                     "column " + std::to_string(j + 1) + ": '" + std::string(f[j]) + "' is not a number"));
      if (!std::isfinite(x) || !std::isfinite(static_cast<float>(x)))
        throw input_error(
            at_input(path, r.line_number(),
                     "column " + std::to_string(j + 1) + ": '" + std::string(f[j]) + "' is not a finite float32"));
      if (labelled::below_float32(x) && underflow++ == 0) first_underflow_line = r.line_number();
      rows.push_back(static_cast<float>(x));
    }
    ++count;
    if (static_cast<std::int64_t>(rows.size()) >= (std::int64_t{1} << 20)) {
      out->append(rows.data(), static_cast<std::int64_t>(rows.size()) / d);
      prog.add(static_cast<std::int64_t>(rows.size()) / d);
      rows.clear();
    }
  }
  if (count == 0) throw input_error(at_input(path, "empty file: expected one feature row per node"));
  if (n >= 0 && count != n)
    throw input_error(
        at_input(path, "has " + std::to_string(count) + " feature rows but there are " + std::to_string(n) + " nodes"));
  if (!rows.empty()) out->append(rows.data(), static_cast<std::int64_t>(rows.size()) / d);
  labelled::warn_below_float32(path, underflow, "", "on line " + std::to_string(first_underflow_line));
  out->finish();
  prog.finish();
  w.meta().feature_dim = d;
  w.meta().feature_dtype = dtype::float32;
  return count;
}

// One class id per line; "nan", "NaN" or empty = unlabelled; negative = unlabelled.
std::vector<std::int64_t> read_labels(const std::string& path, std::int64_t n) {
  text_reader r(path);
  std::vector<std::int64_t> labels;
  if (n >= 0) labels.reserve(static_cast<std::size_t>(n));
  std::vector<std::string_view> f;
  std::string_view line;
  while (r.next(&line)) {
    const std::size_t k = split_fields(line, ',', &f);
    if (k != 1)
      throw input_error(at_input(
          path, r.line_number(),
          "expected one label, found " + std::to_string(k) + " columns (multi-task labels are not supported)"));
    std::int64_t v;
    double x;
    if (f[0].empty()) {
      v = -1;
    } else if (parse_int64(f[0], &v)) {
      v = std::max<std::int64_t>(v, -1);
    } else if (parse_double(f[0], &x)) {
      if (std::isnan(x) || x < 0)
        v = -1;
      else if (x != std::floor(x) || x >= 9007199254740992.0)
        throw input_error(at_input(path, r.line_number(), "label '" + std::string(f[0]) + "' is not a class index"));
      else
        v = static_cast<std::int64_t>(x);
    } else {
      throw input_error(at_input(path, r.line_number(), "label '" + std::string(f[0]) + "' is not a number"));
    }
    labels.push_back(v);
  }
  if (labels.empty()) throw input_error(at_input(path, "empty file: expected one label per node"));
  if (n >= 0 && static_cast<std::int64_t>(labels.size()) != n)
    throw input_error(at_input(
        path, "has " + std::to_string(labels.size()) + " labels but there are " + std::to_string(n) + " nodes"));
  return labels;
}

// Streams "src,dst" lines into the builder, checking ids against n. Returns the edge count.
std::int64_t read_edges(csr_builder& b, const std::string& path, std::int64_t n, std::int64_t expected) {
  text_reader r(path);
  progress prog("reading " + fs::path(path).filename().string(), expected, "edges");
  std::vector<std::string_view> f;
  std::string_view line;
  std::int64_t count = 0;
  while (r.next(&line)) {
    const std::size_t k = split_fields(line, ',', &f);
    if (k != 2)
      throw input_error(at_input(path, r.line_number(), "expected 2 columns \"src,dst\", found " + std::to_string(k)));
    std::int64_t id[2];
    for (int j = 0; j < 2; ++j) {
      if (!parse_int64(f[j], &id[j]))
        throw input_error(at_input(path, r.line_number(), "'" + std::string(f[j]) + "' is not an integer node id"));
      if (id[j] < 0 || id[j] >= n)
        throw input_error(at_input(path, r.line_number(),
                                   "node id " + std::to_string(id[j]) + " is outside [0, " + std::to_string(n) + ")"));
    }
    b.add(id[0], id[1]);
    if (++count % (1 << 20) == 0) prog.add(1 << 20);
  }
  if (count == 0) throw input_error(at_input(path, "empty file: no edges"));
  prog.finish();
  return count;
}

// One node id per line.
labelled::split_ids read_split(const std::string& path, std::int64_t n) {
  labelled::split_ids s;
  s.present = true;
  s.from = path;
  text_reader r(path);
  std::vector<std::string_view> f;
  std::string_view line;
  while (r.next(&line)) {
    const std::size_t k = split_fields(line, ',', &f);
    if (k == 1 && f[0].empty()) continue;
    std::int64_t v;
    if (k != 1 || !parse_int64(f[0], &v))
      throw input_error(
          at_input(path, r.line_number(), "expected one integer node id, found '" + std::string(line) + "'"));
    if (v < 0 || v >= n)
      throw input_error(at_input(path, r.line_number(),
                                 "node id " + std::to_string(v) + " is outside [0, " + std::to_string(n) + ")"));
    s.ids.push_back(v);
  }
  return s;
}

// The split folder to use: the one named, or the only one present; "" when there is none or
// "none" was asked for.
std::string pick_scheme(const std::string& root, const std::string& wanted) {
  const std::string split_dir = root + "/split";
  if (wanted == "none") return "";  // --split-scheme none: import without splits
  if (!wanted.empty()) {
    if (!fs::is_directory(split_dir + "/" + wanted))
      throw input_error(at_input(split_dir + "/" + wanted, "split scheme folder not found"));
    return wanted;
  }
  if (!fs::is_directory(split_dir)) return "";
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(split_dir))
    if (e.is_directory()) found.push_back(e.path().filename().string());
  std::sort(found.begin(), found.end());
  if (found.size() > 1) {
    std::string names;
    for (const auto& s : found) names += (names.empty() ? "" : ", ") + s;
    throw input_error(
        at_input(split_dir, "holds several split schemes (" + names + "); choose one with --split-scheme"));
  }
  return found.empty() ? "" : found[0];
}

labelled::split_set read_splits(const std::string& root, const std::string& scheme, std::int64_t n) {
  labelled::split_set s;
  if (scheme.empty()) return s;
  const std::string folder = root + "/split/" + scheme;
  for (int k = 0; k < 3; ++k) {
    const std::string p = find_text(folder, labelled::kSplitNames[k]);
    if (p.empty())
      throw input_error(at_input(folder + "/" + labelled::kSplitNames[k] + ".csv.gz", "missing split file"));
    s[k] = read_split(p, n);
  }
  return s;
}

}  // namespace

labelled_import_report import_ogb(const std::string& dir, const std::string& out_dir, const ogb_import_options& opt) {
  const std::string raw = dir + "/raw";
  if (!fs::is_directory(raw))
    throw input_error(at_input(dir,
                               "no raw/ folder: expected an OGB dataset root holding raw/edge.csv.gz "
                               "or raw/data.npz"));
  const std::string scheme = pick_scheme(dir, opt.split_scheme);
  csr_build_options g;
  g.symmetrize = opt.undirected;
  g.remove_self_loops = opt.remove_self_loops;
  nlohmann::json source = {{"importer", "ogb"},
                           {"input", labelled::absolute_path(dir)},
                           {"split_scheme", scheme.empty() ? nlohmann::json(nullptr) : nlohmann::json(scheme)},
                           {"options", {{"undirected", opt.undirected}, {"remove_self_loops", opt.remove_self_loops}}}};
  const std::string name = opt.name.empty() ? labelled::file_stem(dir) : opt.name;

  if (fs::exists(raw + "/data.npz")) {
    // ogbn-papers100M style: arrays in npz archives, splits still as csv.gz.
    if (fs::exists(raw + "/edge.csv.gz") || fs::exists(raw + "/edge.csv"))
      log_info(raw,
               " holds both data.npz and edge.csv(.gz): reading the arrays of data.npz (OGB's binary format); "
               "remove it to import the CSV files");
    const npz_archive z(raw + "/data.npz");
    const npy_array edges = z.get("edge_index");
    labelled::array_sources s;
    s.edges = &edges;
    s.edges_rows = labelled::edges_are_rows(edges);
    std::optional<npy_array> feat, label, count;
    if (z.contains("node_feat")) {
      feat = z.get("node_feat");
      s.features = &*feat;
    }
    if (fs::exists(raw + "/node-label.npz")) {
      label = npz_archive(raw + "/node-label.npz").get("node_label");
      s.labels = &*label;
    }
    if (z.contains("num_nodes_list")) {
      count = z.get("num_nodes_list");
      if (count->count() != 1)
        throw input_error(at_input(count->name(), "holds " + std::to_string(count->count()) +
                                                      " graphs; only single-graph datasets can be imported"));
      s.num_nodes = labelled::scalar_int(*count);
      s.num_nodes_from = count->name();
    }
    if (z.contains("num_edges_list")) {
      const npy_array ne = z.get("num_edges_list");
      const std::int64_t stated = labelled::scalar_int(ne);
      if (stated != labelled::edge_count(edges, s.edges_rows))
        throw input_error(at_input(ne.name(), "says " + std::to_string(stated) + " edges but " + edges.name() +
                                                  " holds " +
                                                  std::to_string(labelled::edge_count(edges, s.edges_rows))));
    }
    labelled::resolve_num_nodes(s);
    s.splits = read_splits(dir, scheme, s.num_nodes);
    dataset_writer w(out_dir, opt.overwrite, {dir});
    w.meta().name = name;
    source["layout"] = "npz";
    w.meta().source = source;
    return labelled::import_arrays(w, s, g);
  }

  // Text layout.
  const std::string edge_path = find_text(raw, "edge");
  if (edge_path.empty())
    throw input_error(at_input(raw + "/edge.csv.gz", "missing: expected the edge list (or raw/data.npz)"));
  const std::string nodes_path = find_text(raw, "num-node-list");
  const std::string nedges_path = find_text(raw, "num-edge-list");
  const std::string feat_path = find_text(raw, "node-feat");
  const std::string label_path = find_text(raw, "node-label");

  std::int64_t n = nodes_path.empty() ? -1 : read_count(nodes_path);
  std::string n_from = nodes_path;
  const std::int64_t expected_edges = nedges_path.empty() ? -1 : read_count(nedges_path);
  if (n >= 0) csr_builder::expect_nodes_fit(n, nodes_path);

  dataset_writer w(out_dir, opt.overwrite, {dir});
  w.meta().name = name;
  if (!feat_path.empty()) {
    const std::int64_t rows = read_features(w, feat_path, n);
    if (n < 0) n = rows, n_from = feat_path + " rows";
  }
  std::vector<std::int64_t> labels;
  if (!label_path.empty()) {
    labels = read_labels(label_path, n);
    if (n < 0) n = static_cast<std::int64_t>(labels.size()), n_from = label_path + " lines";
  }
  if (n < 0)
    throw input_error(
        at_input(raw + "/num-node-list.csv.gz", "missing, and no node-feat or node-label file gives the node count"));
  const labelled::split_set splits = read_splits(dir, scheme, n);
  labelled::check_splits(splits, n, labels);

  csr_builder::expect_nodes_fit(n, n_from);
  if (expected_edges >= 0) {
    // The edge spill (16 bytes an edge) and the graph itself.
    const auto e = static_cast<std::uint64_t>(expected_edges);
    w.expect_space(saturating_add(saturating_add(saturating_mul(e, 16), saturating_mul(e, g.symmetrize ? 16 : 8)),
                                  saturating_mul(static_cast<std::uint64_t>(n) + 1, 8)),
                   "the graph of " + std::to_string(n) + " nodes and " + std::to_string(expected_edges) +
                       " edges (stated by " + nedges_path + ")");
  }
  csr_builder b(w.path(".edges.spill"), g);
  const std::int64_t m = read_edges(b, edge_path, n, expected_edges);
  if (expected_edges >= 0 && m != expected_edges)
    throw input_error(at_input(edge_path, "has " + std::to_string(m) + " edges but " + nedges_path + " says " +
                                              std::to_string(expected_edges)));
  const csr_build_stats st = b.build(w, n, edge_path);
  std::int64_t labelled = 0;
  if (!labels.empty()) labelled = labelled::put_labels(w, labels, label_path);
  labelled::put_splits(w, splits);
  source["layout"] = "csv";
  source["num_nodes_from"] = n_from;
  nlohmann::json files = nlohmann::json::array();
  for (const std::string* p : {&edge_path, &nodes_path, &nedges_path, &feat_path, &label_path})
    if (!p->empty()) files.push_back(labelled::absolute_path(*p));
  source["files"] = files;
  w.meta().source = source;
  return labelled::finish(w, st, labelled);
}

}  // namespace tg
