// Corrupt datasets, every command: from one small valid dataset (and its prepared twin), each kind of
// corruption a damaged disk, a bad copy or a hostile file can produce is written into a copy, and
// every command that reads datasets must refuse it before any work — exit status 1, one line naming
// the file, no crash, and no output left behind.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/npy.hpp"
#include "test_util.hpp"
#include "tiering/plan_file.hpp"

using tg::test::run_cli;
using tg::test::scratch_dir;
namespace fs = std::filesystem;

namespace {

std::vector<std::int64_t> read_i64(const std::string& p) {
  return tg::npy_array::open(p).to_int64();
}

void write_i64(const std::string& p, const std::vector<std::int64_t>& v) {
  tg::write_npy(p, tg::span<const std::int64_t>(v));
}

void edit_json(const std::string& p, const std::function<void(nlohmann::json&)>& f) {
  nlohmann::json j = nlohmann::json::parse(tg::test::read_text(p));
  f(j);
  tg::test::write_text(p, j.dump(1));
}

// indices.npy as int32 or int64, whatever the dataset stored.
void edit_indices(const std::string& dir, const std::function<void(std::vector<std::int64_t>&)>& f) {
  const std::string p = dir + "/indices.npy";
  const tg::npy_array a = tg::npy_array::open(p);
  std::vector<std::int64_t> v = a.to_int64();
  const tg::dtype t = a.type();
  f(v);
  if (t == tg::dtype::int32) {
    std::vector<std::int32_t> w(v.begin(), v.end());
    for (std::size_t i = 0; i < v.size(); ++i) w[i] = static_cast<std::int32_t>(v[i]);
    tg::write_npy(p, tg::span<const std::int32_t>(w));
  } else {
    write_i64(p, v);
  }
}

struct corruption {
  std::string name;
  bool prepared;  // applied to the prepared dataset
  std::function<void(const std::string& dir)> apply;
};

std::vector<corruption> corruptions() {
  return {
      {"indptr decreasing", false,
       [](const std::string& d) {
         auto v = read_i64(d + "/indptr.npy");
         v[5] = v[7] + 1000;
         write_i64(d + "/indptr.npy", v);
       }},
      {"indptr past the end", false,
       [](const std::string& d) {
         auto v = read_i64(d + "/indptr.npy");
         v.back() += 10;
         write_i64(d + "/indptr.npy", v);
       }},
      {"indptr ends before the last index", false,
       [](const std::string& d) {
         auto v = read_i64(d + "/indptr.npy");
         v.back() -= 1;
         write_i64(d + "/indptr.npy", v);
       }},
      {"indptr not starting at 0", false,
       [](const std::string& d) {
         auto v = read_i64(d + "/indptr.npy");
         v[0] = 3;
         write_i64(d + "/indptr.npy", v);
       }},
      {"negative index", false, [](const std::string& d) { edit_indices(d, [](auto& v) { v[17] = -5; }); }},
      {"index INT_MAX", false, [](const std::string& d) { edit_indices(d, [](auto& v) { v[3] = 2147483647; }); }},
      {"index = N", false,
       [](const std::string& d) {
         const auto n = static_cast<std::int64_t>(read_i64(d + "/indptr.npy").size()) - 1;
         edit_indices(d, [n](auto& v) { v.back() = n; });
       }},
      {"num_nodes smaller", false,
       [](const std::string& d) {
         edit_json(d + "/meta.json", [](auto& j) { j["num_nodes"] = j["num_nodes"].template get<std::int64_t>() - 1; });
       }},
      {"num_nodes bigger", false,
       [](const std::string& d) {
         edit_json(d + "/meta.json", [](auto& j) { j["num_nodes"] = j["num_nodes"].template get<std::int64_t>() + 1; });
       }},
      {"num_nodes 2^62", false,
       [](const std::string& d) {
         edit_json(d + "/meta.json", [](auto& j) { j["num_nodes"] = std::int64_t{1} << 62; });
       }},
      {"num_classes 0", false,
       [](const std::string& d) { edit_json(d + "/meta.json", [](auto& j) { j["labels"]["num_classes"] = 0; }); }},
      {"meta.json missing a field", false,
       [](const std::string& d) { edit_json(d + "/meta.json", [](auto& j) { j.erase("graph"); }); }},
      {"meta.json not JSON", false,
       [](const std::string& d) { tg::test::write_text(d + "/meta.json", "{\"format\": \"tiergnn-dataset\", "); }},
      {"label 2^40", false,
       [](const std::string& d) {
         auto v = read_i64(d + "/labels.npy");
         v[11] = std::int64_t{1} << 40;
         write_i64(d + "/labels.npy", v);
       }},
      {"split id out of range", false,
       [](const std::string& d) {
         auto v = read_i64(d + "/train_idx.npy");
         v[0] = 1000000;
         write_i64(d + "/train_idx.npy", v);
       }},
      {"truncated indices.npy", false,
       [](const std::string& d) { fs::resize_file(d + "/indices.npy", fs::file_size(d + "/indices.npy") - 12); }},
      {"missing features.npy", false, [](const std::string& d) { fs::remove(d + "/features.npy"); }},
      {"npy header shape wraps around", false,
       [](const std::string& d) {
         // (2^61 + 50) x 2 float32 = 2^64 + 400 bytes: wraps to 400 in 64 bits.
         const std::string bytes =
             tg::test::npy_header_bytes(
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213694002, 2), }") +
             std::string(400, '\0');
         std::ofstream(d + "/features.npy", std::ios::binary | std::ios::trunc) << bytes;
       }},
      {"order.npy duplicate", true,
       [](const std::string& d) {
         auto v = read_i64(d + "/order.npy");
         v[1] = v[0];
         write_i64(d + "/order.npy", v);
       }},
      {"order.npy out of range", true,
       [](const std::string& d) {
         auto v = read_i64(d + "/order.npy");
         v[2] = -1;
         write_i64(d + "/order.npy", v);
       }},
      {"plan.json edited", true,
       [](const std::string& d) { edit_json(d + "/plan.json", [](auto& j) { j["tiers"]["gpu_rows"] = 7; }); }},
      {"plan.json missing a key", true,
       [](const std::string& d) {
         edit_json(d + "/plan.json", [](auto& j) {
           j.erase("prepared");
           j["checksum"] = tg::plan_file::checksum_of(j);  // consistent with itself: the missing key is the fault
         });
       }},
      {"plan.json without its checksum", true,
       [](const std::string& d) { edit_json(d + "/plan.json", [](auto& j) { j.erase("checksum"); }); }},
  };
}

}  // namespace

TEST(CorruptDataset, EveryCommandRefusesWithOneLineAndWritesNothing) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "good" + " --nodes 3000 --feature-dim 8 --classes 4 --seed 2"), 0);
  ASSERT_EQ(run_cli("-q prepare " + d / "good" + " -o " + d / "goodp" + " --gpu-mem 10% --host-mem 40% --fanouts 5,5"),
            0);
  int cases = 0;
  for (const corruption& c : corruptions()) {
    SCOPED_TRACE(c.name);
    const std::string dir = d / ("bad" + std::to_string(cases++));
    fs::copy(c.prepared ? d / "goodp" : d / "good", dir, fs::copy_options::recursive);
    c.apply(dir);
    const std::string out = d / "out";
    const std::vector<std::string> commands = {
        "info " + dir,
        "info " + dir + " --check",
        "profile " + dir + " --fanouts 5,5 --estimator degree",
        "prepare " + dir + " -o " + out + " --gpu-mem 10% --fanouts 5,5",
        "train " + dir + " --fanouts 5,5 --epochs 1 --no-progress --save-model " + out + ".tgck",
        "bench traffic " + dir + " --fanouts 5,5 --epochs 1 --estimators degree",
    };
    for (const std::string& cmd : commands) {
      std::string text;
      const int rc = run_cli("-q " + cmd, &text);
      EXPECT_EQ(rc, 1) << cmd << "\n" << text;
      EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << cmd << ": one line, got\n" << text;
      EXPECT_EQ(text.rfind("tiergnn: error: ", 0), 0u) << cmd << "\n" << text;
      EXPECT_FALSE(fs::exists(out)) << cmd << " left " << out;
      EXPECT_FALSE(fs::exists(out + ".tgck")) << cmd << " left " << out << ".tgck";
      for (const auto& e : fs::directory_iterator(d.path()))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << cmd << " left " << e.path();
    }
  }
}
