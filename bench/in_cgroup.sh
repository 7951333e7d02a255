#!/usr/bin/env bash
# Runs a command inside a fresh memory cgroup limited to LIMIT (bytes, or with a K/M/G suffix),
# removes the cgroup afterwards and exits with the command's status. Needs root and a writable
# memory controller (cgroup v1 memory.limit_in_bytes or v2 memory.max). Page-cache pages count
# against the limit too, so a command whose mapped files exceed it must let them be evicted.
# Usage: bench/in_cgroup.sh LIMIT COMMAND [ARGS...]
set -euo pipefail
limit=$(numfmt --from=iec "$1")
shift
self=$(cat /proc/self/cgroup)
v1=$(printf '%s\n' "$self" | awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}')
if [ -n "$v1" ] && [ -d "/sys/fs/cgroup/memory$v1" ]; then
  dir="/sys/fs/cgroup/memory$v1/tiergnn-$$"
  file=memory.limit_in_bytes
else
  v2=$(printf '%s\n' "$self" | awk -F: '$1 == "0" {print $3; exit}')
  dir="/sys/fs/cgroup$v2/tiergnn-$$"
  file=memory.max
fi
mkdir "$dir" || { echo "in_cgroup.sh: cannot create a memory cgroup ($dir): run as root on a machine with one" >&2; exit 2; }
trap 'rmdir "$dir" 2>/dev/null || true' EXIT
echo "$limit" > "$dir/$file"
set +e
# In the background, so that a signal to this script (timeout's SIGTERM) is passed on to the command
# and the cgroup is removed after it ends (killed with the script, the cgroup was left behind).
(echo "$BASHPID" > "$dir/cgroup.procs" && exec "$@") <&0 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
wait "$child"
rc=$?
while kill -0 "$child" 2>/dev/null; do  # a trapped signal ended the wait, not the command
  wait "$child"
  rc=$?
done
set -e
if [ -f "$dir/memory.failcnt" ]; then echo "in_cgroup.sh: limit $limit B, times the limit was hit: $(cat "$dir/memory.failcnt"), peak $(cat "$dir/memory.max_usage_in_bytes") B" >&2; fi
exit $rc
