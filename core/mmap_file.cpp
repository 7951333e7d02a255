#include "core/mmap_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "core/error.hpp"

namespace tg {

namespace {
// Live mappings for mapped_file_at: a slot is claimed by a compare-exchange on `begin` (0: free),
// filled, then published by `size`; cleared in the reverse order before the path is freed.
// The path is held in the slot (cut at kPathBytes - 1 bytes), never freed: a handler that reads it
// while another thread unmaps that file reads stale text at worst, not freed memory.
constexpr std::size_t kPathBytes = 512;
struct tracked_mapping {
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::size_t> size{0};
  std::atomic<bool> writable{false};
  char path[kPathBytes] = {};
};
tracked_mapping g_mappings[kMaxTrackedMappings];

void track(const std::uint8_t* data, std::size_t size, const std::string& path, bool writable) {
  if (data == nullptr) return;
  const auto at = reinterpret_cast<std::uintptr_t>(data);
  for (auto& m : g_mappings) {
    std::uintptr_t expected = 0;
    if (m.begin.load(std::memory_order_relaxed) != 0 || !m.begin.compare_exchange_strong(expected, at)) continue;
    const std::size_t n = std::min(path.size(), kPathBytes - 1);
    std::memcpy(m.path, path.data(), n);
    m.path[n] = '\0';
    m.writable.store(writable, std::memory_order_relaxed);
    m.size.store(size, std::memory_order_release);
    return;
  }
}

void untrack(const std::uint8_t* data) {
  if (data == nullptr) return;
  const auto at = reinterpret_cast<std::uintptr_t>(data);
  for (auto& m : g_mappings)
    if (m.begin.load(std::memory_order_acquire) == at) {
      m.size.store(0, std::memory_order_release);
      m.begin.store(0, std::memory_order_release);
      return;
    }
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

const char* mapped_file_at(const void* addr, bool* writable) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  for (auto& m : g_mappings) {
    const std::size_t size = m.size.load(std::memory_order_acquire);
    const std::uintptr_t begin = m.begin.load(std::memory_order_acquire);
    if (size == 0 || begin == 0 || a < begin || a - begin >= size) continue;
    if (writable != nullptr) *writable = m.writable.load(std::memory_order_relaxed);
    return m.path;
  }
  return nullptr;
}

mmap_file mmap_file::open(const std::string& path, mode m) {
  const bool rw = m == mode::read_write;
  // O_NONBLOCK: opening a FIFO waits for a writer, forever; it is refused below instead (R15-F7).
  fd_guard g{::open(path.c_str(), (rw ? O_RDWR : O_RDONLY) | O_NONBLOCK)};
  if (g.fd < 0) throw_errno("open", path);
  struct stat st {};
  if (::fstat(g.fd, &st) != 0) throw_errno("stat", path);
  if (!S_ISREG(st.st_mode)) throw input_error(at_input(path, "is not a regular file (it is read by mapping it)"));
  mmap_file f;
  f.path_ = path;
  f.size_ = static_cast<std::size_t>(st.st_size);
  f.writable_ = rw;
  f.device_ = static_cast<std::uint64_t>(st.st_dev);
  f.inode_ = static_cast<std::uint64_t>(st.st_ino);
  f.mtime_ns_ = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (f.size_ > 0) {
    // Read-only files are mapped private and copy-on-write: tiergnn itself never writes to them
    // (its views are const, and the Python module flags them read-only), but an embedding
    // framework that ignores the read-only flag (a DLPack consumer such as torch) then changes its
    // own copy of a page instead of faulting, and never the file.
    void* p = rw ? ::mmap(nullptr, f.size_, PROT_READ | PROT_WRITE, MAP_SHARED, g.fd, 0)
                 : ::mmap(nullptr, f.size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, g.fd, 0);
    if (p == MAP_FAILED) throw_errno("mmap", path);
    f.data_ = static_cast<std::uint8_t*>(p);
    track(f.data_, f.size_, path, rw);
  }
  return f;
}

mmap_file mmap_file::create(const std::string& path, std::size_t bytes) {
  fd_guard g{::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644)};
  if (g.fd < 0) throw_errno("create", path);
  if (::ftruncate(g.fd, static_cast<off_t>(bytes)) != 0) throw_errno("resize", path);
  mmap_file f;
  f.path_ = path;
  f.size_ = bytes;
  f.writable_ = true;
  if (bytes > 0) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, g.fd, 0);
    if (p == MAP_FAILED) throw_errno("mmap", path);
    f.data_ = static_cast<std::uint8_t*>(p);
    track(f.data_, f.size_, path, true);
  }
  return f;
}

mmap_file::mmap_file(mmap_file&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      path_(std::move(o.path_)),
      writable_(o.writable_),
      device_(o.device_),
      inode_(o.inode_),
      mtime_ns_(o.mtime_ns_) {}

mmap_file& mmap_file::operator=(mmap_file&& o) noexcept {
  if (this != &o) {
    close();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    path_ = std::move(o.path_);
    writable_ = o.writable_;
    device_ = o.device_;
    inode_ = o.inode_;
    mtime_ns_ = o.mtime_ns_;
  }
  return *this;
}

mmap_file::~mmap_file() {
  close();
}

void mmap_file::flush() {
  if (data_ && writable_ && ::msync(data_, size_, MS_SYNC) != 0) throw_errno("msync", path_);
}

void mmap_file::advise_sequential() const {
  if (data_) ::madvise(data_, size_, MADV_SEQUENTIAL);
}
void mmap_file::advise_random() const {
  if (data_) ::madvise(data_, size_, MADV_RANDOM);
}

void mmap_file::close() {
  untrack(data_);
  if (data_) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace tg
