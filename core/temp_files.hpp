#pragma once
// Temporary outputs that must not outlive their process: a dataset being written (a hidden sibling
// directory, renamed into place when complete) or a checkpoint being written. While registered,
// they are removed if the process is stopped by SIGINT, SIGTERM or SIGHUP (the handler uses only
// async-signal-safe calls, then lets the signal end the process as before). A later run removes
// the temporaries of processes that no longer exist (killed by SIGKILL, or a crash) when it writes
// beside them.
#include <signal.h>

#include <string>
#include <vector>

namespace tg {

// Registers / unregisters a temporary file or directory (at most 64 at once; more are simply not
// cleaned on a signal).
void register_temp(const std::string& path);
void unregister_temp(const std::string& path);

// A helper process (the Planetoid converter) that writes temporaries, leading a process group of its
// own (a wrapper such as pyenv's python3 shim runs the real interpreter as its child): the group is
// stopped with SIGTERM by the same handlers before they remove the temporaries (at most 8 at once).
void register_child_process(int pid);
void unregister_child_process(int pid);

// Installs the SIGINT / SIGTERM / SIGHUP handlers (once; the CLI calls it at start). A handler that
// a command installs later (training's Ctrl-C) takes precedence while it is installed.
void install_temp_cleanup();

// Installs `handler` for the stop signal `sig` unless the process started with it ignored (`nohup`
// ignores SIGHUP, a script's background job SIGINT): an ignored signal stays ignored. Saves the
// previous action in *old when given; returns whether the handler was installed.
bool catch_unless_ignored(int sig, void (*handler)(int), struct sigaction* old = nullptr);

// Removes every registered temporary with async-signal-safe calls only: for a signal handler that
// ends the process another way (the CLI's SIGBUS handler).
void remove_registered_temps_signal_safe();

// Records that the temporary `tmp` becomes `output` (kept after the temporary is gone): an error
// raised while writing it names the temporary (./.out.tmp-123-0/features.npy), which means nothing
// to the user and no longer exists when the message is read; with_output_names() puts the output's
// name in its place (out/features.npy).
void name_temp(const std::string& tmp, const std::string& output);
std::string with_output_names(std::string message);

// Removes siblings of `path` named "." + basename + ".tmp-PID[...]" whose process PID is gone.
void remove_stale_temps(const std::string& path);
// Those siblings (before they are removed: a resumed run reads the metrics lines a killed run left
// in its temporary), oldest first (by modification time, then name).
std::vector<std::string> stale_temps(const std::string& path);
// The start of the names of the temporaries for a file named `name` (".NAME.tmp-"; a long name is
// shortened and hashed so that a temporary fits a file system's 255-byte names).
std::string temp_prefix(const std::string& name);

}  // namespace tg
