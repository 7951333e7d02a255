// Fuzz target: meta.json (JSON syntax and every field's type and range) — core/dataset.hpp.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  tg::fuzz::expect_clean([&] { (void)tg::dataset_meta::from_json(j, "meta.json"); });
  return 0;
}
