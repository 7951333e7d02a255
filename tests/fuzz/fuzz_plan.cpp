// Fuzz target: plan.json of a prepared dataset (JSON syntax, the self-checksum, every field's type
// and range, the tier boundaries against the dataset beside it) — tiering/plan_file.hpp.
// Each input is tried twice: as written (almost every mutation then fails the plan's own
// checksum) and, when it is a JSON object, with its checksum recomputed, so that the checks behind
// the checksum are reached too. The prepared dataset is made once per process.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "datasets/generate.hpp"
#include "fuzz_input.hpp"
#include "tiering/plan_file.hpp"
#include "tiering/prepare.hpp"

namespace {

struct prepared_dataset {
  std::string root, dir;
  prepared_dataset() {
    root = std::filesystem::temp_directory_path().string() + "/tiergnn-fuzz-plan-" + std::to_string(::getpid());
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root);
    tg::community_options g;
    g.num_nodes = 300;
    g.feature_dim = 4;
    g.num_classes = 3;
    tg::generate_community(g, root + "/g", false);
    tg::prepare_config c;
    c.estimator = "degree";
    c.fanouts = {3, 2};
    c.batch_size = 32;
    c.run_epochs = 1;
    dir = tg::prepare_dataset(tg::dataset::open(root + "/g"), c, root + "/p").out_dir;
  }
  ~prepared_dataset() { std::filesystem::remove_all(root); }
};

void try_plan(const prepared_dataset& p, const tg::dataset& d, const std::string& text) {
  {
    std::ofstream out(p.dir + "/plan.json", std::ios::binary | std::ios::trunc);
    out << text;
  }
  tg::fuzz::expect_clean([&] {
    const tg::plan_file f = tg::plan_file::load(d);
    (void)f.predicted_hit_rate(f.plan.gpu_rows);
    (void)f.predicted_hit_rate(d.num_nodes());
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const prepared_dataset p;
  static const tg::dataset d = tg::dataset::open(p.dir);
  const std::string text(reinterpret_cast<const char*>(data), size);
  try_plan(p, d, text);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    j["checksum"] = tg::plan_file::checksum_of(j);
    try_plan(p, d, j.dump());
  }
  return 0;
}
