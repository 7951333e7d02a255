// Planetoid importer (Yang, Cohen and Salakhutdinov, "Revisiting semi-supervised learning with
// graph embeddings", ICML 2016; kimiyoung/planetoid): Cora, CiteSeer (and PubMed) as the Python
// pickles ind.<name>.{x,y,tx,ty,allx,ally,graph} plus ind.<name>.test.index, with the public split
// of Kipf and Welling's GCN (20 per class train, 500 valid, 1000 test).
//
// The pickles are only readable from Python, so datasets/planetoid_to_npz.py converts them into
// an .npz that import_npz_into() then imports (undirected, self-loops removed unless asked).
// Finding the script: its text is compiled into the library (datasets/CMakeLists.txt generates
// planetoid_script.hpp from the .py at configure time), and it runs as `python3 -c <script>`, so
// neither the source tree nor an installed copy needs to be found at run time and the script can
// never be out of step with the binary. python3 is looked up on PATH (or given explicitly).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/output_file.hpp"
#include "core/temp_files.hpp"
#include "datasets/import_labelled.hpp"
#include "datasets/labelled_arrays.hpp"
#include "datasets/planetoid_script.hpp"

namespace tg {

namespace {

namespace fs = std::filesystem;

// Removes the converter's temporary files however the import ends.
// The converter's files, removed when the import ends and, registered, on a stop signal too.
struct temp_files {
  std::vector<std::string> paths;
  void add(const std::string& p) {
    register_temp(p);
    paths.push_back(p);
  }
  ~temp_files() {
    for (const auto& p : paths) {
      ::unlink(p.c_str());
      unregister_temp(p);
    }
  }
};

std::string last_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  const std::size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// Runs the embedded converter; its standard error comes back through a pipe (the last 64 KiB, in
// *err): a file for it on the output's disk could not be written when that disk is full or read-only
// (R15-F4: the cause was lost, or a traceback reached the terminal). Returns the wait status.
int run_converter(const std::string& python, const std::vector<std::string>& args, std::string* err) {
  std::vector<std::string> argv_s = {python, "-c", kPlanetoidScript};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  // fork + exec rather than posix_spawn: the converter must not outlive this process (an orphan
  // would go on writing its output after an interrupted import), so it gets PR_SET_PDEATHSIG, and it
  // is registered for the stop-signal handler (core/temp_files.hpp). Its exec failure is reported
  // through a close-on-exec pipe.
  int report[2], errs[2];
  if (::pipe2(report, O_CLOEXEC) != 0) throw_errno("pipe", python);
  if (::pipe2(errs, O_CLOEXEC) != 0) {
    ::close(report[0]);
    ::close(report[1]);
    throw_errno("pipe", python);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {report[0], report[1], errs[0], errs[1]}) ::close(fd);
    throw input_error(python + ": cannot start the converter: " + std::strerror(e));
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // a group of its own, stopped as one (register_child_process)
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    const int out = ::open("/dev/null", O_WRONLY);
    if (out >= 0) ::dup2(out, STDOUT_FILENO);
    ::dup2(errs[1], STDERR_FILENO);  // dup2 clears close-on-exec on the copy
    ::execvp(python.c_str(), argv.data());
    const int e = errno;
    (void)!::write(report[1], &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: the group exists before the handler may signal it
  register_child_process(pid);
  ::close(report[1]);
  ::close(errs[1]);
  int exec_errno = 0;
  ssize_t got;
  while ((got = ::read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  // Its standard error while it runs (the last 64 KiB are kept: a message is one line). Until the
  // converter itself ends, not until the pipe closes: a process it left behind (a wrapper's child)
  // may hold the pipe open.
  char buf[4096];
  const auto take = [&](ssize_t k) {
    err->append(buf, static_cast<std::size_t>(k));
    if (err->size() > (128u << 10)) err->erase(0, err->size() - (64u << 10));
  };
  int status = 0;
  bool ended = false, open_pipe = true;
  while (!ended) {
    if (open_pipe) {
      pollfd q{errs[0], POLLIN, 0};
      const int r = ::poll(&q, 1, 200);
      if (r > 0) {
        const ssize_t k = ::read(errs[0], buf, sizeof buf);
        if (k > 0) take(k);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) open_pipe = false;
      }
    } else {
      ::poll(nullptr, 0, 50);
    }
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) ended = true;
    if (w < 0 && errno != EINTR) {
      ::close(errs[0]);
      unregister_child_process(pid);
      throw_errno("waitpid", python);
    }
  }
  // What it wrote last, without waiting for processes it left behind.
  (void)::fcntl(errs[0], F_SETFL, ::fcntl(errs[0], F_GETFL) | O_NONBLOCK);
  for (ssize_t k; open_pipe && (k = ::read(errs[0], buf, sizeof buf)) > 0;) take(k);
  ::close(errs[0]);
  unregister_child_process(pid);
  if (got == static_cast<ssize_t>(sizeof exec_errno))
    throw input_error(python + ": cannot run (" + std::strerror(exec_errno) +
                      "): importing Planetoid data needs Python 3 with numpy and scipy on PATH");
  return status;
}

}  // namespace

labelled_import_report import_planetoid(const std::string& dir, const std::string& name, const std::string& out_dir,
                                        const planetoid_import_options& opt) {
  if (name.empty() || name.find('/') != std::string::npos)
    throw input_error("planetoid dataset name '" + name + "' is not valid (expected cora, citeseer or pubmed)");
  const std::string probe = dir + "/ind." + name + ".graph";
  if (!fs::exists(probe))
    throw input_error(at_input(probe, "missing: expected the Planetoid files ind." + name + ".* in " + dir));
  // Refuse early, before running the converter, with the writer's own messages.
  if (fs::exists(out_dir) && !opt.overwrite)
    throw input_error(at_input(out_dir, "already exists; choose another output or pass --force to replace it"));
  const fs::path parent = parent_dir(out_dir);
  if (!parent.empty() && !fs::is_directory(parent))
    throw input_error(at_input(out_dir, "parent directory " + parent.string() + " does not exist"));

  temp_files tmp;
  const std::string base = temp_sibling(out_dir);
  const std::string npz = base + ".planetoid.npz";
  tmp.add(npz);
  tmp.add(npz + ".part");
  // The converter writes beside the output: a directory it cannot write is refused before it runs.
  if (::access((parent.empty() ? std::string(".") : parent.string()).c_str(), W_OK) != 0)
    throw input_error(at_input(out_dir, "cannot be written: its directory " +
                                            (parent.empty() ? std::string(".") : parent.string()) + " is " +
                                            (errno == EROFS ? "on a read-only file system" : "not writable")));
  log_info("converting Planetoid ", name, " pickles with ", opt.python);
  std::vector<std::string> conv_args{dir, name, npz, "--output-name=" + out_dir};
  if (opt.row_normalize) conv_args.push_back("--row-normalize");
  std::string err_text;
  const int status = run_converter(opt.python, conv_args, &err_text);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string msg = last_line(err_text);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if ((code == 2 || code == 4) && !msg.empty()) throw input_error(msg);  // "path: problem" from the script
    if (code == 3) throw input_error(msg);                                 // numpy / scipy missing
    if (code == 127 || code == 126)
      throw input_error(opt.python + ": cannot run: importing Planetoid data needs Python 3 with numpy and scipy");
    throw input_error("Planetoid converter (" + opt.python + ") failed" +
                      (code >= 0 ? " with exit status " + std::to_string(code) : std::string(" (killed)")) +
                      (msg.empty() ? std::string() : ": " + msg));
  }

  std::error_code ec;
  if (!fs::is_regular_file(npz, ec) || fs::file_size(npz, ec) == 0)
    throw input_error("Planetoid converter (" + opt.python + ") ended without error but wrote no arrays: is " +
                      opt.python + " a Python 3 interpreter?");
  dataset_writer w(out_dir, opt.overwrite, {dir});
  w.meta().name = name;
  w.meta().source = {
      {"importer", "planetoid"},
      {"input", labelled::absolute_path(dir)},
      {"dataset", name},
      {"converter", "datasets/planetoid_to_npz.py (GCN load_data logic)"},
      {"num_nodes_from", "allx rows + the test.index range (GCN load_data)"},
      {"split", "public GCN split: train = first 20 per class (x/y), valid = next 500, test = test.index"},
      {"options",
       {{"undirected", true},
        {"remove_self_loops", !opt.keep_self_loops},
        {"row_normalized_features", opt.row_normalize}}}};
  npz_import_options o;
  o.undirected = true;
  o.remove_self_loops = !opt.keep_self_loops;
  o.overwrite = opt.overwrite;
  return labelled::import_npz_into(w, npz, o);
}

}  // namespace tg
