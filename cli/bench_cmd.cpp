// `tiergnn bench traffic`: estimators and placements side by side (tiering/traffic_bench.hpp).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <fstream>

#include "cli/commands.hpp"
#include "core/json_text.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/output_file.hpp"
#include "core/resources.hpp"
#include "sampler/neighbor_sampler.hpp"
#include "tiering/traffic_bench.hpp"

namespace tg::cli {

namespace {
void write_file(const std::string& path, const std::string& text) {
  write_output_file(path, [&](const std::string& tmp) {
    std::ofstream out(tmp);
    out << text;
    out.close();
    if (!out) throw io_error(at_input(tmp, "write failed (is the disk full?)"));
  });
}
}  // namespace

void register_bench(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  register_bench_comm(*bench);
  struct opts_t {
    std::string dir, fanouts = "15,10,5", estimators, ratios = "1,2,5,10,20,40", json, plot, train_range;
    traffic_bench_config cfg;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c = bench->add_subcommand(
      "traffic",
      "CPU -> GPU feature traffic of each estimator's placement at several GPU cache sizes, against the\n"
      "hindsight-optimal placement (oracle) of the same run: hit rate, % of oracle, host->GPU bytes per\n"
      "epoch, reduction vs no cache, estimator time and cost in presampling epochs (its time / the time of\n"
      "presample:1). Prints a table; --json and --plot (SVG) save it.");
  c->add_option("dataset", o->dir, "Dataset directory")->required();
  c->add_option("--estimators", o->estimators, "Comma-separated estimators (default: all)")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return v.find_first_not_of(" \t,") == std::string::npos ? std::string(
                                                                          "no estimator given (leave the option "
                                                                          "out for all of them)")
                                                                    : std::string();
          },
          "", ""));
  c->add_option("--ratios", o->ratios, "GPU cache sizes in % of the feature bytes")->capture_default_str();
  c->add_option("--fanouts", o->fanouts, "Fanouts of the simulated training")->capture_default_str();
  c->add_option("--batch-size", o->cfg.batch_size, "Batch size")->check(positive())->capture_default_str();
  c->add_option("--epochs", o->cfg.epochs, "Run length in epochs")->capture_default_str();
  c->add_option("--max-batches", o->cfg.max_batches,
                "The run trains only the first N batches of every epoch (as train --max-batches; 0: all): bounds "
                "the simulation at scale")
      ->check(non_negative());
  c->add_option("--seed", o->cfg.seed, "Training seed")->capture_default_str();
  CLI::Option* fraction =
      c->add_option("--train-fraction", o->cfg.train_fraction, "Random training share when the dataset has no split")
          ->capture_default_str();
  c->add_flag("--random-train-set", o->cfg.random_train,
              "Use a random training set of --train-fraction of the nodes even when the dataset has a split");
  c->add_option("--split-seed", o->cfg.split_seed, "Seed of that random training set")->capture_default_str();
  c->add_option("--train-range", o->train_range,
                "Contiguous training set START:END, fractions of the node ids (e.g. 0.4:0.5 = ids floor(0.4 N) to "
                "floor(0.5 N) - 1); "
                "web crawls number pages in URL order, so this is a locality-skewed split")
      ->excludes("--random-train-set");
  c->add_option("--row-bytes", o->cfg.row_bytes, "Feature row size (default: the dataset's, or 512 without features)")
      ->check(positive());
  c->add_option("--json", o->json, "Write the results as JSON to this file")->check(named_path());
  c->add_option("--plot", o->plot, "Write hit rate vs cache size as an SVG plot to this file")->check(named_path());
  c->callback([o, fraction] {
    o->cfg.fanouts = parse_fanouts(o->fanouts);
    if (!o->train_range.empty()) {
      const std::size_t colon = o->train_range.find(':');
      char* end1 = nullptr;
      char* end2 = nullptr;
      const std::string a = o->train_range.substr(0, colon);
      const std::string b = colon == std::string::npos ? "" : o->train_range.substr(colon + 1);
      const double lo = std::strtod(a.c_str(), &end1), hi = std::strtod(b.c_str(), &end2);
      if (colon == std::string::npos || a.empty() || b.empty() || *end1 != '\0' || *end2 != '\0' || !(lo >= 0) ||
          !(lo < hi) || !(hi <= 1))
        throw input_error("--train-range '" + o->train_range +
                          "': expected START:END, fractions of the node ids with 0 <= START < END <= 1, e.g. 0.4:0.5");
      o->cfg.contiguous_train = true;
      o->cfg.range_begin = lo;
      o->cfg.range_end = hi;
    }
    o->cfg.estimators.clear();
    for (std::size_t s = 0; !o->estimators.empty() && s <= o->estimators.size();) {
      const std::size_t e = o->estimators.find(',', s);
      std::string tok = o->estimators.substr(s, e == std::string::npos ? std::string::npos : e - s);
      tok.erase(0, tok.find_first_not_of(" \t"));  // "degree, wrpr" as --fanouts takes "5, 5"
      tok.erase(tok.find_last_not_of(" \t") + 1);
      o->cfg.estimators.push_back(tok);
      if (e == std::string::npos) break;
      s = e + 1;
    }
    o->cfg.ratios.clear();
    for (std::size_t s = 0; s <= o->ratios.size();) {
      const std::size_t e = o->ratios.find(',', s);
      const std::string tok = o->ratios.substr(s, e == std::string::npos ? std::string::npos : e - s);
      char* end = nullptr;
      const double v = std::strtod(tok.c_str(), &end);
      if (tok.empty() || *end != '\0' || !(v > 0 && v <= 100))
        throw input_error("--ratios '" + o->ratios + "': '" + tok + "' is not a size in (0, 100] percent");
      // Each size once (as each estimator runs once), in the order given.
      if (std::find(o->cfg.ratios.begin(), o->cfg.ratios.end(), v / 100.0) == o->cfg.ratios.end())
        o->cfg.ratios.push_back(v / 100.0);
      if (e == std::string::npos) break;
      s = e + 1;
    }
    // The outputs must be writable before minutes of simulation, not after.
    check_output_file(o->json, "--json", {o->dir}, "", "traffic");
    check_output_file(o->plot, "--plot", {o->dir}, "", "plot");
    check_distinct_outputs({{"--json", o->json}, {"--plot", o->plot}});
    // Room for them too (tens of KiB: a table per estimator), before the simulation.
    for (const auto& [option, f] :
         {std::pair<const char*, const std::string*>{"--json", &o->json}, {"--plot", &o->plot}})
      if (!f->empty())
        expect_disk_space(parent_dir(*f), std::uint64_t{256} << 10, std::string(option) + " " + *f, "it");
    const dataset d = open_dataset(o->dir);
    // A fraction that would not be used is refused, not ignored (the dataset's split is benched).
    if (fraction->count() > 0 && !o->cfg.random_train && o->train_range.empty() && d.has("train_idx.npy"))
      throw input_error("--train-fraction: " + d.dir() +
                        " has its own training split, which is what bench traffic measures; add --random-train-set "
                        "to measure a random training set of that share instead");
    const traffic_bench_result r = run_traffic_bench(d, o->cfg);
    std::printf("%s", r.table().c_str());
    if (!o->json.empty()) write_file(o->json, json_text(r.to_json(), 1) + "\n");
    if (!o->plot.empty()) write_file(o->plot, r.svg());
  });
}

}  // namespace tg::cli
