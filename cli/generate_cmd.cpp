// `tiergnn generate rmat|community OUT`: synthetic datasets (datasets/generate.hpp).
#include <chrono>
#include <memory>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "datasets/generate.hpp"

namespace tg::cli {

namespace {

void add_split_options(CLI::App& c, double* train, double* valid, double* test) {
  c.add_option("--train", *train, "Fraction of nodes in train_idx.npy")->capture_default_str();
  c.add_option("--valid", *valid, "Fraction of nodes in valid_idx.npy")->capture_default_str();
  c.add_option("--test", *test, "Fraction of nodes in test_idx.npy (the three are disjoint)")->capture_default_str();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void register_rmat(CLI::App& gen) {
  struct opts_t {
    std::string output;
    rmat_options r;
    bool force = false, drop_self_loops = false, keep_duplicates = false, no_scramble = false;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c =
      gen.add_subcommand("rmat", "Graph500 R-MAT graph with power-law degrees, for scale tests (random labels)");
  c->footer(
      "Generates a Graph500 R-MAT (Kronecker) graph: 2^scale nodes and edge-factor * 2^scale "
      "directed\n"
      "edges with a heavy-tailed degree distribution, node ids scrambled so hubs are spread over "
      "the\n"
      "id range. Duplicate edges are dropped by default, so slightly fewer edges are stored.\n"
      "Optional N(0,1) features and random labels with train/valid/test splits, for scale tests\n"
      "(the labels carry no signal). Memory grows with the node count, not the edge count.\n"
      "\nExample: tiergnn generate rmat graph500-s20 --scale 20 --edge-factor 16");
  c->add_option("output", o->output, "Output dataset directory")->required();
  c->add_option("--scale", o->r.scale, "log2 of the node count (1..40)")->capture_default_str();
  c->add_option("--edge-factor", o->r.edge_factor, "Edges per node")->capture_default_str();
  c->add_option("--a", o->r.a, "Probability of the top-left quadrant (source low, target low)")->capture_default_str();
  c->add_option("--b", o->r.b, "Probability of the top-right quadrant")->capture_default_str();
  c->add_option("--c", o->r.c, "Probability of the bottom-left quadrant; d = 1 - a - b - c")->capture_default_str();
  c->add_option("--seed", o->r.seed, "Random seed: the same seed gives the same bytes on any machine")
      ->capture_default_str();
  c->add_flag("--undirected", o->r.undirected, "Store both directions of every edge");
  c->add_flag("--drop-self-loops", o->drop_self_loops, "Remove edges u -> u");
  c->add_flag("--keep-duplicates", o->keep_duplicates,
              "Keep repeated edges (then exactly edge-factor * 2^scale edges are stored; with "
              "--undirected twice that, less one per self-loop)");
  c->add_flag("--no-scramble", o->no_scramble, "Do not scramble node ids (hubs then sit at the lowest ids)");
  c->add_option("--feature-dim", o->r.feature_dim, "Feature dimension (0: no features.npy)")->capture_default_str();
  c->add_option("--classes", o->r.num_classes, "Number of classes for random labels and splits (0: no labels)")
      ->capture_default_str();
  add_split_options(*c, &o->r.train_fraction, &o->r.valid_fraction, &o->r.test_fraction);
  add_force_flag(*c, &o->force);
  c->callback([o, c] {
    // Splits come with labels: without --classes the fractions would be dropped without a word (R13-F7).
    if (o->r.num_classes == 0)
      for (const char* opt : {"--train", "--valid", "--test"})
        if (c->count(opt) > 0)
          throw input_error(std::string(opt) +
                            ": an R-MAT graph gets labels and splits only with --classes K (random labels); "
                            "add --classes, or leave the split fractions out");
    rmat_options r = o->r;
    r.remove_self_loops = o->drop_self_loops;
    r.remove_duplicates = !o->keep_duplicates;
    r.scramble_ids = !o->no_scramble;
    const auto t0 = std::chrono::steady_clock::now();
    const std::string dir = generate_rmat(r, o->output, o->force);
    print_written(dir, seconds_since(t0));
  });
}

void register_community(CLI::App& gen) {
  struct opts_t {
    std::string output;
    community_options g;
    bool force = false;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c =
      gen.add_subcommand("community", "Undirected power-law graph with communities and learnable labels and features");
  c->footer(
      "Generates an undirected graph with communities and learnable labels: power-law degrees\n"
      "(Chung-Lu), one community per class, a chosen fraction of edges inside the community, and\n"
      "features = signal * class centroid + noise * N(0, I). With the defaults a node's own "
      "features\n"
      "give about 38% nearest-centroid accuracy on 8 classes, the mean of its neighbours' about "
      "76%:\n"
      "a task where message passing pays off. Self-loops and duplicate edges are removed.\n"
      "\nExample: tiergnn generate community comm-1m --nodes 1000000 --avg-degree 15");
  c->add_option("output", o->output, "Output dataset directory")->required();
  c->add_option("--nodes", o->g.num_nodes, "Number of nodes")->capture_default_str();
  c->add_option("--avg-degree", o->g.avg_degree,
                "Mean degree before duplicates are removed (nodes * avg-degree / 2 edges are drawn)")
      ->capture_default_str();
  c->add_option("--classes", o->g.num_classes, "Number of classes (= communities), >= 2")->capture_default_str();
  c->add_option("--homophily", o->g.homophily, "Fraction of edges inside a community, 0..1")->capture_default_str();
  c->add_option("--power-law", o->g.power_law_exponent,
                "Degree distribution exponent gamma (P(deg = k) ~ k^-gamma), from 2 (the heaviest tail) to 100")
      ->capture_default_str();
  c->add_option("--feature-dim", o->g.feature_dim, "Feature dimension (0: no features.npy)")->capture_default_str();
  c->add_option("--signal", o->g.feature_signal, "Length of the class centroid in the features")->capture_default_str();
  c->add_option("--noise", o->g.feature_noise,
                "Standard deviation of the Gaussian noise per feature (higher: harder from features alone)")
      ->capture_default_str();
  c->add_option("--seed", o->g.seed, "Random seed: the same seed gives the same bytes on any machine")
      ->capture_default_str();
  add_split_options(*c, &o->g.train_fraction, &o->g.valid_fraction, &o->g.test_fraction);
  add_force_flag(*c, &o->force);
  c->callback([o] {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string dir = generate_community(o->g, o->output, o->force);
    print_written(dir, seconds_since(t0));
  });
}

}  // namespace

void register_generate(CLI::App& app) {
  CLI::App* gen =
      app.add_subcommand("generate", "Generate a synthetic dataset (R-MAT for scale, community graphs for learning)");
  gen->require_subcommand(1);
  register_rmat(*gen);
  register_community(*gen);
}

}  // namespace tg::cli
