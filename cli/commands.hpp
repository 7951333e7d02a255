#pragma once
// Subcommands of the `tiergnn` executable. Each register_* function adds its subcommand(s) with
// their options and a callback; callbacks throw tg::error on failure and main() prints one line.
#include <cstdlib>
#include <CLI/CLI.hpp>

#include <string>

#include "core/dataset.hpp"

namespace tg::cli {

// Number validators with short messages (CLI11's own print the range up to the largest double):
// the value must parse whole as a number and satisfy `ok`; otherwise "'V' must be <what>".
inline CLI::Validator number_check(bool (*ok)(double), const std::string& what, const std::string& name) {
  return CLI::Validator(
      [ok, what](std::string& v) {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        return end != v.c_str() && *end == '\0' && ok(x) ? std::string() : "'" + v + "' must be " + what;
      },
      name);
}
inline CLI::Validator non_negative() {
  return number_check([](double x) { return x >= 0; }, "a number >= 0", "NUMBER>=0");
}
// An output path given as an empty string would silently write nothing, and "-" would write a file
// named "-" (outputs never go to standard output): refused.
inline CLI::Validator named_path(const char* kind = "file") {
  return CLI::Validator(
      [kind](std::string& v) {
        if (v.empty()) return std::string("an empty path: name a ") + kind + " or leave the option out";
        if (v == "-") return std::string("'-': outputs are written to files, not standard output; name a file");
        return std::string();
      },
      "", "");
}
inline CLI::Validator positive() {
  return number_check([](double x) { return x > 0; }, "a number > 0", "NUMBER>0");
}

void register_generate(CLI::App& app);                // cli/generate_cmd.cpp
void register_import_edgelist(CLI::App& import_cmd);  // cli/import_edgelist_cmd.cpp
void register_import_labelled(CLI::App& import_cmd);  // cli/import_labelled_cmd.cpp
void register_info(CLI::App& app);                    // cli/info_cmd.cpp
void register_train(CLI::App& app);                   // cli/train_cmd.cpp
void register_prepare(CLI::App& app);                 // cli/prepare_cmd.cpp
void register_profile(CLI::App& app);                 // cli/prepare_cmd.cpp
void register_bench(CLI::App& app);
void register_bench_comm(CLI::App& bench);  // cli/bench_comm_cmd.cpp: `bench comm`, called by register_bench
void register_launch(CLI::App& app);        // cli/launch_cmd.cpp

// Adds --force (replace an existing output directory) to a subcommand writing a dataset.
void add_force_flag(CLI::App& cmd, bool* force);
// Opens a dataset directory for a command: the structural check of dataset::open and, on a prepared
// dataset, the check of its plan (plan.json against itself and the dataset), before any work.
dataset open_dataset(const std::string& dir);
// Prints the one-paragraph summary after a dataset was written (counts, sizes, elapsed seconds).
void print_written(const std::string& dir, double seconds);

}  // namespace tg::cli
