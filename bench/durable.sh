#!/usr/bin/env bash
# What durability costs (issue 10): `hagen render` (release) of the 3 CP + 2 workers
# benchmark topology with the full PKI, written to a directory on disk and to tmpfs in
# alternating pairs (disk, tmpfs, disk, tmpfs, ...), so both sides see the same load on
# this shared machine. Prints the median of each and the ratio disk / tmpfs; exits 1 when
# the ratio exceeds the bar.
#
# Usage: bench/durable.sh [PAIRS]      (default 21; one more, unrecorded, warms up)
# Needs nothing beyond bash 5 (EPOCHREALTIME), awk and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

pairs=${1:-21}
bar=2.5

topology=fixtures/bench/3cp-2w.yaml
if [ ! -f "$topology" ]; then
  # The 3-control-plane sample the benchmark topology was made from.
  topology=fixtures/topologies/valid/haproxy-keepalived-stacked.yaml
fi
[ -f "$topology" ] || { echo "no benchmark topology" >&2; exit 2; }

echo "== cargo build --release -p hagen" >&2
cargo build --release -q -p hagen
hagen=${CARGO_TARGET_DIR:-$root/target}/release/hagen
[ -x "$hagen" ] || { echo "no $hagen" >&2; exit 2; }

# A disk: /var/tmp, else the repository (/tmp may be tmpfs, which would measure nothing).
disk=""
for base in /var/tmp "$root/target"; do
  if [ -d "$base" ] && [ -w "$base" ] && [ "$(stat -f -c %T "$base")" != tmpfs ]; then
    disk=$(mktemp -d -p "$base" hagen-durable.XXXXXX)
    break
  fi
done
[ -n "$disk" ] || { echo "no writable directory on disk (not tmpfs) found" >&2; exit 2; }
trap 'rm -rf "$disk"' EXIT
[ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] ||
  { echo "/dev/shm is not tmpfs" >&2; exit 2; }
shm=$(mktemp -d -p /dev/shm hagen-durable.XXXXXX)
trap 'rm -rf "$disk" "$shm"' EXIT

# once DIR: microseconds for one render into a fresh DIR/b (the removal is not timed).
once() {
  rm -rf "$1/b"
  local t0 t1
  t0=$EPOCHREALTIME
  "$hagen" render "$topology" -o "$1/b" >/dev/null
  t1=$EPOCHREALTIME
  echo $((${t1//[.,]/} - ${t0//[.,]/}))
}

once "$disk" >/dev/null
once "$shm" >/dev/null
: >"$disk/times.disk"
: >"$disk/times.shm"
for ((i = 0; i < pairs; i++)); do
  once "$disk" >>"$disk/times.disk"
  once "$shm" >>"$disk/times.shm"
done
files=$(find "$disk/b" -type f | wc -l)

median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1000}'; }
d=$(median "$disk/times.disk")
s=$(median "$disk/times.shm")
echo "$files files; disk: $(stat -f -c %T "$disk") $disk; tmpfs: $shm; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
awk -v d="$d" -v s="$s" -v n="$pairs" -v bar="$bar" 'BEGIN {
  r = d / s
  printf "durable render: disk median %.1f ms, tmpfs median %.1f ms, ratio %.2fx (bar %.1fx; %d alternating pairs)\n", d, s, r, bar, n
  exit (r > bar)
}'
