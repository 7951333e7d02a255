// Tolokers importer (yandex-research/heterophilous-graphs, data/tolokers.npz; Platonov et al.,
// "A critical look at the evaluation of GNNs under heterophily", ICLR 2023). The archive holds
//   node_features  N x D float32 (D = 10)      node_labels  N (int64, two classes)
//   edges          E x 2 int64, undirected, each edge listed once
//   train_masks / val_masks / test_masks   10 x N bool: the ten official splits
// The graph is stored symmetrised; the split chosen (default 0) is recorded in meta source.
#include "core/error.hpp"
#include "core/npz.hpp"
#include "datasets/import_labelled.hpp"
#include "datasets/labelled_arrays.hpp"

namespace tg {

labelled_import_report import_tolokers(const std::string& npz_path, const std::string& out_dir,
                                       const tolokers_import_options& opt) {
  const npz_archive z(npz_path);
  const npy_array feat = z.get("node_features");
  const npy_array label = z.get("node_labels");
  const npy_array edges = z.get("edges");
  if (edges.ndim() != 2 || edges.shape()[1] != 2)
    throw input_error(at_input(edges.name(), "expected E x 2 edge pairs"));
  const npy_array masks[3] = {z.get("train_masks"), z.get("val_masks"), z.get("test_masks")};

  labelled::array_sources s;
  s.edges = &edges;
  s.edges_rows = true;
  s.features = &feat;
  s.labels = &label;
  labelled::resolve_num_nodes(s);  // rows of node_features
  for (int k = 0; k < 3; ++k) {
    if (masks[k].ndim() != 2 || masks[k].shape()[1] != s.num_nodes)
      throw input_error(at_input(
          masks[k].name(), "expected one mask row of " + std::to_string(s.num_nodes) + " nodes per official split"));
    // One row per official split in each: mask arrays of different row counts are not one set of splits
    // (meta.json would record the train masks' count; R15-F7).
    if (masks[k].shape()[0] != masks[0].shape()[0])
      throw input_error(at_input(masks[k].name(), "holds " + std::to_string(masks[k].shape()[0]) +
                                                      " official splits, " + masks[0].name() + " " +
                                                      std::to_string(masks[0].shape()[0]) +
                                                      ": the three mask arrays must hold the same splits"));
    s.splits[k] = labelled::ids_from_mask(masks[k], opt.split, s.num_nodes);
  }

  dataset_writer w(out_dir, opt.overwrite, {npz_path});
  auto& m = w.meta();
  m.name = opt.name;
  m.source = {{"importer", "tolokers"},
              {"input", labelled::absolute_path(npz_path)},
              {"split", opt.split},
              {"num_official_splits", masks[0].shape()[0]},
              {"note", "edges listed once in the file; stored in both directions"}};
  csr_build_options g;
  g.symmetrize = true;
  return labelled::import_arrays(w, s, g);
}

}  // namespace tg
