#pragma once
// Memory-mapped files: read-only views of existing files and writable mappings of files created
// with a fixed size (used to fill arrays larger than RAM in place).
#include <cstddef>
#include <cstdint>
#include <string>

namespace tg {

class mmap_file {
 public:
  enum class mode { read_only, read_write };
  mmap_file() = default;
  // Maps an existing file. read_write maps it shared so that writes reach the file.
  static mmap_file open(const std::string& path, mode m = mode::read_only);
  // Creates (or truncates) a file of exactly `bytes` bytes and maps it read-write.
  static mmap_file create(const std::string& path, std::size_t bytes);

  mmap_file(const mmap_file&) = delete;
  mmap_file& operator=(const mmap_file&) = delete;
  mmap_file(mmap_file&& o) noexcept;
  mmap_file& operator=(mmap_file&& o) noexcept;
  ~mmap_file();

  const std::uint8_t* data() const { return data_; }
  std::uint8_t* mutable_data() { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  bool writable() const { return writable_; }
  // The file's identity when it was mapped (st_dev, st_ino, mtime in ns): to tell it was replaced.
  std::uint64_t device() const { return device_; }
  std::uint64_t inode() const { return inode_; }
  std::int64_t mtime_ns() const { return mtime_ns_; }
  // Writes dirty pages back (msync); called before a file is renamed into place.
  void flush();
  // Tells the kernel the mapping will be read sequentially / randomly.
  void advise_sequential() const;
  void advise_random() const;
  void close();

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::string path_;
  bool writable_ = false;
  std::uint64_t device_ = 0, inode_ = 0;
  std::int64_t mtime_ns_ = 0;
};

// For a SIGBUS handler (async-signal-safe: no locks, no allocation): the path of the mapping that
// holds `addr`, and whether it is writable; nullptr when no registered mapping does (at most
// kMaxTrackedMappings mappings are tracked at once; more are mapped untracked).
inline constexpr int kMaxTrackedMappings = 1024;
const char* mapped_file_at(const void* addr, bool* writable) noexcept;

}  // namespace tg
