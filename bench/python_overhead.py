#!/usr/bin/env python3
"""Python overhead per batch: sampling and gathering one epoch's batches through the tiergnn module
against the same calls in C++ (bench/api_bench.cpp, the embedding API) on the same dataset, batches,
fanouts and batch size. Runs alternate C++ / Python `--rounds` times; medians are compared.

Usage: python bench/python_overhead.py API_BENCH DATASET [--fanouts 15,10,5] [--batch-size 1024]
                                       [--batches 40] [--rounds 5] [--json OUT.json]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import tiergnn


def python_run(ds, fanouts, batch_size, n, epoch=0):
    s = tiergnn.Sampler(ds, fanouts, seed=0)
    fs = tiergnn.FeatureStore(ds)
    batches = s.epoch_batches(ds.split("train"), batch_size, epoch)[:n]
    t_s = t_g = 0.0
    edges = rows = 0
    for b, seeds in enumerate(batches):
        t0 = time.perf_counter()
        mb = s.sample(seeds, epoch, b)
        t1 = time.perf_counter()
        x = fs.gather(mb.input_nodes)
        t2 = time.perf_counter()
        t_s += t1 - t0
        t_g += t2 - t1
        edges += mb.num_sampled_edges
        rows += x.shape[0]
        del mb, x  # freed before the next batch, as the C++ loop's scope frees them
    return {"batches": len(batches), "sample_s": t_s, "gather_s": t_g, "sampled_edges": edges, "rows": rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("api_bench")
    ap.add_argument("dataset")
    ap.add_argument("--fanouts", default="15,10,5")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    fan = [int(v) for v in a.fanouts.split(",")]
    ds = tiergnn.Dataset(a.dataset)
    cpp, py = [], []
    python_run(ds, fan, a.batch_size, 3)  # warm the page cache and the module
    for r in range(a.rounds):
        out = subprocess.run([a.api_bench, a.dataset, "--fanouts", a.fanouts, "--batch-size", str(a.batch_size),
                              "--batches", str(a.batches)], check=True, capture_output=True, text=True).stdout
        cpp.append(json.loads(out))
        py.append(python_run(ds, fan, a.batch_size, a.batches))
        assert cpp[-1]["sampled_edges"] == py[-1]["sampled_edges"] and cpp[-1]["rows"] == py[-1]["rows"], "different work"
    med = lambda runs, k: statistics.median(r[k] for r in runs)
    res = {"dataset": ds.name, "num_nodes": ds.num_nodes, "num_edges": ds.num_edges, "fanouts": fan,
           "batch_size": a.batch_size, "batches": cpp[0]["batches"], "rounds": a.rounds,
           "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
           "cores": os.cpu_count(), "python": platform.python_version(), "tiergnn": tiergnn.__version__}
    for k in ("sample_s", "gather_s"):
        c, p = med(cpp, k), med(py, k)
        res[k] = {"cpp": c, "python": p, "overhead": p / c - 1}
    c = statistics.median(r["sample_s"] + r["gather_s"] for r in cpp)
    p = statistics.median(r["sample_s"] + r["gather_s"] for r in py)
    res["total"] = {"cpp": c, "python": p, "overhead": p / c - 1, "per_batch_ms_cpp": 1e3 * c / res["batches"],
                    "per_batch_ms_python": 1e3 * p / res["batches"]}
    print(f"{ds.name}: {res['batches']} batches of {a.batch_size}, fanouts {a.fanouts}, median of {a.rounds} alternating rounds")
    print(f"{'':8s} {'C++ s':>9s} {'Python s':>9s} {'overhead':>9s}")
    for k in ("sample_s", "gather_s", "total"):
        print(f"{k.replace('_s', ''):8s} {res[k]['cpp']:9.4f} {res[k]['python']:9.4f} {100 * res[k]['overhead']:8.1f}%")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
