#!/usr/bin/env bash
# import_bench.sh: wall time, throughput and peak memory of `tiergnn import` end to end (parse,
# spill, CSR build, validation and checksums at commit) on the real graphs of ../shared/datasets
# and on one large synthetic edge list that shows streaming throughput.
#
# Inputs: the edge lists cnr-2000, uk-2007-05-100000, soc-Slashdot0902 and email-Enron, each
# imported twice, "directed" (as-is: `import edgelist FILE`, duplicates dropped, self-loops kept)
# and "undirected simple" (`--undirected --self-loops drop`); the labelled importers Cora,
# CiteSeer (planetoid, which converts the pickles through python3), Tolokers and Facebook; and a
# synthetic R-MAT edge list of SYNTH_SCALE/SYNTH_EF (default 2^22 nodes x 12 = 50.3M lines):
# `tiergnn generate rmat --keep-duplicates` writes the CSR, a numpy script turns it into
# "src<TAB>dst" text (one line per generated edge, in a seeded random order) under the output
# folder, gzip -6 compresses a copy, and both are imported directed, with the default id remapping
# and with --remap never.
#
# How: every input is read once before timing (so all runs read from the page cache, not the
# disk) and imported REPEATS times (SYNTH_REPEATS for the synthetic list) into a fresh directory;
# the run with the median wall time is reported. Wall time is taken with `date +%s%N` around the
# command; peak RSS (ru_maxrss of the import, which on Linux includes reaped children such as the
# planetoid python converter, and counts touched pages of the mmapped output arrays) and user/sys
# CPU come from `/usr/bin/time`. edges/s = input edge records / s (text lines without comments and
# header, or the edge count of the archive/pickle); MB/s = uncompressed input text bytes / s
# (10^6 bytes), and for a gzip input also compressed bytes / s. "others" is the share of all cores
# that other processes used during the reported run (/proc/stat busy time minus the import's own
# user+sys; scheduler-tick resolution, so only meaningful for runs longer than ~0.5 s).
#
# Usage: bench/import_bench.sh TIERGNN OUTDIR
#   env: REPEATS=3 SYNTH_REPEATS=1 SYNTH_SCALE=22 SYNTH_EF=12 THREADS=(all) KEEP=0
#        DATASETS=../shared/datasets (relative to the repository)
# Writes OUTDIR/import_bench.json and OUTDIR/import_bench.md and prints the table. Imported
# datasets land in OUTDIR/datasets/ (the synthetic ones and the text are removed unless KEEP=1).
set -euo pipefail

if [[ $# -ne 2 || "$1" == -h || "$1" == --help ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
TG=$(readlink -f "$1")
OUT=$(mkdir -p "$2" && readlink -f "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DS=${DATASETS:-$REPO/../shared/datasets}
DS=$(readlink -f "$DS")
REPEATS=${REPEATS:-3}
SYNTH_REPEATS=${SYNTH_REPEATS:-1}
SYNTH_SCALE=${SYNTH_SCALE:-22}
SYNTH_EF=${SYNTH_EF:-12}
KEEP=${KEEP:-0}
THREAD_ARGS=()
[[ -n "${THREADS:-}" ]] && THREAD_ARGS=(--threads "$THREADS")
[[ -x "$TG" ]] || { echo "import_bench: $TG is not an executable" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "import_bench: needs /usr/bin/time (GNU time)" >&2; exit 2; }

COMMAND="$0 $*"
ROWS="$OUT/rows.tsv"
: > "$ROWS"
mkdir -p "$OUT/datasets"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Data lines of a text edge list: not blank, not a comment (# or %).
count_lines() {
  if [[ "$1" == *.gz ]]; then zcat "$1"; else cat "$1"; fi | grep -cv -e '^[#%]' -e '^[[:space:]]*$'
}
text_bytes() {
  if [[ "$1" == *.gz ]]; then zcat "$1" | wc -c; else stat -c %s "$1"; fi
}
# Busy CPU seconds of the whole machine so far (/proc/stat: user nice system irq softirq).
busy_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat
}
meta_field() {  # meta_field DIR FIELD
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/meta.json"))[sys.argv[2]])' "$1" "$2"
}

# bench NAME VARIANT RECORDS TEXT_BYTES FILE_BYTES INPUT_PATHS REPS -- tiergnn-import-args...
# INPUT_PATHS: the input files, one per line; the output directory is appended as "-o DIR".
bench() {
  local name=$1 variant=$2 records=$3 tbytes=$4 fbytes=$5 inputs=$6 reps=$7
  shift 8
  local dir="$OUT/datasets/$name-$variant"
  local results=()
  local files
  mapfile -t files <<< "$inputs"
  cat "${files[@]}" > /dev/null  # into the page cache
  for ((r = 0; r < reps; r++)); do
    rm -rf "$dir"
    local tf
    tf=$(mktemp)
    local t0 t1
    local b0 b1
    b0=$(busy_seconds)
    t0=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$tf" "$TG" -q "${THREAD_ARGS[@]}" import "$@" -o "$dir"
    t1=$(date +%s%N)
    b1=$(busy_seconds)
    read -r rss_kib user sys < "$tf"
    rm -f "$tf"
    results+=("$(( t1 - t0 )) $rss_kib $user $sys $b0 $b1")
  done
  # Median by wall time.
  local med
  med=$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p")
  local all_walls
  all_walls=$(printf '%s\n' "${results[@]}" | awk '{printf "%s%.4f", (NR>1?",":""), $1/1e9}')
  local b0 b1 others
  read -r ns rss_kib user sys b0 b1 <<< "$med"
  # Share of all cores that other processes used during the reported run (scheduler-tick
  # resolution: meaningless for runs under ~0.5 s).
  others=$(awk -v b0="$b0" -v b1="$b1" -v u="$user" -v s="$sys" -v ns="$ns" -v c="$(nproc)" \
    'BEGIN { o = (b1 - b0 - u - s) / (c * ns / 1e9); printf "%.3f", (o < 0 ? 0 : o) }')
  local nodes arcs
  nodes=$(meta_field "$dir" num_nodes)
  arcs=$(meta_field "$dir" num_edges)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$variant" \
    "$records" "$tbytes" "$fbytes" "$nodes" "$arcs" "$ns" "$rss_kib" "$user" "$sys" "$others" \
    "$all_walls" \
    "tiergnn import $*" >> "$ROWS"
  awk -v n="$name" -v v="$variant" -v s="$ns" -v e="$records" -v m="$rss_kib" \
    'BEGIN { printf "  %-22s %-10s %8.3f s %8.2f Medges/s  peak RSS %7.1f MiB\n", n, v, s/1e9, e/(s/1e9)/1e6, m/1024 }' >&2
}

echo "import_bench: $TG, datasets in $DS, load $LOAD_START" >&2

# --- Real edge lists: directed as-is and undirected simple.
for rel in cnr-2000/cnr-2000.edges.tsv.gz uk-2007-05-100000/uk-2007-05-100000.edges.tsv.gz \
           soc-Slashdot0902/soc-Slashdot0902.txt.gz email-Enron/email-Enron.txt.gz; do
  f="$DS/$rel"
  name=$(basename "$(dirname "$rel")")
  lines=$(count_lines "$f")
  tb=$(text_bytes "$f")
  fb=$(stat -c %s "$f")
  bench "$name" directed "$lines" "$tb" "$fb" "$f" "$REPEATS" -- edgelist "$f" --name "$name"
  bench "$name" undirected "$lines" "$tb" "$fb" "$f" "$REPEATS" -- \
    edgelist "$f" --name "$name" --undirected --self-loops drop
done

# --- Labelled importers. Records = edge records in the input (adjacency-list entries for the
# Planetoid pickles, rows of the edge array/CSV for Tolokers/Facebook); text bytes = all input files.
for p in cora citeseer; do
  pfiles=$(ls "$DS/$p/ind.$p".*)
  recs=$(python3 - "$DS/$p" "$p" <<'EOF'
import pickle, sys
with open(f"{sys.argv[1]}/ind.{sys.argv[2]}.graph", "rb") as f:
    g = pickle.load(f, encoding="latin1")
print(sum(len(v) for v in g.values()))
EOF
)
  tb=$(printf '%s\n' "$pfiles" | xargs -d '\n' cat | wc -c)
  bench "$p" labelled "$recs" "$tb" "$tb" "$pfiles" "$REPEATS" -- planetoid "$DS/$p" --dataset "$p"
done
tol="$DS/tolokers/tolokers.npz"
recs=$(python3 -c 'import numpy as np,sys; print(np.load(sys.argv[1])["edges"].shape[0])' "$tol")
tb=$(stat -c %s "$tol")
bench tolokers labelled "$recs" "$tb" "$tb" "$tol" "$REPEATS" -- tolokers "$tol"
fbd="$DS/facebook_page"
recs=$(count_lines "$fbd/facebook_edges.csv")
recs=$((recs - 1))  # header id_1,id_2
tb=$(cat "$fbd"/facebook_* | wc -c)
bench facebook labelled "$recs" "$tb" "$tb" "$(ls "$fbd"/facebook_*)" "$REPEATS" -- facebook "$fbd"

# --- Synthetic R-MAT edge list (streaming throughput).
SYN="$OUT/synthetic"
mkdir -p "$SYN"
syn_name="rmat-s$SYNTH_SCALE-ef$SYNTH_EF"
txt="$SYN/$syn_name.tsv"
echo "import_bench: writing $txt ..." >&2
t0=$(date +%s%N)
rm -rf "$SYN/csr"
"$TG" -q generate rmat "$SYN/csr" --scale "$SYNTH_SCALE" --edge-factor "$SYNTH_EF" --keep-duplicates
python3 - "$SYN/csr" "$txt" <<'EOF'
# indices.npy holds the in-neighbours of each row: edge indices[k] -> row. One "src\tdst" line per
# generated edge, in a seeded random order as a generator or crawler would emit them (sorted by
# destination, the text would flatter the importer's CSR scatter).
import numpy as np, sys
indptr = np.load(sys.argv[1] + "/indptr.npy")
indices = np.load(sys.argv[1] + "/indices.npy")
dst_all = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
perm = np.random.default_rng(1).permutation(len(indices))
chunk = 1 << 20
with open(sys.argv[2], "w") as out:
    for start in range(0, len(perm), chunk):
        p = perm[start:start + chunk]
        lines = np.char.add(np.char.add(indices[p].astype(str), "\t"), dst_all[p].astype(str))
        out.write("\n".join(lines.tolist()))
        out.write("\n")
EOF
rm -rf "$SYN/csr"
gzip -6 -c "$txt" > "$txt.gz"
t1=$(date +%s%N)
echo "import_bench: synthetic text written in $(( (t1 - t0) / 1000000000 )) s" >&2
lines=$(wc -l < "$txt")
tb=$(stat -c %s "$txt")
# R-MAT leaves ids unused (isolated nodes), so the default --remap auto renumbers densely; the
# "-noremap" runs keep the ids (N = largest id + 1) and show the parse + CSR build alone.
fb=$(stat -c %s "$txt.gz")
for input in "$txt" "$txt.gz"; do
  if [[ "$input" == *.gz ]]; then kind=gzip; size=$fb; else kind=text; size=$tb; fi
  bench "$syn_name" "$kind" "$lines" "$tb" "$size" "$input" "$SYNTH_REPEATS" -- \
    edgelist "$input" --name "$syn_name"
  bench "$syn_name" "$kind-noremap" "$lines" "$tb" "$size" "$input" "$SYNTH_REPEATS" -- \
    edgelist "$input" --name "$syn_name" --remap never
  [[ "$KEEP" == 1 ]] || rm -rf "$OUT/datasets/$syn_name-$kind" "$OUT/datasets/$syn_name-$kind-noremap"
done
[[ "$KEEP" == 1 ]] || rm -rf "$SYN"

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- JSON and markdown.
python3 - "$ROWS" "$OUT" "$COMMAND" "$TG" "$LOAD_START" "$LOAD_END" "$REPO" "${THREADS:-all}" <<'EOF'
import json, os, sys
rows_path, out, command, tg, load_start, load_end, repo, threads = sys.argv[1:9]

def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"

def commit():
    git = os.path.join(repo, ".git")
    try:
        ref = open(os.path.join(git, "HEAD")).read().strip()
    except OSError:
        return "unknown"
    if not ref.startswith("ref: "):
        return ref
    ref = ref[5:]
    try:
        return open(os.path.join(git, ref)).read().strip()
    except OSError:
        pass
    try:
        for line in open(os.path.join(git, "packed-refs")):
            if line[41:].strip() == ref:
                return line[:40]
    except OSError:
        pass
    return "unknown"

mem_kib = int(open("/proc/meminfo").readline().split()[1])
runs = []
for line in open(rows_path):
    (name, variant, recs, tbytes, fbytes, nodes, arcs, ns, rss, user, sys_s, others, walls,
     cmd) = line.rstrip("\n").split("\t")
    s = int(ns) / 1e9
    recs, tbytes, fbytes = int(recs), int(tbytes), int(fbytes)
    runs.append({
        "input": name, "variant": variant, "records": recs, "text_bytes": tbytes,
        "file_bytes": fbytes, "nodes": int(nodes), "stored_arcs": int(arcs), "seconds": s,
        "all_seconds": [float(x) for x in walls.split(",")],
        "edges_per_second": recs / s, "text_mb_per_second": tbytes / s / 1e6,
        "file_mb_per_second": fbytes / s / 1e6, "peak_rss_bytes": int(rss) * 1024,
        "user_seconds": float(user), "sys_seconds": float(sys_s),
        "other_processes_cpu_share": float(others), "command": cmd})
doc = {"benchmark": "import", "machine": {"nproc": os.cpu_count(), "cpu_model": cpu_model(),
       "mem_total_kib": mem_kib, "loadavg_at_start": load_start, "loadavg_at_end": load_end},
       "commit": commit(), "command": command, "tiergnn": tg, "threads": threads, "runs": runs}
with open(os.path.join(out, "import_bench.json"), "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")

def cnt(x):
    for unit, div in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= div:
            return f"{x / div:.2f}{unit}"
    return str(x)

hdr = ("| input | variant | records | nodes | stored arcs | input text | seconds | Medges/s | "
       "text MB/s | file MB/s | peak RSS | user+sys s | others |")
lines = [hdr, "|" + "---|" * 13]
for r in runs:
    lines.append(
        f"| {r['input']} | {r['variant']} | {cnt(r['records'])} | {cnt(r['nodes'])} | "
        f"{cnt(r['stored_arcs'])} | {r['text_bytes'] / 1e6:.1f} MB | {r['seconds']:.3f} | "
        f"{r['edges_per_second'] / 1e6:.2f} | {r['text_mb_per_second']:.1f} | "
        f"{r['file_mb_per_second']:.1f} | {r['peak_rss_bytes'] / 2**20:.1f} MiB | "
        f"{r['user_seconds'] + r['sys_seconds']:.2f} | "
        f"{100 * r['other_processes_cpu_share']:.0f}% |")
table = "\n".join(lines)
with open(os.path.join(out, "import_bench.md"), "w") as f:
    f.write(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, {mem_kib / 2**20:.1f} GiB RAM, "
            f"load {load_start} -> {load_end}; commit {doc['commit']}; threads {threads}\n\n")
    f.write(table + "\n")
print(table)
EOF
rm -f "$ROWS"
echo "wrote $OUT/import_bench.json and $OUT/import_bench.md" >&2
