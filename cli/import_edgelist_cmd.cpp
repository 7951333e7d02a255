#include <chrono>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "datasets/import_edgelist.hpp"

namespace tg::cli {

void register_import_edgelist(CLI::App& import_cmd) {
  struct opts_t {
    std::string input, output, delimiter = "auto", header = "auto", self_loops = "keep", duplicates = "drop",
                               remap = "auto", name;
    bool undirected = false, force = false;
    int src_col = 0, dst_col = 1;
    std::int64_t num_nodes = -1;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c = import_cmd.add_subcommand(
      "edgelist",
      "Import an edge list: SNAP .txt/.txt.gz with '#' comments, TSV or CSV with or without a header,\n"
      "plain or gzip-compressed. One edge 'src dst' per line (extra columns are allowed if every line\n"
      "has the same number). Matrix Market coordinate files (.mtx: banner, size line, 1-based ids) too.\n"
      "Streams: files larger than memory import with memory proportional to the number of nodes.");
  c->add_option("input", o->input, "Edge-list file (.txt, .tsv, .csv, .mtx, optionally .gz)")->required();
  c->add_option("-o,--output", o->output, "Output dataset directory")->required();
  c->add_flag("--undirected", o->undirected, "Treat edges as undirected: store both directions");
  c->add_option("--self-loops", o->self_loops, "Self-loops (u u): keep or drop")
      ->check(CLI::IsMember({"keep", "drop"}))
      ->capture_default_str();
  c->add_option("--duplicates", o->duplicates, "Repeated edges: keep or drop")
      ->check(CLI::IsMember({"keep", "drop"}))
      ->capture_default_str();
  c->add_option("--remap", o->remap,
                "Node ids: auto (keep ids that are already 0..N-1, else remap densely in increasing\n"
                "order and save node_ids.npy), always, never (ids must be >= 0; N = max id + 1)")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  c->add_option("--num-nodes", o->num_nodes,
                "Node count (adds isolated nodes after the largest id; with --remap never)")
      ->check(positive());
  c->add_option("--delimiter", o->delimiter, "Field separator: auto, tab, comma, space, semicolon")
      ->check(CLI::IsMember({"auto", "tab", "comma", "space", "semicolon"}))
      ->capture_default_str();
  c->add_option("--header", o->header, "First data line is a header: auto (if an id column holds a word), yes, no")
      ->check(CLI::IsMember({"auto", "yes", "no"}))
      ->capture_default_str();
  c->add_option("--src-col", o->src_col, "Column of the source id (0-based)")->capture_default_str();
  c->add_option("--dst-col", o->dst_col, "Column of the destination id (0-based)")->capture_default_str();
  c->add_option("--name", o->name, "Dataset name (default: the file name)");
  add_force_flag(*c, &o->force);
  c->callback([o] {
    edgelist_options eo;
    eo.undirected = o->undirected;
    eo.remove_self_loops = o->self_loops == "drop";
    eo.remove_duplicates = o->duplicates == "drop";
    eo.remap = o->remap == "auto"     ? edgelist_options::remap_mode::detect
               : o->remap == "always" ? edgelist_options::remap_mode::always
                                      : edgelist_options::remap_mode::never;
    eo.header = o->header == "auto"  ? edgelist_options::header_mode::detect
                : o->header == "yes" ? edgelist_options::header_mode::yes
                                     : edgelist_options::header_mode::no;
    eo.delimiter = o->delimiter == "auto"    ? 0
                   : o->delimiter == "tab"   ? '\t'
                   : o->delimiter == "comma" ? ','
                   : o->delimiter == "space" ? ' '
                                             : ';';
    eo.src_column = o->src_col;
    eo.dst_column = o->dst_col;
    eo.num_nodes = o->num_nodes;
    eo.name = o->name;
    const auto t0 = std::chrono::steady_clock::now();
    const edgelist_report r = import_edgelist(o->input, o->output, eo, o->force);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log_info("read ", r.edges_read, " edges from ", r.lines, " lines; removed ", r.self_loops_removed,
             " self-loops and ", r.duplicates_removed, " duplicates",
             r.remapped ? "; ids remapped densely (node_ids.npy holds the original ids)" : "");
    print_written(o->output, secs);
  });
}

}  // namespace tg::cli
