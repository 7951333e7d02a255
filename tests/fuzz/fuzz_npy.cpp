// Fuzz target: .npy files (header parser, size checks, dtype conversion) — core/npy.hpp.
#include <cstdint>

#include "core/npy.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::fuzz::expect_clean([&] { (void)tg::parse_npy_header(data, size, "fuzz.npy"); });
  tg::fuzz::memory_file f(data, size);
  tg::fuzz::expect_clean([&] {
    const tg::npy_array a = tg::npy_array::open(f.path());
    if (a.count() <= (1 << 20)) {
      if (tg::is_integer(a.type())) (void)a.to_int64();
      if (tg::is_float(a.type())) (void)a.to_float32();
    }
  });
  return 0;
}
