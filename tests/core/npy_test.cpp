#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/npy.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::scratch_dir;

namespace {
std::string npy_bytes(const std::string& descr, const std::string& shape, std::size_t data_bytes,
                      bool fortran = false) {
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64) dict.push_back(' ');
  dict.push_back('\n');
  std::string h("\x93NUMPY\x01\x00", 8);
  h.push_back(static_cast<char>(dict.size() & 0xff));
  h.push_back(static_cast<char>(dict.size() >> 8));
  return h + dict + std::string(data_bytes, '\x01');
}

std::string error_of(const std::string& path) {
  try {
    npy_array::open(path);
  } catch (const input_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Npy, RoundTripFloatMatrix) {
  scratch_dir d;
  std::vector<float> v(6);
  for (int i = 0; i < 6; ++i) v[i] = 0.5f * i;
  write_npy(d / "a.npy", dtype::float32, {2, 3}, v.data());
  const npy_array a = npy_array::open(d / "a.npy");
  EXPECT_EQ(a.shape(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a.type(), dtype::float32);
  const auto s = a.as<float>();
  ASSERT_EQ(s.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(s[i], 0.5f * i);
  EXPECT_THROW(a.as<std::int64_t>(), input_error);
}

TEST(Npy, StreamingWriterRewritesRowCount) {
  scratch_dir d;
  npy_writer w(d / "s.npy", dtype::int32, {2});
  std::vector<std::int32_t> rows{1, 2, 3, 4};
  w.append(span<const std::int32_t>(rows));
  w.append(span<const std::int32_t>(rows));
  w.finish();
  const npy_array a = npy_array::open(d / "s.npy");
  EXPECT_EQ(a.shape(), (std::vector<std::int64_t>{4, 2}));
  EXPECT_EQ(a.as<std::int32_t>()[7], 4);
}

TEST(Npy, MmapWriterFillsInPlace) {
  scratch_dir d;
  {
    npy_mmap_writer w(d / "m.npy", dtype::int64, {5});
    auto s = w.as<std::int64_t>();
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::int64_t>(i * i);
    w.finish();
  }
  EXPECT_EQ(npy_array::open(d / "m.npy").to_int64(), (std::vector<std::int64_t>{0, 1, 4, 9, 16}));
}

TEST(Npy, ReadsNumpyHeaderVariants) {
  scratch_dir d;
  test::write_text(d / "v.npy", npy_bytes("<i8", "(3,)", 24));
  EXPECT_EQ(npy_array::open(d / "v.npy").count(), 3);
  test::write_text(d / "b.npy", npy_bytes("|b1", "(2, 2)", 4));
  EXPECT_EQ(npy_array::open(d / "b.npy").type(), dtype::boolean);
  test::write_text(d / "s.npy", npy_bytes("<f4", "()", 4));
  EXPECT_EQ(npy_array::open(d / "s.npy").count(), 1);
}

TEST(NpyBadInput, TruncatedDataNamesFileAndSizes) {
  scratch_dir d;
  test::write_text(d / "t.npy", npy_bytes("<f4", "(10, 4)", 100));
  const std::string e = error_of(d / "t.npy");
  EXPECT_NE(e.find("t.npy"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_NE(e.find("160"), std::string::npos) << e;
}

TEST(NpyBadInput, BigEndianRejected) {
  scratch_dir d;
  test::write_text(d / "be.npy", npy_bytes(">f4", "(2,)", 8));
  EXPECT_NE(error_of(d / "be.npy").find("big-endian"), std::string::npos);
}

TEST(NpyBadInput, FortranOrderRejected) {
  scratch_dir d;
  test::write_text(d / "f.npy", npy_bytes("<f4", "(2, 2)", 16, true));
  EXPECT_NE(error_of(d / "f.npy").find("Fortran"), std::string::npos);
}

// numpy.zeros(2, dtype=[('a', 'f4'), ('b', 'f4')]) saves its fields as a list: said so, not "malformed".
TEST(NpyBadInput, StructuredDtypeNamed) {
  scratch_dir d;
  test::write_text(d / "s.npy", test::npy_header_bytes("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': "
                                                       "False, 'shape': (2,), }") +
                                    std::string(16, '\0'));
  EXPECT_NE(error_of(d / "s.npy").find("s.npy: holds a structured dtype"), std::string::npos) << error_of(d / "s.npy");
}

TEST(NpyBadInput, BadMagicAndGarbageHeader) {
  scratch_dir d;
  test::write_text(d / "x.npy", "hello world, not numpy");
  EXPECT_NE(error_of(d / "x.npy").find("not a .npy"), std::string::npos);
  std::string b = npy_bytes("<f4", "(2,)", 8);
  b.replace(b.find("shape"), 5, "shapx");
  test::write_text(d / "y.npy", b);
  EXPECT_NE(error_of(d / "y.npy").find("malformed"), std::string::npos);
  test::write_text(d / "z.npy", npy_bytes("<c8", "(2,)", 16));
  EXPECT_NE(error_of(d / "z.npy").find("unsupported dtype"), std::string::npos);
}

TEST(NpyBadInput, TrailingBytesRejected) {
  scratch_dir d;
  test::write_text(d / "tr.npy", npy_bytes("<i4", "(2,)", 12));
  EXPECT_NE(error_of(d / "tr.npy").find("unexpected bytes"), std::string::npos);
}

TEST(NpyBadInput, ShapeAndDtypeExpectationsNameTheArray) {
  scratch_dir d;
  std::vector<std::int32_t> v{1, 2, 3};
  write_npy(d / "w.npy", span<const std::int32_t>(v));
  const npy_array a = npy_array::open(d / "w.npy");
  try {
    a.expect_shape({4});
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("w.npy: shape is (3,), expected (4,)"), std::string::npos) << e.what();
  }
  try {
    a.expect_dtype(dtype::int64);
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("dtype is int32, expected int64"), std::string::npos);
  }
}

TEST(Dtype, HalfConversionRoundTrips) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 0.333251953125f})
    EXPECT_EQ(half_to_float(float_to_half(f)), f) << f;
  EXPECT_EQ(float_to_half(1e6f), 0x7c00u);  // overflow to +inf
}
