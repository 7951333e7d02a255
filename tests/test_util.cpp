#include "test_util.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/device.hpp"

namespace fs = std::filesystem;

namespace tg::test {

scratch_dir::scratch_dir() {
  std::string tmpl = (fs::temp_directory_path() / "tiergnn-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

scratch_dir::~scratch_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string shared_dataset(const std::string& name) {
  const std::string p = std::string(TIERGNN_SHARED_DATASETS) + "/" + name;
  return fs::exists(p) ? p : "";
}

void write_text(const std::string& path, const std::string& text, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("gzopen " + path);
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
    return;
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_cli(const std::string& args, std::string* output) {
  const std::string cmd = std::string(TIERGNN_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string npy_header_bytes(const std::string& dict) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(h.size() & 0xff));
  bytes.push_back(static_cast<char>(h.size() >> 8));
  return bytes + h;
}

std::vector<std::string> list_tree(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out.push_back(fs::relative(e.path(), dir).string() + ":" +
                  (e.is_regular_file() ? std::to_string(e.file_size()) : "dir"));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> run_in_processes(int size, const std::function<bool(int)>& body) {
  std::vector<pid_t> pids;
  for (int r = 0; r < size; ++r) {
    const pid_t p = ::fork();
    if (p == 0) {
      bool ok = false;
      try {
        ok = body(r);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
        ::_exit(3);
      }
      ::_exit(ok ? 0 : 1);
    }
    pids.push_back(p);
  }
  std::vector<int> status;
  for (pid_t p : pids) {
    int s = 0;
    ::waitpid(p, &s, 0);
    status.push_back(WIFEXITED(s) ? WEXITSTATUS(s) : 100 + WTERMSIG(s));
  }
  return status;
}

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("free_tcp_port: cannot bind a socket");
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> v;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) v.push_back(nlohmann::json::parse(l));
  return v;
}

int cuda_devices_in_child() {
  const pid_t p = ::fork();
  if (p == 0) ::_exit(std::min(tg::cuda_device_count(), 100));
  int s = 0;
  ::waitpid(p, &s, 0);
  return WIFEXITED(s) ? WEXITSTATUS(s) : 0;
}

}  // namespace tg::test
