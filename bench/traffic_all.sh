#!/usr/bin/env bash
# Records `tiergnn bench traffic` on the five real graphs of the profiler issues (cnr-2000,
# uk-2007-05-100000, soc-Slashdot0902, email-Enron, facebook_page), each imported undirected and
# directed (self-loops dropped; facebook_page's directed copy keeps its CSV's orientation), with a
# random 10% training set (split seed 0) and a contiguous one (ids [0.45 N, 0.55 N): web crawls number
# pages in URL order, so it is locality-skewed), 512-byte rows (128 float32), batch 1024, 10 epochs,
# fanouts (15,10,5) and (10,10). Writes OUT/<graph>-<u|d>-<random|contiguous>-<fanouts>.{json,svg,txt}
# and OUT/summary.md (every cell as % of the oracle, each estimator's cost in presampling epochs).
# presample:160 is there as the ceiling of any estimator that does not know the run's own draws: it
# ranks by the expected reads per epoch (160 epochs on the presample seed stream; presample:64 was at
# most 0.24 points lower in any worst cell, 0.06 on average), which the hindsight oracle beats by
# fitting the run's own noise.
# Usage: bench/traffic_all.sh TIERGNN_BINARY OUT_DIR
set -euo pipefail
T=$(realpath "$1")
out=$(realpath -m "$2")
data=${DATASETS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/datasets}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.svg "$out"/*.txt
imp() {  # name file [extra import options]
  local name=$1 file=$2
  shift 2
  "$T" -q import edgelist "$data/$file" -o "$work/$name-u" --undirected --self-loops drop "$@"
  "$T" -q import edgelist "$data/$file" -o "$work/$name-d" --self-loops drop "$@"
}
imp cnr-2000 cnr-2000/cnr-2000.edges.tsv.gz
imp uk-2007-05-100000 uk-2007-05-100000/uk-2007-05-100000.edges.tsv.gz
imp soc-Slashdot0902 soc-Slashdot0902/soc-Slashdot0902.txt.gz
imp email-Enron email-Enron/email-Enron.txt.gz
imp facebook_page facebook_page/facebook_edges.csv --name facebook_page
for g in cnr-2000 uk-2007-05-100000 soc-Slashdot0902 email-Enron facebook_page; do
  for dir in u d; do
    for split in random contiguous; do
      if [ "$split" = random ]; then sp=(--random-train-set --train-fraction 0.1 --split-seed 0); else sp=(--train-range 0.45:0.55); fi
      for f in 15,10,5 10,10; do
        name="$g-$dir-$split-${f//,/-}"
        "$T" -q bench traffic "$work/$g-$dir" --fanouts "$f" --batch-size 1024 --epochs 10 "${sp[@]}" --row-bytes 512 \
          --estimators degree,wrpr,vip,presample:1,presample:4,cvip,cvip:2,cvip:4,hybrid,presample:160 \
          --json "$out/$name.json" --plot "$out/$name.svg" > "$out/$name.txt"
        echo "$name done"
      done
    done
  done
done
python3 "$(dirname "$0")/traffic_summary.py" "$out"
