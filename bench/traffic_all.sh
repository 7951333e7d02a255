#!/usr/bin/env bash
# Records `tiergnn bench traffic` on the five real graphs of the tiering issue (cnr-2000,
# uk-2007-05-100000, soc-Slashdot0902, email-Enron, facebook_page), imported undirected without
# self-loops, with a random 10% training set (split seed 0), 512-byte rows (128 float32), batch 1024,
# 10 epochs, fanouts (15,10,5) and (10,10). Writes OUT/<graph>-<fanouts>.{json,svg,txt} and OUT/summary.md.
# Usage: bench/traffic_all.sh TIERGNN_BINARY OUT_DIR
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
data=${DATASETS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
"$T" -q import edgelist "$data/cnr-2000/cnr-2000.edges.tsv.gz" -o "$work/cnr-2000" --undirected --self-loops drop
"$T" -q import edgelist "$data/uk-2007-05-100000/uk-2007-05-100000.edges.tsv.gz" -o "$work/uk-2007-05-100000" --undirected --self-loops drop
"$T" -q import edgelist "$data/soc-Slashdot0902/soc-Slashdot0902.txt.gz" -o "$work/soc-Slashdot0902" --undirected --self-loops drop
"$T" -q import edgelist "$data/email-Enron/email-Enron.txt.gz" -o "$work/email-Enron" --undirected --self-loops drop
"$T" -q import facebook "$data/facebook_page" -o "$work/facebook_page"
for g in cnr-2000 uk-2007-05-100000 soc-Slashdot0902 email-Enron facebook_page; do
  for f in 15,10,5 10,10; do
    name="$g-${f//,/-}"
    "$T" -q bench traffic "$work/$g" --fanouts "$f" --batch-size 1024 --epochs 10 --random-train-set \
      --train-fraction 0.1 --split-seed 0 --row-bytes 512 \
      --estimators degree,wrpr,vip,presample:1,presample:4,hybrid \
      --json "$out/$name.json" --plot "$out/$name.svg" > "$out/$name.txt"
    echo "$name done"
  done
done
python3 - "$out" <<'PY'
import glob, json, os, sys, subprocess
out = sys.argv[1]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
try:
    commit = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
except Exception:
    commit = "?"
rows = []
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("# bench traffic: estimators against the oracle on five real graphs\n\n")
    f.write(f"Machine: {cpu}, {os.cpu_count()} cores. Commit {commit}. Produced by `bench/traffic_all.sh`: graphs imported "
            "undirected without self-loops, random 10% training set (split seed 0), 512-byte rows, batch 1024, 10-epoch run, "
            "training seed 0. Cells: GPU hit rate as % of the oracle's (the hindsight-optimal static placement) at GPU "
            "caches of 1/2/5/10/20/40% of the feature bytes; the hit rate is also the reduction of host->GPU bytes against no "
            "cache. Per-graph tables with absolute hit rates and bytes per epoch, JSON and SVG plots sit beside this file.\n\n")
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        j = json.load(open(path))
        f.write(f"## {j['dataset']}, fanouts {j['fanouts']}\n\n")
        f.write("| estimator | " + " | ".join(f"{round(r*100)}%" for r in j["ratios"]) + " | seconds | edge passes |\n")
        f.write("|---|" + "---|" * len(j["ratios"]) + "---|---|\n")
        for e in j["estimators"]:
            cells = [f"{100*h:.1f}" if e["estimator"] == "oracle" else f"{100*o:.1f}" for h, o in zip(e["hit_rate"], e["of_oracle"])]
            f.write(f"| {e['estimator']}{' (hit rate %)' if e['estimator']=='oracle' else ''} | " + " | ".join(cells) +
                    f" | {e['seconds']:.3f} | {e['edge_passes']:.2f} |\n")
        f.write("\n")
        hy = next(e for e in j["estimators"] if e["estimator"] == "hybrid")
        worst = min(o for r, o in zip(j["ratios"], hy["of_oracle"]) if 0.05 <= r <= 0.40 + 1e-9)
        # Largest shortfall of hybrid's hit rate below degree's or wrpr's, in percentage points, and where.
        short, where = 0.0, "-"
        for e in j["estimators"]:
            if e["estimator"] in ("degree", "wrpr"):
                for r, h, x in zip(j["ratios"], hy["hit_rate"], e["hit_rate"]):
                    if x - h > short:
                        short, where = x - h, f"{round(r*100)}% vs {e['estimator']}"
        rows.append((j["dataset"], j["fanouts"], worst, short, where))
    f.write("## Target check: hybrid, worst % of oracle at 5-40%, and shortfall below degree or wrpr\n\n"
            "Shortfall: the largest amount, in percentage points of hit rate at any cache ratio, by which hybrid's hit rate "
            "falls below degree's or wrpr's (0 = never below).\n\n"
            "| graph | fanouts | worst % of oracle | shortfall (pp) | where |\n|---|---|---|---|---|\n")
    for d, fo, w, s, wh in rows:
        f.write(f"| {d} | {fo} | {100*w:.1f} | {100*s:.4f} | {wh} |\n")
for d, fo, w, s, wh in rows:
    print(f"{d:22s} {str(fo):12s} hybrid worst at 5-40%: {100*w:.1f}% of oracle; shortfall below degree/wrpr {100*s:.4f} pp ({wh})")
PY
