#pragma once
// Sequential file streams that bypass the page cache (O_DIRECT) where the file system allows it.
//
// Why: the big files tiergnn writes and streams once (generated graphs and features, the CSR
// build's spill, prepare's renumbered copy) gain nothing from the page cache, and filling it is
// not free: on the 2-core virtual machine the project is measured on, a buffered 12 GiB write took
// 103 s (90 s of it kernel time, page-cache insertion and write-back) against 7.9 s with O_DIRECT,
// and a cold buffered read of 8 GiB 21 s against 4.5 s (bench/results/billion_cpu.md). Files that
// are read at random later (the CSR the sampler maps) are read back through mmap as before; only
// the streaming itself goes around the cache.
//
// stream_writer: appends through two 4 KiB-aligned buffers; a full buffer is written by a
// background thread while the caller fills the other. The last partial block is written without
// O_DIRECT (fcntl clears the flag), so files of any length come out exact. Where O_DIRECT is
// refused (tmpfs, some network file systems: open or the first write fails with EINVAL) or
// TIERGNN_DIRECT_IO=0 is set, the same code writes through the page cache.
//
// stream_reader: reads a file sequentially from an offset into a caller's buffer of any
// alignment, through an aligned staging buffer read ahead by a background thread.
//
// Errors (a full disk, an I/O error) throw io_error naming the file, on the caller's thread.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace tg {

// True unless TIERGNN_DIRECT_IO=0 (or "off"/"false"): streams may try O_DIRECT.
bool direct_io_enabled();

class stream_writer {
 public:
  static constexpr std::size_t kAlign = 4096;
  // Creates (truncates) `path`. `buffer_bytes` is rounded up to a multiple of kAlign. The writer
  // keeps the CRC-32 of the bytes from offset `crc_from` on (computed on the writer thread); with
  // crc_from = 0 finish() records it for file_crc32 (remember_file_crc32).
  explicit stream_writer(const std::string& path, std::size_t buffer_bytes = std::size_t{8} << 20,
                         std::uint64_t crc_from = 0);
  stream_writer(const stream_writer&) = delete;
  stream_writer& operator=(const stream_writer&) = delete;
  // Stops the writer thread and closes the file without reporting errors (an error path is under
  // way, or finish() already ran); the caller removes a half-written file as before.
  ~stream_writer();

  void write(const void* data, std::size_t bytes);
  // Bytes written so far (the file's length after finish()).
  std::uint64_t size() const { return offset_ + fill_; }
  // Whether the file is being written with O_DIRECT (false after a fallback).
  bool direct() const { return direct_; }
  // Writes what is buffered and closes; throws io_error on any failure, earlier ones included.
  void finish();
  // CRC-32 (zlib's) of the bytes from crc_from on; valid after finish().
  std::uint32_t crc32() const { return crc_; }

 private:
  struct aligned_free {
    void operator()(unsigned char* p) const;
  };
  using buffer = std::unique_ptr<unsigned char[], aligned_free>;
  void submit();     // hands the full current buffer to the writer thread
  void wait_idle();  // waits until no write is in flight; rethrows its failure
  int write_block(const unsigned char* p, std::size_t bytes, std::uint64_t at);  // any thread; errno
  void write_or_throw(const unsigned char* p, std::size_t bytes, std::uint64_t at);
  void clear_direct();

  std::string path_;
  int fd_ = -1;
  bool direct_ = false;
  std::size_t cap_ = 0;
  buffer cur_;
  std::size_t fill_ = 0;      // bytes in cur_
  std::uint64_t offset_ = 0;  // file offset of cur_[0]
  std::uint64_t crc_from_ = 0;
  std::uint32_t crc_ = 0;
  void update_crc(const unsigned char* p, std::size_t bytes, std::uint64_t at);

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool busy_ = false, stop_ = false;
  buffer job_;  // the buffer being written, or the idle one after it
  std::size_t job_bytes_ = 0;
  std::uint64_t job_at_ = 0;
  int error_ = 0;  // errno of a failed background write
};

// Checksums of files this process wrote (stream_writer, npy_writer), so that a dataset's commit
// need not read back what it just wrote. An entry holds only while the file keeps the size,
// modification time and inode it had when recorded; file_crc32 (core/dataset.hpp) consults it.
void remember_file_crc32(const std::string& path, std::uint32_t crc);
bool recall_file_crc32(const std::string& path, std::uint32_t& crc);

class stream_reader {
 public:
  // Opens `path` for reading from byte `offset` on. `buffer_bytes` is rounded up to kAlign.
  explicit stream_reader(const std::string& path, std::uint64_t offset = 0,
                         std::size_t buffer_bytes = std::size_t{8} << 20);
  stream_reader(const stream_reader&) = delete;
  stream_reader& operator=(const stream_reader&) = delete;
  ~stream_reader();
  // Reads up to `bytes` bytes; fewer only at the end of the file. Throws io_error on failure.
  std::size_t read(void* out, std::size_t bytes);
  // Reads exactly `bytes` bytes; a file that ends first is an input_error naming it.
  void read_exact(void* out, std::size_t bytes);

 private:
  struct aligned_free {
    void operator()(unsigned char* p) const;
  };
  using buffer = std::unique_ptr<unsigned char[], aligned_free>;
  void start_fetch();  // asks the thread to read the next block into spare_
  void take_fetch();   // waits for it and swaps it in as the current block
  int read_block(unsigned char* p, std::uint64_t at, std::size_t& got);  // any thread; errno

  std::string path_;
  int fd_ = -1;
  bool direct_ = false;
  std::size_t cap_ = 0;
  buffer cur_, spare_;
  std::size_t pos_ = 0, len_ = 0;  // unread bytes of cur_ are [pos_, len_)
  std::uint64_t next_ = 0;         // file offset of the next block to fetch
  bool eof_ = false;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false, done_ = false, stop_ = false;
  std::size_t got_ = 0;
  int error_ = 0;
};

}  // namespace tg
