// `tiergnn import npz | ogb | tolokers | facebook | planetoid`: labelled node-classification
// datasets with features and splits (datasets/import_labelled.hpp).
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "datasets/import_labelled.hpp"

namespace tg::cli {

namespace {

// Times the import, logs what the importer reports and prints the summary of the written dataset.
void run_import(const std::string& out, const std::function<labelled_import_report()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  const labelled_import_report r = f();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.num_classes > 0)
    log_info(r.labelled, " of ", r.num_nodes, " nodes labelled; split ", r.train, " train / ", r.valid, " valid / ",
             r.test, " test");
  print_written(out, secs);
}

void add_output(CLI::App& c, std::string* out, bool* force) {
  c.add_option("-o,--output", *out, "Output dataset directory")->required();
  add_force_flag(c, force);
}

void register_npz(CLI::App& import_cmd) {
  struct opts_t {
    std::string input, output, labels;
    npz_import_options o;
  };
  auto s = std::make_shared<opts_t>();
  CLI::App* c = import_cmd.add_subcommand(
      "npz",
      "Import a graph with features and labels from a NumPy .npz archive (np.savez or\n"
      "np.savez_compressed). Keys: edge_index (2 x E or E x 2, any integer dtype; required; 2 x 2 is\n"
      "read as 2 x E), node_feat or PyG's x (N x D), node_label or y (N or N x 1; negative or NaN =\n"
      "unlabelled), train_idx / valid_idx / test_idx (also val_idx, idx_train, ...) or boolean\n"
      "train_mask / val_mask / test_mask (N, or k x N with one row per split: --split), num_nodes or\n"
      "num_nodes_list (optional). Other keys are not used, and named (a warning; OGB's extras a note).\n"
      "OGB's raw/data.npz works as is (add --labels raw/node-label.npz).");
  c->add_option("input", s->input, "The .npz archive")->required()->check(CLI::ExistingFile);
  add_output(*c, &s->output, &s->o.overwrite);
  c->add_option("--labels", s->labels, "A second .npz holding node_label (e.g. OGB raw/node-label.npz)")
      ->check(CLI::ExistingFile);
  c->add_flag("--undirected", s->o.undirected, "Treat edges as undirected: store both directions");
  c->add_flag("--drop-self-loops", s->o.remove_self_loops, "Remove self-loops (u u)");
  c->add_option("--split", s->o.split, "Which row of k x N split masks to use")
      ->capture_default_str()
      ->check(non_negative());
  c->add_option("--name", s->o.name, "Dataset name (default: the archive's file name)");
  c->callback([s] {
    s->o.labels_npz = s->labels;
    run_import(s->output, [&] { return import_npz_arrays(s->input, s->output, s->o); });
  });
}

void register_ogb(CLI::App& import_cmd) {
  struct opts_t {
    std::string input, output;
    ogb_import_options o;
  };
  auto s = std::make_shared<opts_t>();
  CLI::App* c = import_cmd.add_subcommand(
      "ogb",
      "Import an OGB node-property dataset folder as the ogb package downloads it (e.g.\n"
      "dataset/ogbn_arxiv): raw/edge.csv.gz, raw/num-node-list.csv.gz, raw/num-edge-list.csv.gz,\n"
      "raw/node-feat.csv.gz, raw/node-label.csv.gz (\"nan\" = unlabelled), or raw/data.npz with\n"
      "raw/node-label.npz (ogbn-papers100M), and split/<scheme>/{train,valid,test}.csv.gz.\n"
      "OGB lists each edge once; ogbn models use the graph undirected, so pass --undirected.");
  c->add_option("input", s->input, "The dataset root (the folder holding raw/ and split/)")
      ->required()
      ->check(CLI::ExistingDirectory);
  add_output(*c, &s->output, &s->o.overwrite);
  c->add_flag("--undirected", s->o.undirected, "Store every edge in both directions (as ogbn models use it)");
  c->add_flag("--drop-self-loops", s->o.remove_self_loops, "Remove self-loops (u u)");
  c->add_option("--split-scheme", s->o.split_scheme,
                "Folder under split/ to use (default: the only one present; none: no splits)");
  c->add_option("--name", s->o.name, "Dataset name (default: the folder name)");
  c->callback([s] { run_import(s->output, [&] { return import_ogb(s->input, s->output, s->o); }); });
}

void register_tolokers(CLI::App& import_cmd) {
  struct opts_t {
    std::string input, output;
    tolokers_import_options o;
  };
  auto s = std::make_shared<opts_t>();
  CLI::App* c = import_cmd.add_subcommand(
      "tolokers",
      "Import Tolokers from the heterophilous-graphs benchmark (tolokers.npz: node_features,\n"
      "node_labels, edges listed once, train/val/test masks for 10 official splits). The graph\n"
      "is stored undirected; the split used is recorded in meta.json.");
  c->add_option("input", s->input, "tolokers.npz")->required()->check(CLI::ExistingFile);
  add_output(*c, &s->output, &s->o.overwrite);
  c->add_option("--split", s->o.split, "Official split to use (0-9)")->capture_default_str()->check(CLI::Range(0, 9));
  c->add_option("--name", s->o.name, "Dataset name")->capture_default_str();
  c->callback([s] { run_import(s->output, [&] { return import_tolokers(s->input, s->output, s->o); }); });
}

void register_facebook(CLI::App& import_cmd) {
  struct opts_t {
    std::string input, output, encoding = "projection";
    facebook_import_options o;
  };
  auto s = std::make_shared<opts_t>();
  CLI::App* c = import_cmd.add_subcommand(
      "facebook",
      "Import MUSAE Facebook page-page (facebook_edges.csv, facebook_features.json,\n"
      "facebook_target.csv in one folder). Labels: page_type, numbered in sorted order. The graph\n"
      "is stored undirected. Features: by default a seeded sparse random projection of the 4,714\n"
      "multi-hot feature ids to 128 columns (dot products preserved in expectation); --encoding\n"
      "multihot writes the dense 0/1 vectors (~424 MB). No official split exists: a seeded random\n"
      "split per class (20% train, 20% valid, the rest test) is made and recorded in meta.json.");
  c->add_option("input", s->input, "Folder holding the three facebook_* files")
      ->required()
      ->check(CLI::ExistingDirectory);
  add_output(*c, &s->output, &s->o.overwrite);
  c->add_option("--encoding", s->encoding, "Feature encoding: projection or multihot")
      ->check(CLI::IsMember({"projection", "multihot"}))
      ->capture_default_str();
  c->add_option("--dim", s->o.projection_dim, "Columns of the random projection")
      ->capture_default_str()
      ->check(positive());
  c->add_flag("--keep-self-loops", s->o.keep_self_loops, "Keep the self-loops listed in the edge file");
  c->add_option("--train-fraction", s->o.train_fraction, "Share of each class in train")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--valid-fraction", s->o.valid_fraction, "Share of each class in valid")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--seed", s->o.seed, "Seed of the split and the projection")->capture_default_str();
  c->add_option("--name", s->o.name, "Dataset name")->capture_default_str();
  c->callback([s] {
    s->o.encoding = s->encoding == "multihot" ? facebook_encoding::multihot : facebook_encoding::projection;
    run_import(s->output, [&] { return import_facebook(s->input, s->output, s->o); });
  });
}

void register_planetoid(CLI::App& import_cmd) {
  struct opts_t {
    std::string input, name, output;
    planetoid_import_options o;
  };
  auto s = std::make_shared<opts_t>();
  CLI::App* c = import_cmd.add_subcommand(
      "planetoid",
      "Import a Planetoid dataset (Cora, CiteSeer; the ind.<name>.* pickles of "
      "kimiyoung/planetoid)\n"
      "with the public GCN split: 20 labelled nodes per class for training, 500 for validation,\n"
      "1000 for test. The pickles are converted by Python (needs python3 with numpy and scipy);\n"
      "the graph is stored undirected without self-loops. CiteSeer's 15 isolated test-range nodes\n"
      "get zero features and no label, as in GCN.");
  c->add_option("input", s->input, "Folder holding ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}")
      ->required()
      ->check(CLI::ExistingDirectory);
  c->add_option("--dataset", s->name,
                "Dataset name in the file names: cora, citeseer or pubmed (default: the folder name)");
  add_output(*c, &s->output, &s->o.overwrite);
  c->add_flag("--keep-self-loops", s->o.keep_self_loops, "Keep self-loops listed in the adjacency");
  c->add_flag(
      "--raw-features", [s](std::int64_t) { s->o.row_normalize = false; },
      "Keep the raw binary features (default: divide each row by its sum, as GCN does)");
  c->add_option("--python", s->o.python, "Python interpreter to run the converter")->capture_default_str();
  c->callback([s] {
    if (s->name.empty()) {
      std::filesystem::path p = std::filesystem::path(s->input).lexically_normal();
      if (p.filename().empty()) p = p.parent_path();
      s->name = p.filename().string();
    }
    run_import(s->output, [&] { return import_planetoid(s->input, s->name, s->output, s->o); });
  });
}

}  // namespace

void register_import_labelled(CLI::App& import_cmd) {
  register_npz(import_cmd);
  register_ogb(import_cmd);
  register_tolokers(import_cmd);
  register_facebook(import_cmd);
  register_planetoid(import_cmd);
}

}  // namespace tg::cli
