#pragma once
// Building blocks shared by the labelled-dataset importers (datasets/import_labelled.hpp): turning
// NumPy arrays into features / labels / splits with input errors that name the array, checking
// splits against the node count and labels before anything is written, and the common tail
// (labels, splits, commit, report). Internal to the datasets module.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/npy.hpp"
#include "datasets/csr_builder.hpp"
#include "datasets/import_labelled.hpp"

namespace tg::labelled {

// One split (train, valid or test) as read from an input, with where it came from for errors.
struct split_ids {
  bool present = false;
  std::vector<std::int64_t> ids;
  std::string from;  // "file" or "archive[key]"
};
using split_set = std::array<split_ids, 3>;  // train, valid, test
inline constexpr const char* kSplitNames[3] = {"train", "valid", "test"};
inline constexpr const char* kSplitFiles[3] = {"train_idx.npy", "valid_idx.npy", "test_idx.npy"};

// Absolute, normalised path for provenance.
std::string absolute_path(const std::string& p);
// File name without directory and without the extensions listed (".npz", ".csv.gz", ...).
std::string file_stem(const std::string& p);

// Integer value of a 0-d or one-element array (num_nodes); errors name the array.
std::int64_t scalar_int(const npy_array& a);
// Checks edge_index is 2-d with one dimension 2; true when it is E x 2 (pairs in rows).
bool edges_are_rows(const npy_array& e);
// Number of edges in an edge array of the given layout.
std::int64_t edge_count(const npy_array& e, bool rows);
// Largest endpoint (for inputs that do not state the node count); -1 when there are no edges.
std::int64_t max_endpoint(const npy_array& e);
// Adds every edge to the builder after checking both endpoints lie in [0, n).
void add_edges(csr_builder& b, const npy_array& e, bool rows, std::int64_t n);

// N or N x 1 labels, integer or float: negative or NaN -> -1; non-integral values are errors.
// `n_from` says where the node count came from ("node_feat rows"), for the error when they differ.
std::vector<std::int64_t> labels_from_array(const npy_array& a, std::int64_t n, const std::string& n_from = "");
// Streams an N x D array of any numeric dtype into features.npy (float32; float16 stays float16), rejecting
// non-finite values with their row and column. Returns D.
std::int64_t write_features(dataset_writer& w, const npy_array& a, std::int64_t n);
// Whether a wider value becomes 0 or a subnormal in float32 (below 1.2e-38 in magnitude, not 0), and
// the one warning an importer gives for `count` of them (`type`: "float64 " or ""; `first`: where
// the first was, "at row 3, column 2" or "on line 7").
inline bool below_float32(double x) {
  return x != 0.0 && std::fabs(x) < static_cast<double>(std::numeric_limits<float>::min());
}
void warn_below_float32(const std::string& input, std::int64_t count, const char* type, const std::string& first);

// Node-id split from a 1-d integer array.
split_ids ids_from_array(const npy_array& a);
// Node-id split from a boolean mask: 1-d of length n, or 2-d k x n / n x k (row or column `split`).
split_ids ids_from_mask(const npy_array& m, int split, std::int64_t n);

// Checks every present split: ids in [0, n), no repeats, disjoint, and labelled when labels are
// given. Throws input_error naming the split's source.
void check_splits(const split_set& s, std::int64_t n, const std::vector<std::int64_t>& labels);

// Writes labels.npy and sets meta num_classes (max label + 1); `from` names them in errors.
// Returns the number of labelled nodes. Throws when no node is labelled.
std::int64_t put_labels(dataset_writer& w, const std::vector<std::int64_t>& labels, const std::string& from);
// Writes the present splits (ids kept in input order).
void put_splits(dataset_writer& w, const split_set& s);

// Records graph statistics in meta source, commits (which validates) and fills the report.
labelled_import_report finish(dataset_writer& w, const csr_build_stats& st, std::int64_t labelled);

// What an archive-based importer has gathered; import_arrays does the rest.
struct array_sources {
  const npy_array* edges = nullptr;  // required
  bool edges_rows = false;           // E x 2 rather than 2 x E
  const npy_array* features = nullptr;
  const npy_array* labels = nullptr;
  std::int64_t num_nodes = -1;  // -1: from features, labels, or the largest id
  std::string num_nodes_from;   // names the stated count in errors
  split_set splits;
};
// Sets num_nodes (when not stated) from the features, else the labels, else the largest edge id.
void resolve_num_nodes(array_sources& s);
// Validates sizes and splits, writes features, graph, labels and splits, and commits.
labelled_import_report import_arrays(dataset_writer& w, const array_sources& s, const csr_build_options& graph_opt);

// Imports an archive in import_npz_arrays' layout into `w`, whose caller has set the meta name
// and source (the keys used are added to source); commits.
labelled_import_report import_npz_into(dataset_writer& w, const std::string& npz_path, const npz_import_options& opt);

}  // namespace tg::labelled
