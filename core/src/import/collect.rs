//! The collect script `hagen import --collect-script` prints: a read-only POSIX sh
//! script the operator runs on each node to gather exactly the files import reads into
//! one directory per node. It copies no private key, and removes credentials
//! (client-key-data, client-certificate-data, token, password, certificateKey lines)
//! from every YAML and kubeconfig it copies.

/// The script.
pub const SCRIPT: &str = r#"#!/bin/sh
# hagen collect: gathers, read-only, the files `hagen import` reads from this node into
# OUT/<node>/ (OUT is the first argument, ./hagen-collect by default). Run it on every
# node, copy the OUT directories together, then: hagen import OUT -o topology.yaml
#
# It never copies a private key (*.key, or any file holding a PEM private key), and
# removes credential lines (client-key-data, client-certificate-data, token, password,
# certificateKey) from every kubeconfig and YAML file it copies. It changes nothing on
# the node.
#
# Environment:
#   HAGEN_ROOT=/path   read the node's files under this prefix (a mounted disk, tests)
#   HAGEN_NODE=name    the directory name for this node (default: uname -n)
#   HAGEN_NO_CLUSTER=1 skip the cluster-wide dumps (kubectl: the kubeadm-config
#                      ConfigMap and the nodes; etcdctl: the member list)
set -eu

out=${1:-./hagen-collect}
root=${HAGEN_ROOT:-}
node=${HAGEN_NODE:-$(uname -n)}
dest=$out/$node
umask 077
mkdir -p "$dest"

# copy PATH: the node's file PATH (under $root) to the same path under $dest, without
# credential lines; a private key is never copied.
copy() {
    src=$1
    if [ ! -f "$root$src" ] || [ ! -r "$root$src" ]; then
        return 0
    fi
    case $src in
        *.key) echo "hagen collect: skipped private key $src" >&2; return 0 ;;
    esac
    if grep -q 'PRIVATE KEY' "$root$src"; then
        echo "hagen collect: skipped $src (it holds a private key)" >&2
        return 0
    fi
    mkdir -p "$dest$(dirname "$src")"
    grep -v -E '^[[:space:]-]*"?(client-key-data|client-certificate-data|token|password|certificateKey)"?[[:space:]]*:' "$root$src" > "$dest$src" || true
}

# copy_glob DIR PATTERN...: every file of DIR (under $root) matching a pattern.
copy_glob() {
    dir=$1
    shift
    for pattern in "$@"; do
        for f in "$root$dir"/$pattern; do
            if [ -f "$f" ]; then
                copy "${f#"$root"}"
            fi
        done
    done
}

# Kubernetes: static pods (API server, etcd, kube-vip), kubeadm configuration,
# kubeconfigs (server URLs only matter), public certificates.
copy_glob /etc/kubernetes/manifests '*.yaml' '*.yml' '*.json'
copy_glob /etc/kubernetes '*.yaml' '*.yml' '*.conf' '*.kubeconfig'
copy_glob /root '*kubeadm*.yaml' '*kubeadm*.yml'
for dir in /etc/kubernetes/pki /etc/etcd /etc/ssl/etcd; do
    if [ -d "$root$dir" ]; then
        find "$root$dir" -type f \( -name '*.crt' -o -name '*.pem' \) ! -name '*key*' | while IFS= read -r f; do
            copy "${f#"$root"}"
        done
    fi
done
# Load balancers.
copy /etc/haproxy/haproxy.cfg
copy_glob /etc/keepalived '*.conf' '*.sh'
copy /etc/nginx/nginx.conf
copy_glob /etc/nginx/conf.d '*.conf'
copy_glob /etc/nginx/stream.d '*.conf'
# External etcd: configuration, unit and environment files.
copy_glob /etc/etcd '*.yml' '*.yaml' '*.conf' '*.env'
copy /etc/default/etcd
copy /etc/sysconfig/etcd
copy /etc/systemd/system/etcd.service
copy /usr/lib/systemd/system/etcd.service
copy /lib/systemd/system/etcd.service

# Cluster-wide dumps, read-only, when this node can make them.
if [ "${HAGEN_NO_CLUSTER:-0}" != 1 ]; then
    kubeconfig=$root/etc/kubernetes/admin.conf
    if command -v kubectl >/dev/null 2>&1 && [ -r "$kubeconfig" ]; then
        mkdir -p "$dest/cluster"
        kubectl --kubeconfig "$kubeconfig" -n kube-system get configmap kubeadm-config -o yaml \
            > "$dest/cluster/kubeadm-config.yaml" 2>/dev/null || rm -f "$dest/cluster/kubeadm-config.yaml"
        kubectl --kubeconfig "$kubeconfig" get nodes -o json \
            > "$dest/cluster/nodes.json" 2>/dev/null || rm -f "$dest/cluster/nodes.json"
    fi
    pki=$root/etc/kubernetes/pki/etcd
    if command -v etcdctl >/dev/null 2>&1 && [ -r "$pki/healthcheck-client.crt" ]; then
        mkdir -p "$dest/cluster"
        # etcdctl reads the client key to authenticate; the key itself is not copied.
        ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:2379 --cacert "$pki/ca.crt" \
            --cert "$pki/healthcheck-client.crt" --key "$pki/healthcheck-client.key" \
            member list -w json > "$dest/cluster/etcd-members.json" 2>/dev/null \
            || rm -f "$dest/cluster/etcd-members.json"
    fi
fi

copied=$(find "$dest" -type f | wc -l | tr -d ' ')
echo "hagen collect: $copied file(s) of $node in $dest"
echo "copy $out from every node into one directory, then: hagen import <that directory> -o topology.yaml"
"#;
