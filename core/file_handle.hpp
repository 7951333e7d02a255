#pragma once
// RAII owners of a POSIX file descriptor and of a C FILE*: closed on every path out of a scope,
// error paths included. Move-only. Closing errors that matter (a file written) are checked by the
// caller through close(), which throws; the destructor closes silently (an error path is already
// under way, or nothing was written).
#include <cstdio>
#include <string>
#include <utility>

namespace tg {

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  // open(2) with `flags` (and `mode` for created files); throws io_error naming the path on failure.
  static unique_fd open(const std::string& path, int flags, int mode = 0644);
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

class unique_file {
 public:
  unique_file() = default;
  // std::fopen(path, mode); throws io_error (input_error for reading) naming the path on failure.
  unique_file(const std::string& path, const char* mode);
  unique_file(const unique_file&) = delete;
  unique_file& operator=(const unique_file&) = delete;
  unique_file(unique_file&& o) noexcept : f_(std::exchange(o.f_, nullptr)), path_(std::move(o.path_)) {}
  unique_file& operator=(unique_file&& o) noexcept {
    if (this != &o) {
      if (f_) std::fclose(f_);
      f_ = std::exchange(o.f_, nullptr);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  ~unique_file() {
    if (f_) std::fclose(f_);
  }
  std::FILE* get() const { return f_; }
  const std::string& path() const { return path_; }
  // Flushes to the device (fflush + fsync); throws io_error.
  void sync();
  // Closes now and reports a failed close (a write the OS could not complete); throws io_error.
  void close();

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
};

}  // namespace tg
