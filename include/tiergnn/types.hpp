#pragma once
// tiergnn embedding API: value types shared by the other headers. Everything in <tiergnn/...>
// depends on the C++17 standard library only, so a program that embeds tiergnn needs no other
// include path (oneTBB, zlib and JSON stay inside libtiergnn).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "tiergnn/export.hpp"
#include "tiergnn/version.hpp"

namespace tiergnn {

// Version of the library (TIERGNN_VERSION is that of these headers).
TIERGNN_API std::string version();

// Every failure is a tiergnn::error; code() says what went wrong, what() says what and where
// (the file, the value, the limit) in words meant for users.
class TIERGNN_API error : public std::runtime_error {
 public:
  enum class kind {
    input,        // bad argument or input file (ids out of range, unknown estimator, malformed data)
    budget,       // a memory budget cannot be met; the message says by how much
    io,           // an operating-system call failed (open, read, rename, ...)
    interrupted,  // work stopped on request
    internal,     // a bug inside tiergnn
    device        // the GPU or its runtime failed or is missing (no device, a CUDA call failed)
  };
  error(kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
  kind code() const { return kind_; }

 private:
  kind kind_;
};

// Element types of the arrays tiergnn hands out.
enum class dtype { int32, int64, float16, float32, float64, uint8 };
TIERGNN_API std::size_t dtype_size(dtype t);
TIERGNN_API const char* dtype_name(dtype t);  // "int32", "float16", ...

// A non-owning view of a C-contiguous array. `data` stays valid while the object that returned
// the view (a Dataset, a FeatureStore) is alive.
struct array_view {
  const void* data = nullptr;
  dtype type = dtype::int64;
  std::vector<std::int64_t> shape;  // empty when there is no such array
  bool writable = false;            // false: read-only memory (a mapped file); do not write

  bool empty() const { return shape.empty(); }
  std::int64_t size() const {
    std::int64_t n = shape.empty() ? 0 : 1;
    for (auto s : shape) n *= s;
    return n;
  }
  std::size_t bytes() const { return static_cast<std::size_t>(size()) * dtype_size(type); }
  template <typename T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
};

// Rows and bytes one or more feature gathers took from each tier (DESIGN.md §4), next to what a
// store with no GPU tier would move: every requested row from host memory (a training batch's input
// nodes are distinct; an id requested twice in one gather is counted twice).
struct TIERGNN_API traffic {
  std::int64_t batches = 0;
  std::int64_t gpu_rows = 0, host_rows = 0, disk_rows = 0;
  std::int64_t peer_rows = 0;  // multi-GPU shared tier: rows read from a peer GPU (NVLink / PCIe P2P)
  std::int64_t row_bytes = 0;

  std::int64_t rows() const { return gpu_rows + peer_rows + host_rows + disk_rows; }
  std::int64_t peer_bytes() const { return peer_rows * row_bytes; }
  std::int64_t host_to_gpu_bytes() const { return (host_rows + disk_rows) * row_bytes; }
  std::int64_t disk_to_host_bytes() const { return disk_rows * row_bytes; }
  std::int64_t baseline_bytes() const { return rows() * row_bytes; }
  double gpu_hit_rate() const { return rows() ? static_cast<double>(gpu_rows) / static_cast<double>(rows()) : 0.0; }
  double reduction() const {
    return rows() ? 1.0 - static_cast<double>(host_to_gpu_bytes()) / static_cast<double>(baseline_bytes()) : 0.0;
  }
  traffic& operator+=(const traffic& o) {
    batches += o.batches;
    gpu_rows += o.gpu_rows;
    host_rows += o.host_rows;
    disk_rows += o.disk_rows;
    peer_rows += o.peer_rows;
    if (!row_bytes) row_bytes = o.row_bytes;
    return *this;
  }
  std::string summary() const;  // one line, as `tiergnn train` prints it
};

}  // namespace tiergnn
