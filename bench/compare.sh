#!/usr/bin/env bash
# Times whole processes in one run and prints ratios against the tools people use today
# (issue 7). Ratios, not absolute times: every figure is measured in this run, on this
# machine, beside its baseline.
#
#   (a) `hagen render` (release) of fixtures/bench/3cp-2w.yaml with the full ECDSA PKI,
#       beside bench/openssl-pki.sh making the same keys and certificates by hand;
#   (b) RSA-2048 PKI: `hagen render --jobs 1` beside `--jobs N` (N = available cores);
#   (c) scale: 3 CP + 2 workers beside 7 CP + 200 workers (time and max RSS);
#   (d) `hagen lint fixtures/expected fixtures/lint` beside `haproxy -c`, `nginx -t` and
#       `keepalived --config-test` run over the haproxy/nginx/keepalived files of the
#       same directories. The checkers run directly on each file, not in the overlay
#       namespace tests/real.rs uses, so files naming /etc paths that do not exist here
#       fail (they are counted and shown; such a failure ends the check early, which
#       only flatters the checkers).
#
# Usage: bench/compare.sh [--quick]     (--quick: fewer runs, for a smoke test)
# Installs what it needs on a fresh Debian machine (idempotent): hyperfine, openssl,
# haproxy, nginx, keepalived, time, python3; none of the daemons is started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

runs=10 rsa_runs=5 quick=""
if [ "${1:-}" = "--quick" ]; then runs=3 rsa_runs=2 quick=1; fi

need=()
for pkg in hyperfine openssl haproxy nginx keepalived time python3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "== apt-get install ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then   # installing the daemons must not start them
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
  [ -z "$added_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
PATH=$PATH:/usr/sbin:/sbin

echo "== cargo build --release -p hagen" >&2
cargo build --release -q -p hagen
hagen=${CARGO_TARGET_DIR:-$root/target}/release/hagen
[ -x "$hagen" ] || { echo "no $hagen" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cores=$(nproc)

# mean NAME RUNS PREPARE CMD: hyperfine's mean in seconds into $tmp/NAME.mean (and its
# standard deviation into NAME.sd); CMD's exit status is ignored (linters exit 1 on findings).
mean() {
  local name=$1 n=$2 prepare=$3 cmd=$4
  hyperfine -N --style none -i --warmup 1 --runs "$n" --prepare "$prepare" \
    --export-json "$tmp/$name.json" "$cmd" >/dev/null 2>&1 ||
    hyperfine --style none -i --warmup 1 --runs "$n" --prepare "$prepare" \
      --export-json "$tmp/$name.json" "$cmd" >/dev/null
  python3 - "$tmp/$name.json" >"$tmp/$name.mean" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f'{r["mean"]:.6f} {r["stddev"] or 0:.6f}')
PY
}
get() { cut -d' ' -f1 "$tmp/$1.mean"; }
sd() { cut -d' ' -f2 "$tmp/$1.mean"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1f}')" "$1" "$2"; }
ms() { python3 -c "import sys; print(f'{float(sys.argv[1]) * 1000:.1f} ms ± {float(sys.argv[2]) * 1000:.1f}')" "$1" "$2"; }
# max RSS in KiB of one run of CMD
rss() { /usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>&1 || true; cat "$tmp/rss"; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== measuring on $cores cores, load average $load at the start" >&2

small=fixtures/bench/3cp-2w.yaml
large=fixtures/bench/7cp-200w.yaml
rsa=fixtures/bench/3cp-2w-rsa.yaml

# (a) render + ECDSA PKI beside the openssl script.
mean render "$runs" "rm -rf $tmp/b" "$hagen render $small -o $tmp/b"
mean openssl "$runs" "rm -rf $tmp/o" "bash bench/openssl-pki.sh $tmp/o"
# hagen syncs every file before renaming the bundle into place (openssl-pki.sh syncs
# none): on a disk other processes keep busy those waits are most of its time. The same
# render into tmpfs shows the rest.
shm=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  shm=$(mktemp -d /dev/shm/hagen-bench.XXXXXX)
  trap 'rm -rf "$tmp" "$shm"' EXIT
  mean render_shm "$runs" "rm -rf $shm/b" "$hagen render $small -o $shm/b"
fi
rm -rf "$tmp/b" && "$hagen" render "$small" -o "$tmp/b" >/dev/null
hagen_files=$(find "$tmp/b" -type f \( -name '*.crt' -o -name '*.key' -o -name '*.pub' -o -name '*.conf' \) -path '*/etc/kubernetes/*' | wc -l)
openssl_files=$(find "$tmp/o" -type f | wc -l)

# (b) RSA-2048 on one thread and on every core.
mean rsa1 "$rsa_runs" "rm -rf $tmp/r" "$hagen render $rsa -o $tmp/r --jobs 1"
mean rsaN "$rsa_runs" "rm -rf $tmp/r" "$hagen render $rsa -o $tmp/r --jobs $cores"

# (c) scale.
mean large "$runs" "rm -rf $tmp/l" "$hagen render $large -o $tmp/l"
[ -z "$shm" ] || mean large_shm "$runs" "rm -rf $shm/l" "$hagen render $large -o $shm/l"
rm -rf "$tmp/b" "$tmp/l"
rss_small=$(rss "$hagen" render "$small" -o "$tmp/b")
rss_large=$(rss "$hagen" render "$large" -o "$tmp/l")
small_files=$(find "$tmp/b" -type f | wc -l)
large_files=$(find "$tmp/l" -type f | wc -l)

# (d) lint beside the syntax checkers over the same files.
dirs="fixtures/expected fixtures/lint"
mapfile -t hap < <(find $dirs -type f \( -path '*/haproxy/*.cfg' -o -name 'haproxy*.cfg' \) | sort)
mapfile -t ngx < <(find $dirs -type f \( -path '*/nginx/*.conf' -o -name 'nginx*.conf' \) | sort)
mapfile -t kal < <(find $dirs -type f \( -path '*/keepalived/*.conf' -o -name 'keepalived*.conf' \) | sort)
{
  echo '#!/usr/bin/env bash'
  echo 'fail=0'
  for f in "${hap[@]}"; do echo "haproxy -c -f '$f' >/dev/null 2>&1 || fail=\$((fail+1))"; done
  for f in "${ngx[@]}"; do echo "nginx -q -t -c '$root/$f' -e /dev/null >/dev/null 2>&1 || fail=\$((fail+1))"; done
  for f in "${kal[@]}"; do echo "keepalived --config-test -f '$root/$f' >/dev/null 2>&1 || fail=\$((fail+1))"; done
  echo 'echo $fail'
} >"$tmp/checkers.sh"
checker_fail=$(bash "$tmp/checkers.sh")
lint_files=$(find $dirs -type f | wc -l)
mean lint "$runs" "true" "$hagen lint $dirs"
mean checkers "$runs" "true" "bash $tmp/checkers.sh"

fmt() { printf '| %-62s | %-22s | %-22s | %-8s | %-7s |\n' "$@"; }
echo
echo "hagen $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $cores cores, load $load at the start, files in $(df -T "$tmp" | awk 'NR==2{print $2}') $tmp$([ -n "$quick" ] && echo ', --quick')"
echo
fmt "what" "hagen" "baseline" "ratio" "budget"
fmt "---" "---" "---" "---" "---"
fmt "render 3 CP + 2 W, ECDSA PKI ($hagen_files PKI files) vs openssl ($openssl_files)" \
  "$(ms "$(get render)" "$(sd render)")" "$(ms "$(get openssl)" "$(sd openssl)")" \
  "$(ratio "$(get openssl)" "$(get render)")×" "≥ 50×"
[ -z "$shm" ] || fmt "the same, hagen writing to tmpfs (no disk waits)" \
  "$(ms "$(get render_shm)" "$(sd render_shm)")" "$(ms "$(get openssl)" "$(sd openssl)")" \
  "$(ratio "$(get openssl)" "$(get render_shm)")×" "≥ 50×"
fmt "render 3 CP + 2 W, RSA-2048: --jobs 1 vs --jobs $cores" \
  "$(ms "$(get rsaN)" "$(sd rsaN)")" "$(ms "$(get rsa1)" "$(sd rsa1)")" \
  "$(ratio "$(get rsa1)" "$(get rsaN)")×" "≥ 1.8×"
fmt "lint $lint_files files vs the checkers on ${#hap[@]}+${#ngx[@]}+${#kal[@]} (${checker_fail} fail)" \
  "$(ms "$(get lint)" "$(sd lint)")" "$(ms "$(get checkers)" "$(sd checkers)")" \
  "$(ratio "$(get checkers)" "$(get lint)")×" "≥ 10×"
fmt "render 7 CP + 200 W ($large_files files) vs 3 CP + 2 W ($small_files) (time)" \
  "$(ms "$(get large)" "$(sd large)")" "$(ms "$(get render)" "$(sd render)")" \
  "$(ratio "$(get large)" "$(get render)")×" "≤ 5×"
[ -z "$shm" ] || fmt "the same, writing to tmpfs" \
  "$(ms "$(get large_shm)" "$(sd large_shm)")" "$(ms "$(get render_shm)" "$(sd render_shm)")" \
  "$(ratio "$(get large_shm)" "$(get render_shm)")×" "≤ 5×"
fmt "render 7 CP + 200 W vs 3 CP + 2 W (max RSS)" "${rss_large} KiB" "${rss_small} KiB" \
  "$(ratio "$rss_large" "$rss_small")×" "linear"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
