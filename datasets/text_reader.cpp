#include "datasets/text_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace tg {

text_reader::text_reader(const std::string& path) : path_(path), buf_(1 << 20) {
  // A directory is no text file (zlib reported "Is a directory" as corrupt gzip data). Pipes and FIFOs
  // are read as the streams they are (/dev/stdin, <(zcat ...)); the OGB importer refuses them for its
  // tables, which the ogb package writes as files.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw input_error(at_input(path, "is a directory, not a text file"));
  // Other compressors' files would be read as text (their magic bytes "skipped as a header line").
  if (S_ISREG(st.st_mode)) {
    unsigned char magic[6] = {};
    if (FILE* raw = std::fopen(path.c_str(), "rb")) {
      const std::size_t got = std::fread(magic, 1, sizeof magic, raw);
      std::fclose(raw);
      const char* kind = nullptr;
      if (got >= 4 && std::memcmp(magic, "BZh", 3) == 0 && magic[3] >= '1' && magic[3] <= '9')
        kind = "bzip2 (decompress it with bunzip2, or recompress with gzip)";
      if (got >= 6 && std::memcmp(magic,
                                  "\xFD"
                                  "7zXZ\0",
                                  6) == 0)
        kind = "xz (decompress it with unxz, or recompress with gzip)";
      if (got >= 4 && std::memcmp(magic, "\x28\xB5\x2F\xFD", 4) == 0)
        kind = "zstd (decompress it with unzstd, or recompress with gzip)";
      if (got >= 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) kind = "zip (unzip it first)";
      if (kind) throw input_error(at_input(path, std::string("is compressed with ") + kind + "; only gzip is read"));
    }
  }
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw_errno("open", path);
  in_.resize(1 << 20);
  // gzip's magic bytes decide (a pipe is read until two bytes are there, or it ends).
  try {
    while (in_end_ < 2 && read_input()) {
    }
  } catch (...) {  // no destructor runs for a constructor that throws
    ::close(fd_);
    throw;
  }
  gz_ = in_end_ >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
  if (gz_ && inflateInit2(&zs_, 15 + 16) != Z_OK) {
    ::close(fd_);
    throw error("zlib could not start inflating " + path);
  }
}

text_reader::~text_reader() {
  if (gz_) inflateEnd(&zs_);
  if (fd_ >= 0) ::close(fd_);
}

bool text_reader::read_input() {
  if (in_eof_) return false;
  if (in_begin_ > 0) {  // keep the unread tail at the front
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_end_ == in_.size()) return true;
  const std::size_t n = read_some(in_.data() + in_end_, in_.size() - in_end_);
  in_end_ += n;
  return n > 0;
}

std::size_t text_reader::read_some(void* dst, std::size_t cap) {
  ssize_t n;
  do {
    n = ::read(fd_, dst, cap);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("read", path_);
  if (n == 0) in_eof_ = true;
  return static_cast<std::size_t>(n);
}

void text_reader::corrupt(const std::string& why) const {
  throw input_error(at_input(path_, line_no_ + 1, "truncated or corrupt gzip data (" + why + ")"));
}

bool text_reader::fill() {
  if (eof_) return false;
  if (!gz_) {  // plain text: what the magic-byte peek read first, then the file straight into buf_
    std::size_t n;
    if (in_begin_ < in_end_) {
      n = std::min(buf_.size(), in_end_ - in_begin_);
      std::memcpy(buf_.data(), in_.data() + in_begin_, n);
      in_begin_ += n;
    } else {
      n = in_eof_ ? 0 : read_some(buf_.data(), buf_.size());
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    begin_ = 0;
    end_ = n;
    consumed_ += static_cast<std::int64_t>(n);
    return true;
  }
  while (true) {
    if (in_begin_ == in_end_) read_input();  // (inflate may still hold output with no input left)
    zs_.next_in = in_.data() + in_begin_;
    zs_.avail_in = static_cast<uInt>(in_end_ - in_begin_);
    zs_.next_out = reinterpret_cast<Bytef*>(buf_.data());
    zs_.avail_out = static_cast<uInt>(buf_.size());
    const int ret = inflate(&zs_, Z_NO_FLUSH);
    in_begin_ = in_end_ - zs_.avail_in;
    const std::size_t produced = buf_.size() - zs_.avail_out;
    if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_MEM_ERROR || ret == Z_STREAM_ERROR) {
      // Named at the line where zlib found the damage: the lines of this chunk's output are counted,
      // not parsed (the text just before the damage may itself be garbage, and a parse error about it
      // would hide what is wrong).
      line_no_ += static_cast<std::int64_t>(std::count(buf_.data(), buf_.data() + produced, '\n'));
      corrupt(zs_.msg != nullptr ? zs_.msg : "invalid data");
    }
    if (ret == Z_STREAM_END) {
      // The member ends: another member, the end of the file, or (refused) bytes that are not gzip.
      // Zero padding after the last member is ignored, as gzip does.
      while (in_end_ - in_begin_ < 2 && read_input()) {
      }
      const std::size_t left = in_end_ - in_begin_;
      if (left >= 2 && in_[in_begin_] == 0x1f && in_[in_begin_ + 1] == 0x8b) {
        inflateReset(&zs_);
      } else {
        bool zeros = true;
        while (zeros && (in_begin_ < in_end_ || read_input())) {
          zeros = std::all_of(in_.data() + in_begin_, in_.data() + in_end_, [](unsigned char b) { return b == 0; });
          if (zeros) in_begin_ = in_end_;
        }
        if (!zeros)
          throw input_error(at_input(path_,
                                     "after its gzip data come bytes that are not gzip (text appended to "
                                     "the compressed file?): decompress it and compress the whole text again"));
        eof_ = true;  // the last member's output, if any, is returned below; the next call ends
        if (produced == 0) return false;
      }
    }
    if (produced > 0) {
      begin_ = 0;
      end_ = produced;
      consumed_ += static_cast<std::int64_t>(produced);
      return true;
    }
    // Nothing came out and nothing more comes in: the file ended inside a member.
    if (ret == Z_BUF_ERROR && in_begin_ == in_end_ && in_eof_) corrupt("unexpected end of file");
  }
}

bool text_reader::next(std::string_view* line) {
  if (!next_raw(line)) return false;
  // A UTF-8 byte-order mark (Windows editors write one) is not part of the first line's data.
  if (line_no_ == 1 && line->size() >= 3 && line->substr(0, 3) == "\xEF\xBB\xBF") line->remove_prefix(3);
  return true;
}

bool text_reader::next_raw(std::string_view* line) {
  carry_.clear();
  bool have_any = false;
  while (true) {
    if (begin_ == end_ && !fill()) {
      if (!have_any) return false;
      ++line_no_;
      if (!carry_.empty() && carry_.back() == '\r') carry_.pop_back();
      *line = carry_;
      return true;
    }
    have_any = true;
    const char* s = buf_.data() + begin_;
    const void* nl = std::memchr(s, '\n', end_ - begin_);
    if (nl) {
      const std::size_t len = static_cast<const char*>(nl) - s;
      begin_ += len + 1;
      ++line_no_;
      std::string_view v;
      if (carry_.empty()) {
        v = std::string_view(s, len);
      } else {
        carry_.append(s, len);
        v = carry_;
      }
      if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
      *line = v;
      return true;
    }
    carry_.append(s, end_ - begin_);
    begin_ = end_;
    // A line is buffered whole: one without end (gzip packs 1 GiB of digits in 1 MB) would take all
    // memory before it could be refused (R15-F6b). Rows of text are far shorter.
    if (carry_.size() > kMaxLineBytes)
      throw input_error(at_input(path_, line_no_ + 1,
                                 "a line longer than " + std::to_string(kMaxLineBytes >> 20) +
                                     " MiB: not a text file of rows (binary, or damaged?)"));
  }
}

std::size_t split_fields(std::string_view line, char delim, std::vector<std::string_view>* out) {
  out->clear();
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  if (delim == ' ') {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      const std::size_t j = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      out->push_back(line.substr(j, i - j));
    }
    return out->size();
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = line.find(delim, start);
    if (pos == std::string_view::npos) {
      out->push_back(trim(line.substr(start)));
      break;
    }
    out->push_back(trim(line.substr(start, pos - start)));
    start = pos + 1;
  }
  return out->size();
}

bool parse_int64(std::string_view s, std::int64_t* out) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return false;  // "+-1" is no number
  }
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  // from_chars for double is in libstdc++ 11+, which the build requires.
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace tg
