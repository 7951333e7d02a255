// Inputs the fuzzers (scripts/fuzz.sh) found, kept as tests: each must be refused cleanly (a
// tg::input_error naming the file) or handled, never crash or escape as another exception.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "test_util.hpp"

using namespace tg;

TEST(ParserRegressions, MetaWithANonHexChecksumIsAnInputError) {
  nlohmann::json j = {
      {"format", "tiergnn-dataset"},
      {"format_version", kDatasetFormatVersion},
      {"num_nodes", 2},
      {"num_edges", 0},
      {"directed", true},
      {"graph", {{"index_dtype", "int32"}}},
      {"features", nullptr},
      {"labels", nullptr},
      {"arrays",
       {{"indptr.npy", {{"dtype", "int64"}, {"shape", {3}}, {"crc32", "99999999999999999999"}, {"bytes", 152}}},
        {"indices.npy", {{"dtype", "int32"}, {"shape", {0}}, {"crc32", "0"}, {"bytes", 128}}}}}};
  EXPECT_THROW(dataset_meta::from_json(j, "meta.json"), input_error);  // stoul would throw out_of_range
  j["arrays"]["indptr.npy"]["crc32"] = "xyz";
  EXPECT_THROW(dataset_meta::from_json(j, "meta.json"), input_error);  // and invalid_argument
  j["arrays"]["indptr.npy"]["crc32"] = "0badf00d";
  EXPECT_NO_THROW(dataset_meta::from_json(j, "meta.json"));
}

TEST(ParserRegressions, EmptyArraysConvert) {
  test::scratch_dir d;
  write_npy(d / "e.npy", dtype::float32, {0}, nullptr);
  const npy_array a = npy_array::open(d / "e.npy");
  EXPECT_TRUE(a.to_float32().empty());  // memcpy from a null pointer was undefined behaviour
}

TEST(ParserRegressions, NpyShapesThatOverflowAreRefused) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }";
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(h.size() & 0xff));
  bytes.push_back(static_cast<char>(h.size() >> 8));
  bytes += h;
  try {
    parse_npy_header(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "x.npy");
    FAIL() << "a shape of 2^64 elements was accepted";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("64 bits"), std::string::npos) << e.what();
  }
}
