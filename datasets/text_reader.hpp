#pragma once
// Line reader for plain or gzip-compressed text (a file starting with gzip's magic bytes is inflated,
// member after member), with a line counter for error messages and detection of truncated or
// corrupt gzip streams and of bytes after the last member that are not gzip (zlib's gzread ignored
// them silently: edges appended as text to a .gz were lost).
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tg {

class text_reader {
 public:
  explicit text_reader(const std::string& path);
  text_reader(const text_reader&) = delete;
  text_reader& operator=(const text_reader&) = delete;
  ~text_reader();

  // Next line without its '\n' / "\r\n"; false at the end. Throws input_error on a corrupt or
  // truncated gzip stream.
  // A UTF-8 byte-order mark before the first line is skipped.
  bool next(std::string_view* line);
  std::int64_t line_number() const { return line_no_; }
  const std::string& path() const { return path_; }
  // Uncompressed bytes read so far (for progress).
  std::int64_t bytes_read() const { return consumed_; }

 private:
  bool fill();
  bool read_input();  // more compressed (or, plain, raw) bytes into in_; false at the end of the file
  std::size_t read_some(void* dst, std::size_t cap);  // one read(2) (EINTR retried); 0 at the end
  [[noreturn]] void corrupt(const std::string& why) const;
  std::string path_;
  int fd_ = -1;
  bool gz_ = false, in_eof_ = false;
  z_stream zs_{};
  std::vector<unsigned char> in_;
  std::size_t in_begin_ = 0, in_end_ = 0;  // unread raw bytes in in_
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  bool next_raw(std::string_view* line);
  std::int64_t line_no_ = 0, consumed_ = 0;
  std::string carry_;
  static constexpr std::size_t kMaxLineBytes = std::size_t{64} << 20;
};

// Splits a line on the delimiter (',' or '\t') or, with delim == ' ', on runs of blanks/tabs.
// Leading/trailing blanks are ignored. Returns the number of fields.
std::size_t split_fields(std::string_view line, char delim, std::vector<std::string_view>* out);
// Parses a whole field as an int64 / double; false if it is not one.
bool parse_int64(std::string_view s, std::int64_t* out);
bool parse_double(std::string_view s, double* out);

}  // namespace tg
