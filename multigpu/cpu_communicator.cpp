// TCP communicator (multigpu/communicator.hpp): a star around rank 0. Every message is a length
// prefix and a payload; every read and write waits with poll() against a deadline, so a dead peer
// (EOF, reset) or a hung one (deadline) becomes a comm_error naming the rank instead of a hang.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "multigpu/communicator.hpp"

namespace tg {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::int32_t kHelloMagic = 0x4e4e4754;  // "TGNN": the first bytes a rank sends rank 0
// How long a wait on another rank goes on after training caught a stop signal (see wait()): far longer
// than a batch, far shorter than the default --comm-timeout of 120 s (at most a quarter of it).
constexpr std::chrono::seconds kStopGrace{30};

int env_int(const char* name, int fallback, bool* found = nullptr) {
  const char* v = std::getenv(name);
  if (found) *found = v != nullptr;
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno || end == v || *end != '\0' || x < 0 || x > (1 << 30))
    throw input_error(std::string("environment variable ") + name + "='" + v +
                      "' is not an integer from 0 to 1073741824 (2^30)");
  return static_cast<int>(x);
}

class socket_fd {
 public:
  socket_fd() = default;
  explicit socket_fd(int fd) : fd_(fd) {}
  ~socket_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  socket_fd(socket_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  socket_fd& operator=(socket_fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

class tcp_communicator final : public communicator {
 public:
  // listener: rank 0's socket, already bound and listening (duplicate()); none: bind master_port.
  tcp_communicator(const world_info& w, std::chrono::milliseconds timeout, socket_fd listener = socket_fd())
      : w_(w), timeout_(timeout) {
    if (w_.size <= 1) return;
    if (w_.rank == 0)
      accept_all(std::move(listener));
    else
      connect_root();
  }

  int rank() const override { return w_.rank; }
  int size() const override { return w_.size; }
  const char* kind() const override { return "cpu"; }

  void all_reduce_sum(float* data, std::size_t n) override { reduce_impl(data, n); }
  void all_reduce_sum(double* data, std::size_t n) override { reduce_impl(data, n); }

  void broadcast(void* data, std::size_t bytes, int root) override {
    if (w_.size <= 1) return;
    check_root(root);
    if (w_.rank == 0) {
      if (root != 0) recv_exact(peer(root), data, bytes, root);
      for (int r = 1; r < w_.size; ++r)
        if (r != root) send_all(peer(r), data, bytes, r);
    } else {
      if (w_.rank == root)
        send_all(root_fd_.get(), data, bytes, 0);
      else
        recv_exact(root_fd_.get(), data, bytes, 0);
    }
  }

  void all_gather(const void* send, std::size_t bytes, void* recv) override {
    auto* out = static_cast<std::uint8_t*>(recv);
    std::memcpy(out + static_cast<std::size_t>(w_.rank) * bytes, send, bytes);
    if (w_.size <= 1) return;
    const std::size_t total = bytes * static_cast<std::size_t>(w_.size);
    if (w_.rank == 0) {
      for (int r = 1; r < w_.size; ++r) recv_exact(peer(r), out + static_cast<std::size_t>(r) * bytes, bytes, r);
      for (int r = 1; r < w_.size; ++r) send_all(peer(r), out, total, r);
    } else {
      send_all(root_fd_.get(), send, bytes, 0);
      recv_exact(root_fd_.get(), out, total, 0);
    }
  }

  void barrier() override {
    double one = 1;
    all_reduce_sum(&one, 1);
  }

  // Through rank 0: each rank sends rank 0 its counts and its whole send buffer; rank 0 forwards to
  // every rank the parts addressed to it, in source-rank order.
  void all_to_all_v(const void* send, const std::size_t* send_bytes, void* recv,
                    const std::size_t* recv_bytes) override {
    const auto k = static_cast<std::size_t>(w_.size);
    std::size_t send_total = 0;
    for (std::size_t r = 0; r < k; ++r) send_total += send_bytes[r];
    const auto* in = static_cast<const std::uint8_t*>(send);
    auto* out = static_cast<std::uint8_t*>(recv);
    {
      if (recv_bytes[w_.rank] != send_bytes[w_.rank])
        throw comm_error("all_to_all_v: rank " + std::to_string(w_.rank) + " sends itself " +
                         std::to_string(send_bytes[w_.rank]) + " bytes but expects " +
                         std::to_string(recv_bytes[w_.rank]));
    }
    if (w_.size <= 1) {
      if (send_total) std::memcpy(out, in, send_total);
      return;
    }
    std::size_t recv_total = 0;
    for (std::size_t r = 0; r < k; ++r) recv_total += recv_bytes[r];
    if (w_.rank != 0) {
      std::vector<std::uint64_t> counts(send_bytes, send_bytes + k);
      send_all(root_fd_.get(), counts.data(), k * sizeof(std::uint64_t), 0);
      if (send_total) send_all(root_fd_.get(), in, send_total, 0);
      if (recv_total) recv_exact(root_fd_.get(), out, recv_total, 0);
      return;
    }
    // Rank 0: every rank's counts and data, then each destination's parts in source order.
    std::vector<std::vector<std::uint64_t>> counts(k, std::vector<std::uint64_t>(k));
    std::vector<std::vector<std::uint8_t>> data(k);
    for (std::size_t r = 0; r < k; ++r) counts[0][r] = send_bytes[r];
    for (int r = 1; r < w_.size; ++r) {
      recv_exact(peer(r), counts[r].data(), k * sizeof(std::uint64_t), r);
      std::size_t total = 0;
      for (std::uint64_t c : counts[r]) total += c;
      data[r].resize(total);
      if (total) recv_exact(peer(r), data[r].data(), total, r);
    }
    const auto part = [&](std::size_t src, std::size_t dst) -> std::pair<const std::uint8_t*, std::size_t> {
      std::size_t off = 0;
      for (std::size_t j = 0; j < dst; ++j) off += counts[src][j];
      return {(src == 0 ? in : data[src].data()) + off, counts[src][dst]};
    };
    for (std::size_t src = 0; src < k; ++src)
      if (counts[src][0] != recv_bytes[src])
        throw comm_error("all_to_all_v: rank " + std::to_string(src) + " sends rank 0 " +
                         std::to_string(counts[src][0]) + " bytes, rank 0 expects " + std::to_string(recv_bytes[src]));
    std::size_t at = 0;
    for (std::size_t src = 0; src < k; ++src) {
      const auto [p, n] = part(src, 0);
      if (n) std::memcpy(out + at, p, n);
      at += n;
    }
    std::vector<std::uint8_t> buf;
    for (int dst = 1; dst < w_.size; ++dst) {
      buf.clear();
      for (std::size_t src = 0; src < k; ++src) {
        const auto [p, n] = part(src, static_cast<std::size_t>(dst));
        buf.insert(buf.end(), p, p + n);
      }
      if (!buf.empty()) send_all(peer(dst), buf.data(), buf.size(), dst);
    }
  }

  // Rank 0 listens on a free port of MASTER_ADDR and tells the others over this communicator.
  std::unique_ptr<communicator> duplicate() override {
    socket_fd ls;
    std::int32_t port = 0;
    if (w_.rank == 0 && w_.size > 1) {
      ls = listen_on(0);
      sockaddr_in a{};
      socklen_t len = sizeof a;
      if (::getsockname(ls.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw io_error(std::string("getsockname: ") + std::strerror(errno));
      port = ntohs(a.sin_port);
    }
    broadcast(&port, sizeof port, 0);
    world_info w = w_;
    w.master_port = port;
    return std::make_unique<tcp_communicator>(w, timeout_, std::move(ls));
  }

 private:
  template <typename T>
  void reduce_impl(T* data, std::size_t n) {
    if (w_.size <= 1 || n == 0) return;
    const std::size_t bytes = n * sizeof(T);
    if (w_.rank == 0) {
      // Sum in rank order (0 + 1 + 2 + ...), so the result does not depend on arrival order.
      std::vector<T> buf(n);
      for (int r = 1; r < w_.size; ++r) {
        recv_exact(peer(r), buf.data(), bytes, r);
        for (std::size_t i = 0; i < n; ++i) data[i] += buf[i];
      }
      for (int r = 1; r < w_.size; ++r) send_all(peer(r), data, bytes, r);
    } else {
      send_all(root_fd_.get(), data, bytes, 0);
      recv_exact(root_fd_.get(), data, bytes, 0);
    }
  }

  void check_root(int root) const {
    if (root < 0 || root >= w_.size)
      throw input_error("communicator: root " + std::to_string(root) + " is outside [0, " + std::to_string(w_.size) +
                        ")");
  }

  int peer(int r) const { return peers_[static_cast<std::size_t>(r)].get(); }

  [[noreturn]] void fail(int who, const std::string& what) const {
    throw comm_error("rank " + std::to_string(w_.rank) + ": " + what +
                     (who >= 0 ? " rank " + std::to_string(who) : std::string(" a connecting process")) +
                     " (world of " + std::to_string(w_.size) + "); stopping this rank");
  }

  // Waits until fd is ready for `events` or the deadline passes. Once training has caught a stop
  // signal, the wait lasts at most stop_grace() more: the other ranks, stopped by the same Ctrl-C or
  // scheduler, finish their batch and answer within it; one that does not (a peer that never
  // speaks) no longer holds this rank for the whole --comm-timeout (R12-F12). It polls in slices,
  // since the signal may be delivered to another thread than the one waiting here.
  void wait(int fd, short events, clock_type::time_point deadline, int who, const char* doing) const {
    int stopping = 0;
    while (true) {
      if (stopping == 0) {
        stopping = pending_stop_signal().load();
        if (stopping != 0) deadline = std::min(deadline, clock_type::now() + stop_grace());
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
      if (left <= 0 && stopping != 0)
        throw interrupted_error("rank " + std::to_string(w_.rank) + ": stopped by " + stop_signal_name(stopping) +
                                    " while " + doing + " rank " + std::to_string(who) +
                                    ", which did not answer within " +
                                    number_text(std::chrono::duration<double>(stop_grace()).count()) + " s of it",
                                stopping);
      if (left <= 0) {
        // Rank 0 relays every rank's data in the star: a rank waiting on it may be waiting on another.
        if (w_.rank != 0 && who == 0 && w_.size > 2)
          throw comm_error("rank " + std::to_string(w_.rank) + ": timed out after " + std::to_string(timeout_.count()) +
                           " ms " + doing + " rank 0 (world of " + std::to_string(w_.size) +
                           "), which relays every rank's data: the rank that hung may be another (rank 0's message "
                           "names the one it waited for); stopping this rank");
        fail(who, std::string("timed out after ") + std::to_string(timeout_.count()) + " ms " + doing);
      }
      pollfd p{fd, events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 250)));
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) fail(who, std::string("poll failed (") + std::strerror(errno) + ") " + doing);
      if (rc == 0) continue;
      if (p.revents & (POLLERR | POLLNVAL)) fail(who, std::string("lost the connection ") + doing);
      return;  // readable/writable, or POLLHUP: the read reports EOF
    }
  }

  // kStopGrace, or a quarter of --comm-timeout where that is shorter.
  std::chrono::milliseconds stop_grace() const { return std::min<std::chrono::milliseconds>(kStopGrace, timeout_ / 4); }

  void send_all(int fd, const void* data, std::size_t bytes, int who) const {
    const auto deadline = clock_type::now() + timeout_;
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (bytes > 0) {
      wait(fd, POLLOUT, deadline, who, "sending to");
      const ssize_t k = ::send(fd, p, bytes, MSG_NOSIGNAL);
      if (k < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        fail(who, std::string("lost the connection (") + std::strerror(errno) + ") sending to");
      }
      p += k;
      bytes -= static_cast<std::size_t>(k);
    }
  }

  void recv_exact(int fd, void* data, std::size_t bytes, int who) const {
    const auto deadline = clock_type::now() + timeout_;
    auto* p = static_cast<std::uint8_t*>(data);
    while (bytes > 0) {
      wait(fd, POLLIN, deadline, who, "waiting for");
      const ssize_t k = ::recv(fd, p, bytes, 0);
      if (k == 0) fail(who, "lost the connection (the process exited or was killed) while waiting for");
      if (k < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        fail(who, std::string("lost the connection (") + std::strerror(errno) + ") while waiting for");
      }
      p += k;
      bytes -= static_cast<std::size_t>(k);
    }
  }

  // The first bytes of a new connection, within a second; false when they do not come.
  // Reads a connection's greeting within a second. Returns "" when it came whole, else why not (for
  // the warning that drops the connection).
  static std::string read_hello(int fd, void* data, std::size_t bytes) {
    const auto deadline = clock_type::now() + std::chrono::seconds(1);
    auto* p = static_cast<std::uint8_t*>(data);
    const std::size_t want = bytes;
    while (bytes > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
      if (left <= 0) return bytes == want ? "said nothing within a second" : "stopped in the middle of its greeting";
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, static_cast<int>(left)) <= 0) continue;
      const ssize_t k = ::recv(fd, p, bytes, 0);
      if (k == 0)
        return bytes == want ? "closed before it introduced itself (a rank that gave up waiting, with a short "
                               "--comm-timeout, closes so)"
                             : "closed in the middle of its greeting";
      if (k < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return std::string("failed: ") + std::strerror(errno);
      }
      p += k;
      bytes -= static_cast<std::size_t>(k);
    }
    return "";
  }

  static void tune(int fd) {
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int flags = ::fcntl(fd, F_GETFL, 0);
    (void)::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }

  sockaddr_in address() const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(w_.master_port));
    if (::inet_pton(AF_INET, w_.master_addr.c_str(), &a.sin_addr) != 1) {
      addrinfo hints{}, *res = nullptr;
      hints.ai_family = AF_INET;
      if (::getaddrinfo(w_.master_addr.c_str(), nullptr, &hints, &res) != 0 || !res)
        throw input_error("MASTER_ADDR '" + w_.master_addr + "' is not an IPv4 address or a resolvable host name");
      a.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
      ::freeaddrinfo(res);
    }
    return a;
  }

  // A listening socket on MASTER_ADDR:port (0: a free port).
  socket_fd listen_on(int port) const {
    socket_fd ls(::socket(AF_INET, SOCK_STREAM, 0));
    if (ls.get() < 0) throw io_error(std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    (void)::setsockopt(ls.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = address();
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(ls.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      const int err = errno;
      throw io_error(
          "rank 0 cannot listen on " + w_.master_addr + ":" + std::to_string(port) + " (" + std::strerror(err) + "): " +
          (err == EADDRNOTAVAIL ? "MASTER_ADDR must be an address of rank 0's own machine (the others connect to it)"
           : err == EADDRINUSE  ? "is another job using MASTER_PORT? pick another one"
                                : "check MASTER_ADDR and MASTER_PORT"));
    }
    if (::listen(ls.get(), w_.size) != 0) throw io_error(std::string("listen: ") + std::strerror(errno));
    tune(ls.get());
    return ls;
  }

  void accept_all(socket_fd listener) {
    socket_fd ls = listener.get() >= 0 ? std::move(listener) : listen_on(w_.master_port);
    peers_.resize(static_cast<std::size_t>(w_.size));
    const auto deadline = clock_type::now() + timeout_;
    for (int joined = 1; joined < w_.size;) {
      if (clock_type::now() >= deadline) {
        std::string missing;
        for (int r = 1; r < w_.size; ++r)
          if (peers_[static_cast<std::size_t>(r)].get() < 0)
            missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        throw comm_error("rank 0: timed out after " + std::to_string(timeout_.count()) + " ms waiting for ranks " +
                         missing + " to connect to " + w_.master_addr + ":" + std::to_string(w_.master_port));
      }
      pollfd p{ls.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      socket_fd s(::accept(ls.get(), nullptr, nullptr));
      if (s.get() < 0) continue;
      tune(s.get());
      // A rank introduces itself within a second; anything else on MASTER_PORT (a port scan, a
      // health check, a stray client) is dropped and the job goes on waiting for its ranks.
      std::int32_t hello[3] = {0, 0, 0};  // magic, rank, world size
      std::string why = read_hello(s.get(), hello, sizeof hello);
      if (why.empty() && hello[0] != kHelloMagic) why = "sent something other than a tiergnn rank's greeting";
      if (!why.empty()) {
        log_warn("rank 0: ignored a connection to ", w_.master_addr, ":", w_.master_port, " that ", why);
        continue;
      }
      if (hello[1] <= 0 || hello[1] >= w_.size || hello[2] != w_.size ||
          peers_[static_cast<std::size_t>(hello[1])].get() >= 0)
        throw comm_error("rank 0: a process connected as rank " + std::to_string(hello[1]) + " of " +
                         std::to_string(hello[2]) + ", but this job has " + std::to_string(w_.size) +
                         " ranks (or that rank already joined)");
      peers_[static_cast<std::size_t>(hello[1])] = std::move(s);
      ++joined;
    }
  }

  void connect_root() {
    const sockaddr_in a = address();
    const auto deadline = clock_type::now() + timeout_;
    while (true) {
      socket_fd s(::socket(AF_INET, SOCK_STREAM, 0));
      if (s.get() < 0) throw io_error(std::string("socket: ") + std::strerror(errno));
      if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
        tune(s.get());
        const std::int32_t hello[3] = {kHelloMagic, w_.rank, w_.size};
        root_fd_ = std::move(s);
        send_all(root_fd_.get(), hello, sizeof hello, 0);
        return;
      }
      if (clock_type::now() > deadline)
        throw comm_error("rank " + std::to_string(w_.rank) + ": cannot reach rank 0 at " + w_.master_addr + ":" +
                         std::to_string(w_.master_port) + " within " + std::to_string(timeout_.count()) + " ms");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  world_info w_;
  std::chrono::milliseconds timeout_;
  std::vector<socket_fd> peers_;  // rank 0: one per rank (index 0 unused)
  socket_fd root_fd_;             // other ranks: the connection to rank 0
};

}  // namespace

void communicator::all_to_all_v(const void* send, const std::size_t* send_bytes, void* recv,
                                const std::size_t* recv_bytes) {
  if (size() == 1) {
    if (send_bytes[0] != recv_bytes[0])
      throw comm_error("all_to_all_v: a single rank sends and receives different sizes");
    if (send_bytes[0]) std::memcpy(recv, send, send_bytes[0]);
    return;
  }
  throw comm_error(std::string("the ") + kind() + " communicator has no all_to_all_v");
}

std::unique_ptr<communicator> communicator::duplicate() {
  throw comm_error(std::string("the ") + kind() + " communicator cannot be duplicated");
}

world_info world_from_env() {
  world_info w;
  bool has_rank = false, has_size = false;
  w.rank = env_int("RANK", 0, &has_rank);
  w.size = env_int("WORLD_SIZE", 1, &has_size);
  if (has_rank || has_size) {
    w.launcher = "env";
    w.local_rank = env_int("LOCAL_RANK", w.rank);
  } else {
    bool mpi = false;
    w.rank = env_int("OMPI_COMM_WORLD_RANK", 0, &mpi);
    if (mpi) {
      w.launcher = "mpi";
      w.size = env_int("OMPI_COMM_WORLD_SIZE", 1);
      w.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", w.rank);
    }
  }
  if (const char* a = std::getenv("MASTER_ADDR")) w.master_addr = a;
  w.master_port = env_int("MASTER_PORT", 29500);
  if (w.size < 1) throw input_error("WORLD_SIZE must be at least 1");
  if (w.rank >= w.size)
    throw input_error("RANK " + std::to_string(w.rank) + " is outside [0, WORLD_SIZE=" + std::to_string(w.size) + ")");
  if (w.size > 1 && (w.master_port <= 0 || w.master_port > 65535))  // (one process opens no port)
    throw input_error("MASTER_PORT " + std::to_string(w.master_port) + " is not a TCP port");
  return w;
}

std::unique_ptr<communicator> make_cpu_communicator(const world_info& w, std::chrono::milliseconds timeout) {
  return std::make_unique<tcp_communicator>(w, timeout);
}

std::unique_ptr<communicator> make_job_communicator(const world_info& w, const std::string& engine,
                                                    std::chrono::milliseconds timeout) {
  const bool under_mpi = w.launcher == "mpi";
  if (engine == "mpi" && !under_mpi)
    throw input_error("--comm mpi: this job was not started by mpirun (its ranks come from " + w.launcher +
                      " variables); start it with mpirun -np K, or use --comm tcp");
  std::unique_ptr<communicator> comm = engine == "mpi" || (engine == "auto" && under_mpi && mpi_compiled())
                                           ? make_mpi_communicator(timeout)
                                           : make_cpu_communicator(w, timeout);
  if (comm->rank() != w.rank || comm->size() != w.size)
    throw comm_error("the " + std::string(comm->kind()) + " communicator sees rank " + std::to_string(comm->rank()) +
                     " of " + std::to_string(comm->size()) + ", the environment says " + std::to_string(w.rank) +
                     " of " + std::to_string(w.size));
  return comm;
}

}  // namespace tg
