// Generic .npz importer. Reads an archive written by np.savez / np.savez_compressed holding
//   edge_index   2 x E or E x 2, any integer dtype (2 x 2 is read as 2 x E)
//   node_feat    N x D numeric (optional; stored as float32)
//   node_label   N or N x 1, integer or float; negative / NaN = unlabelled (optional, or taken
//                from a second archive such as OGB's raw/node-label.npz)
//   splits       train_idx / valid_idx / test_idx (several spellings), or boolean masks
//                train_mask / val_mask / test_mask, 1-d or k x N (one row per split)
//   num_nodes    scalar, or OGB's num_nodes_list with a single entry (optional; both must agree)
// PyG's names are read too: x for node_feat, y for node_label (an archive holding both names of one
// array is refused). Keys that are none of these are listed in a warning (OGB's extras, edge_feat,
// node_year, num_edges_list, in a note): a typo such as node_feats would otherwise drop the features
// without a word.
// This is the layout datasets/planetoid_to_npz.py writes and the one of OGB's data.npz.
#include <algorithm>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/npz.hpp"
#include "datasets/import_labelled.hpp"
#include "datasets/labelled_arrays.hpp"

namespace tg {

namespace {

const char* const kIdxKeys[3][4] = {{"train_idx", "idx_train", "train_index", nullptr},
                                    {"valid_idx", "val_idx", "idx_val", "valid_index"},
                                    {"test_idx", "idx_test", "test_index", nullptr}};
const char* const kMaskKeys[3][4] = {{"train_mask", "train_masks", nullptr, nullptr},
                                     {"val_mask", "valid_mask", "val_masks", "valid_masks"},
                                     {"test_mask", "test_masks", nullptr, nullptr}};

}  // namespace

labelled_import_report labelled::import_npz_into(dataset_writer& w, const std::string& npz_path,
                                                 const npz_import_options& opt) {
  const npz_archive z(npz_path);
  std::optional<npz_archive> zl;
  if (!opt.labels_npz.empty()) zl.emplace(opt.labels_npz);

  nlohmann::json keys = nlohmann::json::object();
  const npy_array edges = z.get("edge_index");
  keys["edges"] = "edge_index";
  labelled::array_sources s;
  s.edges = &edges;
  s.edges_rows = labelled::edges_are_rows(edges);
  if (edges.ndim() == 2 && edges.shape()[0] == 2 && edges.shape()[1] == 2)
    log_warn(edges.name(),
             ": 2 x 2 could be two edges either way; read as 2 x E (row 0 the sources, row 1 the destinations, as "
             "PyG and OGB store it): an E x 2 array of two edges must be transposed");
  // Every key this importer reads; the rest are reported below.
  std::vector<std::string> used_keys{"edge_index"};
  // One array under either of two names (ours and PyG's); both present is a guess not to make.
  auto one_of = [&](const char* ours, const char* pyg, const char* what) -> const char* {
    if (z.contains(ours) && z.contains(pyg))
      throw input_error(
          at_input(z.path(), std::string("'") + ours + "' and '" + pyg + "' both hold the " + what + ": remove one"));
    return z.contains(ours) ? ours : z.contains(pyg) ? pyg : nullptr;
  };

  std::optional<npy_array> feat, label, count;
  if (const char* k = one_of("node_feat", "x", "features")) {
    feat = z.get(k);
    s.features = &*feat;
    keys["features"] = k;
    used_keys.push_back(k);
  }
  const char* label_key = nullptr;
  if (zl) {
    label = zl->get("node_label");
    keys["labels"] = labelled::absolute_path(opt.labels_npz) + "[node_label]";
    for (const char* k : {"node_label", "y"})
      if (z.contains(k)) {
        log_warn(z.path(), ": its '", k, "' is not used: the labels come from --labels ", opt.labels_npz);
        used_keys.push_back(k);
      }
  } else if ((label_key = one_of("node_label", "y", "labels")) != nullptr) {
    label = z.get(label_key);
    keys["labels"] = label_key;
  }
  if (label_key) used_keys.push_back(label_key);
  if (label) s.labels = &*label;
  for (const char* k : {"num_nodes", "num_nodes_list"}) {
    if (!z.contains(k)) continue;
    count = z.get(k);
    used_keys.push_back(k);
    if (count->count() > 1)
      throw input_error(at_input(count->name(), "holds " + std::to_string(count->count()) +
                                                    " graphs; only single-graph datasets can be imported"));
    const std::int64_t n = labelled::scalar_int(*count);
    if (s.num_nodes >= 0 && n != s.num_nodes)
      throw input_error(at_input(z.path(), "num_nodes (" + std::to_string(s.num_nodes) + ") and num_nodes_list (" +
                                               std::to_string(n) + ") disagree: remove one"));
    if (s.num_nodes >= 0) continue;
    s.num_nodes = n;
    s.num_nodes_from = count->name();
    keys["num_nodes"] = k;
  }
  labelled::resolve_num_nodes(s);

  bool several_splits = false;  // a k x N (or N x k) mask: --split picks one of its rows
  for (int k = 0; k < 3; ++k) {
    // Every key that defines this split (ids or a mask); several must agree, or which one counts is a
    // guess the user did not make.
    const char* used = nullptr;
    for (const char* const* list : {kIdxKeys[k], kMaskKeys[k]})
      for (int i = 0; i < 4 && list[i]; ++i) {
        if (!z.contains(list[i])) continue;
        used_keys.push_back(list[i]);
        const bool is_mask = list == kMaskKeys[k];
        const npy_array arr = z.get(list[i]);
        if (is_mask) several_splits = several_splits || (arr.ndim() == 2 && arr.shape()[0] > 1 && arr.shape()[1] > 1);
        auto ids = is_mask ? labelled::ids_from_mask(arr, opt.split, s.num_nodes) : labelled::ids_from_array(arr);
        if (!used) {
          s.splits[k] = std::move(ids);
          used = list[i];
          continue;
        }
        auto a = s.splits[k].ids, b = ids.ids;
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        if (a != b)
          throw input_error(at_input(z.path(), std::string("'") + used + "' and '" + list[i] + "' both define the " +
                                                   labelled::kSplitNames[k] + " split, differently (" +
                                                   std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                                                   " nodes): remove one"));
      }
    if (used) keys[labelled::kSplitNames[k]] = used;
  }
  if (opt.split > 0 && !several_splits)
    throw input_error(at_input(z.path(), "--split " + std::to_string(opt.split) +
                                             ": the archive has no k x N split masks to pick a row from (its "
                                             "splits, if any, are index arrays or one-row masks: split 0)"));
  // What was left out: a warning, unless it is one of OGB's documented extras.
  std::string unused, extras;
  for (const std::string& k : z.keys()) {
    if (std::find(used_keys.begin(), used_keys.end(), k) != used_keys.end()) continue;
    const bool ogb_extra = k == "edge_feat" || k == "node_year" || k == "num_edges_list" || k == "edge_reltype";
    std::string& to = ogb_extra ? extras : unused;
    to += (to.empty() ? "" : ", ") + k;
  }
  if (!unused.empty())
    log_warn(z.path(), ": not used (not a key this importer reads): ", unused,
             "; it reads edge_index, node_feat (or x), node_label (or y), num_nodes, and train_idx / valid_idx / "
             "test_idx or train_mask / val_mask / test_mask");
  if (!extras.empty()) log_info(z.path(), ": not used: ", extras);

  w.meta().source["keys"] = keys;
  csr_build_options g;
  g.symmetrize = opt.undirected;
  g.remove_self_loops = opt.remove_self_loops;
  return labelled::import_arrays(w, s, g);
}

labelled_import_report import_npz_arrays(const std::string& npz_path, const std::string& out_dir,
                                         const npz_import_options& opt) {
  dataset_writer w(out_dir, opt.overwrite, {npz_path, opt.labels_npz});
  auto& m = w.meta();
  m.name = opt.name.empty() ? labelled::file_stem(npz_path) : opt.name;
  m.source = {{"importer", "npz"},
              {"input", labelled::absolute_path(npz_path)},
              {"options",
               {{"undirected", opt.undirected},
                {"remove_self_loops", opt.remove_self_loops},
                {"split", opt.split},
                {"labels_npz", opt.labels_npz.empty() ? nlohmann::json(nullptr)
                                                      : nlohmann::json(labelled::absolute_path(opt.labels_npz))}}}};
  return labelled::import_npz_into(w, npz_path, opt);
}

}  // namespace tg
