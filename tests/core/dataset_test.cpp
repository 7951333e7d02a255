#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "test_util.hpp"

using namespace tg;
using tg::test::scratch_dir;
namespace fs = std::filesystem;

namespace {
// A 4-node graph: 0->1, 0->2, 1->2, 3->0 stored as in-neighbours.
void write_small(dataset_writer& w, bool with_labels = true) {
  w.put("indptr.npy", std::vector<std::int64_t>{0, 1, 2, 4, 4});
  w.put("indices.npy", std::vector<std::int32_t>{3, 0, 0, 1});
  auto& m = w.meta();
  m.name = "small";
  m.num_nodes = 4;
  m.num_edges = 4;
  m.index_dtype = dtype::int32;
  std::vector<float> f(8, 1.0f);
  w.put("features.npy", dtype::float32, {4, 2}, f.data());
  m.feature_dim = 2;
  if (with_labels) {
    w.put("labels.npy", std::vector<std::int64_t>{0, 1, -1, 1});
    m.num_classes = 2;
    w.put("train_idx.npy", std::vector<std::int64_t>{0, 1});
    w.put("test_idx.npy", std::vector<std::int64_t>{3});
  }
}

std::string check_error(const std::string& dir) {
  try {
    dataset::open(dir).check();
  } catch (const input_error& e) {
    return e.what();
  }
  return "";
}

void edit_meta(const std::string& dir, const std::function<void(nlohmann::json&)>& f) {
  nlohmann::json j = nlohmann::json::parse(test::read_text(dir + "/meta.json"));
  f(j);
  test::write_text(dir + "/meta.json", j.dump(2));
}
}  // namespace

TEST(Dataset, WriterCommitsAValidDirectory) {
  scratch_dir d;
  const std::string out = d / "ds";
  {
    dataset_writer w(out);
    write_small(w);
    w.commit();
  }
  const dataset ds = dataset::open(out);
  EXPECT_EQ(ds.num_nodes(), 4);
  EXPECT_EQ(ds.meta().num_classes, 2);
  EXPECT_NO_THROW(ds.check());
  const auto g = ds.graph<std::int32_t>();
  EXPECT_EQ(g.degree(2), 2);
  EXPECT_EQ(g.neighbors(2)[1], 1);
  // Only the dataset itself is left in the parent: no temporary siblings.
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator()), 1);
}

TEST(Dataset, FailedWriteLeavesNothing) {
  scratch_dir d;
  const std::string out = d / "ds";
  {
    dataset_writer w(out);
    write_small(w);
    w.put("labels.npy", std::vector<std::int64_t>{0, 5, 0, 0});  // label out of range
    EXPECT_THROW(w.commit(), input_error);
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::is_empty(d.path()));
}

// Another process creating the output while this one writes it (two runs with one output): the
// other's output stays, this run says so and leaves no temporary.
TEST(Dataset, OutputCreatedMeanwhileIsNeitherReplacedNorAnInternalError) {
  scratch_dir d;
  const std::string out = d / "ds";
  {
    dataset_writer w(out);
    write_small(w);
    fs::create_directory(out);  // empty, as another run's rename of its own would make it
    try {
      w.commit();
      ADD_FAILURE() << "commit replaced a directory that appeared meanwhile";
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("created by another process"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_TRUE(fs::is_empty(out));
  for (const auto& e : fs::directory_iterator(d.path())) EXPECT_EQ(e.path().filename(), "ds") << e.path();
}

TEST(Dataset, ExistingOutputIsRefusedOrReplacedWhole) {
  scratch_dir d;
  const std::string out = d / "ds";
  {
    dataset_writer w(out);
    write_small(w);
    w.commit();
  }
  const auto before = test::list_tree(out);
  EXPECT_THROW(dataset_writer w(out), input_error);
  {
    dataset_writer w(out, /*overwrite=*/true);
    write_small(w);
    w.put("labels.npy", std::vector<std::int64_t>{0, 9, 0, 0});
    EXPECT_THROW(w.commit(), input_error);
  }
  EXPECT_EQ(test::list_tree(out), before);  // the old dataset is untouched
  {
    dataset_writer w(out, true);
    write_small(w, false);
    w.commit();
  }
  EXPECT_FALSE(dataset::open(out).meta().has_labels());
}

TEST(DatasetBadInput, MissingMetaFieldsAreNamed) {
  scratch_dir d;
  const std::string out = d / "ds";
  {
    dataset_writer w(out);
    write_small(w);
    w.commit();
  }
  edit_meta(out, [](nlohmann::json& j) { j.erase("num_nodes"); });
  EXPECT_NE(check_error(out).find("meta.json: missing field 'num_nodes'"), std::string::npos);
  fs::remove(out + "/meta.json");
  EXPECT_NE(check_error(out).find("meta.json: missing"), std::string::npos);
}

TEST(DatasetBadInput, InconsistentLengthsAreNamed) {
  scratch_dir d;
  const std::string out = d / "ds";
  {
    dataset_writer w(out);
    write_small(w);
    w.commit();
  }
  // labels.npy shorter than num_nodes, meta updated to match the file so only the length is wrong.
  std::vector<std::int64_t> l{0, 1, 1};
  write_npy(out + "/labels.npy", span<const std::int64_t>(l));
  edit_meta(out, [](nlohmann::json& j) { j["arrays"]["labels.npy"]["shape"] = {3}; });
  const std::string e = check_error(out);
  EXPECT_NE(e.find("labels.npy: shape is (3,), expected (4,)"), std::string::npos) << e;
}

TEST(DatasetBadInput, TamperedFileFailsChecksum) {
  scratch_dir d;
  const std::string out = d / "ds";
  {
    dataset_writer w(out);
    write_small(w);
    w.commit();
  }
  std::fstream f(out + "/features.npy", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(-1, std::ios::end);
  f.put('\x40');  // 1.0f becomes 4.0f: finite, but the bytes changed
  f.close();
  EXPECT_NE(check_error(out).find("features.npy: checksum mismatch"), std::string::npos);
}

TEST(DatasetBadInput, CsrProblemsAreLocated) {
  scratch_dir d;
  const std::vector<std::int64_t> ip{0, 2, 1, 3};
  std::vector<std::int32_t> ix{0, 1, 2};
  try {
    validate_csr("g", 3, span<const std::int64_t>(ip), ix.data(), dtype::int32, 3);
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("indptr decreases at row 1"), std::string::npos) << e.what();
  }
  const std::vector<std::int64_t> ok{0, 1, 2, 3};
  ix[2] = 7;
  try {
    validate_csr("g", 3, span<const std::int64_t>(ok), ix.data(), dtype::int32, 3);
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("indices[2] = 7 (in row 2) is outside [0, 3)"), std::string::npos) << e.what();
  }
}

TEST(DatasetBadInput, SplitProblemsAreLocated) {
  scratch_dir d;
  const std::string out = d / "ds";
  dataset_writer w(out);
  write_small(w);
  w.put("valid_idx.npy", std::vector<std::int64_t>{1});  // also in train
  try {
    w.commit();
    FAIL();
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("valid_idx.npy: node 1 is also in train_idx.npy"), std::string::npos)
        << e.what();
  }
}

TEST(DegreeStats, SmallGraph) {
  const std::vector<std::int64_t> ip{0, 1, 2, 4, 4};
  const std::vector<std::int32_t> ix{3, 0, 0, 1};
  const degree_stats s = compute_degree_stats(4, span<const std::int64_t>(ip), ix.data(), dtype::int32);
  EXPECT_EQ(s.max_in, 2);
  EXPECT_EQ(s.max_out, 2);
  EXPECT_DOUBLE_EQ(s.mean_in, 1.0);
  EXPECT_EQ(s.isolated, 0);
  EXPECT_DOUBLE_EQ(s.top1_endpoint_share, 3.0 / 8.0);  // node 0: in 1 + out 2
}
