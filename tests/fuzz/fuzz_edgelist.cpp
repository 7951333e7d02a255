// Fuzz target: edge-list text (delimiters, headers, comments, numbers, gzip) imported into a
// dataset directory, which must then open and validate — datasets/import_edgelist.hpp.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/dataset.hpp"
#include "datasets/import_edgelist.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string out =
      std::filesystem::temp_directory_path().string() + "/tiergnn-fuzz-edgelist-" + std::to_string(::getpid());
  tg::fuzz::memory_file f(data, size);
  tg::fuzz::expect_clean([&] {
    tg::edgelist_options o;
    tg::import_edgelist(f.path(), out, o, true);
    tg::dataset::open(out).check();
  });
  return 0;
}
