#include "core/npz.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/resources.hpp"

namespace tg {

namespace {

std::uint16_t rd16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
std::uint32_t rd32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
std::uint64_t rd64(const std::uint8_t* p) {
  return static_cast<std::uint64_t>(rd32(p)) | (static_cast<std::uint64_t>(rd32(p + 4)) << 32);
}

constexpr std::uint32_t kEocd = 0x06054b50, kEocd64 = 0x06064b50, kEocd64Loc = 0x07064b50, kCentral = 0x02014b50,
                        kLocal = 0x04034b50;

}  // namespace

npz_archive::npz_archive(const std::string& path) : path_(path) {
  file_ = std::make_shared<mmap_file>(mmap_file::open(path));
  const std::uint8_t* d = file_->data();
  const std::size_t n = file_->size();
  auto corrupt = [&](const std::string& what) -> input_error {
    return input_error(at_input(path_, "not a valid .npz (zip) archive: " + what));
  };
  if (n < 22) throw corrupt("file too short (" + std::to_string(n) + " bytes)");
  // End of central directory: the last 22 bytes plus a comment of up to 64 KiB.
  std::size_t eocd = std::string::npos;
  const std::size_t lo = n >= 22 + 65535 ? n - 22 - 65535 : 0;
  for (std::size_t i = n - 22 + 1; i-- > lo;) {
    if (rd32(d + i) == kEocd) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) throw corrupt("end-of-central-directory record not found (truncated?)");
  std::uint64_t count = rd16(d + eocd + 10);
  std::uint64_t cd_size = rd32(d + eocd + 12);
  std::uint64_t cd_off = rd32(d + eocd + 16);
  if (eocd >= 20 && rd32(d + eocd - 20) == kEocd64Loc) {
    const std::uint64_t e64 = rd64(d + eocd - 20 + 8);
    if (e64 > n || n - e64 < 56 || rd32(d + e64) != kEocd64) throw corrupt("bad zip64 end record");
    count = rd64(d + e64 + 32);
    cd_size = rd64(d + e64 + 40);
    cd_off = rd64(d + e64 + 48);
  }
  if (cd_off > n || cd_size > n - cd_off) throw corrupt("central directory lies outside the file (truncated?)");
  std::uint64_t p = cd_off;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (p + 46 > n || rd32(d + p) != kCentral) throw corrupt("bad central directory entry");
    entry e;
    e.method = rd16(d + p + 10);
    e.crc = rd32(d + p + 16);
    e.compressed = rd32(d + p + 20);
    e.uncompressed = rd32(d + p + 24);
    const std::uint16_t name_len = rd16(d + p + 28), extra_len = rd16(d + p + 30), comment_len = rd16(d + p + 32);
    e.local_offset = rd32(d + p + 42);
    if (p + 46 + name_len + extra_len + comment_len > n) throw corrupt("bad central directory entry");
    e.name.assign(reinterpret_cast<const char*>(d + p + 46), name_len);
    // zip64 extended information: only the fields that are 0xFFFFFFFF above are present, in order.
    const std::uint8_t* x = d + p + 46 + name_len;
    const std::uint8_t* xe = x + extra_len;
    while (x + 4 <= xe) {
      const std::uint16_t id = rd16(x), len = rd16(x + 2);
      const std::uint8_t* f = x + 4;
      if (f + len > xe) break;
      if (id == 0x0001) {
        const std::uint8_t* fe = f + len;
        if (e.uncompressed == 0xFFFFFFFFu && f + 8 <= fe) e.uncompressed = rd64(f), f += 8;
        if (e.compressed == 0xFFFFFFFFu && f + 8 <= fe) e.compressed = rd64(f), f += 8;
        if (e.local_offset == 0xFFFFFFFFu && f + 8 <= fe) e.local_offset = rd64(f), f += 8;
      }
      x += 4 + len;
    }
    entries_.push_back(std::move(e));
    p += 46 + name_len + extra_len + comment_len;
  }
  // Two members of one name: readers disagree on which counts (numpy.load takes the last, a reader
  // that stops at the first match the first), so the archive means two different things.
  std::vector<std::string> names = keys();
  std::sort(names.begin(), names.end());
  if (const auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end())
    throw corrupt("holds two members named '" + *dup + "': which one is meant is ambiguous; write the archive again");
}

std::vector<std::string> npz_archive::keys() const {
  std::vector<std::string> k;
  for (const auto& e : entries_) {
    std::string s = e.name;
    if (s.size() > 4 && s.compare(s.size() - 4, 4, ".npy") == 0) s.resize(s.size() - 4);
    k.push_back(s);
  }
  return k;
}

const npz_archive::entry* npz_archive::find(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.name == key + ".npy" || e.name == key) return &e;
  return nullptr;
}

bool npz_archive::contains(const std::string& key) const {
  return find(key) != nullptr;
}

npy_array npz_archive::get(const std::string& key) const {
  const entry* e = find(key);
  const std::string member = path_ + "[" + key + "]";
  if (!e) {
    std::string have;
    for (const auto& k : keys()) have += (have.empty() ? "" : ", ") + k;
    throw input_error(at_input(path_, "has no array '" + key + "' (it holds: " + have + ")"));
  }
  const std::uint8_t* d = file_->data();
  const std::size_t n = file_->size();
  auto corrupt = [&](const std::string& what) -> input_error {
    return input_error(at_input(member, "corrupt zip member: " + what));
  };
  if (e->local_offset > n || n - e->local_offset < 30 || rd32(d + e->local_offset) != kLocal)
    throw corrupt("bad local header");
  const std::uint64_t data_off = e->local_offset + 30 + rd16(d + e->local_offset + 26) + rd16(d + e->local_offset + 28);
  if (data_off > n || e->compressed > n - data_off)
    throw corrupt("data runs past the end of the file (truncated archive?)");
  const std::uint8_t* src = d + data_off;
  if (e->method == 0) {
    if (e->compressed != e->uncompressed) throw corrupt("stored member with differing sizes");
    // CRC over the whole member would read it all; check it only for small members (< 256 MiB).
    if (e->uncompressed < (256u << 20)) {
      const uLong c = crc32_z(0L, src, static_cast<z_size_t>(e->uncompressed));
      if (c != e->crc) throw corrupt("CRC-32 mismatch");
    }
    return npy_array::from_view(file_, src, static_cast<std::size_t>(e->uncompressed), member, true);
  }
  if (e->method != 8)
    throw corrupt("unsupported compression method " + std::to_string(e->method) + " (only stored and deflate)");
  // Deflate expands at most about 1032:1: a larger declared size is a corrupt (or hostile) header,
  // refused before it is allocated.
  if (e->uncompressed > e->compressed * 1032 + 1024)
    throw corrupt("declares " + std::to_string(e->uncompressed) + " uncompressed bytes, more than " +
                  std::to_string(e->compressed) + " deflated bytes can hold");
  // Inflated into memory: a member that cannot fit is refused before it is allocated, naming it (a
  // 25 MB archive of zeros may declare 25 GB; R15-F6).
  expect_memory(e->uncompressed, member, "inflating this member");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(e->uncompressed));
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw corrupt("zlib init failed");
  std::uint64_t in_left = e->compressed, out_done = 0;
  const std::uint8_t* in = src;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const uInt in_chunk = static_cast<uInt>(std::min<std::uint64_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<std::uint64_t>(out.size() - out_done, 1u << 30));
    zs.next_in = const_cast<Bytef*>(in);
    zs.avail_in = in_chunk;
    zs.next_out = out.data() + out_done;
    zs.avail_out = out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in += in_chunk - zs.avail_in;
    in_left -= in_chunk - zs.avail_in;
    out_done += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK || (in_chunk == zs.avail_in && out_chunk == zs.avail_out)) {
      inflateEnd(&zs);
      throw corrupt(rc == Z_DATA_ERROR ? "invalid deflate data" : "deflate stream ends early (truncated?)");
    }
  }
  inflateEnd(&zs);
  if (out_done != out.size()) throw corrupt("inflated size differs from the directory");
  if (crc32_z(0L, out.data(), out.size()) != e->crc) throw corrupt("CRC-32 mismatch");
  return npy_array::from_bytes(std::move(out), member, true);
}

}  // namespace tg
