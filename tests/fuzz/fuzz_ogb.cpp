// Fuzz target: an OGB node-property folder in the text layout (raw/edge.csv, num-node-list,
// num-edge-list, node-feat, node-label, split/<scheme>/{train,valid,test}.csv) imported into a
// dataset, which must then open and validate — datasets/import_labelled.hpp (import_ogb).
// One input holds all the files in that order, separated by lines "@@"; a part that is exactly
// "~" (or missing at the end) leaves its file out. The folder is rewritten for every input.
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/dataset.hpp"
#include "datasets/import_labelled.hpp"
#include "fuzz_input.hpp"

namespace {
namespace fs = std::filesystem;
constexpr std::array<const char*, 8> kFiles = {"raw/edge.csv",      "raw/num-node-list.csv", "raw/num-edge-list.csv",
                                               "raw/node-feat.csv", "raw/node-label.csv",    "split/s/train.csv",
                                               "split/s/valid.csv", "split/s/test.csv"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string root =
      fs::temp_directory_path().string() + "/tiergnn-fuzz-ogb-" + std::to_string(::getpid());
  const std::string in = root + "/ogbn_fuzz", out = root + "/out";
  fs::remove_all(in);
  fs::create_directories(in + "/raw");
  fs::create_directories(in + "/split/s");
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (const char* name : kFiles) {
    if (rest.data() == nullptr) break;
    const std::size_t cut = rest.find("\n@@\n");
    const std::string_view part = rest.substr(0, cut);
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 4);
    if (part == "~") continue;
    std::ofstream(in + "/" + name, std::ios::binary | std::ios::trunc) << part;
  }
  tg::fuzz::expect_clean([&] {
    tg::ogb_import_options o;
    o.overwrite = true;
    tg::import_ogb(in, out, o);
    tg::dataset::open(out).check();
  });
  return 0;
}
