// RAII owners of file descriptors and FILE* (core/file_handle.hpp).
#include "core/file_handle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace tg {

unique_fd unique_fd::open(const std::string& path, int flags, int mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("open", path);
  return unique_fd(fd);
}

void unique_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

unique_file::unique_file(const std::string& path, const char* mode) : f_(std::fopen(path.c_str(), mode)), path_(path) {
  if (!f_) throw_errno(mode[0] == 'r' ? "open" : "create", path);
}

void unique_file::sync() {
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0) throw_errno("flush", path_);
}

void unique_file::close() {
  if (!f_) return;
  std::FILE* f = std::exchange(f_, nullptr);
  if (std::fclose(f) != 0) throw_errno("close", path_);
}

}  // namespace tg
