// `tiergnn bench traffic` as a user first runs it: with its defaults (every estimator once, the
// oracle first and only once), and with a list that names the oracle and an estimator twice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

using tg::test::run_cli;
using tg::test::scratch_dir;

namespace {
std::vector<std::string> estimators_in(const std::string& json_path) {
  const auto j = nlohmann::json::parse(tg::test::read_text(json_path));
  std::vector<std::string> names;
  for (const auto& r : j.at("estimators")) names.push_back(r.at("estimator").get<std::string>());
  return names;
}
}  // namespace

TEST(BenchTrafficCli, DefaultsListEveryEstimatorOnceAfterTheOracle) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 2000 --feature-dim 8 --classes 4 --seed 1"), 0);
  std::string out;
  ASSERT_EQ(run_cli("-q bench traffic " + d / "g" + " --fanouts 5,5 --epochs 2 --json " + d / "t.json", &out), 0)
      << out;
  EXPECT_EQ(estimators_in(d / "t.json"),
            (std::vector<std::string>{"oracle", "degree", "wrpr", "vip", "presample:4", "cvip", "hybrid"}));
  ASSERT_EQ(run_cli("-q bench traffic " + d / "g" +
                        " --fanouts 5,5 --epochs 2 --estimators "
                        "oracle,degree,degree,cvip,cvip:1.0,presample:1,presample:1.0,presample:2 " +
                        "--json " + d / "u.json",
                    &out),
            0)
      << out;
  // One row per estimator, however it is spelt (cvip:1.0 is cvip).
  EXPECT_EQ(estimators_in(d / "u.json"),
            (std::vector<std::string>{"oracle", "degree", "cvip", "presample:1", "presample:2"}));
}

TEST(BenchTrafficCli, ContiguousTrainingRangeAndCostsInPresamplingEpochs) {
  scratch_dir d;
  ASSERT_EQ(run_cli("-q generate community " + d / "g" + " --nodes 3000 --feature-dim 8 --classes 4 --seed 2"), 0);
  std::string out;
  ASSERT_EQ(run_cli("-q bench traffic " + d / "g" + " --fanouts 5,5 --epochs 2 --train-range 0.2:0.3 " +
                        "--estimators degree,presample:1 --json " + d / "t.json",
                    &out),
            0)
      << out;
  const auto j = nlohmann::json::parse(tg::test::read_text(d / "t.json"));
  EXPECT_EQ(j.at("train_nodes").get<long long>(), 300);  // ids [600, 900)
  EXPECT_EQ(j.at("train_set").get<std::string>(), "contiguous ids [0.2 N, 0.3 N)");
  const double unit = j.at("presample_epoch_seconds").get<double>();
  EXPECT_GT(unit, 0);
  for (const auto& r : j.at("estimators")) {
    const double cost = r.at("presample_epochs").get<double>();
    EXPECT_NEAR(cost, r.at("seconds").get<double>() / unit, 1e-9) << r.at("estimator");
    if (r.at("estimator") == "presample:1") {
      EXPECT_DOUBLE_EQ(cost, 1.0);
    }
  }
  EXPECT_NE(out.find("cost (presampling epochs)"), std::string::npos) << out;
  // Without presample:1 in the list the unit is still measured.
  ASSERT_EQ(run_cli("-q bench traffic " + d / "g" + " --fanouts 5,5 --epochs 2 --train-range 0:0.5 " +
                        "--estimators degree --json " + d / "u.json",
                    &out),
            0)
      << out;
  EXPECT_GT(nlohmann::json::parse(tg::test::read_text(d / "u.json")).at("presample_epoch_seconds").get<double>(), 0);
  for (const std::string bad : {"0.5", "0.3:0.2", "0.2:1.5", "a:b", "0.2:", "-0.1:0.2"}) {
    ASSERT_NE(run_cli("-q bench traffic " + d / "g" + " --train-range " + bad, &out), 0) << bad;
    EXPECT_NE(out.find("--train-range"), std::string::npos) << bad << ": " << out;
  }
  ASSERT_NE(run_cli("-q bench traffic " + d / "g" + " --train-range 0:0.1 --random-train-set", &out), 0);
  // --max-batches: the run trains the first batch of each epoch (300 training nodes: 3 batches).
  ASSERT_EQ(
      run_cli("-q bench traffic " + d / "g" + " --fanouts 5,5 --epochs 2 --train-range 0.2:0.3 --batch-size 100 " +
                  "--max-batches 1 --estimators vip --json " + d / "m.json",
              &out),
      0)
      << out;
  const auto m = nlohmann::json::parse(tg::test::read_text(d / "m.json"));
  EXPECT_EQ(m.at("max_batches").get<long long>(), 1);
  ASSERT_NE(run_cli("-q bench traffic " + d / "g" + " --max-batches -2", &out), 0);
}

// The plot stays well-formed XML whatever the dataset's name holds (import names a dataset after its
// input file: "R&D<1>.txt").
TEST(BenchTrafficCli, PlotEscapesTheDatasetName) {
  scratch_dir d;
  tg::test::write_text(d / "edges.txt", "0 1\n1 2\n2 0\n2 3\n");
  ASSERT_EQ(run_cli("-q import edgelist " + d / "edges.txt" + " -o " + d / "g" + " --name 'R&D<1> \"q\"'"), 0);
  std::string out;
  ASSERT_EQ(run_cli("-q bench traffic " + d / "g" + " --ratios 50 --epochs 1 --estimators degree --plot " + d / "p.svg",
                    &out),
            0)
      << out;
  const std::string svg = tg::test::read_text(d / "p.svg");
  EXPECT_NE(svg.find("R&amp;D&lt;1&gt; &quot;q&quot;"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("R&D"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("<1>"), std::string::npos) << svg;
}
