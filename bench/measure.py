"""Runs a command and reports its wall time, peak resident memory split into anonymous and
file-backed pages (polled from /proc/PID/status every 0.1 s; VmHWM for the exact peak total) and the
bytes it read and wrote on disk (/proc/PID/io). Prints one JSON object on the last line of stdout.
Usage: python3 bench/measure.py [--label NAME] -- COMMAND [ARGS...]"""
import json
import subprocess
import sys
import time


def status(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def io(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/io"):
            k, _, v = line.partition(":")
            out[k] = int(v)
    except OSError:
        pass
    return out


def main():
    args = sys.argv[1:]
    label = None
    if args[:1] == ["--label"]:
        label, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    t0 = time.time()
    p = subprocess.Popen(args)
    peak = {"RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    last_io = {}
    while p.poll() is None:
        s = status(p.pid)
        for k in peak:
            peak[k] = max(peak[k], s.get(k, 0))
        last_io = io(p.pid) or last_io
        time.sleep(0.1)
    wall = time.time() - t0
    r = {"label": label, "command": " ".join(args), "rc": p.returncode, "wall_s": round(wall, 2),
         "peak_rss_bytes": peak["VmHWM"], "peak_anon_bytes": peak["RssAnon"], "peak_file_bytes": peak["RssFile"],
         "disk_read_bytes": last_io.get("read_bytes"), "disk_write_bytes": last_io.get("write_bytes")}
    print(json.dumps(r))
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
