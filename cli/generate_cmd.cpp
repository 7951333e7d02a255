#include "cli/commands.hpp"

namespace tg::cli {
void register_generate(CLI::App& app) { (void)app; }
}  // namespace tg::cli
