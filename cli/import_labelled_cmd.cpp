#include "cli/commands.hpp"

namespace tg::cli {
void register_import_labelled(CLI::App& import_cmd) { (void)import_cmd; }
}  // namespace tg::cli
