#pragma once
// NumPy .npz archives (zip files of .npy members), as written by np.savez (stored) and
// np.savez_compressed (deflate), including zip64 archives for members over 4 GiB.
// Stored members are viewed in place through the archive's mmap (no copy, any size); deflated
// members are inflated into memory and their CRC-32 checked.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mmap_file.hpp"
#include "core/npy.hpp"

namespace tg {

class npz_archive {
 public:
  explicit npz_archive(const std::string& path);

  const std::string& path() const { return path_; }
  // Member names without the ".npy" suffix, in archive order.
  std::vector<std::string> keys() const;
  bool contains(const std::string& key) const;
  // Reads one member; throws input_error naming the archive and member when it is missing or corrupt.
  // A 2-d Fortran-order member (np.savez(a=x.T)) is read into row-major order.
  npy_array get(const std::string& key) const;

 private:
  struct entry {
    std::string name;  // as stored (with .npy)
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed = 0;
    std::uint64_t uncompressed = 0;
    std::uint64_t local_offset = 0;
  };
  const entry* find(const std::string& key) const;

  std::string path_;
  std::shared_ptr<mmap_file> file_;
  std::vector<entry> entries_;
};

}  // namespace tg
