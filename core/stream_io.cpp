// Sequential file streams around the page cache (core/stream_io.hpp).
#include "core/stream_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/error.hpp"

namespace tg {

bool direct_io_enabled() {
  const char* e = std::getenv("TIERGNN_DIRECT_IO");
  if (!e) return true;
  const std::string v(e);
  return !(v == "0" || v == "off" || v == "false" || v == "no");
}

namespace {

template <typename buffer>
buffer make_buffer(std::size_t bytes) {
  void* p = nullptr;
  if (::posix_memalign(&p, stream_writer::kAlign, bytes) != 0) throw std::bad_alloc();
  return buffer(static_cast<unsigned char*>(p));
}

std::size_t round_up(std::size_t n) {
  return std::max<std::size_t>(stream_writer::kAlign, (n + stream_writer::kAlign - 1) & ~(stream_writer::kAlign - 1));
}

// open(2) with O_DIRECT when allowed and accepted, else without; `direct` says which.
// A file opened for reading must be a regular file: a FIFO would block the open (hence O_NONBLOCK,
// harmless on regular files), a directory fails its first read, a device such as /dev/zero never ends.
int regular_or_throw(int fd, const std::string& path, int flags) {
  if ((flags & (O_WRONLY | O_RDWR)) != 0) return fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw input_error(at_input(path,
                               "is not a regular file (a directory, a device or a pipe): a dataset file must be "
                               "a regular file"));
  }
  return fd;
}

int open_stream(const std::string& path, int flags, bool& direct) {
  direct = false;
  const int nonblock = (flags & (O_WRONLY | O_RDWR)) != 0 ? 0 : O_NONBLOCK;
  if (direct_io_enabled()) {
    const int fd = ::open(path.c_str(), flags | nonblock | O_DIRECT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      direct = true;
      return regular_or_throw(fd, path, flags);
    }
    if (errno != EINVAL) throw_errno(flags & O_WRONLY ? "create" : "open", path);
  }
  const int fd = ::open(path.c_str(), flags | nonblock | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno(flags & O_WRONLY ? "create" : "open", path);
  return regular_or_throw(fd, path, flags);
}

constexpr std::uint64_t kMask = stream_writer::kAlign - 1;

bool drop_direct(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && ::fcntl(fd, F_SETFL, fl & ~O_DIRECT) == 0;
}

}  // namespace

// --- stream_writer -------------------------------------------------------------------------------

void stream_writer::aligned_free::operator()(unsigned char* p) const {
  std::free(p);
}

stream_writer::stream_writer(const std::string& path, std::size_t buffer_bytes, std::uint64_t crc_from)
    : path_(path), cap_(round_up(buffer_bytes)), crc_from_(crc_from) {
  crc_ = static_cast<std::uint32_t>(::crc32(0L, Z_NULL, 0));
  fd_ = open_stream(path, O_WRONLY | O_CREAT | O_TRUNC, direct_);
  cur_ = make_buffer<buffer>(cap_);
}

stream_writer::~stream_writer() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  if (fd_ >= 0) ::close(fd_);
}

void stream_writer::update_crc(const unsigned char* p, std::size_t bytes, std::uint64_t at) {
  if (at + bytes <= crc_from_) return;
  const std::size_t skip = at >= crc_from_ ? 0 : static_cast<std::size_t>(crc_from_ - at);
  crc_ = static_cast<std::uint32_t>(::crc32_z(crc_, p + skip, bytes - skip));
}

void stream_writer::clear_direct() {
  if (direct_ && drop_direct(fd_)) direct_ = false;
}

// Writes `bytes` at `at` in full (pwrite loops over short writes); returns 0 or an errno. Under
// O_DIRECT an EINVAL (the file system wants another alignment) drops O_DIRECT for the rest of the
// file and retries.
int stream_writer::write_block(const unsigned char* p, std::size_t bytes, std::uint64_t at) {
  while (bytes > 0) {
    const ssize_t w = ::pwrite(fd_, p, bytes, static_cast<off_t>(at));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && direct_ && drop_direct(fd_)) {
        direct_ = false;
        continue;
      }
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    at += static_cast<std::uint64_t>(w);
    bytes -= static_cast<std::size_t>(w);
  }
  return 0;
}

void stream_writer::write_or_throw(const unsigned char* p, std::size_t bytes, std::uint64_t at) {
  if (const int err = write_block(p, bytes, at)) {
    errno = err;
    throw_errno("write", path_);
  }
}

void stream_writer::wait_idle() {
  if (!thread_.joinable()) return;
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return !busy_; });
  if (error_) {
    errno = error_;
    throw_errno("write", path_);
  }
}

void stream_writer::submit() {
  wait_idle();
  if (!job_) job_ = make_buffer<buffer>(cap_);
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> l(mu_);
      while (true) {
        cv_.wait(l, [&] { return busy_ || stop_; });
        if (!busy_) return;  // stopped with nothing in flight
        l.unlock();
        update_crc(job_.get(), job_bytes_, job_at_);
        const int err = write_block(job_.get(), job_bytes_, job_at_);
        l.lock();
        error_ = err;
        busy_ = false;
        cv_.notify_all();
        if (stop_) return;
      }
    });
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    // The thread's previous buffer (now idle) becomes the next one to fill.
    std::swap(job_, cur_);
    job_bytes_ = fill_;
    job_at_ = offset_;
    busy_ = true;
  }
  cv_.notify_all();
  offset_ += fill_;
  fill_ = 0;
}

void stream_writer::write(const void* data, std::size_t bytes) {
  TG_EXPECTS(fd_ >= 0, "stream_writer used after finish: ", path_);
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {
    const std::size_t n = std::min(bytes, cap_ - fill_);
    std::memcpy(cur_.get() + fill_, p, n);
    fill_ += n;
    p += n;
    bytes -= n;
    if (fill_ == cap_) submit();
  }
}

void stream_writer::finish() {
  TG_EXPECTS(fd_ >= 0, "stream_writer finished twice: ", path_);
  wait_idle();
  update_crc(cur_.get(), fill_, offset_);
  const std::size_t whole = direct_ ? fill_ & ~(kAlign - 1) : fill_;
  if (whole) write_or_throw(cur_.get(), whole, offset_);
  if (fill_ > whole) {
    // The tail is not a whole block: written through the page cache.
    clear_direct();
    write_or_throw(cur_.get() + whole, fill_ - whole, offset_ + whole);
  }
  offset_ += fill_;
  fill_ = 0;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_errno("close", path_);
  if (crc_from_ == 0) remember_file_crc32(path_, crc_);
}

namespace {
struct file_stamp {
  std::uint64_t size = 0, inode = 0, device = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const file_stamp& o) const {
    return size == o.size && inode == o.inode && device == o.device && mtime_ns == o.mtime_ns;
  }
};
bool stamp_of(const std::string& path, file_stamp& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.inode = static_cast<std::uint64_t>(st.st_ino);
  out.device = static_cast<std::uint64_t>(st.st_dev);
  out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}
std::mutex crc_mu;
std::map<std::string, std::pair<file_stamp, std::uint32_t>>& crc_memo() {
  static std::map<std::string, std::pair<file_stamp, std::uint32_t>> m;
  return m;
}
}  // namespace

void remember_file_crc32(const std::string& path, std::uint32_t crc) {
  file_stamp st;
  if (!stamp_of(path, st)) return;
  std::lock_guard<std::mutex> l(crc_mu);
  crc_memo()[path] = {st, crc};
}

bool recall_file_crc32(const std::string& path, std::uint32_t& crc) {
  file_stamp st;
  if (!stamp_of(path, st)) return false;
  std::lock_guard<std::mutex> l(crc_mu);
  const auto it = crc_memo().find(path);
  if (it == crc_memo().end() || !(it->second.first == st)) return false;
  crc = it->second.second;
  return true;
}

// --- stream_reader -------------------------------------------------------------------------------

void stream_reader::aligned_free::operator()(unsigned char* p) const {
  std::free(p);
}

stream_reader::stream_reader(const std::string& path, std::uint64_t offset, std::size_t buffer_bytes)
    : path_(path), cap_(round_up(buffer_bytes)) {
  fd_ = open_stream(path, O_RDONLY, direct_);
  cur_ = make_buffer<buffer>(cap_);
  spare_ = make_buffer<buffer>(cap_);
  // Blocks start at aligned offsets; the first one skips the bytes before `offset`.
  next_ = offset & ~std::uint64_t{kMask};
  const std::size_t skip = static_cast<std::size_t>(offset - next_);
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return pending_ || stop_; });
      if (stop_) return;
      const std::uint64_t at = next_;
      l.unlock();
      std::size_t got = 0;
      const int err = read_block(spare_.get(), at, got);
      l.lock();
      got_ = got;
      error_ = err;
      pending_ = false;
      done_ = true;
      cv_.notify_all();
    }
  });
  try {
    start_fetch();
    take_fetch();
  } catch (...) {
    // The destructor does not run for a constructor that throws: stop and join the reader thread
    // here (a waiting thread left behind deadlocked the process), and close the file.
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    ::close(fd_);
    fd_ = -1;
    throw;
  }
  pos_ = std::min(skip, len_);
}

stream_reader::~stream_reader() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

// Reads one block of up to cap_ bytes at `at` (short only at the end of the file) into `got`;
// returns 0 or an errno.
int stream_reader::read_block(unsigned char* p, std::uint64_t at, std::size_t& got) {
  got = 0;
  while (got < cap_) {
    const ssize_t r = ::pread(fd_, p + got, cap_ - got, static_cast<off_t>(at + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && direct_ && drop_direct(fd_)) {
        direct_ = false;
        continue;
      }
      return errno;
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
    // Under O_DIRECT a short read that is not block-aligned is the end of the file.
    if (direct_ && (got & kMask) != 0) break;
  }
  return 0;
}

void stream_reader::start_fetch() {
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_ = true;
    done_ = false;
  }
  cv_.notify_all();
}

void stream_reader::take_fetch() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return done_; });
  if (error_) {
    errno = error_;
    throw_errno("read", path_);
  }
  std::swap(cur_, spare_);
  len_ = got_;
  pos_ = 0;
  next_ += got_;
  eof_ = got_ < cap_;
  done_ = false;
  l.unlock();
  if (!eof_) start_fetch();
}

std::size_t stream_reader::read(void* out, std::size_t bytes) {
  auto* o = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  while (done < bytes) {
    if (pos_ == len_) {
      if (eof_) break;
      take_fetch();
      if (len_ == 0) break;
    }
    const std::size_t n = std::min(bytes - done, len_ - pos_);
    std::memcpy(o + done, cur_.get() + pos_, n);
    pos_ += n;
    done += n;
  }
  return done;
}

void stream_reader::read_exact(void* out, std::size_t bytes) {
  const std::size_t got = read(out, bytes);
  if (got != bytes)
    throw input_error(path_ + ": the file ends early (wanted " + std::to_string(bytes) + " more bytes, found " +
                      std::to_string(got) + ")");
}

}  // namespace tg
