// The dense products of a GraphSAGE step against the machine's SGEMM rate: what "the BLAS floor" of
// forward+backward is (issue 19), and how close each of tiergnn's matmul<float> kernels gets to it.
//
//   matmul_bench [--threads T] [--reps R] [--shapes "ta,tb,m,n,k,beta;..."] [--json FILE]
//
// First the reference rate: OpenBLAS's own multithreaded SGEMM on a 4096^3 product (T threads).
// Then the shapes (default: one batch of GraphSAGE 3 x 256, 128-dim input, fanouts 15,10,5, batch
// 1024 on the 1M-node community graph of bench/peer_cpu.sh: the forward, weight-gradient and
// input-gradient products of each layer), timed R times with each kernel the CPU has; the table
// gives seconds, GFLOP/s and the share of the reference rate. Last, `openblas`: each product as one
// multithreaded OpenBLAS call (what the BLAS calls alone cost on these shapes).
#include <cblas.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "kernels/matmul.hpp"

namespace {

struct shape {
  bool ta, tb;
  std::int64_t m, n, k;
  float beta;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<shape> parse_shapes(const std::string& text) {
  std::vector<shape> out;
  std::stringstream all(text);
  std::string one;
  while (std::getline(all, one, ';')) {
    if (one.empty()) continue;
    int ta, tb;
    long long m, n, k;
    float beta;
    if (std::sscanf(one.c_str(), "%d,%d,%lld,%lld,%lld,%f", &ta, &tb, &m, &n, &k, &beta) != 6) {
      std::fprintf(stderr, "matmul_bench: --shapes: '%s' is not ta,tb,m,n,k,beta\n", one.c_str());
      std::exit(2);
    }
    out.push_back({ta != 0, tb != 0, m, n, k, beta});
  }
  return out;
}

// One layer l of GraphSAGE: nd destinations, ns sources, din -> dout; forward y = x_dst W0 + agg W1,
// backward dW0 = x_dst^T dy, dW1 = agg^T dy, dx_dst = dy W0^T, dagg = dy W1^T (the first layer
// needs no input gradient).
void sage_layer(std::vector<shape>& out, std::int64_t nd, std::int64_t din, std::int64_t dout, bool need_dx) {
  out.push_back({false, false, nd, dout, din, 0.0f});
  out.push_back({false, false, nd, dout, din, 1.0f});
  out.push_back({true, false, din, dout, nd, 0.0f});
  out.push_back({true, false, din, dout, nd, 0.0f});
  if (need_dx) {
    out.push_back({false, true, nd, din, dout, 0.0f});
    out.push_back({false, true, nd, din, dout, 1.0f});
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 5;
  std::string shapes_text, json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "matmul_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads")
      threads = std::atoi(next().c_str());
    else if (a == "--reps")
      reps = std::atoi(next().c_str());
    else if (a == "--shapes")
      shapes_text = next();
    else if (a == "--json")
      json = next();
    else {
      std::fprintf(stderr,
                   "usage: matmul_bench [--threads T] [--reps R] [--shapes \"ta,tb,m,n,k,beta;...\"] [--json FILE]\n");
      return 2;
    }
  }
  std::vector<shape> shapes;
  if (!shapes_text.empty()) {
    shapes = parse_shapes(shapes_text);
  } else {
    // Layer sizes of one batch of the peer_cpu workload (the mean over its first 40 batches; 8 classes).
    sage_layer(shapes, 62295, 128, 256, false);
    sage_layer(shapes, 9274, 256, 256, true);
    sage_layer(shapes, 1024, 256, 8, true);
  }

  // Reference: OpenBLAS multithreaded SGEMM, 4096^3, best of 3.
  const std::int64_t big = 4096;
  std::vector<float> ra(big * big, 0.5f), rb(big * big, 0.25f), rc(big * big);
  openblas_set_num_threads(threads);
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    const double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, big, big, big, 1.0f, ra.data(), big, rb.data(), big, 0.0f,
                rc.data(), big);
    best = std::min(best, now() - t0);
  }
  const double ref_gflops = 2.0 * big * big * big / best / 1e9;
  openblas_set_num_threads(1);

  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  double flops = 0;
  std::int64_t max_a = 0, max_b = 0, max_c = 0;
  for (const auto& s : shapes) {
    flops += 2.0 * static_cast<double>(s.m) * s.n * s.k;
    max_a = std::max(max_a, s.m * s.k);
    max_b = std::max(max_b, s.k * s.n);
    max_c = std::max(max_c, s.m * s.n);
  }
  std::vector<float> a(max_a), b(max_b), c(max_c);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 40503u) % 1000) / 1000.0f - 0.5f;

  std::printf("machine: %s; reference: OpenBLAS SGEMM 4096^3 on %d threads: %.1f GFLOP/s\n",
              tg::bench::cpu_model().c_str(), threads, ref_gflops);
  std::printf("%zu products, %.2f GFLOP a pass; best of %d passes\n\n", shapes.size(), flops / 1e9, reps);
  std::printf("%-8s %10s %10s %12s\n", "kernel", "pass s", "GFLOP/s", "of reference");
  std::ostringstream rows;
  // The best of `reps` passes over the products, each run by product(shape, lda, ldb); one table row
  // and one JSON entry.
  auto measure = [&](const char* name, const char* json_name, const char* remark, const auto& product) {
    double pass = 1e30;
    for (int r = 0; r < reps; ++r) {
      const double t0 = now();
      for (const auto& s : shapes) product(s, s.ta ? s.m : s.k, s.tb ? s.k : s.n);
      pass = std::min(pass, now() - t0);
    }
    const double g = flops / pass / 1e9;
    std::printf("%-8s %10.4f %10.1f %11.1f%%%s\n", name, pass, g, 100.0 * g / ref_gflops, remark);
    rows << (rows.tellp() > 0 ? ", " : "") << "{\"kernel\": \"" << json_name << "\", \"pass_s\": " << pass
         << ", \"gflops\": " << g << "}";
  };
  const char* names[] = {"automatic", "avx512", "avx2", "blas"};
  for (const auto kind : {tg::matmul_kernel::blas, tg::matmul_kernel::avx2, tg::matmul_kernel::avx512}) {
    if (!tg::set_matmul_kernel(kind)) continue;
    const char* name = names[static_cast<int>(kind)];
    measure(name, name, "", [&](const shape& s, std::int64_t lda, std::int64_t ldb) {
      tg::matmul<float>(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, s.beta, c.data(), s.n);
    });
  }
  tg::set_matmul_kernel(tg::matmul_kernel::automatic);
  // What the BLAS calls alone cost: each product as one multithreaded OpenBLAS call, the way a
  // framework on OpenBLAS runs it (no determinism across thread counts; the floor, not a kernel).
  openblas_set_num_threads(threads);
  measure("openblas", "openblas-calls", "   (each product one OpenBLAS call)",
          [&](const shape& s, std::int64_t lda, std::int64_t ldb) {
            cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans,
                        static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), 1.0f, a.data(),
                        static_cast<int>(lda), b.data(), static_cast<int>(ldb), s.beta, c.data(),
                        static_cast<int>(s.n));
          });
  openblas_set_num_threads(1);
  if (!json.empty()) {
    std::ofstream out(json);
    out << "{\"cpu\": \"" << tg::bench::cpu_model() << "\", \"commit\": \""
        << tg::bench::source_commit(TIERGNN_SOURCE_DIR) << "\", \"threads\": " << threads
        << ", \"reference_gflops\": " << ref_gflops << ", \"pass_gflop\": " << flops / 1e9 << ", \"kernels\": ["
        << rows.str() << "], \"shapes\": \"";
    for (std::size_t i = 0; i < shapes.size(); ++i)
      out << (i ? ";" : "") << shapes[i].ta << "," << shapes[i].tb << "," << shapes[i].m << "," << shapes[i].n << ","
          << shapes[i].k << "," << shapes[i].beta;
    out << "\"}\n";
  }
  return 0;
}
