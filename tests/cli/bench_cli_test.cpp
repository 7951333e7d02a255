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
            (std::vector<std::string>{"oracle", "degree", "wrpr", "vip", "presample:4", "hybrid"}));
  ASSERT_EQ(run_cli("-q bench traffic " + d / "g" + " --fanouts 5,5 --epochs 2 --estimators oracle,degree,degree " +
                        "--json " + d / "u.json",
                    &out),
            0)
      << out;
  EXPECT_EQ(estimators_in(d / "u.json"), (std::vector<std::string>{"oracle", "degree"}));
}
