#pragma once
// The dataset directory (DESIGN.md §6): meta.json beside NumPy arrays
//   indptr.npy (int64, N+1)   indices.npy (int32|int64, E; in-neighbours)
//   features.npy (float32|float16, N x D)   labels.npy (int32|int64, N; -1 = unlabelled)
//   train_idx.npy / valid_idx.npy / test_idx.npy (int64)   node_ids.npy (int64, N; original ids)
// Readers mmap every array. Writers build the directory under a temporary sibling and rename it
// into place only after it validates, so an interrupted or failed import leaves nothing behind.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/csr.hpp"
#include "core/dtype.hpp"
#include "core/npy.hpp"

namespace tg {

inline constexpr int kDatasetFormatVersion = 1;

struct array_info {
  dtype type = dtype::int64;
  std::vector<std::int64_t> shape;
  std::uint32_t crc32 = 0;
  std::uint64_t bytes = 0;  // file size
};

struct dataset_meta {
  int format_version = kDatasetFormatVersion;
  std::string name;
  std::int64_t num_nodes = 0;
  std::int64_t num_edges = 0;  // stored arcs (CSR entries); an undirected edge counts twice
  bool directed = true;
  dtype index_dtype = dtype::int32;
  // Stored self-loop arcs (a row listing its own node), counted by the writer that built the CSR;
  // -1: not recorded (datasets written before it was, or by another program). GCN's degrees skip
  // the self-loop lookup where it is 0 (sampler/self_loops.hpp).
  std::int64_t self_loops = -1;
  std::int64_t feature_dim = 0;  // 0: no features
  dtype feature_dtype = dtype::float32;
  // > 0: the features are not in features.npy but split across this many machines' shard files,
  // features.shard-M-of-K.npy, described by plan.json (`prepare --shards K`;
  // multigpu/sharded_store.hpp). A machine holds the common files and its own shard.
  int feature_shards = 0;
  std::int64_t num_classes = 0;  // 0: no labels
  dtype label_dtype = dtype::int64;
  std::map<std::string, array_info> arrays;          // file name -> what it holds
  nlohmann::json source = nlohmann::json::object();  // provenance: importer, inputs, options

  bool has_features() const { return feature_dim > 0; }
  bool has_labels() const { return num_classes > 0; }
  bool has_array(const std::string& file) const { return arrays.count(file) != 0; }

  nlohmann::json to_json() const;
  // Parses and checks required fields; `path` names the file in errors.
  static dataset_meta from_json(const nlohmann::json& j, const std::string& path);
};

// More classes than any labelled graph has (ogbn-papers100M: 172); a larger count is corruption.
inline constexpr std::int64_t kMaxClasses = std::int64_t{1} << 20;

// An opened dataset: meta plus mmapped arrays. Opening validates the structure before anything
// uses it, in O(N + E): every array listed in meta exists with the recorded dtype, shape and byte
// size; the CSR (indptr from 0, non-decreasing, ending at len(indices); every index in [0, N));
// labels in [-1, num_classes); splits in range, disjoint and labelled; order.npy a permutation.
// check() adds what costs more: file checksums and a scan of the features for non-finite values.
class dataset {
 public:
  static dataset open(const std::string& dir);
  struct open_options {
    // Validate an index array of 1 GiB or more by streaming its file instead of paging it in: for a
    // dataset just written (dataset_writer::commit), whose pages nothing reads next. A dataset about
    // to be trained or profiled is better paged in, since those read the pages again.
    bool stream_large_indices = false;
  };
  static dataset open(const std::string& dir, const open_options& opt);
  // The identity of the dataset in `dir` from its meta.json alone (no arrays opened); input_error
  // when there is no readable meta.json.
  static nlohmann::json identity_of(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const dataset_meta& meta() const { return meta_; }
  std::int64_t num_nodes() const { return meta_.num_nodes; }
  std::int64_t num_edges() const { return meta_.num_edges; }

  // Identity for checkpoints and plans: name, counts, and the CRC-32 of every array (from meta.json).
  nlohmann::json identity() const;

  const npy_array& indptr() const { return get("indptr.npy"); }
  const npy_array& indices() const { return get("indices.npy"); }
  bool has(const std::string& file) const { return arrays_.count(file) != 0; }
  const npy_array& get(const std::string& file) const;

  template <typename index_t>
  csr_view<index_t> graph() const {
    return {meta_.num_nodes, indptr().as<std::int64_t>(), indices().as<index_t>()};
  }

  struct check_options {
    bool checksums = true;  // CRC-32 of every file against meta.json
    bool values = true;     // features finite
    std::string shown_as;   // the directory's name in warnings (a writer checks its hidden temporary)
  };
  // What open() does not: (by the options) file checksums and finite features. Together with the
  // structural validation of open() this validates everything. Throws input_error naming the file
  // and the problem.
  void check(const check_options& opt) const;
  void check() const { check(check_options{}); }
  // Every mapped array's file is still as long as when it was mapped (stat by path). Reading a mapped
  // file that another program cut short faults (SIGBUS); long-lived users (the embedding API) call
  // this at the start of a call to get an io_error naming the file instead. Cheap: a stat per file.
  void verify_files() const;

 private:
  // CSR structure, ids and labels in range, splits (in range, no duplicates, disjoint, labelled),
  // order.npy a permutation, shapes, dtypes and sizes against meta (open() runs it, O(N + E)).
  void check_structure(bool stream_large_indices) const;
  std::string dir_;
  dataset_meta meta_;
  std::map<std::string, npy_array> arrays_;
};

// CRC-32 of a whole file (zlib), streamed from disk. For a file this process wrote through a
// stream_writer or npy_writer and that has not changed since (same size, modification time and
// inode), the checksum computed while writing it (core/stream_io.hpp, remember_file_crc32).
std::uint32_t file_crc32(const std::string& path);

// Builds a dataset directory under "<parent>/.<name>.tmp-<pid>-<n>" and renames it to `dir` on commit().
// If `dir` exists, the constructor refuses unless overwrite is set; with overwrite the old
// directory is replaced only after the new one is complete. The destructor removes an uncommitted
// temporary directory.
class dataset_writer {
 public:
  // overwrite: an existing `dir` may be replaced, but only when it is a tiergnn dataset directory,
  // and never when it is (or holds, or lies inside) one of `inputs`: the files or directories
  // the new dataset is made from. Both are checked here, before any work.
  explicit dataset_writer(std::string dir, bool overwrite = false, const std::vector<std::string>& inputs = {});
  dataset_writer(const dataset_writer&) = delete;
  dataset_writer& operator=(const dataset_writer&) = delete;
  ~dataset_writer();

  dataset_meta& meta() { return meta_; }
  const std::string& final_dir() const { return dir_; }
  // Path of a file inside the temporary directory (for streaming writers).
  std::string path(const std::string& file) const { return tmp_ + "/" + file; }
  // Writes a whole 1-d or 2-d array now.
  void put(const std::string& file, dtype t, const std::vector<std::int64_t>& shape, const void* data);
  template <typename T>
  void put(const std::string& file, const std::vector<T>& v) {
    put(file, dtype_of<T>(), {static_cast<std::int64_t>(v.size())}, v.data());
  }
  // Fails before anything is written when `bytes` (what the caller is about to write) exceed the
  // free space of the output's file system, naming both numbers and `what`.
  void expect_space(std::uint64_t bytes, const std::string& what) const;
  // Records the arrays written (by name) with their checksums, writes meta.json, runs the full
  // check and renames into place. Returns the final directory.
  std::string commit();

 private:
  std::string dir_, tmp_;
  bool overwrite_;
  bool committed_ = false;
  dataset_meta meta_;
};

// Creates `dir`'s temporary sibling name (used for single files too): "<parent>/.<base>.tmp-<pid>-<n>" (n: a number of
// this process).
std::string temp_sibling(const std::string& path);
// Removes a directory tree; ignores a missing path.
void remove_tree(const std::string& path);

}  // namespace tg
