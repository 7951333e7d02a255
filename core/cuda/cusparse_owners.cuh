#pragma once
// RAII owners of cuSPARSE generic-API descriptors: destroyed on every path out of a scope, so a
// failed cuSPARSE call (which throws) leaks nothing. Header-only
// (nvcc code that links cuSPARSE includes it); move-only.
#include <cuda_runtime.h>
#include <cusparse.h>

#include <utility>

namespace tg::gpu {

class sparse_matrix {
 public:
  sparse_matrix() = default;
  sparse_matrix(const sparse_matrix&) = delete;
  sparse_matrix& operator=(const sparse_matrix&) = delete;
  ~sparse_matrix() {
    if (h_) (void)cusparseDestroySpMat(h_);
  }
  cusparseSpMatDescr_t* out() { return &h_; }  // for cusparseCreateCsr
  cusparseSpMatDescr_t get() const { return h_; }

 private:
  cusparseSpMatDescr_t h_ = nullptr;
};

class dense_matrix {
 public:
  dense_matrix() = default;
  dense_matrix(const dense_matrix&) = delete;
  dense_matrix& operator=(const dense_matrix&) = delete;
  ~dense_matrix() {
    if (h_) (void)cusparseDestroyDnMat(h_);
  }
  cusparseDnMatDescr_t* out() { return &h_; }  // for cusparseCreateDnMat
  cusparseDnMatDescr_t get() const { return h_; }

 private:
  cusparseDnMatDescr_t h_ = nullptr;
};

}  // namespace tg::gpu
