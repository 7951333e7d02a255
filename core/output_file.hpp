#pragma once
// Output files named on the command line (train --metrics / --save-model / --checkpoint, profile -o,
// bench traffic --json / --plot): checked before any work, and written through a hidden temporary
// sibling that is renamed into place, so a failed or interrupted run leaves the old file (or
// nothing) and no temporary behind.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tg {

// True when `inner` is `outer` or lies inside it, after resolving both (symbolic links, "..").
bool path_same_or_inside(const std::string& inner, const std::string& outer);

// Refuses (input_error naming `option` and the path; an empty path is no output) an output file that is, or lies
// inside, one of `inputs` (the dataset directories or files the command reads), that exists but is not a regular file
// (a directory, a FIFO, a device), or whose parent directory is missing or not writable. A parent that is `will_create`
// (a directory output of the same run, created before it writes) need not exist yet.
//
// `writes` says what the option writes: "model" (a tiergnn model file), "metrics" (train --metrics'
// JSON lines), "traffic" / "comm" (bench traffic / bench comm --json), "scores" (profile -o: a 1-D
// float64 .npy), "plot" (bench traffic --plot's SVG), or "" (not checked). An existing, non-empty file
// of another kind is refused: a saved model is never replaced by --metrics or a benchmark's JSON
// through a slip of the name, one command's JSON by another's, nor a user's own JSON, .npy or SVG by
// an output that merely has the same format (R14-F4); a rerun's output, the same kind, is replaced.
void check_output_file(const std::string& path, const std::string& option, const std::vector<std::string>& inputs,
                       const std::string& will_create = "", const std::string& writes = "");

// Whether `dir` is a tiergnn dataset directory (its meta.json says so).
bool is_dataset_dir(const std::string& dir);

// Refuses an output directory (`option` DIR, e.g. --checkpoint) that is, holds or lies inside one
// of `inputs`, or that exists and is not a directory.
void check_output_dir(const std::string& dir, const std::string& option, const std::vector<std::string>& inputs);
// Refuses (input_error "WHAT: ...") a name longer than the file system takes, and a path whose
// ".." follows a directory that does not exist ("nodir/../x": the checks see "x", the kernel needs
// nodir): both would fail only at the final rename, after the work.
void check_output_name(const std::string& path, const std::string& what);

// The directory `path` is (to be) written in: its parent, "." for a bare name.
std::string parent_dir(const std::string& path);

// Refuses two outputs (option, path) that name the same file.
void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs);

// Writes `path` by calling write(tmp) on its hidden temporary sibling (".<name>.tmp-<pid>-<n>", removed
// on failure and on SIGINT/SIGTERM/SIGHUP), then renames it into place. Errors name `path`.
void write_output_file(const std::string& path, const std::function<void(const std::string& tmp)>& write);

}  // namespace tg
