#include "train/checkpoint.hpp"

#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <filesystem>
#include <vector>

#include "core/json_text.hpp"
#include "core/error.hpp"
#include "core/file_handle.hpp"
#include "core/output_file.hpp"
#include "core/log.hpp"

namespace tg {

namespace {
constexpr char kMagicV1[8] = {'T', 'G', 'C', 'K', 'P', 'T', '0', '1'};  // no checksum (read only)
constexpr char kMagic[8] = {'T', 'G', 'C', 'K', 'P', 'T', '0', '2'};    // CRC-32 trailer

// Writes and folds the bytes into a running CRC-32.
struct checked_writer {
  std::FILE* f;
  const std::string& path;
  uLong crc = crc32(0L, Z_NULL, 0);
  void operator()(const void* p, std::size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) throw_errno("write", path);
    crc = crc32_z(crc, static_cast<const Bytef*>(p), n);
  }
};

// CRC-32 of the first n bytes of a file.
std::uint32_t prefix_crc32(std::FILE* f, std::uint64_t n) {
  std::vector<unsigned char> buf(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  std::rewind(f);
  while (n > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
    const std::size_t got = std::fread(buf.data(), 1, want, f);
    if (got == 0) break;
    crc = crc32_z(crc, buf.data(), got);
    n -= got;
  }
  return static_cast<std::uint32_t>(crc);
}
}  // namespace

void write_checkpoint(const std::string& path, const gnn_model& model, const optimizer_state* opt,
                      const nlohmann::json& extra) {
  nlohmann::json h = extra;
  h["model"] = model.config().to_json();
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : model.params()) params.push_back({{"name", p.name}, {"shape", p.shape}});
  h["params"] = params;
  h["has_optimizer"] = opt != nullptr;
  if (opt) h["step"] = opt->step;
  const std::string text = json_text(h);
  write_output_file(path, [&](const std::string& tmp) {
    unique_file file(tmp, "wb");
    checked_writer put{file.get(), tmp};
    put(kMagic, 8);
    const std::uint64_t len = text.size();
    put(&len, 8);
    put(text.data(), text.size());
    for (std::size_t i = 0; i < model.params().size(); ++i) {
      const auto& p = model.params()[i];
      put(p.value.data(), p.value.size() * 4);
      if (opt) {
        put(opt->m[i].data(), opt->m[i].size() * 4);
        put(opt->v[i].data(), opt->v[i].size() * 4);
      }
    }
    const auto crc = static_cast<std::uint32_t>(put.crc);
    if (std::fwrite(&crc, 4, 1, file.get()) != 1) throw_errno("write", tmp);
    file.sync();
    file.close();
  });
}

checkpoint read_checkpoint(const std::string& path) {
  unique_file file;
  try {
    file = unique_file(path, "rb");
  } catch (const io_error&) {
    throw input_error(at_input(path, "cannot open checkpoint: " + std::string(std::strerror(errno))));
  }
  std::FILE* f = file.get();
  const auto bad = [&](const std::string& why) {
    return input_error(at_input(path, "not a valid tiergnn checkpoint: " + why));
  };
  std::error_code ec;
  const auto file_size = static_cast<std::uint64_t>(std::filesystem::file_size(path, ec));
  checkpoint c;
  char magic[8];
  std::uint64_t len = 0;
  if (!ec && file_size == 0) throw bad("the file is empty (a write that never happened, or a disk that filled up)");
  if (std::fread(magic, 1, 8, f) != 8 || (std::memcmp(magic, kMagic, 8) != 0 && std::memcmp(magic, kMagicV1, 8) != 0))
    throw bad("bad magic bytes");
  const bool has_crc = std::memcmp(magic, kMagic, 8) == 0;
  if (!has_crc)
    log_warn(path, ": a checkpoint of an older tiergnn, without a checksum: its contents cannot be verified");
  if (has_crc) {
    // The trailer is the CRC-32 of everything before it: one flipped byte anywhere is refused.
    std::uint32_t stored = 0;
    if (ec || file_size < 20 || std::fseek(f, static_cast<long>(file_size - 4), SEEK_SET) != 0 ||
        std::fread(&stored, 4, 1, f) != 1)
      throw bad("truncated");
    if (prefix_crc32(f, file_size - 4) != stored)
      throw bad("checksum mismatch: the file was damaged or changed after it was written");
    if (std::fseek(f, 8, SEEK_SET) != 0) throw bad("cannot read");
  }
  if (std::fread(&len, 8, 1, f) != 1 || len > (64u << 20) || (!ec && len > file_size)) throw bad("bad header length");
  std::string text(len, '\0');
  if (std::fread(text.data(), 1, len, f) != len) throw bad("truncated header");
  bool has_opt = false;
  std::vector<std::int64_t> sizes;
  try {
    c.header = nlohmann::json::parse(text, json_depth_limit_for(path));
    if (!c.header.is_object() || !c.header.contains("params") || !c.header["params"].is_array())
      throw bad("the header lists no parameters");
    // Fields the trainer reads, typed and in range (a first-layout file has no checksum to vouch for
    // them; a later one may come from a hand-edited header).
    auto whole = [&](const char* key, std::int64_t lo, std::int64_t hi) {
      if (!c.header.contains(key)) return;
      const auto& v = c.header[key];
      if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi)
        throw bad(std::string("header: ") + key + " must be a whole number in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "], got " + v.dump());
    };
    whole("epoch", 0, std::numeric_limits<int>::max());
    whole("step", 0, std::numeric_limits<std::int64_t>::max());
    whole("ranks", 1, std::numeric_limits<int>::max());
    for (const char* key : {"dataset", "model", "settings"})
      if (c.header.contains(key) && !c.header[key].is_object())
        throw bad(std::string("header: ") + key + " must be an object, got " + c.header[key].dump().substr(0, 60));
    if (c.header.contains("metrics_tail") && !c.header["metrics_tail"].is_null()) {
      // {"epoch": whole, "loss": number, "seconds": number}, or null (the run wrote no metrics)
      const auto& t = c.header["metrics_tail"];
      if (!t.is_object() || !t.contains("epoch") || !t["epoch"].is_number_integer() || !t.contains("loss") ||
          !t["loss"].is_number() || !t.contains("seconds") || !t["seconds"].is_number())
        throw bad("header: metrics_tail must hold a whole epoch and the numbers loss and seconds, got " +
                  t.dump().substr(0, 60));
    }
    if (c.header.contains("has_optimizer") && !c.header["has_optimizer"].is_boolean())
      throw bad("header: has_optimizer must be true or false");
    if (c.header.value("has_optimizer", false) && !c.header.contains("step")) throw bad("header: no step");
    has_opt = c.header.value("has_optimizer", false);
    // Every parameter's element count, checked against what the file can hold before anything is
    // allocated: a corrupt shape must not ask for terabytes.
    std::uint64_t total = 0;
    for (const auto& p : c.header["params"]) {
      std::uint64_t n = 1;
      for (const auto& d : p.at("shape")) {
        const auto v = d.get<std::int64_t>();
        if (v < 0 || (v > 0 && n > file_size / static_cast<std::uint64_t>(v)))
          throw bad("a parameter shape is negative or too large");
        n *= static_cast<std::uint64_t>(v);
      }
      total += n * (has_opt ? 3 : 1) * 4;
      if (total > file_size) throw bad("the parameters need more bytes than the file holds (truncated?)");
      sizes.push_back(static_cast<std::int64_t>(n));
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("header: ") + e.what());
  }
  for (const std::int64_t n : sizes) {
    auto read_vec = [&](std::vector<std::vector<float>>* out) {
      out->emplace_back(static_cast<std::size_t>(n));
      if (std::fread(out->back().data(), 4, static_cast<std::size_t>(n), f) != static_cast<std::size_t>(n))
        throw bad("truncated parameter data");
    };
    read_vec(&c.values);
    if (has_opt) {
      read_vec(&c.m);
      read_vec(&c.v);
    }
  }
  return c;
}

bool holds_training_state(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  unique_file file;
  try {
    file = unique_file(path, "rb");
  } catch (const error&) {
    return false;  // unreadable: the output check that follows names it
  }
  std::FILE* f = file.get();
  char magic[8];
  std::uint64_t len = 0;
  if (std::fread(magic, 1, 8, f) != 8 || (std::memcmp(magic, kMagic, 8) != 0 && std::memcmp(magic, kMagicV1, 8) != 0))
    return false;
  if (std::fread(&len, 8, 1, f) != 1 || len > (64u << 20)) return true;  // a damaged checkpoint is still one
  std::string text(len, '\0');
  if (std::fread(text.data(), 1, len, f) != len) return true;
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(text, json_depth_limit_for(path), false);
  } catch (const input_error&) {
    return true;  // nested past reason: a damaged checkpoint is still one
  }
  return !h.is_object() || h.value("has_optimizer", true);
}

}  // namespace tg
