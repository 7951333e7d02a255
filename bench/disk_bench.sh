#!/usr/bin/env bash
# The disk tier's random-row reads against the disk's ceiling for the same pattern: fio (random
# 4 KiB reads, O_DIRECT, io_uring at queue depth 128, when fio is installed) and bench/disk_bench
# (the reader's engines on a 6 GiB float32 feature file with 256-byte rows: 10 batches of 20,000
# random rows, each engine from a cold page cache). Writes OUT/disk_bench.{json,txt} and OUT/disk_cpu.md.
# Usage: bench/disk_bench.sh BUILD_DIR OUT_DIR [WORK_DIR (default /tmp; needs 6 GiB)]
set -euo pipefail
build=$(realpath "$1")
out=$(realpath -m "$2")
work=${3:-/tmp}
mkdir -p "$out"
file="$work/tiergnn_disk_bench.npy"
trap 'rm -f "$file" "$file.tmp"' EXIT
B="$build/bench/disk_bench"
"$B" --file "$file" --create-gib 6 --dim 64 --batches 1 --batch-rows 10 --repeats 1 --engines pread:1 > /dev/null
sync
fio_line="fio not installed"
if command -v fio > /dev/null; then
  fio_line=$(fio --name=ceiling --filename="$file" --rw=randread --bs=4k --direct=1 --ioengine=io_uring --iodepth=128 \
    --runtime=10 --time_based --group_reporting 2>&1 | grep -m1 "IOPS" | sed 's/^ *//')
fi
"$B" --file "$file" --batches 10 --batch-rows 20000 --repeats 2 --engines pread:4,pread:16,pread:64,io_uring:32,io_uring:128 \
  --json "$out/disk_bench.json" | tee "$out/disk_bench.txt"
echo "fio randread 4k direct io_uring qd128 (whole file): $fio_line" | tee -a "$out/disk_bench.txt"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
j = json.load(open(os.path.join(out, "disk_bench.json")))
txt = open(os.path.join(out, "disk_bench.txt")).read()
with open(os.path.join(out, "disk_cpu.md"), "w") as f:
    f.write("# Disk tier: random-row reads against the disk's ceiling\n\n")
    f.write(f"Machine: {j['machine']['cpu']}, {j['machine']['cores']} cores; commit {j['commit'][:12]}; "
            "local ext4 on a virtio disk. Produced by `bench/disk_bench.sh BUILD_DIR OUT_DIR`.\n\n")
    f.write(f"A {j['rows'] * j['row_bytes'] / 2**30:.1f} GiB float32 feature file of {j['rows']:,} rows of "
            f"{j['row_bytes']} B; {j['batches']} batches of {j['batch_rows']:,} random distinct rows (sorted, as the "
            f"store asks) = {j['pages']:,} distinct 4 KiB pages. Each engine starts from a cold page cache "
            "(posix_fadvise DONTNEED) and reads through it (buffered, POSIX_FADV_RANDOM: no readahead), as the disk "
            "tier does; the best of 2 alternating rounds is shown. Ceiling: the same pages read with O_DIRECT at "
            f"queue depth {j['ceiling']['depth']} (io_uring), i.e. what the disk sustains for this pattern; fio's "
            "figure for random 4 KiB reads over the whole file is below for reference.\n\n")
    f.write("```\n" + txt + "```\n\n")
    f.write("| engine | rows/s | pages/s | % of ceiling |\n|---|---|---|---|\n")
    for e in j["engines"]:
        f.write(f"| {e['engine']} | {e['rows_per_s']:,.0f} | {e['pages_per_s']:,.0f} | {100*e['share_of_ceiling']:.0f}% |\n")
PY
cat "$out/disk_cpu.md"
