#!/bin/sh
# Runs a command as if a hagen node's files were installed, without touching the host:
# the node's etc/ (and any extra layers, leftmost wins) is laid read-only over /etc with
# overlayfs, and fresh tmpfs hide /run, /var/log/nginx and /var/lib/nginx, so pid
# files, sockets, logs and temp dirs never land on the host.
#
# Must run in a private mount namespace, as root:
#   unshare --mount --propagation private -- node-exec.sh [--iface NAME]... LAYERS CMD [ARG]...
# LAYERS is a colon-separated list of directories standing for /etc (no `:` or `,`
# inside a path). --iface creates NAME as a veth (the kernel may lack `dummy`) and
# brings it up: only useful inside a private network namespace (unshare --net).
# The last step is `exec CMD`, so the PID that started this script is CMD's PID.
set -eu

n=0
while [ "${1:-}" = --iface ]; do
    n=$((n + 1))
    ip link add "$2" type veth peer name "hagenpeer$n"
    ip link set "$2" up
    ip link set "hagenpeer$n" up
    shift 2
done
[ $# -ge 2 ] || { echo "usage: node-exec.sh [--iface NAME]... LAYERS CMD [ARG]..." >&2; exit 2; }
layers=$1
shift

mount -t overlay overlay -o "lowerdir=$layers:/etc" /etc
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/haproxy
for d in /var/log/nginx /var/lib/nginx; do
    if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
exec "$@"
