//! The IMP rules: what `hagen import` reports about a cluster's files — facts it could
//! not find, and facts the files disagree on (the drift report). Registered in
//! [`RULES`] like the lint domains; each check reads the whole [`super::Cluster`].

use super::Cluster;
use crate::diag::{Diagnostics, Rule, Severity};

/// An import rule's check: reads what was gathered and pushes its findings.
pub type ImportFn = fn(&Cluster<'_>, &mut Diagnostics);

/// Every import rule with its check, sorted by code.
pub static RULES: &[(&Rule, ImportFn)] = &[
    (&FACT_NOT_FOUND, super::fact_not_found),
    (&FILES_DISAGREE, super::files_disagree),
    (&SAN_MISSING, super::san_missing),
    (&ETCD_MEMBERS_DIFFER, super::etcd_members_differ),
    (&LB_BACKENDS_DIFFER, super::lb_backends_differ),
    (&VRRP_PEERS_DIFFER, super::vrrp_peers_differ),
    (&VRRP_DIFFERS_ACROSS_NODES, super::vrrp_differs_across_nodes),
    (&CERT_EXPIRING, super::cert_expiring),
    (&CERT_OTHER_CA, super::cert_other_ca),
    (&CONFIGMAP_DIFFERS, super::configmap_differs),
    (&PRIVATE_KEY_NOT_READ, super::private_key_not_read),
];

/// IMP001.
pub const FACT_NOT_FOUND: Rule = Rule {
    code: "IMP001",
    name: "fact-not-found",
    severity: Severity::Warning,
    summary: "A fact the topology needs is in none of the imported files",
    explain: "\
## What it checks
That every value topology.yaml needs (cluster name, Kubernetes version, endpoint, each
node's name, address and roles, the VIP's prefix length, …) was found in at least one
imported file. Each finding names the file that would give the value.

## Why it matters
hagen never guesses: a value no file states is left as a commented placeholder in the
imported topology, and `hagen validate` will ask for it.

## Example
Only haproxy.cfg and keepalived.conf were collected: the cluster name and the
Kubernetes version are in kubeadm's ClusterConfiguration, which was not.

## Fix
Collect the named file (`hagen import --collect-script` gathers all of them), or fill the
placeholder in by hand.
",
};

/// IMP002.
pub const FILES_DISAGREE: Rule = Rule {
    code: "IMP002",
    name: "files-disagree",
    severity: Severity::Warning,
    summary: "Two files of the cluster give different values for the same fact",
    explain: "\
## What it checks
Each fact read from more than one file (the endpoint from kubeadm's configuration and
from the kubeconfigs, the Service network from kubeadm and from the API server's
manifest, a node's address from kubeadm and keepalived, the Kubernetes version, …).

## Why it matters
The imported topology can hold one value; the other file is drift that a re-render will
overwrite, or that already differs from what runs.

## Example
`controlPlaneEndpoint: api.k8s.local:6443` in kubeadm-config.yaml and
`server: https://192.168.2.250:8443` in admin.conf.

## Fix
Decide which value is right, correct the topology, then re-render the other files.
",
};

/// IMP003.
pub const SAN_MISSING: Rule = Rule {
    code: "IMP003",
    name: "imported-san-missing",
    severity: Severity::Error,
    summary: "An API server certificate lacks the endpoint, the VIP or its node's address",
    explain: "\
## What it checks
The subjectAltNames of every `apiserver.crt` imported: the endpoint's DNS name, the VIP
and the address of the node the certificate belongs to must all be there.

## Why it matters
Clients dialing a name or address not in the certificate fail TLS verification: after a
failover to that node, or as soon as they use the endpoint.

## Example
A VIP added after `kubeadm init` but never added to `apiServer.certSANs`.

## Fix
Add the name to `apiServer.certSANs` and re-issue the certificate (`hagen render`, or
`kubeadm init phase certs apiserver` after moving the old one away).
",
};

/// IMP004.
pub const ETCD_MEMBERS_DIFFER: Rule = Rule {
    code: "IMP004",
    name: "etcd-members-differ",
    severity: Severity::Error,
    summary: "etcd's members, `initial-cluster` and the control planes (or etcd nodes) disagree",
    explain: "\
## What it checks
The members `etcdctl member list` reports, each member's `initial-cluster`, and the
nodes that should be members: the control planes with stacked etcd, the etcd nodes with
external etcd (and kubeadm's `etcd.external.endpoints`). A member joined later
(`initial-cluster-state: existing`, or kubeadm's static pods) may list only the members
before it; every name it lists must still be a member.

## Why it matters
A member nobody runs counts against quorum; a control plane whose etcd never joined is
not the redundancy it looks like; a stale `initial-cluster` breaks a member's restart
from scratch.

## Example
`etcdctl member list` shows m1, m2 and a removed m4; the control planes are m1, m2, m3.

## Fix
Remove the stale member (`etcdctl member remove`), add the missing one, and make the
configuration files list the real members.
",
};

/// IMP005.
pub const LB_BACKENDS_DIFFER: Rule = Rule {
    code: "IMP005",
    name: "lb-backends-differ-from-control-planes",
    severity: Severity::Error,
    summary: "haproxy or nginx forwards to servers that are not exactly the control planes",
    explain: "\
## What it checks
The `server` lines of each imported haproxy.cfg and nginx.conf against the control
planes found in the files (`address:bindPort`).

## Why it matters
A missing control plane never gets traffic; an extra server (a removed node, a typo)
takes a share of the clients and fails them.

## Example
Three control planes, and one node's haproxy.cfg still lists only the first two.

## Fix
Import, correct the topology if needed and re-render the load balancer files, or edit
the server list on every node.
",
};

/// IMP006.
pub const VRRP_PEERS_DIFFER: Rule = Rule {
    code: "IMP006",
    name: "vrrp-peers-differ-from-control-planes",
    severity: Severity::Error,
    summary: "keepalived's unicast source and peers are not exactly the control planes",
    explain: "\
## What it checks
For every keepalived `vrrp_instance` with unicast peers: `unicast_src_ip` and the
`unicast_peer` list together against the control-plane addresses.

## Why it matters
A node missing from a peer list never hears that node's adverts: both claim the VIP
(split brain) or the VIP never moves there.

## Example
A fourth control plane added, and the first three's keepalived.conf never updated.

## Fix
List every other control plane in `unicast_peer` on each node (a re-render does it).
",
};

/// IMP007.
pub const VRRP_DIFFERS_ACROSS_NODES: Rule = Rule {
    code: "IMP007",
    name: "vrrp-differs-across-nodes",
    severity: Severity::Error,
    summary: "Nodes use different virtual router ids or VIPs for the API endpoint",
    explain: "\
## What it checks
The `virtual_router_id` and the VIP of keepalived on each node, and kube-vip's
`address`, compared across the nodes.

## Why it matters
VRRP routers with different ids are separate groups: each elects its own master and the
VIP is held twice. A different VIP on one node is an endpoint nobody dials.

## Example
`virtual_router_id 51` on two nodes and `52` on the third.

## Fix
Use one id and one VIP on every node (and an id no other VRRP group on the subnet uses).
",
};

/// IMP008.
pub const CERT_EXPIRING: Rule = Rule {
    code: "IMP008",
    name: "imported-certificate-expiring",
    severity: Severity::Warning,
    summary: "An imported certificate has expired or expires soon (30 days by default)",
    explain: "\
## What it checks
The notAfter date of every public certificate imported (CAs, API server, etcd,
front proxy, external etcd's); an expired one is an error.

## Why it matters
kubeadm renews its leaf certificates only on upgrades (or `kubeadm certs renew`); a CA
or an external etcd certificate is never renewed for you. An expired one stops the
control plane.

## Example
`apiserver.crt` with notAfter in ten days on a cluster last upgraded a year ago.

## Fix
Renew it (`kubeadm certs renew all`; for CAs, rotate), or re-render with
`hagen render --pki-from` to re-issue the leaves under the same CA.
",
};

/// IMP009.
pub const CERT_OTHER_CA: Rule = Rule {
    code: "IMP009",
    name: "certificate-from-another-ca",
    severity: Severity::Error,
    summary: "A certificate was not issued by its node's CA, or nodes hold different CAs",
    explain: "\
## What it checks
Every leaf certificate's issuer against the CA certificates of the same node, and each
CA file (`ca.crt`, `etcd/ca.crt`, `front-proxy-ca.crt`) against the same file on the
other nodes.

## Why it matters
Components trust only their CA: a certificate from another CA (a node re-initialised
by mistake, a copy from another cluster) fails TLS between the components.

## Example
m3's `apiserver.crt` issued by a `kubernetes` CA whose key differs from m1's.

## Fix
Copy the cluster's CA to the node and re-issue its certificates from it.
",
};

/// IMP010.
pub const CONFIGMAP_DIFFERS: Rule = Rule {
    code: "IMP010",
    name: "configmap-differs-from-manifests",
    severity: Severity::Error,
    summary: "The kubeadm-config ConfigMap says something else than the files the nodes run",
    explain: "\
## What it checks
Each value of the `kubeadm-config` ConfigMap's ClusterConfiguration (version,
endpoint, networks, certSANs, etcd) against the static pod manifests and kubeadm
configuration files of the nodes.

## Why it matters
`kubeadm upgrade` regenerates the static pods from the ConfigMap: a hand edit of a
manifest that the ConfigMap does not carry is silently undone on the next upgrade.

## Example
`--service-cluster-ip-range=10.96.0.0/16` in kube-apiserver.yaml, `serviceSubnet:
10.96.0.0/12` in the ConfigMap.

## Fix
Edit the ConfigMap (`kubectl -n kube-system edit cm kubeadm-config`) to match what
runs, or correct the manifests.
",
};

/// IMP011.
pub const PRIVATE_KEY_NOT_READ: Rule = Rule {
    code: "IMP011",
    name: "private-key-not-read",
    severity: Severity::Info,
    summary: "Private keys among the imported files were skipped without being read",
    explain: "\
## What it checks
Files that are private keys (`*.key`, PEM private key blocks). import never reads
them: no fact of the topology comes from a key.

## Why it matters
Keys need not leave the nodes for an import; keeping them out of the collected
directory keeps them out of tickets, chats and CI logs.

## Example
A copy of `/etc/kubernetes/pki` with `ca.key` in it.

## Fix
Nothing to fix; use `hagen import --collect-script`, which never copies a key.
",
};
