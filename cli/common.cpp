#include <cstdio>

#include "cli/commands.hpp"
#include "core/dataset.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "tiering/plan_file.hpp"

namespace tg::cli {

void add_force_flag(CLI::App& cmd, bool* force) {
  cmd.add_flag("--force", *force, "Replace the output directory if it exists (only once the new one is complete)");
}

dataset open_dataset(const std::string& dir) {
  dataset d = dataset::open(dir);
  if (plan_file::present(d)) (void)plan_file::load(d);
  return d;
}

void print_written(const std::string& dir, double seconds) {
  const dataset d = dataset::open(dir);
  const auto& m = d.meta();
  std::uint64_t bytes = 0;
  for (const auto& [f, a] : m.arrays) bytes += a.bytes;
  log_info("wrote ", printable_text(dir), ": ", format_count(static_cast<double>(m.num_nodes)), " nodes, ",
           format_count(static_cast<double>(m.num_edges)), " arcs",
           m.directed ? "" : " (undirected, both directions stored)",
           m.has_features() ? ", " + std::to_string(m.feature_dim) + "-dim features" : std::string(),
           m.has_labels() ? ", " + std::to_string(m.num_classes) + " classes" : std::string(), ", ",
           format_bytes(static_cast<double>(bytes)), " in ", std::to_string(seconds).substr(0, 5), " s");
}

}  // namespace tg::cli
