"""The dense products of a GraphSAGE step through PyTorch's BLAS (MKL on x86 wheels): what the BLAS
calls alone cost for a framework like DGL, on the shapes bench/matmul_bench lists in its JSON.

Usage: blas_floor.py MATMUL_BENCH_JSON [--threads T] [--reps R] [--json OUT]
Prints and writes: seconds of one pass over the products (best of R) and GFLOP/s.
"""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("matmul_json", help="bench/matmul_bench --json output (its 'shapes')")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    shapes = []
    for one in json.load(open(a.matmul_json))["shapes"].split(";"):
        ta, tb, m, n, k, beta = one.split(",")
        shapes.append((ta == "1", tb == "1", int(m), int(n), int(k), float(beta)))
    flops = sum(2.0 * m * n * k for _, _, m, n, k, _ in shapes)
    g = torch.Generator().manual_seed(0)
    ops = []
    for ta, tb, m, n, k, beta in shapes:
        x = torch.rand((k, m) if ta else (m, k), generator=g) - 0.5
        w = torch.rand((n, k) if tb else (k, n), generator=g) - 0.5
        ops.append((x.t() if ta else x, w.t() if tb else w, torch.zeros(m, n), beta))
    best = float("inf")
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for x, w, c, beta in ops:
            if beta:
                torch.addmm(c, x, w, out=c)
            else:
                torch.mm(x, w, out=c)
        best = min(best, time.perf_counter() - t0)
    r = {"torch": torch.__version__, "mkl": torch.backends.mkl.is_available(), "threads": a.threads,
         "pass_s": best, "gflops": flops / best / 1e9, "pass_gflop": flops / 1e9}
    print(json.dumps(r))
    if a.json:
        json.dump(r, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
