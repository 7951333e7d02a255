// Fuzz target: .npz archives (zip directory, stored and deflated members) — core/npz.hpp.
#include <cstdint>

#include "core/npz.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::fuzz::memory_file f(data, size);
  tg::fuzz::expect_clean([&] {
    const tg::npz_archive z(f.path());
    for (const std::string& k : z.keys()) tg::fuzz::expect_clean([&] { (void)z.get(k); });
  });
  return 0;
}
