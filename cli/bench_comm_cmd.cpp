// `tiergnn bench comm`: all-reduce time against message size for the data-parallel CPU collective
// engines, run inside a job: `tiergnn launch -n K -- bench comm --comm tcp` (the TCP star) or
// `mpirun -np K tiergnn bench comm --comm mpi`. Rank 0 prints one line per size (and --json).
#include <sys/resource.h>

#include <algorithm>
#include <new>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/resources.hpp"
#include "core/output_file.hpp"
#include "multigpu/communicator.hpp"

namespace tg::cli {

void register_bench_comm(CLI::App& bench) {
  struct opts_t {
    std::string comm = "auto", json;
    std::int64_t max_mib = 64;
    int repeats = 10;
    double timeout = 120;
  };
  auto o = std::make_shared<opts_t>();
  CLI::App* c = bench.add_subcommand(
      "comm",
      "All-reduce (sum of float32) time against message size, 4 KiB to --max-mib, for the collective engine\n"
      "of a data-parallel job: run it under tiergnn launch -n K -- bench comm --comm tcp, or\n"
      "mpirun -np K tiergnn bench comm --comm mpi. Median of --repeats calls after one warm-up call.");
  c->add_option("--comm", o->comm, "auto (mpi under mpirun when built with MPI, else tcp), mpi or tcp")
      ->check(CLI::IsMember({"auto", "mpi", "tcp"}))
      ->capture_default_str();
  c->add_option("--max-mib", o->max_mib,
                "Upper bound on the largest message in MiB (sizes are 4 KiB x 4^k: --max-mib 3 stops at 1 MiB)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  c->add_option("--repeats", o->repeats, "Timed calls per size")->check(CLI::Range(1, 1000))->capture_default_str();
  c->add_option("--comm-timeout", o->timeout,
                "Seconds a rank waits for the others before it ends the job (tcp and mpi)")
      ->capture_default_str()
      ->check(number_check([](double x) { return x >= 1e-3 && x <= 1e9; }, "a number of seconds from 0.001 to 1e9",
                           "SECONDS"));
  c->add_option("--json", o->json, "Rank 0 writes the results as JSON to this file")->check(named_path());
  c->callback([o] {
    // The output is checked before the job starts, not after the benchmark (a FIFO would block rank 0).
    check_output_file(o->json, "--json", {}, "", "comm");
    const world_info w = world_from_env();
    if (w.size < 2)
      throw input_error(
          "bench comm needs a data-parallel job of at least 2 processes: tiergnn launch -n K -- "
          "bench comm, or mpirun -np K, with K >= 2");
    // The largest message, held by every rank with the engine's buffers for it (about three times
    // its size): checked against this machine's memory before the first size, not after the
    // smaller ones. Ranks that `tiergnn launch` started share one machine; under MPI each counts alone.
    std::int64_t largest = 4096;
    while (largest * 4 <= o->max_mib * (std::int64_t{1} << 20)) largest *= 4;
    const std::uint64_t local_ranks = w.launcher == "env" ? static_cast<std::uint64_t>(w.size) : 1;
    const std::uint64_t need = 3 * static_cast<std::uint64_t>(largest) * local_ranks;
    // Against the memory available now (the ranks start together; each checks the same figure).
    if (const std::uint64_t have = available_memory_bytes(); need > have)
      throw input_error("--max-mib " + std::to_string(o->max_mib) + ": the largest message (" +
                        std::to_string(largest >> 20) + " MiB) needs about " + std::to_string(need >> 20) +
                        " MiB for " + std::to_string(local_ranks) + " rank(s) on this machine, more than the " +
                        std::to_string(have >> 20) + " MiB available now (of " +
                        std::to_string(usable_memory_bytes() >> 20) + " MiB in all); give a smaller --max-mib");
    // Each rank's own address-space limit (ulimit -v), less what the process maps already.
    if (struct rlimit rl{}; ::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      std::uint64_t mapped = 0;
      std::ifstream status("/proc/self/status");
      for (std::string line; std::getline(status, line);)
        if (line.rfind("VmSize:", 0) == 0) mapped = std::strtoull(line.c_str() + 7, nullptr, 10) << 10;
      const std::uint64_t limit = rl.rlim_cur, left = limit > mapped ? limit - mapped : 0;
      if (3 * static_cast<std::uint64_t>(largest) > left)
        throw input_error("--max-mib " + std::to_string(o->max_mib) + ": the largest message (" +
                          std::to_string(largest >> 20) + " MiB) needs about " +
                          std::to_string((3 * static_cast<std::uint64_t>(largest)) >> 20) +
                          " MiB in each rank, more than the " + std::to_string(left >> 20) +
                          " MiB its address-space limit (ulimit -v) leaves; give a smaller --max-mib");
    }
    const std::unique_ptr<communicator> comm =
        make_job_communicator(w, o->comm, std::chrono::milliseconds(static_cast<std::int64_t>(o->timeout * 1000)));
    nlohmann::json rows = nlohmann::json::array();
    if (comm->rank() == 0)
      std::printf("%s all-reduce, %d ranks: bytes, median seconds, algorithm bandwidth (bytes / s)\n", comm->kind(),
                  comm->size());
    try {
      for (std::int64_t bytes = 4096; bytes <= o->max_mib * (std::int64_t{1} << 20); bytes *= 4) {
        const auto n = static_cast<std::size_t>(bytes / 4);
        std::vector<float> v(n);
        std::vector<double> times, per_rank(static_cast<std::size_t>(comm->size()));
        for (int r = 0; r <= o->repeats; ++r) {
          std::fill(v.begin(), v.end(), 1.0f);
          comm->barrier();
          const auto t0 = std::chrono::steady_clock::now();
          comm->all_reduce_sum(v.data(), n);
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (v.front() != static_cast<float>(comm->size()) || v.back() != static_cast<float>(comm->size()))
            throw comm_error("the " + std::string(comm->kind()) + " all-reduce returned a wrong sum");
          comm->all_gather(&s, sizeof s, per_rank.data());  // a collective takes as long as its slowest rank
          if (r > 0) times.push_back(*std::max_element(per_rank.begin(), per_rank.end()));
        }
        std::sort(times.begin(), times.end());
        const double median = times[times.size() / 2];
        if (comm->rank() == 0) {
          std::printf("%12lld  %.6f  %.3g\n", static_cast<long long>(bytes), median,
                      static_cast<double>(bytes) / median);
          rows.push_back({{"bytes", bytes}, {"median_s", median}});
        }
      }
    } catch (const std::bad_alloc&) {
      throw input_error("--max-mib " + std::to_string(o->max_mib) +
                        ": out of memory at a message size below it (this process's memory limit?); give a smaller "
                        "--max-mib");
    }
    if (comm->rank() == 0 && !o->json.empty())
      write_output_file(o->json, [&](const std::string& tmp) {
        std::ofstream out(tmp);
        out << nlohmann::json{{"engine", comm->kind()}, {"ranks", comm->size()}, {"rows", rows}}.dump(
                   1, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
        out.close();
        if (!out) throw io_error(at_input(o->json, "write failed (is the disk full?)"));
      });
  });
}

}  // namespace tg::cli
