#!/usr/bin/env bash
# Records bench/multigpu_traffic on the five real graphs of the tiering issue (cnr-2000,
# uk-2007-05-100000, soc-Slashdot0902, email-Enron, facebook_page), imported as bench/traffic_all.sh
# imports them (undirected, no self-loops), with a random 10% training set (split seed 0), 512-byte
# rows (128 float32), fanouts 15,10,5, batch 1024, training seed 0, ranked hot-first by prepare's
# default estimator: per-GPU host->GPU bytes per epoch for k = 1, 2, 4, 8 GPUs with replication only
# vs replication + striping (peer weights 0.8 and 0.3), at per-GPU budgets of 5% and 10% of the
# feature bytes.
# Writes OUT/multigpu_traffic.{json,txt} and OUT/summary.md.
# Usage: bench/multigpu_traffic.sh BUILD_DIR OUT_DIR [extra multigpu_traffic arguments, e.g. --epochs 3]
set -euo pipefail
build=$(realpath "$1")
out=$(realpath -m "$2")
shift 2
T="$build/cli/tiergnn"
B="$build/bench/multigpu_traffic"
data=${DATASETS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
start=$(date +%s)
"$T" -q import edgelist "$data/cnr-2000/cnr-2000.edges.tsv.gz" -o "$work/cnr-2000" --undirected --self-loops drop
"$T" -q import edgelist "$data/uk-2007-05-100000/uk-2007-05-100000.edges.tsv.gz" -o "$work/uk-2007-05-100000" --undirected --self-loops drop
"$T" -q import edgelist "$data/soc-Slashdot0902/soc-Slashdot0902.txt.gz" -o "$work/soc-Slashdot0902" --undirected --self-loops drop
"$T" -q import edgelist "$data/email-Enron/email-Enron.txt.gz" -o "$work/email-Enron" --undirected --self-loops drop
"$T" -q import facebook "$data/facebook_page" -o "$work/facebook_page"
echo "imports done in $(( $(date +%s) - start )) s"
args=()
for g in cnr-2000 uk-2007-05-100000 soc-Slashdot0902 email-Enron facebook_page; do args+=(--dataset "$work/$g"); done
cmd=(--gpus 1,2,4,8 --budgets 5,10 --fanouts 15,10,5 --batch-size 1024 --seed 0 --train-fraction 0.1 --split-seed 0
     --row-bytes 512 "$@")
"$B" "${args[@]}" "${cmd[@]}" --json "$out/multigpu_traffic.json" | tee "$out/multigpu_traffic.txt"
echo "total $(( $(date +%s) - start )) s (imports + benchmark)" | tee -a "$out/multigpu_traffic.txt"
python3 - "$out" "bench/multigpu_traffic.sh BUILD_DIR OUT_DIR${*:+ $*}" <<'PY'
import json, os, sys
out, script = sys.argv[1], sys.argv[2]
j = json.load(open(os.path.join(out, "multigpu_traffic.json")))
c = j["config"]
cpu = j["machine"]["cpu_model"]
def b(x):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(x) < 1024 or unit == "TiB":
            return f"{x:.1f} {unit}" if unit != "B" else f"{x:.0f} B"
        x /= 1024
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("# Multi-GPU feature sharing: replication only vs replication + striping (simulated GPUs)\n\n")
    f.write(f"Machine: {cpu}, {j['machine']['nproc']} cores (CPU only: the k GPUs are simulated by replaying data-parallel "
            f"training and counting rows, so every number below is an exact count, not a timing). Commit {j['commit']}.\n\n")
    f.write(f"Produced by `{script}`, which runs\n\n    {j['command']}\n\n(dataset paths are temporary imports).\n\n")
    f.write(f"Setup: graphs imported undirected without self-loops; random {c['train_fraction']*100:g}% training set "
            f"(split seed {c['split_seed']}); {c['row_bytes']}-byte feature rows; fanouts {c['fanouts']}; global batch "
            f"{c['batch_size']} split across the k ranks with rank_slice; training seed {c['seed']}; {c['epochs']} epochs "
            f"replayed; ids ranked hot-first by `{c['estimator']}` (prepare's default). At each per-GPU budget (a share of "
            "all feature bytes, on every GPU), plan (a) replicates the hottest B rows on every GPU; plan (b) is "
            "plan_shared_tier over a P2P clique with peer weight w (0.8 ~ NVLink, 0.3 ~ PCIe P2P): [0, r) replicated, "
            "[r, r+s) striped (row i on GPU i mod k), r chosen from the estimator's per-rank scores. Everything else comes "
            "from host memory.\n\n")
    f.write("Columns, per GPU and per epoch (mean over the k GPUs): **h2d** host->GPU bytes; **saved** striping's cut of "
            "h2d; **peer** bytes read from other GPUs; **local** share of the GPU's input rows in its own memory; "
            "**on GPUs** in its own or a peer's memory; **no cache** what it would read with no GPU tier; **h2d, all GPUs** "
            "the sum over the k GPUs. **r/B** is the planner's replicated share of a GPU's budget; **best swept** the r/B "
            "among 0, 0.25, 0.5, 0.75, 1 with the lowest measured h2d + (1 - w) x peer, and **cost vs best** the planner's "
            "measured cost against that point (negative: the planner did better).\n\n")
    for run in j["runs"]:
        f.write(f"## {run['dataset']} ({run['nodes']:,} nodes, {run['arcs']:,} arcs, {run['train_nodes']:,} training nodes)\n\n")
        f.write("| budget/GPU | k | h2d (a) repl. only | no cache | w | r | s | h2d (b) repl.+striped | saved | peer (b) | "
                "local (a) | local (b) | on GPUs (b) | h2d all GPUs (a) | h2d all GPUs (b) | r/B | best swept | cost vs best |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for r in run["results"]:
            a = r["replicated"]
            pa = r["replay"]["plans"][0]
            for i, st in enumerate(r["striped"]):
                if r["gpus"] == 1 and i > 0:
                    continue  # one GPU: nothing to stripe, the same row for every w
                pb = r["replay"]["plans"][1 + i]
                best = "-" if st["sweep_best_replicated_fraction"] is None else f"{st['sweep_best_replicated_fraction']:.2f}"
                vs = "-" if st["cost_vs_sweep_best"] is None else f"{100*st['cost_vs_sweep_best']:+.1f}%"
                f.write(f"| {r['budget_percent_per_gpu']:g}% | {r['gpus']} | {b(a['host_to_gpu_bytes_per_gpu_per_epoch'])} | "
                        f"{b(r['no_cache_bytes_per_gpu_per_epoch'])} | {st['peer_weight']:g} | {st['plan']['replicated_rows']:,} | "
                        f"{st['plan']['striped_rows']:,} | {b(st['host_to_gpu_bytes_per_gpu_per_epoch'])} | "
                        f"{100*st['saved_vs_replication']:.1f}% | {b(st['peer_bytes_per_gpu_per_epoch'])} | "
                        f"{100*a['local_hit_rate']:.1f}% | {100*st['local_hit_rate']:.1f}% | {100*st['gpu_hit_rate']:.1f}% | "
                        f"{b(pa['per_epoch']['host_to_gpu_bytes_all_gpus'])} | {b(pb['per_epoch']['host_to_gpu_bytes_all_gpus'])} | "
                        f"{st['replicated_fraction']:.2f} | {best} | {vs} |\n")
        f.write("\n")
print("wrote", os.path.join(out, "summary.md"))
PY
