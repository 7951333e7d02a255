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
  const std::string bytes =
      test::npy_header_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }");
  try {
    parse_npy_header(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "x.npy");
    FAIL() << "a shape of 2^64 elements was accepted";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("64 bits"), std::string::npos) << e.what();
  }
}

TEST(ParserRegressions, MetaIntegersWrittenAsHugeFloatsAreAnInputError) {
  nlohmann::json j = {{"format", "tiergnn-dataset"},
                      {"format_version", kDatasetFormatVersion},
                      {"num_nodes", 3.033e20},
                      {"num_edges", 0},
                      {"directed", true},
                      {"graph", {{"index_dtype", "int32"}}},
                      {"features", nullptr},
                      {"labels", nullptr},
                      {"arrays", nlohmann::json::object()}};
  EXPECT_THROW(dataset_meta::from_json(j, "meta.json"), input_error);  // was a float-to-integer conversion (UB)
  j["num_nodes"] = 2;
  j["name"] = 7;  // nlohmann's own type check: must arrive as an input_error too
  EXPECT_THROW(dataset_meta::from_json(j, "meta.json"), input_error);
}

TEST(ParserRegressions, MisalignedArrayDataIsCopiedNotReadInPlace) {
  // A .npy whose header length leaves the data at an odd offset (numpy pads to 64; others need not).
  const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  std::string h = dict + "    \n";  // 10 + h.size() is odd on purpose
  if ((10 + h.size()) % 2 == 0) h.insert(h.size() - 1, " ");
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(h.size() & 0xff));
  bytes.push_back(static_cast<char>(h.size() >> 8));
  bytes += h;
  for (std::int64_t v : {5, -7, 9}) bytes.append(reinterpret_cast<const char*>(&v), 8);
  test::scratch_dir d;
  test::write_text(d / "odd.npy", bytes);
  const npy_array a = npy_array::open(d / "odd.npy");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.raw()) % 8, 0u);
  EXPECT_EQ(a.to_int64(), (std::vector<std::int64_t>{5, -7, 9}));
}
