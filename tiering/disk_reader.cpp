#include "tiering/disk_reader.hpp"

#include <fcntl.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <sys/stat.h>
#ifdef TIERGNN_HAVE_IO_URING
#include <liburing.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <numeric>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <cstdlib>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/npy.hpp"

namespace tg {

namespace {
std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}
}  // namespace

void pread_all(int fd, void* buf, std::size_t n, std::uint64_t offset, const std::string& path) {
  auto* p = static_cast<std::uint8_t*>(buf);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path);
    }
    if (got == 0) throw io_error(path + ": unexpected end of file while reading feature rows");
    p += got;
    n -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
}

feature_file feature_file::of(const dataset& d) {
  if (!d.meta().has_features() || !d.has("features.npy"))
    throw input_error(at_input(d.dir(), d.meta().feature_shards > 0
                                            ? "the features are sharded across machines (prepare --shards): "
                                              "train with one rank per shard"
                                            : "the dataset has no node features (features.npy)"));
  feature_file f;
  f.path = d.dir() + "/features.npy";
  f.rows = d.num_nodes();
  f.dim = d.meta().feature_dim;
  f.type = d.get("features.npy").type();
  return f;
}

bool io_uring_compiled() {
#ifdef TIERGNN_HAVE_IO_URING
  return true;
#else
  return false;
#endif
}

bool io_uring_usable() {
#ifdef TIERGNN_HAVE_IO_URING
  static const bool ok = [] {
    io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) != 0) return false;  // ENOSYS, or EPERM under a seccomp policy
    io_uring_queue_exit(&ring);
    return true;
  }();
  return ok;
#else
  return false;
#endif
}

disk_row_reader::disk_row_reader(const dataset& d, int readers) : disk_row_reader(feature_file::of(d), readers) {}

disk_row_reader::disk_row_reader(const feature_file& f, int readers, disk_io engine, int queue_depth)
    : readers_(std::max(1, readers)), depth_(std::clamp(queue_depth, 1, 4096)) {
  if (engine == disk_io::automatic) {
    const char* env = std::getenv("TIERGNN_DISK_IO");
    const std::string e = env ? env : "";
    if (!e.empty() && e != "pread" && e != "io_uring")
      throw input_error("TIERGNN_DISK_IO='" + e + "': choose pread or io_uring");
    engine = e == "pread" ? disk_io::pread : e == "io_uring" ? disk_io::io_uring : disk_io::automatic;
    if (engine == disk_io::automatic) engine = io_uring_usable() ? disk_io::io_uring : disk_io::pread;
  }
  if (engine == disk_io::io_uring && !io_uring_usable())
    throw input_error(io_uring_compiled() ? "io_uring was asked for, but this kernel (or its sandbox) does not allow it"
                                          : "io_uring was asked for, but tiergnn was built without liburing");
  uring_ = engine == disk_io::io_uring;
  path_ = f.path;
  row_bytes_ = f.row_bytes();
  fd_ = unique_fd::open(path_, O_RDONLY);
  (void)::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_RANDOM);  // rows are read at random: no readahead
  std::vector<std::uint8_t> head(4096);
  const ssize_t got = ::pread(fd_.get(), head.data(), head.size(), 0);
  if (got < 16) throw input_error(at_input(path_, "cannot read the .npy header"));
  const npy_header h = parse_npy_header(head.data(), static_cast<std::size_t>(got), path_);
  data_offset_ = h.data_offset;
  if (h.type != f.type || h.shape != std::vector<std::int64_t>{f.rows, f.dim})
    throw input_error(at_input(path_, "holds a " + std::string(dtype_name(h.type)) + " array of shape " +
                                          shape_string(h.shape) + ", expected " + std::string(dtype_name(f.type)) +
                                          " " + shape_string({f.rows, f.dim})));
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno("stat", path_);
  const std::uint64_t want = data_offset_ + static_cast<std::uint64_t>(f.rows) * static_cast<std::uint64_t>(row_bytes_);
  if (static_cast<std::uint64_t>(st.st_size) != want)
    throw input_error(at_input(path_, "is " + std::to_string(st.st_size) + " bytes, its header needs " +
                                          std::to_string(want) + " (truncated or padded)"));
}

void disk_row_reader::read_range(std::int64_t first, std::int64_t count, std::uint8_t* dst) const {
  if (count <= 0) return;
  pread_all(fd_.get(), dst, static_cast<std::size_t>(count * row_bytes_),
            data_offset_ + static_cast<std::uint64_t>(first) * static_cast<std::uint64_t>(row_bytes_), path_);
}

// The pread engine: threads - 1 workers that sleep between calls, and the calling thread, each taking
// the next run until none is left. One call at a time (call); a call returns only when no worker is
// still reading into its buffers, failed or not. A thread the system refuses (its thread or process
// limit, an address-space limit, memory) leaves the pool with those it has, and says so once. The
// threads belong to the process that started them: a forked child neither uses nor joins them.
class pread_pool {
 public:
  pread_pool(int threads, const std::string& file) : owner(::getpid()) {
    workers.reserve(static_cast<std::size_t>(std::max(threads - 1, 0)));
    for (int t = 1; t < threads; ++t) {
      try {
        workers.emplace_back([this] { serve(); });
      } catch (const std::exception& e) {
        log_warn("disk tier (", file, "): the system refused reader thread ", t + 1, " of ", threads, " (", e.what(),
                 "); reading with ", t, t == 1 ? " thread" : " threads", " (give fewer --disk-readers)");
        break;
      }
    }
  }
  ~pread_pool() {
    {
      const std::lock_guard<std::mutex> lock(m);
      stop = true;
    }
    wake.notify_all();
    for (auto& th : workers) th.join();
  }
  pread_pool(const pread_pool&) = delete;
  pread_pool& operator=(const pread_pool&) = delete;

  const pid_t owner;  // the process whose threads these are
  std::size_t threads() const { return workers.size() + 1; }

  void run(int job_fd, const std::string& job_path, const std::vector<read_run>& job_runs) {
    if (job_runs.empty()) return;
    const std::lock_guard<std::mutex> one_call(call);
    {
      const std::lock_guard<std::mutex> lock(m);
      fd = job_fd;
      path = &job_path;
      runs = &job_runs;
      next.store(0);
      failed = nullptr;
      ++generation;
    }
    // As many workers as there are runs beside the caller's first.
    if (job_runs.size() > workers.size())
      wake.notify_all();
    else
      for (std::size_t k = 1; k < job_runs.size(); ++k) wake.notify_one();
    work();
    std::unique_lock<std::mutex> lock(m);
    idle.wait(lock, [&] { return busy == 0; });
    runs = nullptr;  // a worker that wakes after this finds no job
    if (failed) std::rethrow_exception(failed);
  }

 private:
  void work() {
    try {
      for (std::size_t k; (k = next.fetch_add(1)) < runs->size();)
        pread_all(fd, (*runs)[k].dst, (*runs)[k].bytes, (*runs)[k].offset, *path);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(m);
      if (!failed) failed = std::current_exception();
      next.store(runs->size());
    }
  }
  void serve() {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(m);
    for (;;) {
      wake.wait(lock, [&] { return stop || generation != seen; });
      if (stop) return;
      seen = generation;
      if (runs == nullptr) continue;  // that call has ended already
      ++busy;
      lock.unlock();
      work();
      lock.lock();
      if (--busy == 0) idle.notify_all();
    }
  }

  std::mutex call, m;
  std::condition_variable wake, idle;
  std::vector<std::thread> workers;
  bool stop = false;
  std::uint64_t generation = 0;
  int busy = 0;
  int fd = -1;
  const std::string* path = nullptr;
  const std::vector<read_run>* runs = nullptr;
  std::atomic<std::size_t> next{0};
  std::exception_ptr failed;
};

namespace {
// One read per run on `threads` pread threads started for this call (the benchmark's ceiling runs).
void read_runs_pread(int fd, const std::string& path, const std::vector<read_run>& runs, int threads) {
  pread_pool pool(static_cast<int>(std::min<std::size_t>(runs.size(), static_cast<std::size_t>(std::max(1, threads)))),
                  path);
  pool.run(fd, path, runs);
}

void read_runs_uring(int fd, const std::string& path, const std::vector<read_run>& runs, int depth) {
#ifdef TIERGNN_HAVE_IO_URING
  if (runs.empty()) return;
  // One ring per call (the reader is shared by threads); up to depth reads in flight. A short read
  // is resubmitted for its remainder; EINTR / EAGAIN are retried.
  io_uring ring;
  const unsigned entries = static_cast<unsigned>(std::min<std::size_t>(runs.size(), static_cast<std::size_t>(depth)));
  if (const int rc = io_uring_queue_init(entries, &ring, 0); rc != 0) {
    errno = -rc;
    throw_errno("io_uring_queue_init for", path);
  }
  struct ring_guard {
    io_uring* r;
    ~ring_guard() { io_uring_queue_exit(r); }
  } guard{&ring};
  std::vector<std::size_t> done(runs.size(), 0);  // bytes read so far per run
  std::size_t next = 0, in_flight = 0, finished = 0;
  const auto submit = [&](std::size_t k) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, runs[k].dst + done[k], static_cast<unsigned>(runs[k].bytes - done[k]),
                       runs[k].offset + done[k]);
    io_uring_sqe_set_data64(sqe, k);
    ++in_flight;
  };
  // A failure stops the submissions, but the reads already in flight are waited for before it is
  // thrown: closing the ring does not wait for them, and they would write into the caller's buffers
  // after those were freed by the unwinding (R13-F8).
  std::exception_ptr failed;
  const auto fail_with = [&](auto&& thrower) {
    if (failed) return;
    try {
      thrower();
    } catch (...) {
      failed = std::current_exception();
    }
  };
  while (in_flight > 0 || (!failed && finished < runs.size())) {
    if (!failed)
      while (in_flight < entries && next < runs.size()) submit(next++);
    if (const int rc = io_uring_submit_and_wait(&ring, 1); rc < 0 && rc != -EINTR) {
      const int err = -rc;
      fail_with([&] {
        errno = err;
        throw_errno("io_uring_submit for", path);
      });
      io_uring_cqe* c = nullptr;  // nothing more can be submitted: wait for what is in flight
      if (in_flight == 0) break;
      if (const int w = io_uring_wait_cqe(&ring, &c); w < 0 && w != -EINTR) break;  // the ring itself failed
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    std::vector<std::size_t> again;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      --in_flight;
      const auto k = static_cast<std::size_t>(io_uring_cqe_get_data64(cqe));
      const int res = cqe->res;
      if (failed) continue;  // draining
      if (res == -EINTR || res == -EAGAIN) {
        again.push_back(k);
      } else if (res < 0) {
        fail_with([&] {
          errno = -res;
          throw_errno("read", path);
        });
      } else if (res == 0) {
        fail_with([&] { throw io_error(path + ": unexpected end of file while reading feature rows"); });
      } else {
        done[k] += static_cast<std::size_t>(res);
        if (done[k] < runs[k].bytes)
          again.push_back(k);
        else
          ++finished;
      }
    }
    io_uring_cq_advance(&ring, seen);
    if (!failed)
      for (std::size_t k : again) submit(k);
  }
  if (failed) std::rethrow_exception(failed);
#else
  read_runs_pread(fd, path, runs, depth);
#endif
}

}  // namespace

double read_pages_direct(const std::string& path, const std::vector<std::uint64_t>& page_offsets, int queue_depth) {
  constexpr std::size_t kPage = 4096;
  const unique_fd fd = unique_fd::open(path, O_RDONLY | O_DIRECT);
  const std::size_t depth = static_cast<std::size_t>(std::clamp(queue_depth, 1, 4096));
  auto* buf = static_cast<std::uint8_t*>(std::aligned_alloc(kPage, depth * kPage));
  struct freer {
    void* p;
    ~freer() { std::free(p); }
  } guard{buf};
  // The reader's own engines; the pages' contents are not kept, so reads in flight may share buffers.
  std::vector<read_run> runs(page_offsets.size());
  for (std::size_t k = 0; k < runs.size(); ++k) runs[k] = {page_offsets[k], kPage, buf + (k % depth) * kPage};
  const auto t0 = std::chrono::steady_clock::now();
  if (io_uring_usable())
    read_runs_uring(fd.get(), path, runs, static_cast<int>(depth));
  else
    read_runs_pread(fd.get(), path, runs, static_cast<int>(depth));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

disk_row_reader::~disk_row_reader() {
  // In a forked child the pool's threads are the parent's: it is abandoned, not joined (joining threads
  // that are not in this process crashed it). No lock: nothing reads while the reader is destroyed.
  if (pool_ && pool_->owner != ::getpid()) new std::shared_ptr<pread_pool>(std::move(pool_));  // leaked on purpose
}

std::string disk_row_reader::engine() const {
  return uring_ ? "io_uring (queue depth " + std::to_string(depth_) + ")"
                : "pread (" + std::to_string(readers_) + " threads)";
}

void disk_row_reader::read(const std::vector<std::pair<std::int64_t, std::size_t>>& rows, std::uint8_t* dst) const {
  // Runs of consecutive ids whose slots are consecutive too are read in one call.
  std::vector<read_run> runs;
  const auto rb = static_cast<std::size_t>(row_bytes_);
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i + 1;
    while (j < rows.size() && rows[j].first == rows[j - 1].first + 1 && rows[j].second == rows[j - 1].second + 1 &&
           j - i < 256)
      ++j;
    runs.push_back(
        {data_offset_ + static_cast<std::uint64_t>(rows[i].first) * rb, (j - i) * rb, dst + rows[i].second * rb});
    i = j;
  }
  if (uring_) {
    read_runs_uring(fd_.get(), path_, runs, depth_);
    return;
  }
  if (runs.empty()) return;
  std::shared_ptr<pread_pool> pool;
  {
    const std::lock_guard<std::mutex> lock(pool_mutex_);
    // A forked child holds a copy of the parent's pool without its threads (and perhaps with its
    // locks taken): that copy is abandoned, never used or joined, and the child starts its own.
    if (pool_ && pool_->owner != ::getpid()) {
      new std::shared_ptr<pread_pool>(std::move(pool_));  // leaked on purpose: a few hundred bytes
    }
    if (!pool_) pool_ = std::make_shared<pread_pool>(readers_, path_);
    pool = pool_;
  }
  pool->run(fd_.get(), path_, runs);
}

}  // namespace tg
