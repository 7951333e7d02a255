// Generic .npz importer. Reads an archive written by np.savez / np.savez_compressed holding
//   edge_index   2 x E or E x 2, any integer dtype (2 x 2 is read as 2 x E)
//   node_feat    N x D numeric (optional; stored as float32)
//   node_label   N or N x 1, integer or float; negative / NaN = unlabelled (optional, or taken
//                from a second archive such as OGB's raw/node-label.npz)
//   splits       train_idx / valid_idx / test_idx (several spellings), or boolean masks
//                train_mask / val_mask / test_mask, 1-d or k x N (one row per split)
//   num_nodes    scalar, or OGB's num_nodes_list with a single entry (optional)
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

  std::optional<npy_array> feat, label, count;
  if (z.contains("node_feat")) {
    feat = z.get("node_feat");
    s.features = &*feat;
    keys["features"] = "node_feat";
  }
  if (zl) {
    label = zl->get("node_label");
    keys["labels"] = labelled::absolute_path(opt.labels_npz) + "[node_label]";
  } else if (z.contains("node_label")) {
    label = z.get("node_label");
    keys["labels"] = "node_label";
  }
  if (label) s.labels = &*label;
  for (const char* k : {"num_nodes", "num_nodes_list"}) {
    if (!z.contains(k)) continue;
    count = z.get(k);
    if (count->count() > 1)
      throw input_error(at_input(count->name(), "holds " + std::to_string(count->count()) +
                                                    " graphs; only single-graph datasets can be imported"));
    s.num_nodes = labelled::scalar_int(*count);
    s.num_nodes_from = count->name();
    keys["num_nodes"] = k;
    break;
  }
  labelled::resolve_num_nodes(s);

  for (int k = 0; k < 3; ++k) {
    // Every key that defines this split (ids or a mask); several must agree, or which one counts is a
    // guess the user did not make.
    const char* used = nullptr;
    for (const char* const* list : {kIdxKeys[k], kMaskKeys[k]})
      for (int i = 0; i < 4 && list[i]; ++i) {
        if (!z.contains(list[i])) continue;
        const bool is_mask = list == kMaskKeys[k];
        auto ids = is_mask ? labelled::ids_from_mask(z.get(list[i]), opt.split, s.num_nodes)
                           : labelled::ids_from_array(z.get(list[i]));
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
