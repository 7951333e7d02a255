#pragma once
// Edge-list importer: SNAP .txt/.txt.gz (with '#' comments), TSV/CSV with or without a header,
// plain or gzip. Streams: the text is parsed once into a spill file and the CSR is built with
// memory proportional to the node count, so a file larger than RAM still imports.
#include <cstdint>
#include <string>

namespace tg {

struct edgelist_options {
  char delimiter = 0;  // 0: detect (',' / '\t' / blanks) from the first data line
  enum class header_mode { detect, yes, no } header = header_mode::detect;
  int src_column = 0, dst_column = 1;
  bool undirected = false;         // symmetrise: store u -> v and v -> u
  bool remove_self_loops = false;  // --self-loops drop
  bool remove_duplicates = true;   // --duplicates drop
  enum class remap_mode { detect, always, never } remap = remap_mode::detect;
  std::int64_t num_nodes = -1;  // -1: from the ids; with remap never, may add isolated nodes
  std::string name;             // dataset name (default: the file's stem)
};

struct edgelist_report {
  std::int64_t lines = 0, edges_read = 0, self_loops_removed = 0, duplicates_removed = 0;
  std::int64_t num_nodes = 0, num_arcs = 0;
  bool remapped = false;
};

// Imports `path` into the dataset directory `out_dir` (written to a temporary sibling, validated,
// then renamed). Throws input_error naming the file and line on bad input; nothing is left behind.
edgelist_report import_edgelist(const std::string& path, const std::string& out_dir, const edgelist_options& opt,
                                bool overwrite);

}  // namespace tg
