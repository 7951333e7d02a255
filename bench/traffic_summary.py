"""Writes OUT/summary.md from the bench/traffic_all.sh JSON files in OUT (see that script)."""
import glob
import json
import os
import subprocess
import sys

DEFAULT = "cvip"
CEILING = "presample:160"  # ranks by expected reads: the best any estimator of the distribution can do
out = sys.argv[1]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True,
                                     cwd=os.path.dirname(os.path.abspath(__file__))).strip()
except Exception:
    commit = "?"
runs = []
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    j = json.load(open(path))
    j["_name"] = os.path.basename(path)[:-5]
    runs.append(j)


def mid(j, e):  # worst % of oracle at 5-40%
    return min(o for r, o in zip(j["ratios"], e["of_oracle"]) if 0.05 - 1e-9 <= r <= 0.40 + 1e-9)


def of_ceiling(j, e):  # worst hit rate as a share of the ceiling's at 5-40% (None without the ceiling)
    c = next((x for x in j["estimators"] if x["estimator"] == CEILING), None)
    if c is None:
        return None
    return min(h / hc if hc > 0 else 1.0 for r, h, hc in zip(j["ratios"], e["hit_rate"], c["hit_rate"])
               if 0.05 - 1e-9 <= r <= 0.40 + 1e-9)


def pct(x):
    return "-" if x is None else f"{100 * x:.1f}"


with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("# bench traffic: estimators against the oracle on five real graphs, both directions\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores. Commit {commit}. Produced by `bench/traffic_all.sh`: each graph "
            "imported undirected (u) and directed (d) without self-loops; a random 10% training set (split seed 0) and a "
            "contiguous one (ids [0.45 N, 0.55 N)); 512-byte rows, batch 1024, 10-epoch run, training seed 0. Cells: GPU "
            "hit rate as % of the oracle's (the hindsight-optimal static placement) at GPU caches of "
            + "/".join(f"{round(r * 100)}" for r in runs[0]["ratios"]) + "% of the feature bytes. **cost**: the "
            "estimator's time in presampling epochs (its seconds / the seconds of presample:1 on the same graph, "
            "fastest of three runs when under a second, of up to 15 while they add up to under half a second). Per-run tables with absolute hit rates and bytes per epoch, "
            "JSON and SVG plots sit beside this file.\n\n")
    f.write(f"**The ceiling.** The oracle places by the reads of the very run it is scored on, so it also wins the "
            f"run's luck: which seeds shared a batch, which neighbours the sampler drew. An estimator that does not "
            f"replay the run's own draws can at best rank by the *expected* reads per epoch; `{CEILING}` does that "
            f"(160 epochs on the presample seed stream; 64 epochs were at most 0.24 points lower in any worst cell), and "
            f"the **ceiling** columns give its worst 5-40% cell as % of the oracle. Where the ceiling is below 99% "
            f"(few batches an epoch, flat degree distributions: facebook_page), 99% of the oracle is out of reach of "
            f"every estimator of the distribution, so the default is also given as % of the ceiling.\n\n")
    f.write(f"## Target check: the default ({DEFAULT})\n\n"
            "Goal (profiler issue): at least 99% of the oracle at every cache from 5% to 40%, at a cost of at most one "
            "presampling epoch. Worst % of oracle at 5-40% and cost, the ceiling's worst % of the oracle, the default's "
            "worst % of the ceiling, and the best estimator that costs at most one presampling epoch.\n\n"
            "| graph | dir | training set | fanouts | default worst % | default cost | ceiling worst % | default % of "
            "ceiling | best at cost <= 1 | its worst % |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    for j in runs:
        es = {e["estimator"]: e for e in j["estimators"]}
        d = es[DEFAULT]
        cheap = [e for e in j["estimators"]
                 if e["estimator"] not in ("oracle", CEILING) and e["presample_epochs"] <= 1.0 + 1e-9]
        ceil = es.get(CEILING)
        best = max(cheap, key=lambda e: mid(j, e)) if cheap else None
        name = j["_name"]
        dirn = "d" if "-d-" in name else "u"
        split = "contiguous" if "-contiguous-" in name else "random"
        best_cells = f"{best['estimator']} | {100 * mid(j, best):.1f}" if best else "- | -"
        f.write(f"| {j['dataset']} | {dirn} | {split} | {j['fanouts']} | {100 * mid(j, d):.1f} | "
                f"{d['presample_epochs']:.2f} | {pct(mid(j, ceil) if ceil else None)} | {pct(of_ceiling(j, d))} | "
                f"{best_cells} |\n")
    f.write("\n")
    # The verdict on the goal, counted from the rows above (the one-epoch figures for the few-batch
    # graphs are a measurement of a build with kCvipMinBatches = 1, recorded in cvip.cpp).
    def batches(j):
        return -(-j["train_nodes"] // j["batch_size"])

    def dflt(j):
        return next(e for e in j["estimators"] if e["estimator"] == DEFAULT)

    def ceil_mid(j):
        c = next((e for e in j["estimators"] if e["estimator"] == CEILING), None)
        return None if c is None else mid(j, c)

    def label(j):
        n = j["_name"]
        return (f"{j['dataset']} {'d' if '-d-' in n else 'u'} {'contiguous' if '-contiguous-' in n else 'random'} "
                f"{','.join(map(str, j['fanouts']))}")

    ok_q = [j for j in runs if mid(j, dflt(j)) >= 0.99 - 1e-9]
    ok_c = [j for j in runs if dflt(j)["presample_epochs"] <= 1.0 + 1e-9]
    low_ceiling = [j for j in runs if ceil_mid(j) is not None and ceil_mid(j) < 0.99 - 1e-9]
    of_ceil_ok = [j for j in runs if of_ceiling(j, dflt(j)) is not None and of_ceiling(j, dflt(j)) >= 0.99 - 1e-9]
    few = [j for j in runs if batches(j) < 8]
    many = [j for j in runs if batches(j) >= 8]
    costs_many = sorted(dflt(j)["presample_epochs"] for j in many)
    costs_few = sorted(dflt(j)["presample_epochs"] for j in few)
    f.write("**Where the goal is met, and where it cannot be.** "
            f"The default reaches 99% of the oracle in {len(ok_q)} of {len(runs)} settings and costs at most one "
            f"presampling epoch in {len(ok_c)}. In {len(low_ceiling)} settings the ceiling itself is below 99% of the "
            "oracle (" + ", ".join(f"{label(j)}: {100 * ceil_mid(j):.1f}%" for j in low_ceiling) + "): there no "
            "estimator of the expected reads can reach the goal. As % of the ceiling the default reaches 99% in "
            f"{len(of_ceil_ok)} settings. ")
    if few:
        f.write(f"{len(few)} settings have fewer than 8 batches an epoch ("
                + ", ".join(sorted({j['dataset'] for j in few})) + f"): the default samples whole epochs up to 8 "
                f"batches there (cost {costs_few[0]:.2f}-{costs_few[-1]:.2f} presampling epochs), because one epoch's "
                "seed split into 3 or 4 batches is the noise that decides those graphs (one epoch, at about one "
                "presampling epoch's cost, was 0.4-4.3 points lower, mean 1.7, on the 16 email-Enron and "
                "facebook_page settings; cvip.cpp). ")
    if costs_many:
        f.write(f"Where an epoch has 8 batches or more ({len(many)} settings) the default samples one epoch, at "
                f"{costs_many[0]:.2f}-{costs_many[-1]:.2f} presampling epochs (median "
                f"{costs_many[len(costs_many) // 2]:.2f}; these runs take milliseconds, and the ratio varies by "
                "about 0.3 from run to run).")
    f.write("\n\n")
    # Quality against cost over all settings, each estimator once: what a reader weighs first.
    names = [e["estimator"] for e in runs[0]["estimators"] if e["estimator"] != "oracle"]
    f.write(f"## Every estimator over the {len(runs)} settings\n\n"
            "Worst % of the oracle at 5-40% per setting, summarised over the settings; cost in presampling "
            "epochs.\n\n"
            "Beside them, the same as % of the ceiling (worst 5-40% cell per setting).\n\n"
            "| estimator | worst setting | mean | settings >= 99% | settings >= 97% | % of ceiling: worst | mean | "
            "settings >= 99% | cost median | cost max |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    for n in names:
        q, qc, c = [], [], []
        for j in runs:
            e = next(x for x in j["estimators"] if x["estimator"] == n)
            q.append(100 * mid(j, e))
            oc = of_ceiling(j, e)
            if oc is not None:
                qc.append(100 * oc)
            c.append(e["presample_epochs"])
        c.sort()
        ceil_cells = (f"{min(qc):.1f} | {sum(qc) / len(qc):.2f} | {sum(x >= 99 for x in qc)}" if qc else "- | - | -")
        label = " (default)" if n == DEFAULT else " (ceiling)" if n == CEILING else ""
        f.write(f"| {n}{label} | {min(q):.1f} | {sum(q) / len(q):.2f} | "
                f"{sum(x >= 99 for x in q)} | {sum(x >= 97 for x in q)} | {ceil_cells} | {c[len(c) // 2]:.2f} | "
                f"{c[-1]:.2f} |\n")
    f.write("\n")
    for j in runs:
        name = j["_name"]
        f.write(f"## {j['dataset']} ({'directed' if '-d-' in name else 'undirected'}), {j['train_set']}, "
                f"fanouts {j['fanouts']}\n\n")
        f.write("| estimator | " + " | ".join(f"{round(r * 100)}%" for r in j["ratios"]) +
                " | seconds | cost | edge passes |\n")
        f.write("|---|" + "---|" * len(j["ratios"]) + "---|---|---|\n")
        for e in j["estimators"]:
            o = e["estimator"] == "oracle"
            cells = [f"{100 * h:.1f}" if o else f"{100 * x:.1f}" for h, x in zip(e["hit_rate"], e["of_oracle"])]
            f.write(f"| {e['estimator']}{' (hit rate %)' if o else ''} | " + " | ".join(cells) +
                    f" | {e['seconds']:.3f} | {e['presample_epochs']:.2f} | {e['edge_passes']:.2f} |\n")
        f.write("\n")
print(open(os.path.join(out, "summary.md")).read().split("\n## ", 2)[1])
