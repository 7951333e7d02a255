// Edge-list importer. One pass over the text: each data line "src dst [more columns]" is checked
// (integer ids, a consistent column count) and appended to the CSR builder's spill file with its
// original ids, while the distinct ids are collected (sorted and de-duplicated every few million
// ids, so memory follows the node count). Ids are kept as they are when they already are
// 0..N-1 (or --remap never), otherwise remapped densely in increasing order, and the mapping
// new -> original is saved as node_ids.npy.
//
// Matrix Market (.mtx): a first line "%%MatrixMarket matrix coordinate FIELD SYMMETRY" makes the
// first line after the comments the size line "M N NNZ" (skipped, not an edge), the entries' ids
// 1-based in [1, max(M, N)] (stored as id - 1, with max(M, N) nodes, isolated ones included, unless
// --remap always), and a symmetric matrix's one stored triangle a reason to suggest --undirected.
#include "datasets/import_edgelist.hpp"

#include <cctype>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "datasets/csr_builder.hpp"
#include "datasets/text_reader.hpp"

namespace tg {

namespace {
// A node id field: an integer, also quoted as CSV writers quote every field ("12" or '12').
bool parse_id(std::string_view f, std::int64_t* out) {
  if (f.size() >= 2 && (f.front() == '"' || f.front() == '\'') && f.back() == f.front()) f = f.substr(1, f.size() - 2);
  return parse_int64(f, out);
}

// Why a field is not a node id, in the user's terms.
std::string not_an_id(std::string_view f) {
  if (f.find('\r') != std::string_view::npos)
    return "holds a carriage return: the file has old Mac (CR-only) line endings; convert them to LF "
           "(e.g. tr '\\r' '\\n')";
  std::size_t i = !f.empty() && (f[0] == '-' || f[0] == '+') ? 1 : 0;
  if (i < f.size() && f.find_first_not_of("0123456789", i) == std::string_view::npos)
    return "'" + std::string(f) + "' is outside the range of node ids (64-bit signed integers)";
  // A NUL byte would end the message where it stands (what() is a C string): written as the other
  // control bytes are shown, \x00.
  std::string shown;
  for (char c : f) shown += c == '\0' ? std::string("\\x00") : std::string(1, c);
  return "'" + shown + "' is not an integer node id";
}
}  // namespace

namespace {
char detect_delimiter(std::string_view line) {
  if (line.find('\t') != std::string_view::npos) return '\t';
  if (line.find(',') != std::string_view::npos) return ',';
  if (line.find(';') != std::string_view::npos) return ';';
  return ' ';
}

void compact_ids(std::vector<std::int64_t>* ids) {
  std::sort(ids->begin(), ids->end());
  ids->erase(std::unique(ids->begin(), ids->end()), ids->end());
}
}  // namespace

edgelist_report import_edgelist(const std::string& path, const std::string& out_dir, const edgelist_options& opt,
                                bool overwrite) {
  std::error_code ec;
  const auto fst = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(fst)) throw input_error(at_input(path, "no such file"));
  if (std::filesystem::is_directory(fst)) throw input_error(at_input(path, "is a directory, not an edge-list file"));
  if (!std::filesystem::is_regular_file(fst))
    throw input_error(at_input(path, "is not a regular file (a device, pipe or socket): give an edge-list file"));
  TG_CHECK_INPUT(opt.src_column >= 0 && opt.dst_column >= 0 && opt.src_column != opt.dst_column,
                 "source and destination columns must be two different non-negative indices");
  if (opt.num_nodes >= 0) csr_builder::expect_nodes_fit(opt.num_nodes, "--num-nodes");
  dataset_writer w(out_dir, overwrite, {path});
  csr_builder builder(w.path(".edges.spill"),
                      csr_build_options{opt.undirected, opt.remove_self_loops, opt.remove_duplicates});
  edgelist_report rep;
  text_reader in(path);
  std::vector<std::string_view> fields;
  std::vector<std::int64_t> ids;
  std::int64_t compact_at = 1 << 24;
  std::int64_t min_id = std::numeric_limits<std::int64_t>::max(), max_id = -1;
  char delim = opt.delimiter;
  std::size_t ncols = 0;
  bool first_data = true;
  const int need = std::max(opt.src_column, opt.dst_column) + 1;
  // Matrix Market (see the top of this file): the banner's symmetry, the size line's dimension and
  // entry count.
  bool mm = false, mm_size_pending = false, mm_symmetric = false, seen_text = false;
  std::int64_t mm_dim = 0, mm_rows = 0, mm_cols = 0, mm_nnz = -1;
  progress prog("reading " + std::filesystem::path(path).filename().string(), 0, "lines");
  std::string_view line;
  while (in.next(&line)) {
    ++rep.lines;
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;  // blank
    // The banner: the first line that is not blank, in any case ("%%matrixmarket" is seen too).
    std::string banner;
    if (!seen_text) {
      banner = std::string(line.substr(first));
      for (auto& c : banner) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const bool first_text = !seen_text;
    seen_text = true;
    if (first_text && banner.rfind("%%matrixmarket", 0) == 0) {
      if (banner.find(" array") != std::string::npos)
        throw input_error(at_input(path, 1,
                                   "is a Matrix Market dense array, not a coordinate (edge) list: write the matrix "
                                   "in coordinate format"));
      mm = mm_size_pending = true;
      mm_symmetric = banner.find("symmetric") != std::string::npos || banner.find("hermitian") != std::string::npos;
      continue;
    }
    if (line[first] == '#' || line[first] == '%') continue;  // SNAP / Matrix Market comments
    if (mm_size_pending) {
      mm_size_pending = false;
      std::vector<std::string_view> size_fields;
      std::int64_t rows = 0, cols = 0;
      if (split_fields(line, ' ', &size_fields) != 3 || !parse_int64(size_fields[0], &rows) ||
          !parse_int64(size_fields[1], &cols) || !parse_int64(size_fields[2], &mm_nnz) || rows < 0 || cols < 0 ||
          mm_nnz < 0)
        throw input_error(at_input(path, in.line_number(),
                                   "is not a Matrix Market size line 'rows columns entries' (the banner on line 1 "
                                   "says one comes first)"));
      mm_dim = std::max(rows, cols);
      mm_rows = rows;
      mm_cols = cols;
      csr_builder::expect_nodes_fit(mm_dim, path + ": the Matrix Market size line");
      if (rows != cols)
        log_warn(path, ":", in.line_number(), ": a rectangular matrix (", rows, " x ", cols,
                 "): row i and column i are read as the same node i");
      // (With --remap always the ids are numbered densely: the matrix's size does not count nodes.)
      if (opt.remap != edgelist_options::remap_mode::always && opt.num_nodes >= 0 && opt.num_nodes < mm_dim)
        throw input_error(at_input(path, in.line_number(),
                                   "--num-nodes " + std::to_string(opt.num_nodes) + " is smaller than the " +
                                       std::to_string(rows) + " x " + std::to_string(cols) + " matrix"));
      log_info(path, ":", in.line_number(), ": Matrix Market size line (", rows, " x ", cols, ", ", mm_nnz,
               " entries); ids 1-based");
      continue;
    }
    if (!delim) delim = detect_delimiter(line);
    const std::size_t nf = split_fields(line, delim, &fields);
    std::int64_t u, v;
    const bool numeric = nf >= static_cast<std::size_t>(need) && parse_id(fields[opt.src_column], &u) &&
                         parse_id(fields[opt.dst_column], &v);
    if (first_data) {
      first_data = false;
      ncols = nf;
      // Detected header: a first line whose id columns hold words ("src dst", "FromNodeId"), not one
      // whose ids merely fail to parse (1.5, 1e3, 0x1, an overflow): that is an error below.
      auto looks_numeric = [](std::string_view f) {
        std::size_t i = f.find_first_not_of(" \t\"'");
        if (i != std::string_view::npos && (f[i] == '-' || f[i] == '+')) ++i;
        return i < f.size() && (std::isdigit(static_cast<unsigned char>(f[i])) || f[i] == '.');
      };
      // A line too short for the id columns is a header only if it holds words: "0 1" with --src-col 5
      // is data that lacks the column, an error below (it was skipped, and the file "held no edges").
      // A word is a field that is not a number; an empty field ("0\t\t1") is a missing id, an error
      // below, not a header.
      auto is_word = [&](std::string_view f) { return !f.empty() && !looks_numeric(f); };
      bool words = false;
      if (nf < static_cast<std::size_t>(need)) {
        for (std::size_t i = 0; i < nf; ++i) words = words || is_word(fields[i]);
      } else {
        words = is_word(fields[opt.src_column]) || is_word(fields[opt.dst_column]);
      }
      const bool header = !mm && (opt.header == edgelist_options::header_mode::yes ||
                                  (opt.header == edgelist_options::header_mode::detect && !numeric && words));
      if (header) {
        log_info(path, ":", in.line_number(), ": skipped as a header line: ", std::string(line.substr(0, 120)));
        continue;
      }
    }
    if (nf != ncols)
      throw input_error(
          at_input(path, in.line_number(),
                   "has " + count_text(static_cast<long long>(nf), "column") + ", but earlier lines have " +
                       std::to_string(ncols) +
                       // A tab on the first line made tab the separator; later lines with spaces then split
                       // into one field. --delimiter space splits on any run of spaces and tabs.
                       (opt.delimiter == 0 && delim == '\t' && nf < ncols && line.find(' ') != std::string_view::npos
                            ? " (the first line set the separator to a tab; "
                              "--delimiter space accepts tabs and spaces mixed)"
                            : "")));
    if (nf < static_cast<std::size_t>(need))
      throw input_error(at_input(path, in.line_number(),
                                 "has " + std::to_string(nf) + " column(s); need at least " + std::to_string(need) +
                                     " (source in column " + std::to_string(opt.src_column) +
                                     ", destination in column " + std::to_string(opt.dst_column) +
                                     ", counted from 0: --src-col, --dst-col)"));
    if (!numeric) {
      const std::string_view bad =
          parse_id(fields[opt.src_column], &u) ? fields[opt.dst_column] : fields[opt.src_column];
      throw input_error(at_input(path, in.line_number(), not_an_id(bad)));
    }
    if (mm) {
      // Rows against M and columns against N where the columns are the file's (row, column) pair.
      const bool rc = opt.src_column == 0 && opt.dst_column == 1;
      auto check = [&](std::int64_t x, std::int64_t limit, const char* what) {
        if (x < 1 || x > limit)
          throw input_error(at_input(path, in.line_number(),
                                     std::string(what) + " " + std::to_string(x) + " is outside the matrix's 1.." +
                                         std::to_string(limit) + " (Matrix Market ids are 1-based)"));
      };
      check(u, rc ? mm_rows : mm_dim, rc ? "row" : "entry id");
      check(v, rc ? mm_cols : mm_dim, rc ? "column" : "entry id");
      --u;
      --v;
    }
    if (opt.remap == edgelist_options::remap_mode::never) {
      for (std::int64_t x : {u, v}) {
        if (x < 0)
          throw input_error(
              at_input(path, in.line_number(),
                       "negative node id " + std::to_string(x) + " (use --remap to map arbitrary ids densely)"));
        if (opt.num_nodes >= 0 && x >= opt.num_nodes)
          throw input_error(at_input(path, in.line_number(),
                                     "node id " + std::to_string(x) + " is outside [0, " +
                                         std::to_string(opt.num_nodes) + ") given by --num-nodes"));
      }
    }
    builder.add(u, v);
    ++rep.edges_read;
    min_id = std::min({min_id, u, v});
    max_id = std::max({max_id, u, v});
    if (opt.remap == edgelist_options::remap_mode::always ||
        (opt.remap == edgelist_options::remap_mode::detect && !mm)) {
      ids.push_back(u);
      ids.push_back(v);
      if (static_cast<std::int64_t>(ids.size()) >= compact_at) {
        compact_ids(&ids);
        compact_at = std::max<std::int64_t>(compact_at, 2 * static_cast<std::int64_t>(ids.size()));
      }
    }
    if ((rep.edges_read & 0xFFFFF) == 0) prog.add(0x100000);
  }
  prog.finish();
  if (rep.edges_read == 0) throw input_error(at_input(path, "contains no edges"));
  if (mm && rep.edges_read != mm_nnz)
    log_warn(path, ": the Matrix Market size line announces ", mm_nnz, " entries; ", rep.edges_read, " were read");
  if (mm && mm_symmetric && !opt.undirected)
    log_warn(path, ": a symmetric Matrix Market file stores one triangle: pass --undirected to store both directions");
  // Matrix Market: the node count is the matrix's (isolated nodes included), ids kept (as id - 1).
  const bool mm_keep = mm && opt.remap != edgelist_options::remap_mode::always;
  const std::int64_t want_nodes = mm_keep ? std::max(opt.num_nodes, mm_dim) : opt.num_nodes;

  std::int64_t n;
  bool remap = false;
  if (opt.remap != edgelist_options::remap_mode::never && !mm_keep) {
    compact_ids(&ids);
    // (size - 1, not max_id + 1: an id of 2^63 - 1 would overflow; R11-F1)
    const bool dense = min_id >= 0 && static_cast<std::int64_t>(ids.size()) - 1 == max_id;
    remap = opt.remap == edgelist_options::remap_mode::always || !dense;
  }
  if (remap) {
    n = static_cast<std::int64_t>(ids.size());
    if (opt.num_nodes >= 0 && opt.num_nodes != n)
      throw input_error(at_input(path, "--num-nodes " + std::to_string(opt.num_nodes) + " conflicts with the " +
                                           std::to_string(n) + " distinct ids that are remapped densely"));
    w.put("node_ids.npy", ids);
    builder.set_id_map(std::move(ids));
  } else {
    ids.clear();
    ids.shrink_to_fit();
    // The ids are kept: --num-nodes must hold them (it only adds isolated nodes after the largest).
    if (want_nodes >= 0 && max_id >= want_nodes)
      throw input_error(at_input(path, "node id " + std::to_string(max_id) + " is outside [0, " +
                                           std::to_string(want_nodes) + ") given by --num-nodes"));
    if (max_id == std::numeric_limits<std::int64_t>::max())  // no node count can hold it (R11-F1)
      throw input_error(at_input(path, "its largest node id is " + std::to_string(max_id) +
                                           ", which leaves no room for a node count (ids must be below 2^63 - 1; "
                                           "use --remap to number sparse ids densely)"));
    n = std::max(max_id + 1, want_nodes);
  }
  if (!remap && n > want_nodes) {
    try {
      csr_builder::expect_nodes_fit(n, path);
    } catch (const input_error& e) {
      throw input_error(std::string(e.what()) + ": its largest node id is " + std::to_string(max_id) +
                        " (use --remap to number sparse ids densely)");
    }
  }
  const csr_build_stats st = builder.build(w, n, path);
  rep.self_loops_removed = st.self_loops_removed;
  rep.duplicates_removed = st.duplicates_removed;
  rep.num_nodes = n;
  rep.num_arcs = st.edges;
  rep.remapped = remap;
  auto& m = w.meta();
  m.name = opt.name.empty() ? std::filesystem::path(path).stem().stem().string() : opt.name;
  m.source = {{"importer", "edgelist"},
              {"path", std::filesystem::absolute(path).string()},
              {"undirected", opt.undirected},
              {"self_loops", opt.remove_self_loops ? "drop" : "keep"},
              {"duplicates", opt.remove_duplicates ? "drop" : "keep"},
              {"remapped", remap},
              {"matrix_market", mm},
              {"lines", rep.lines},
              {"edges_read", rep.edges_read},
              {"self_loops_removed", st.self_loops_removed},
              {"duplicates_removed", st.duplicates_removed}};
  w.commit();
  return rep;
}

}  // namespace tg
