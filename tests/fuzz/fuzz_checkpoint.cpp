// Fuzz target: checkpoint and saved-model files (magic, header JSON, sizes, CRC) — train/checkpoint.hpp.
#include <cstdint>

#include "fuzz_input.hpp"
#include "train/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::fuzz::memory_file f(data, size);
  tg::fuzz::expect_clean([&] { (void)tg::read_checkpoint(f.path()); });
  return 0;
}
