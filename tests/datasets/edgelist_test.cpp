#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/dataset.hpp"
#include "core/npy.hpp"
#include "datasets/import_edgelist.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::scratch_dir;
namespace fs = std::filesystem;

namespace {
std::string import_error(const std::string& in, const std::string& out, edgelist_options o = {}) {
  try {
    import_edgelist(in, out, o, false);
  } catch (const input_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(EdgeListImport, SnapWithCommentsBuildsInNeighbourCsr) {
  scratch_dir d;
  test::write_text(d / "g.txt", "# a comment\n# FromNodeId\tToNodeId\n0\t1\n0\t2\n1\t2\n3\t0\n1\t2\n");
  const auto r = import_edgelist(d / "g.txt", d / "ds", {}, false);
  EXPECT_EQ(r.edges_read, 5);
  EXPECT_EQ(r.duplicates_removed, 1);
  const dataset ds = dataset::open(d / "ds");
  EXPECT_EQ(ds.num_nodes(), 4);
  EXPECT_EQ(ds.num_edges(), 4);
  EXPECT_TRUE(ds.meta().directed);
  EXPECT_EQ(ds.indptr().to_int64(), (std::vector<std::int64_t>{0, 1, 2, 4, 4}));
  EXPECT_EQ(ds.indices().to_int64(), (std::vector<std::int64_t>{3, 0, 0, 1}));
  EXPECT_FALSE(ds.has("node_ids.npy"));
}

// Matrix Market: the size line is not an edge (it became a self-loop 5 -> 5 and a phantom node), ids
// are 1-based, the matrix's dimension is the node count (isolated nodes kept), and what the banner
// and the size line say is checked.
TEST(EdgeListImport, MatrixMarketCoordinateFiles) {
  scratch_dir d;
  test::write_text(d / "a.mtx",
                   "%%MatrixMarket matrix coordinate real general\n% made by hand\n6 6 3\n2 1 0.5\n3 1 1.5\n4 3 2\n");
  testing::internal::CaptureStderr();
  auto r = import_edgelist(d / "a.mtx", d / "ds", {}, false);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.edges_read, 3);
  EXPECT_FALSE(r.remapped);
  const dataset ds = dataset::open(d / "ds");
  EXPECT_EQ(ds.num_nodes(), 6);  // nodes 5 and 6 (4 and 5 here) have no entries
  EXPECT_EQ(ds.indptr().to_int64(), (std::vector<std::int64_t>{0, 2, 2, 3, 3, 3, 3}));
  EXPECT_EQ(ds.indices().to_int64(), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(err.find("[warn]"), std::string::npos) << err;
  // Symmetric: one triangle stored, --undirected suggested; an entry count that disagrees is said.
  test::write_text(d / "s.mtx", "%%MatrixMarket matrix coordinate pattern symmetric\n3 3 4\n2 1\n3 2\n");
  testing::internal::CaptureStderr();
  r = import_edgelist(d / "s.mtx", d / "ds2", {}, false);
  err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("pass --undirected"), std::string::npos) << err;
  EXPECT_NE(err.find("announces 4 entries; 2 were read"), std::string::npos) << err;
  EXPECT_EQ(dataset::open(d / "ds2").num_nodes(), 3);
  // Refused: ids outside 1..max(M, N), a missing size line, the dense array format.
  test::write_text(d / "b.mtx", "%%MatrixMarket matrix coordinate pattern general\n3 3 1\n0 1\n");
  EXPECT_NE(import_error(d / "b.mtx", d / "x").find("b.mtx:3: row 0 is outside the matrix's 1..3"), std::string::npos);
  // A lower-case banner after a blank line is a banner; a rectangular matrix checks rows and columns
  // apart and says that row i and column i are one node.
  test::write_text(d / "r.mtx", "\n%%matrixmarket matrix coordinate real general\n2 4 2\n1 4 1.0\n2 3 1.0\n");
  testing::internal::CaptureStderr();
  r = import_edgelist(d / "r.mtx", d / "ds3", {}, false);
  err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.edges_read, 2);
  EXPECT_EQ(dataset::open(d / "ds3").num_nodes(), 4);
  EXPECT_NE(err.find("a rectangular matrix (2 x 4)"), std::string::npos) << err;
  test::write_text(d / "r2.mtx", "%%MatrixMarket matrix coordinate pattern general\n2 4 1\n4 1\n");
  EXPECT_NE(import_error(d / "r2.mtx", d / "x").find("row 4 is outside the matrix's 1..2"), std::string::npos);
  // --remap always numbers the used ids densely: --num-nodes counts those, not the matrix's size.
  edgelist_options always;
  always.remap = edgelist_options::remap_mode::always;
  always.num_nodes = 3;
  test::write_text(d / "iso.mtx", "%%MatrixMarket matrix coordinate pattern general\n5 5 2\n1 2\n2 3\n");
  EXPECT_EQ(import_edgelist(d / "iso.mtx", d / "ds4", always, false).num_nodes, 3);
  test::write_text(d / "c.mtx", "%%MatrixMarket matrix coordinate pattern general\n1 2\n");
  EXPECT_NE(import_error(d / "c.mtx", d / "x").find("not a Matrix Market size line"), std::string::npos);
  test::write_text(d / "e.mtx", "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n");
  EXPECT_NE(import_error(d / "e.mtx", d / "x").find("dense array"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "x"));
}

TEST(EdgeListImport, CsvWithHeaderGzipUndirectedAndSelfLoops) {
  scratch_dir d;
  test::write_text(d / "g.csv.gz", "id_1,id_2\n0,1\n1,1\n2,0\n", true);
  edgelist_options o;
  o.undirected = true;
  o.remove_self_loops = true;
  const auto r = import_edgelist(d / "g.csv.gz", d / "ds", o, false);
  EXPECT_EQ(r.self_loops_removed, 1);
  const dataset ds = dataset::open(d / "ds");
  EXPECT_FALSE(ds.meta().directed);
  EXPECT_EQ(ds.num_edges(), 4);
  EXPECT_EQ(ds.indices().to_int64(), (std::vector<std::int64_t>{1, 2, 0, 0}));
  EXPECT_EQ(ds.meta().self_loops, 0);  // counted by the CSR build (GCN skips its lookup on 0)
  o.remove_self_loops = false;
  import_edgelist(d / "g.csv.gz", d / "ds2", o, false);
  EXPECT_EQ(dataset::open(d / "ds2").num_edges(), 5);  // a kept self-loop is stored once
  EXPECT_EQ(dataset::open(d / "ds2").meta().self_loops, 1);
  // Recorded in meta.json (graph.self_loops); a count beyond the arcs is corruption.
  const std::string meta = test::read_text(d / "ds2/meta.json");
  EXPECT_NE(meta.find("\"self_loops\": 1"), std::string::npos) << meta;
  std::string bad = meta;
  bad.replace(bad.find("\"self_loops\": 1"), 16, "\"self_loops\": 9");
  test::write_text(d / "ds2/meta.json", bad);
  try {
    dataset::open(d / "ds2");
    FAIL() << "a self-loop count beyond the arcs was accepted";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("graph.self_loops 9 is outside [0, num_edges 5]"), std::string::npos)
        << e.what();
  }
}

// The CSR build scatters one bucket of rows at a time when the arcs exceed its memory budget; the
// result must not depend on how many buckets it took (here up to one per row).
TEST(EdgeListImport, BucketedCsrBuildIsIdenticalToOneBucket) {
  scratch_dir d;
  std::string text;
  std::uint64_t x = 12345;
  auto next = [&x] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>((x >> 33) % 300);
  };
  for (int i = 0; i < 5000; ++i) text += std::to_string(next()) + " " + std::to_string(next() / (1 + i % 7)) + "\n";
  test::write_text(d / "g.txt", text);
  for (bool undirected : {false, true}) {
    edgelist_options o;
    o.undirected = undirected;
    o.remove_self_loops = undirected;
    const std::string tag = undirected ? "u" : "d";
    ::unsetenv("TIERGNN_CSR_BUCKET_BYTES");
    const auto one = import_edgelist(d / "g.txt", d / ("one" + tag), o, false);
    for (const char* budget : {"64", "1"}) {
      ::setenv("TIERGNN_CSR_BUCKET_BYTES", budget, 1);
      const std::string out = d / ("many" + tag + budget);
      const auto many = import_edgelist(d / "g.txt", out, o, false);
      ::unsetenv("TIERGNN_CSR_BUCKET_BYTES");
      EXPECT_EQ(many.num_arcs, one.num_arcs) << tag << budget;
      EXPECT_EQ(many.duplicates_removed, one.duplicates_removed) << tag << budget;
      EXPECT_EQ(many.self_loops_removed, one.self_loops_removed) << tag << budget;
      const dataset a = dataset::open(d / ("one" + tag)), b = dataset::open(out);
      EXPECT_EQ(a.indptr().to_int64(), b.indptr().to_int64()) << tag << budget;
      EXPECT_EQ(a.indices().to_int64(), b.indices().to_int64()) << tag << budget;
      EXPECT_EQ(test::read_text(d / ("one" + tag + "/indices.npy")),
                test::read_text(out + std::string("/indices.npy")));
    }
  }
}

TEST(EdgeListImport, SparseIdsAreRemappedAndMappingSaved) {
  scratch_dir d;
  test::write_text(d / "g.tsv", "100\t-5\n7\t100\n");
  import_edgelist(d / "g.tsv", d / "ds", {}, false);
  const dataset ds = dataset::open(d / "ds");
  EXPECT_EQ(ds.num_nodes(), 3);
  EXPECT_EQ(ds.get("node_ids.npy").to_int64(), (std::vector<std::int64_t>{-5, 7, 100}));
  // -5 (new 0) has in-neighbour 100 (new 2); 100 (new 2) has in-neighbour 7 (new 1).
  EXPECT_EQ(ds.indices().to_int64(), (std::vector<std::int64_t>{2, 1}));
  // Original ids that repeat or fall are refused when the dataset opens (R11-F7: info --check said ok).
  for (const std::vector<std::int64_t>& bad : {std::vector<std::int64_t>{0, 0, 0}, {100, 7, -5}}) {
    fs::remove_all(d / "bad");
    fs::copy(d / "ds", d / "bad", fs::copy_options::recursive);
    write_npy(d / "bad/node_ids.npy", span<const std::int64_t>(bad));
    try {
      dataset::open(d / "bad");
      FAIL();
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("node_ids.npy: the original ids are not distinct and increasing"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(EdgeListImport, NumNodesAddsIsolatedNodes) {
  scratch_dir d;
  test::write_text(d / "g.txt", "0 1\n");
  edgelist_options o;
  o.remap = edgelist_options::remap_mode::never;
  o.num_nodes = 10;
  import_edgelist(d / "g.txt", d / "ds", o, false);
  EXPECT_EQ(dataset::open(d / "ds").num_nodes(), 10);
}

// With --remap auto, ids already 0..N-1 are kept: a --num-nodes below them is refused, not ignored.
TEST(EdgeListBadInput, NumNodesBelowTheKeptIdsIsRefused) {
  scratch_dir d;
  test::write_text(d / "g.txt", "0 1\n1 2\n");
  edgelist_options o;
  o.num_nodes = 2;
  EXPECT_THROW(import_edgelist(d / "g.txt", d / "ds", o, false), input_error);
  EXPECT_FALSE(fs::exists(d / "ds"));
  o.num_nodes = 5;
  import_edgelist(d / "g.txt", d / "ds", o, false);
  EXPECT_EQ(dataset::open(d / "ds").num_nodes(), 5);
}

TEST(EdgeListImport, RealSnapAndWebGraphsMatchManifest) {
  struct item {
    const char* dir;
    const char* file;
    std::int64_t nodes, arcs, undirected_simple;
  };
  const item items[] = {
      {"email-Enron", "email-Enron.txt.gz", 36692, 367662, 183831},
      {"soc-Slashdot0902", "soc-Slashdot0902.txt.gz", 82168, 948464, 504230},
      {"cnr-2000", "cnr-2000.edges.tsv.gz", 325557, 3216152, 2738969},
      {"uk-2007-05-100000", "uk-2007-05-100000.edges.tsv.gz", 100000, 3050615, 2779575},
  };
  scratch_dir d;
  for (const auto& it : items) {
    const std::string dir = test::shared_dataset(it.dir);
    if (dir.empty()) GTEST_SKIP() << "../shared/datasets/" << it.dir << " not present";
    const std::string in = dir + "/" + it.file;
    edgelist_options keep;
    keep.remove_duplicates = false;
    const auto r = import_edgelist(in, d / (std::string(it.dir) + "-directed"), keep, false);
    EXPECT_EQ(r.num_nodes, it.nodes) << it.dir;
    EXPECT_EQ(r.num_arcs, it.arcs) << it.dir;
    edgelist_options simple;
    simple.undirected = true;
    simple.remove_self_loops = true;
    const auto u = import_edgelist(in, d / it.dir, simple, false);
    EXPECT_EQ(u.num_nodes, it.nodes) << it.dir;
    EXPECT_EQ(u.num_arcs, 2 * it.undirected_simple) << it.dir;
    EXPECT_NO_THROW(dataset::open(d / it.dir).check());
  }
}

TEST(EdgeListBadInput, NonNumericTokenNamesFileAndLine) {
  scratch_dir d;
  test::write_text(d / "g.txt", "0 1\n1 2\n2 x3\n");
  const std::string e = import_error(d / "g.txt", d / "ds");
  EXPECT_NE(e.find("g.txt:3: 'x3' is not an integer node id"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(d / "ds"));
}

// Round 18: "+-1" is no id; a first line with an empty id field is a missing id, not a header
// skipped in silence; another compressor's file is named, not read as text.
TEST(EdgeListBadInput, SignsEmptyFieldsAndOtherCompressors) {
  scratch_dir d;
  test::write_text(d / "pm.txt", "0 1\n+-1 2\n");
  EXPECT_NE(import_error(d / "pm.txt", d / "o").find("pm.txt:2: '+-1' is not an integer node id"), std::string::npos);
  test::write_text(d / "tt.tsv", "0\t\t1\n1\t2\t2\n");
  const std::string e = import_error(d / "tt.tsv", d / "o");
  EXPECT_NE(e.find("tt.tsv:1:"), std::string::npos) << e;
  test::write_text(d / "g.bz2", "BZh91AY&SY\x01\x02");
  EXPECT_NE(import_error(d / "g.bz2", d / "o").find("is compressed with bzip2"), std::string::npos);
  test::write_text(d / "g.zst", std::string("\x28\xB5\x2F\xFD\x00\x00", 6));
  EXPECT_NE(import_error(d / "g.zst", d / "o").find("is compressed with zstd"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "o"));
}

// gzip files member after member (as `cat a.gz b.gz` makes them), zero padding ignored, and text
// appended after the compressed data refused (zlib's gzread dropped it silently).
TEST(EdgeListImport, GzipMembersPaddingAndAppendedText) {
  scratch_dir d;
  test::write_text(d / "a.gz", "0 1\n1 2\n", true);
  test::write_text(d / "b.gz", "2 3\n", true);
  const std::string a = test::read_text(d / "a.gz"), b = test::read_text(d / "b.gz");
  test::write_text(d / "ab.txt.gz", a + b);
  EXPECT_EQ(import_edgelist(d / "ab.txt.gz", d / "ab", {}, false).edges_read, 3);
  test::write_text(d / "pad.txt.gz", a + std::string(512, '\0'));
  EXPECT_EQ(import_edgelist(d / "pad.txt.gz", d / "pad", {}, false).edges_read, 2);
  test::write_text(d / "app.txt.gz", a + "5 6\n7 8\n");
  EXPECT_NE(import_error(d / "app.txt.gz", d / "o").find("after its gzip data come bytes that are not gzip"),
            std::string::npos);
  test::write_text(d / "cut.txt.gz", a.substr(0, a.size() - 6));
  EXPECT_NE(import_error(d / "cut.txt.gz", d / "o").find("truncated or corrupt gzip data"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "o"));
}

TEST(EdgeListBadInput, WrongColumnCount) {
  scratch_dir d;
  test::write_text(d / "g.tsv", "0\t1\n1\t2\t5\n");
  const std::string e = import_error(d / "g.tsv", d / "ds");
  EXPECT_NE(e.find("g.tsv:2: has 3 columns, but earlier lines have 2"), std::string::npos) << e;
  // A tab on line 1 and spaces on line 2: the hint names the option that reads both (R11-F7).
  test::write_text(d / "mixed.txt", "0\t1\n1 2\n");
  const std::string em = import_error(d / "mixed.txt", d / "ds");
  EXPECT_NE(em.find("mixed.txt:2: has 1 column, but earlier lines have 2 (the first line set the separator to a tab"),
            std::string::npos)
      << em;
  test::write_text(d / "one.txt", "0\n1\n");
  edgelist_options o;
  o.header = edgelist_options::header_mode::no;
  EXPECT_NE(import_error(d / "one.txt", d / "ds", o).find("one.txt:1: has 1 column(s)"), std::string::npos);
  // A numeric first line without the asked-for column is data, not a header (it was skipped as one,
  // and a one-line file then "contained no edges"; R11-F3).
  test::write_text(d / "sc.txt", "0 1\n");
  edgelist_options cols;
  cols.src_column = 5;
  const std::string e5 = import_error(d / "sc.txt", d / "ds", cols);
  EXPECT_NE(e5.find("sc.txt:1: has 2 column(s); need at least 6 (source in column 5, destination in column 1"),
            std::string::npos)
      << e5;
  test::write_text(d / "w.txt", "from to\n0 1\n");  // words are still a header
  EXPECT_NE(import_error(d / "w.txt", d / "ds", cols).find("w.txt:2: has 2 column(s)"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "ds"));
}

// The largest int64 id: remapped like any sparse id, and refused with a reason without --remap
// (max_id + 1 overflowed: "node count -1 is negative", a UBSan report; R11-F1).
TEST(EdgeListBadInput, LargestInt64IdIsRemappedOrRefusedClearly) {
  scratch_dir d;
  test::write_text(d / "big.txt", "9223372036854775807 0\n0 1\n");
  const auto r = import_edgelist(d / "big.txt", d / "ds", {}, false);
  EXPECT_TRUE(r.remapped);
  EXPECT_EQ(r.num_nodes, 3);
  edgelist_options o;
  o.remap = edgelist_options::remap_mode::never;
  const std::string e = import_error(d / "big.txt", d / "ds2", o);
  EXPECT_NE(e.find("big.txt: its largest node id is 9223372036854775807, which leaves no room for a node count"),
            std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(d / "ds2"));
}

TEST(EdgeListBadInput, NegativeAndOutOfRangeIdsWithoutRemap) {
  scratch_dir d;
  test::write_text(d / "g.txt", "0 1\n-3 1\n");
  edgelist_options o;
  o.remap = edgelist_options::remap_mode::never;
  EXPECT_NE(import_error(d / "g.txt", d / "ds", o).find("g.txt:2: negative node id -3"), std::string::npos);
  test::write_text(d / "h.txt", "0 1\n1 12\n");
  o.num_nodes = 10;
  EXPECT_NE(import_error(d / "h.txt", d / "ds", o).find("h.txt:2: node id 12 is outside [0, 10)"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "ds"));
}

TEST(EdgeListBadInput, EmptyFile) {
  scratch_dir d;
  test::write_text(d / "e.txt", "# only a comment\n\n");
  EXPECT_NE(import_error(d / "e.txt", d / "ds").find("e.txt: contains no edges"), std::string::npos);
  test::write_text(d / "z.txt", "");
  EXPECT_NE(import_error(d / "z.txt", d / "ds").find("contains no edges"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "ds"));
}

// A line without end (1 GiB of digits gzips to 1 MB) is refused once it passes 64 MiB, not buffered
// until memory runs out (R15-F6b).
TEST(EdgeListBadInput, ALineWithoutEndIsRefused) {
  scratch_dir d;
  test::write_text(d / "long.txt.gz", "1 2\n" + std::string(std::size_t{65} << 20, '7'), true);
  const std::string e = import_error(d / "long.txt.gz", d / "ds");
  EXPECT_NE(e.find("long.txt.gz:2: a line longer than 64 MiB"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(d / "ds"));
}

TEST(EdgeListBadInput, TruncatedGzip) {
  scratch_dir d;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + "\t" + std::to_string((i * 7919) % 20000) + "\n";
  test::write_text(d / "full.txt.gz", text, true);
  const std::string gz = test::read_text(d / "full.txt.gz");
  test::write_text(d / "cut.txt.gz", gz.substr(0, gz.size() / 2));
  const std::string e = import_error(d / "cut.txt.gz", d / "ds");
  EXPECT_NE(e.find("cut.txt.gz:"), std::string::npos) << e;
  EXPECT_NE(e.find("gzip"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(d / "ds"));
}

TEST(EdgeListBadInput, ExistingOutputLeftExactlyAsBefore) {
  scratch_dir d;
  test::write_text(d / "g.txt", "0 1\n");
  import_edgelist(d / "g.txt", d / "ds", {}, false);
  const auto before = test::list_tree(d / "ds");
  test::write_text(d / "bad.txt", "0 1\nfoo bar\n");
  EXPECT_THROW(import_edgelist(d / "bad.txt", d / "ds", {}, true), input_error);
  EXPECT_THROW(import_edgelist(d / "g.txt", d / "ds", {}, false), input_error);
  EXPECT_EQ(test::list_tree(d / "ds"), before);
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path())) ++n;
  EXPECT_EQ(n, 3);  // g.txt, bad.txt, ds: no temporary directories left behind
}
