#pragma once
// Importers for labelled, featured node-classification datasets. Each reads one published layout,
// streams it into a tiergnn dataset directory (DESIGN.md §6) under a temporary sibling, records
// provenance in meta.json "source", validates and renames into place. On bad input each throws
// one tg::input_error naming the file (and line or array) and the problem, and leaves no output.
//
//   import_npz_arrays  generic .npz: edge_index, node_feat, node_label, splits or masks
//   import_ogb         OGB node-property layout (raw/*.csv.gz or raw/data.npz, split/<scheme>/)
//   import_tolokers    heterophilous-graphs tolokers.npz (10 official splits)
//   import_facebook    MUSAE facebook page-page (edges CSV, features JSON, target CSV)
//   import_planetoid   Planetoid / GCN pickles (Cora, CiteSeer) via datasets/planetoid_to_npz.py
#include <cstdint>
#include <string>

#include "datasets/csr_builder.hpp"

namespace tg {

// What every importer reports back (also logged).
struct labelled_import_report {
  std::string dir;  // the final dataset directory
  std::int64_t num_nodes = 0;
  std::int64_t num_arcs = 0;  // stored CSR entries (an undirected edge counts twice)
  std::int64_t feature_dim = 0;
  std::int64_t num_classes = 0;
  std::int64_t labelled = 0;  // nodes with a label >= 0
  std::int64_t train = 0, valid = 0, test = 0;
  csr_build_stats graph;  // edges read, self-loops and duplicates removed
};

// --- Generic .npz --------------------------------------------------------------------------------
// Keys (any of the listed spellings; "edge_index" is required):
//   edge_index   2 x E or E x 2, any integer dtype (2 x 2 is read as 2 x E, the PyG/OGB way)
//   node_feat    N x D, any float (or integer/bool) dtype; written as float32 (float16 kept as float16)
//   node_label   N or N x 1, integer or float; negative or NaN means unlabelled (-1)
//   train_idx|valid_idx|test_idx (also val_idx, idx_train, idx_val, idx_test): node ids, or
//   train_mask|val_mask|valid_mask|test_mask (also *_masks): boolean, N or k x N (pick `split`)
//   num_nodes    scalar, or num_nodes_list with one entry (OGB's data.npz)
// The node count is num_nodes, else the rows of node_feat, else of node_label, else max id + 1.
struct npz_import_options {
  std::string name;         // dataset name (default: the archive's stem)
  std::string labels_npz;   // optional second archive holding node_label (OGB node-label.npz)
  bool undirected = false;  // symmetrise: store u -> v and v -> u
  bool remove_self_loops = false;
  int split = 0;  // row of 2-d masks to use
  bool overwrite = false;
};
labelled_import_report import_npz_arrays(const std::string& npz_path, const std::string& out_dir,
                                         const npz_import_options& opt);

// --- OGB node-property prediction ----------------------------------------------------------------
// dir/raw/edge.csv.gz ("src,dst" per line), raw/num-node-list.csv.gz, raw/num-edge-list.csv.gz,
// optional raw/node-feat.csv.gz (N lines of D floats) and raw/node-label.csv.gz (N lines; "nan"
// or empty = unlabelled), or instead raw/data.npz (edge_index, node_feat, num_nodes_list) with
// raw/node-label.npz (node_label); splits from dir/split/<scheme>/{train,valid,test}.csv.gz.
struct ogb_import_options {
  std::string name;          // default: the folder name
  std::string split_scheme;  // default: the only folder under split/ (none: no splits)
  bool undirected = false;   // OGB stores each edge once; ogbn models use them undirected
  bool remove_self_loops = false;
  bool overwrite = false;
};
labelled_import_report import_ogb(const std::string& dir, const std::string& out_dir, const ogb_import_options& opt);

// --- Tolokers (Platonov et al., "A critical look at the evaluation of GNNs under heterophily") ---
// node_features (N x D float32), node_labels (N), edges (E x 2, undirected, listed once),
// train_masks / val_masks / test_masks (10 x N bool). The graph is stored symmetrised.
struct tolokers_import_options {
  std::string name = "tolokers";
  int split = 0;  // which official split (0..9)
  bool overwrite = false;
};
labelled_import_report import_tolokers(const std::string& npz_path, const std::string& out_dir,
                                       const tolokers_import_options& opt);

// --- MUSAE Facebook page-page (Rozemberczki et al., "Multi-scale attributed node embedding") ----
// dir/facebook_edges.csv (header id_1,id_2; undirected, listed once), facebook_features.json
// ({"node": [feature ids]}), facebook_target.csv (id,facebook_id,page_name,page_type; RFC 4180
// quoting). Labels are the index of page_type among the sorted class names.
enum class facebook_encoding {
  projection,  // sparse random projection of the multi-hot vector (see import_facebook.cpp)
  multihot,    // the dense 0/1 vector over all feature ids (4,714 columns: ~424 MB)
};
struct facebook_import_options {
  std::string name = "facebook_page";
  facebook_encoding encoding = facebook_encoding::projection;
  std::int64_t projection_dim = 128;
  bool keep_self_loops = false;  // the file lists 179 self-loops; dropped by default
  double train_fraction = 0.2;   // per class; the rest after valid is test
  double valid_fraction = 0.2;
  std::uint64_t seed = 0;  // split shuffle and projection
  bool overwrite = false;
};
labelled_import_report import_facebook(const std::string& dir, const std::string& out_dir,
                                       const facebook_import_options& opt);

// --- Planetoid (Yang et al. 2016; splits as in Kipf & Welling's GCN) -----------------------------
// dir/ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}. The pickles are converted by
// datasets/planetoid_to_npz.py, compiled into the library (so no source tree is needed at run
// time) and run as `python3 -c <script>`, into a temporary .npz beside the output, which is then
// imported as by import_npz_arrays, undirected with self-loops removed.
struct planetoid_import_options {
  std::string python = "python3";  // interpreter (looked up on PATH); needs numpy and scipy
  bool keep_self_loops = false;    // CiteSeer's adjacency lists carry self-loops
  bool row_normalize = true;       // features divided by their row sums, as GCN's preprocessing
  bool overwrite = false;
};
labelled_import_report import_planetoid(const std::string& dir, const std::string& name, const std::string& out_dir,
                                        const planetoid_import_options& opt);

}  // namespace tg
