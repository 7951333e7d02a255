// The `tiergnn` command line: generate, import and inspect datasets (profile, prepare, train and
// bench come with later modules). Errors print one line naming the input and exit with status 1.
#include <tbb/global_control.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "include/tiergnn/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "tiergnn: train graph neural networks on graphs larger than GPU memory, with node features\n"
      "tiered across GPU memory, pinned host memory and disk.\n"};
  app.name("tiergnn");
  app.require_subcommand(1);
  app.set_version_flag("--version", "tiergnn " TIERGNN_VERSION);
  int threads = 0;
  bool quiet = false;
  app.add_option("--threads", threads, "Worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("-q,--quiet", quiet, "Only print errors");
  std::unique_ptr<tbb::global_control> limit;
  app.parse_complete_callback([&] {
    if (threads > 0)
      limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<std::size_t>(threads));
    if (quiet) tg::set_log_level(tg::log_level::error);
  });
  app.fallthrough();

  tg::cli::register_generate(app);
  CLI::App* import_cmd =
      app.add_subcommand("import", "Import a graph or a labelled dataset into a tiergnn dataset directory");
  import_cmd->require_subcommand(1);
  tg::cli::register_import_edgelist(*import_cmd);
  tg::cli::register_import_labelled(*import_cmd);
  tg::cli::register_info(app);
  tg::cli::register_profile(app);
  tg::cli::register_prepare(app);
  tg::cli::register_train(app);
  tg::cli::register_bench(app);
  tg::cli::register_launch(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tg::interrupted_error& e) {
    std::fprintf(stderr, "tiergnn: %s\n", e.what());
    return 130;
  } catch (const tg::error& e) {
    std::fprintf(stderr, "tiergnn: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tiergnn: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tiergnn: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
