#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/npz.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::scratch_dir;

namespace {
// np.savez / np.savez_compressed through python3 (installed by scripts/setup.sh).
void make_npz(const std::string& path, bool compressed) {
  const std::string cmd = std::string("python3 -c \"import numpy as np; np.") +
                          (compressed ? "savez_compressed" : "savez") + "('" + path +
                          "', a=np.arange(1000, dtype=np.int64), b=np.ones((20, 3), dtype=np.float32))\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "python3 with numpy is required (scripts/setup.sh)";
}
std::string get_error(const std::string& path, const std::string& key) {
  try {
    npz_archive z(path);
    z.get(key);
  } catch (const input_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Npz, ReadsStoredAndDeflatedMembers) {
  scratch_dir d;
  for (bool compressed : {false, true}) {
    const std::string p = d / (compressed ? "c.npz" : "s.npz");
    make_npz(p, compressed);
    npz_archive z(p);
    EXPECT_EQ(z.keys(), (std::vector<std::string>{"a", "b"}));
    const auto a = z.get("a").to_int64();
    ASSERT_EQ(a.size(), 1000u);
    EXPECT_EQ(a[999], 999);
    const npy_array b = z.get("b");
    EXPECT_EQ(b.shape(), (std::vector<std::int64_t>{20, 3}));
    EXPECT_EQ(b.as<float>()[59], 1.0f);
  }
}

TEST(NpzBadInput, MissingKeyListsWhatIsThere) {
  scratch_dir d;
  make_npz(d / "s.npz", false);
  const std::string e = get_error(d / "s.npz", "edge_index");
  EXPECT_NE(e.find("has no array 'edge_index'"), std::string::npos) << e;
  EXPECT_NE(e.find("a, b"), std::string::npos) << e;
}

TEST(NpzBadInput, CorruptDeflatedMemberIsDetected) {
  scratch_dir d;
  make_npz(d / "c.npz", true);
  std::string bytes = test::read_text(d / "c.npz");
  // Flip bytes in the middle of the first member's compressed data.
  const std::size_t start = bytes.find("a.npy") + 20;
  for (std::size_t i = start; i < start + 16; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  test::write_text(d / "bad.npz", bytes);
  const std::string e = get_error(d / "bad.npz", "a");
  EXPECT_NE(e.find("bad.npz[a]"), std::string::npos) << e;
  EXPECT_NE(e.find("corrupt zip member"), std::string::npos) << e;
}

TEST(NpzBadInput, TruncatedArchiveIsDetected) {
  scratch_dir d;
  make_npz(d / "s.npz", false);
  std::string bytes = test::read_text(d / "s.npz");
  test::write_text(d / "t.npz", bytes.substr(0, bytes.size() / 2));
  const std::string e = get_error(d / "t.npz", "a");
  EXPECT_NE(e.find("t.npz"), std::string::npos);
  EXPECT_NE(e.find("not a valid .npz"), std::string::npos) << e;
}

TEST(NpzBadInput, NotAZipFile) {
  scratch_dir d;
  test::write_text(d / "x.npz", "just some text that is longer than twenty-two bytes");
  EXPECT_NE(get_error(d / "x.npz", "a").find("end-of-central-directory"), std::string::npos);
}
