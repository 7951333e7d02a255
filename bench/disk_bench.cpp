// disk_bench: the disk tier's random-row reads (tiering/disk_reader.hpp) against what the disk
// itself sustains for the same access pattern.
//
// A float32 feature file (created with --create-gib of pseudo-random rows if missing; it must be
// real data: unwritten extents read as zeros without touching the disk) is read in --batches batches
// of --batch-rows random distinct rows each (sorted, as the store asks; seeded, the same rows for
// every engine). Before each engine runs, the file is dropped from the page cache
// (posix_fadvise DONTNEED), so every row comes from the disk. Each engine reports rows/s, the 4 KiB
// pages/s those rows touch, and MiB/s of row data. The ceiling is the same pages read with O_DIRECT
// at queue depth --ceiling-depth (io_uring when usable): the disk's own rate for this pattern.
// Engines: pread:T (T reader threads, one read each in flight) and io_uring:Q (one thread, Q reads in
// flight), run in the order given; --repeats rounds alternate them.
//
// Usage: disk_bench --file PATH [--create-gib 6] [--dim 64] [--batch-rows 20000] [--batches 20]
//          [--engines pread:4,pread:16,io_uring:32,io_uring:128] [--ceiling-depth 128] [--repeats 2]
//          [--json FILE]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_util.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "tiering/disk_reader.hpp"

using nlohmann::json;

namespace {

void evict(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw tg::io_error("cannot open " + path);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void create(const std::string& path, double gib, std::int64_t dim) {
  const std::int64_t rows = static_cast<std::int64_t>(gib * (1ull << 30)) / (dim * 4);
  std::fprintf(stderr, "creating %s: %lld rows x %lld float32 (%.1f GiB)\n", path.c_str(), static_cast<long long>(rows),
               static_cast<long long>(dim), gib);
  tg::npy_writer w(path + ".tmp", tg::dtype::float32, {dim});
  std::mt19937 g(7);
  std::vector<float> chunk(static_cast<std::size_t>(dim) * 65536);
  for (std::int64_t r = 0; r < rows; r += 65536) {
    const std::int64_t n = std::min<std::int64_t>(65536, rows - r);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n * dim); ++i) chunk[i] = static_cast<float>(g() & 0xffff);
    w.append(chunk.data(), n);
  }
  w.finish();
  std::filesystem::rename(path + ".tmp", path);
}

}  // namespace

int main(int argc, char** argv) try {
  std::string file, json_path, engines_arg = "pread:4,pread:16,io_uring:32,io_uring:128";
  double create_gib = 6;
  std::int64_t dim = 64, batch_rows = 20000, batches = 20;
  int ceiling_depth = 128, repeats = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw tg::input_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--file")
      file = next();
    else if (a == "--create-gib")
      create_gib = std::stod(next());
    else if (a == "--dim")
      dim = std::stoll(next());
    else if (a == "--batch-rows")
      batch_rows = std::stoll(next());
    else if (a == "--batches")
      batches = std::stoll(next());
    else if (a == "--engines")
      engines_arg = next();
    else if (a == "--ceiling-depth")
      ceiling_depth = std::stoi(next());
    else if (a == "--repeats")
      repeats = std::stoi(next());
    else if (a == "--json")
      json_path = next();
    else
      throw tg::input_error("unknown option " + a);
  }
  if (file.empty()) throw tg::input_error("--file PATH is required");
  if (!std::filesystem::exists(file)) create(file, create_gib, dim);
  // The file's shape from its header.
  std::vector<std::uint8_t> head(4096);
  {
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
  }
  const tg::npy_header h = tg::parse_npy_header(head.data(), head.size(), file);
  tg::feature_file f;
  f.path = file;
  f.rows = h.shape.at(0);
  f.dim = h.shape.at(1);
  f.type = h.type;
  const std::int64_t rb = f.row_bytes();
  // The batches: sorted distinct random rows, and the 4 KiB pages they touch.
  std::mt19937_64 g(11);
  std::vector<std::vector<std::pair<std::int64_t, std::size_t>>> work;
  std::vector<std::uint64_t> pages;
  std::int64_t total_rows = 0;
  for (std::int64_t b = 0; b < batches; ++b) {
    std::set<std::int64_t> ids;
    while (static_cast<std::int64_t>(ids.size()) < std::min(batch_rows, f.rows))
      ids.insert(static_cast<std::int64_t>(g() % static_cast<std::uint64_t>(f.rows)));
    std::vector<std::pair<std::int64_t, std::size_t>> rows;
    std::set<std::uint64_t> batch_pages;
    for (std::int64_t id : ids) {
      rows.emplace_back(id, rows.size());
      const std::uint64_t first = h.data_offset + static_cast<std::uint64_t>(id * rb);
      for (std::uint64_t p = first / 4096; p <= (first + static_cast<std::uint64_t>(rb) - 1) / 4096; ++p)
        batch_pages.insert(p * 4096);
    }
    pages.insert(pages.end(), batch_pages.begin(), batch_pages.end());
    total_rows += static_cast<std::int64_t>(rows.size());
    work.push_back(std::move(rows));
  }
  const double mib = static_cast<double>(total_rows * rb) / (1 << 20);
  std::vector<std::pair<std::string, int>> engines;
  for (const std::string& e : tg::bench::split(engines_arg, ',')) {
    const auto c = e.find(':');
    engines.emplace_back(e.substr(0, c), c == std::string::npos ? 4 : std::stoi(e.substr(c + 1)));
  }
  std::map<std::string, std::vector<double>> seconds;
  std::vector<double> ceiling;
  std::vector<std::uint8_t> staging(static_cast<std::size_t>(batch_rows * rb));
  for (int rep = 0; rep < repeats; ++rep) {
    ceiling.push_back(tg::read_pages_direct(file, pages, ceiling_depth));
    for (const auto& [name, n] : engines) {
      if (name == "io_uring" && !tg::io_uring_usable()) continue;
      tg::disk_row_reader r(f, name == "pread" ? n : 1, name == "pread" ? tg::disk_io::pread : tg::disk_io::io_uring,
                            name == "pread" ? 128 : n);
      evict(file);
      const auto t0 = std::chrono::steady_clock::now();
      for (const auto& rows : work) r.read(rows, staging.data());
      seconds[name + ":" + std::to_string(n)].push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  const double best_ceiling = *std::min_element(ceiling.begin(), ceiling.end());
  const double ceiling_pages = static_cast<double>(pages.size()) / best_ceiling;
  json j = {{"machine", {{"cpu", tg::bench::cpu_model()}, {"cores", std::thread::hardware_concurrency()}}},
            {"commit", tg::bench::source_commit(TIERGNN_SOURCE_DIR)},
            {"file", file},
            {"rows", f.rows},
            {"row_bytes", rb},
            {"batches", batches},
            {"batch_rows", batch_rows},
            {"pages", pages.size()},
            {"io_uring", tg::io_uring_usable()},
            {"ceiling", {{"depth", ceiling_depth}, {"seconds", ceiling}, {"pages_per_s", ceiling_pages}}},
            {"engines", json::array()}};
  std::printf("%zu batches of %lld random rows (%lld B) = %zu distinct 4 KiB pages, %.1f MiB of rows\n", work.size(),
              static_cast<long long>(batch_rows), static_cast<long long>(rb), pages.size(), mib);
  std::printf("ceiling: O_DIRECT 4 KiB reads of those pages, depth %d: %.0f pages/s (%.0f MiB/s)\n", ceiling_depth,
              ceiling_pages, ceiling_pages * 4096 / (1 << 20));
  std::printf("%-14s %12s %12s %10s %10s\n", "engine", "rows/s", "pages/s", "row MiB/s", "% ceiling");
  for (const auto& [name, n] : engines) {
    const std::string key = name + ":" + std::to_string(n);
    if (!seconds.count(key)) {
      std::printf("%-14s (not available here)\n", key.c_str());
      continue;
    }
    const double s = *std::min_element(seconds[key].begin(), seconds[key].end());
    const double pps = static_cast<double>(pages.size()) / s;
    std::printf("%-14s %12.0f %12.0f %10.1f %9.1f%%\n", key.c_str(), static_cast<double>(total_rows) / s, pps, mib / s,
                100.0 * pps / ceiling_pages);
    j["engines"].push_back({{"engine", key},
                            {"seconds", seconds[key]},
                            {"rows_per_s", static_cast<double>(total_rows) / s},
                            {"pages_per_s", pps},
                            {"share_of_ceiling", pps / ceiling_pages}});
  }
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(1) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "disk_bench: %s\n", e.what());
  return 1;
}
