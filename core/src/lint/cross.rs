//! Rules across files (every keepalived.conf of one cluster agrees; one CA; the check
//! script's VIP is keepalived's) and against `--topology` (each file matches what the
//! validated [`Plan`] implies).
//!
//! Files of one run are not assumed to be one cluster: keepalived configurations are
//! grouped by shared addresses (a VIP, a unicast source or peer) and compared only
//! within a group, so a directory of unrelated configs does not report mismatches.

use super::{Parsed, at, certs, etcd, haproxy, keepalived, kubeadm, kubevip, nginx};
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::net::{self, Host, HostPort};
use crate::plan::Plan;
use crate::source::{FileId, SourceFile, Span};
use std::collections::BTreeSet;

/// HAP009.
pub const BACKENDS_DIFFER: Rule = Rule {
    code: "HAP009",
    name: "backends-differ-from-topology",
    severity: Severity::Error,
    summary: "haproxy's servers are not exactly the topology's control planes",
    explain: "\
## What it checks
With `--topology`: the `server` lines of the API backend against the control-plane
nodes (`address:bindPort`), and every frontend `bind` port against the endpoint port
(for load balancers on the nodes).

## Why it matters
A missing server never gets traffic (a node added later is not used); an extra one
(a removed node, a typo) gets a share of the clients and fails them.

## Example
A topology with m1, m2, m3 and a backend with only m1 and m2.

## Fix
Re-render haproxy.cfg with `hagen render`, or edit the server list.
",
};

/// NGX004.
pub const UPSTREAM_DIFFERS: Rule = Rule {
    code: "NGX004",
    name: "upstream-differs-from-topology",
    severity: Severity::Error,
    summary: "nginx's upstream servers are not exactly the topology's control planes",
    explain: "\
## What it checks
With `--topology`: the `server` entries of `upstream` blocks against the control-plane
nodes (`address:bindPort`).

## Why it matters
A missing server never gets traffic; an extra one gets a share of clients and fails them.

## Example
A topology with three control planes and an upstream with two servers.

## Fix
Re-render nginx.conf with `hagen render`, or edit the upstream.
",
};

struct Kal<'a> {
    file: FileId,
    inst: keepalived::Instance<'a>,
}

impl Kal<'_> {
    fn addresses(&self) -> BTreeSet<String> {
        let mut s: BTreeSet<String> = self.inst.peers.iter().map(|(p, _)| p.to_string()).collect();
        s.extend(self.inst.src.iter().map(|(p, _)| p.to_string()));
        s
    }
    fn vips(&self) -> BTreeSet<String> {
        self.inst.vips.iter().map(|(v, _)| v.clone()).collect()
    }
}

fn push(out: &mut Diagnostics, file: FileId, mut d: Diagnostic) {
    d.file = file;
    out.push(d);
}

fn label(d: Diagnostic, file: FileId, span: Span, msg: impl Into<String>) -> Diagnostic {
    let mut d = d;
    d.labels.push(crate::diag::Label {
        file,
        span,
        message: msg.into(),
    });
    d
}

/// Runs every cross-file and topology rule.
pub fn run(
    files: &[SourceFile],
    parsed: &[Option<Parsed>],
    options: &super::LintOptions,
    out: &mut Diagnostics,
) {
    let kals: Vec<Kal<'_>> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Some(Parsed::Keepalived(c)) => Some((i, c)),
            _ => None,
        })
        .flat_map(|(file, c)| {
            keepalived::instances(c)
                .into_iter()
                .map(move |inst| Kal { file, inst })
        })
        .collect();
    keepalived_groups(&kals, out);
    check_scripts(files, parsed, &kals, options.topology.as_ref(), out);
    several_cas(parsed, out);
    initial_clusters(parsed, options.topology.as_ref(), out);
    kube_vip_kubeconfigs(parsed, options, out);
    vip_in_sans(parsed, &kals, options.topology.as_ref(), out);
    if let Some(plan) = &options.topology {
        topology(parsed, &kals, plan, out);
    }
}

/// Groups instances that share a VIP or a unicast address.
fn groups<'k, 'a>(kals: &'k [Kal<'a>]) -> Vec<Vec<&'k Kal<'a>>> {
    let mut parent: Vec<usize> = (0..kals.len()).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut i = i;
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for a in 0..kals.len() {
        for b in a + 1..kals.len() {
            let share = !kals[a].vips().is_disjoint(&kals[b].vips())
                || !kals[a].addresses().is_disjoint(&kals[b].addresses());
            if share && kals[a].file != kals[b].file {
                let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                parent[ra] = rb;
            }
        }
    }
    let mut out: Vec<(usize, Vec<&Kal<'a>>)> = Vec::new();
    for (i, k) in kals.iter().enumerate() {
        let r = find(&mut parent, i);
        match out.iter_mut().find(|(root, _)| *root == r) {
            Some((_, g)) => g.push(k),
            None => out.push((r, vec![k])),
        }
    }
    out.into_iter()
        .map(|(_, g)| g)
        .filter(|g| g.len() > 1)
        .collect()
}

/// KAL008 and KAL006 across the keepalived.conf files of one cluster.
fn keepalived_groups(kals: &[Kal<'_>], out: &mut Diagnostics) {
    for group in groups(kals) {
        let first = group[0];
        for k in &group[1..] {
            if let (Some((a, asp)), Some((b, bsp))) = (first.inst.vrid, k.inst.vrid)
                && a != b
            {
                let d = at(&keepalived::VRRP_MISMATCH, bsp, format!("virtual_router_id {b} here, {a} on a node with the same VIP or peers: the nodes do not hear each other and each takes the VIP"))
                    .help("use one virtual_router_id on every node");
                push(
                    out,
                    k.file,
                    label(d, first.file, asp, format!("virtual_router_id {a}")),
                );
            }
            if first.vips() != k.vips() && !k.inst.vips.is_empty() {
                let d = at(
                    &keepalived::VRRP_MISMATCH,
                    k.inst.vips[0].1,
                    format!(
                        "virtual_ipaddress {:?} here, {:?} on a peer",
                        k.vips(),
                        first.vips()
                    ),
                )
                .help("use the same VIP on every node");
                push(out, k.file, d);
            }
            if let (Some((a, asp)), Some((b, bsp))) = (first.inst.auth_pass, k.inst.auth_pass)
                && a != b
            {
                let d = at(&keepalived::VRRP_MISMATCH, bsp, "auth_pass differs from a peer's: adverts are dropped and both nodes take the VIP").help("use the same auth_pass on every node");
                push(
                    out,
                    k.file,
                    label(d, first.file, asp, "the peer's auth_pass"),
                );
            }
        }
        // Peers: each node's unicast_peer must be the group's sources minus its own.
        let sources: BTreeSet<String> = group
            .iter()
            .filter_map(|k| k.inst.src.map(|(s, _)| s.to_string()))
            .collect();
        if sources.len() == group.len() {
            for k in &group {
                let Some((own, src_span)) = k.inst.src else {
                    continue;
                };
                let peers: BTreeSet<String> =
                    k.inst.peers.iter().map(|(p, _)| p.to_string()).collect();
                let expected: BTreeSet<String> = sources
                    .iter()
                    .filter(|s| s.as_str() != own)
                    .cloned()
                    .collect();
                let missing: Vec<&String> = expected.difference(&peers).collect();
                if !missing.is_empty() {
                    let span = k.inst.peers.first().map_or(src_span, |p| p.1);
                    push(out, k.file, at(&keepalived::VRRP_MISMATCH, span, format!("unicast_peer lacks {missing:?}, which other nodes of this VIP use as unicast_src_ip")).help("list every other node in unicast_peer"));
                }
            }
        }
        // KAL006: a failing check must drop a node below the best other node.
        for k in &group {
            let Some(w) = k.inst.weight else { continue };
            if w >= 0 {
                continue;
            }
            let best_other = group
                .iter()
                .filter(|o| o.file != k.file)
                .map(|o| o.inst.priority)
                .max();
            let Some(best) = best_other else { continue };
            if k.inst.priority + w >= best {
                let span = k
                    .inst
                    .item
                    .get("priority")
                    .map_or(k.inst.item.span(), |p| p.span());
                push(out, k.file, at(&keepalived::WEIGHT_TOO_SMALL, span, format!("priority {} with weight {w} is still {} when the check fails, not below the best other node's {best}: the VIP stays on a node whose API server is down", k.inst.priority, k.inst.priority + w)).help(format!("use a weight of at most -{} (or no weight, so the node enters FAULT)", k.inst.priority - best + 1)));
            }
        }
    }
}

fn dir(name: &str) -> &str {
    name.rsplit_once('/').map_or("", |(d, _)| d)
}

/// A check script probing this host probes its own node: loopback, or a wildcard address
/// (connecting to `0.0.0.0` reaches the local host).
fn is_local(host: &str) -> bool {
    let host = Host::parse(host);
    host.is_loopback() || host.is_unspecified()
}

/// KAL009: check scripts against the keepalived.conf of their directory and the topology.
fn check_scripts(
    files: &[SourceFile],
    parsed: &[Option<Parsed>],
    kals: &[Kal<'_>],
    plan: Option<&Plan>,
    out: &mut Diagnostics,
) {
    for (i, p) in parsed.iter().enumerate() {
        let Some(Parsed::CheckScript(script)) = p else {
            continue;
        };
        // The keepalived.conf beside the script that runs a script of the same name.
        let base = files[i].name.rsplit('/').next().unwrap_or("");
        let beside: Vec<&Kal<'_>> = kals
            .iter()
            .filter(|k| dir(&files[k.file].name) == dir(&files[i].name))
            .filter(|k| match &parsed[k.file] {
                Some(Parsed::Keepalived(c)) => keepalived::scripts(c).iter().any(|(_, cmd, _)| {
                    cmd.is_some_and(|c| {
                        c.split_whitespace()
                            .next()
                            .is_some_and(|p| p.rsplit('/').next() == Some(base))
                    })
                }),
                _ => false,
            })
            .collect();
        let mut vips: BTreeSet<String> = beside.iter().flat_map(|k| k.vips()).collect();
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut own: BTreeSet<String> = beside
            .iter()
            .filter_map(|k| k.inst.src.map(|s| s.0.to_string()))
            .collect();
        let mut ports: BTreeSet<u16> = BTreeSet::new();
        if let Some(plan) = plan {
            vips.extend(plan.endpoint.vip.iter().map(|v| v.addr.to_string()));
            names.extend(plan.endpoint.dns.clone());
            own.extend(plan.nodes.iter().map(|n| n.address.to_string()));
            ports.insert(plan.endpoint.port);
            ports.insert(plan.bind_port);
        }
        if vips.is_empty() {
            continue;
        }
        for (host, port, span) in &script.targets {
            if is_local(host) || own.contains(host) {
                continue;
            }
            let known = vips.contains(host) || names.contains(host);
            if !known && (host.parse::<std::net::IpAddr>().is_ok() || plan.is_some()) {
                push(
                    out,
                    i,
                    at(
                        &keepalived::CHECK_SCRIPT_WRONG_TARGET,
                        *span,
                        format!(
                            "the check script probes `{host}`, but keepalived serves the VIP {}",
                            vips.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .help("probe localhost or the VIP keepalived serves"),
                );
            } else if known
                && let Some(p) = port
                && !ports.is_empty()
                && !ports.contains(p)
            {
                push(
                    out,
                    i,
                    at(
                        &keepalived::CHECK_SCRIPT_WRONG_TARGET,
                        *span,
                        format!(
                            "the check script probes port {p}, but the endpoint is on port {}",
                            plan.map_or(0, |p| p.endpoint.port)
                        ),
                    )
                    .help("probe the endpoint port"),
                );
            }
        }
    }
}

/// CRT005.
fn several_cas(parsed: &[Option<Parsed>], out: &mut Diagnostics) {
    let cas: Vec<(FileId, &certs::Cert)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Some(Parsed::Certs(c)) => Some((i, c)),
            _ => None,
        })
        .flat_map(|(i, cs)| cs.iter().filter(|c| c.is_ca).map(move |c| (i, c)))
        .collect();
    for (n, (file, c)) in cas.iter().enumerate() {
        if let Some((f0, c0)) = cas[..n]
            .iter()
            .find(|(_, o)| o.subject == c.subject && o.spki != c.spki)
        {
            let d = at(&certs::SEVERAL_CAS, c.span, format!("a second CA named `{}` with a different key: certificates from one node will not verify on another", c.subject)).help("generate the CA once and copy it to every control-plane node");
            push(
                out,
                *file,
                label(d, *f0, c0.span, "the first CA with this name"),
            );
        }
    }
}

/// ETC007.
fn initial_clusters(parsed: &[Option<Parsed>], plan: Option<&Plan>, out: &mut Diagnostics) {
    let sets: Vec<(FileId, &etcd::Setting, BTreeSet<String>)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Some(Parsed::Etcd(s))
                if !s.kubeadm_static_pod
                    && s.get("initial-cluster-state")
                        .is_none_or(|v| v.value != "existing") =>
            {
                let ic = s
                    .get("initial-cluster")
                    .filter(|v| !v.value.contains('$'))?;
                Some((
                    i,
                    ic,
                    etcd::members(&ic.value)
                        .into_iter()
                        .map(|(_, u)| host_of(&u))
                        .collect(),
                ))
            }
            _ => None,
        })
        .collect();
    // Across files: only members that share an address are one cluster.
    for (n, (file, set, hosts)) in sets.iter().enumerate() {
        if let Some((f0, s0, h0)) = sets[..n]
            .iter()
            .find(|(_, _, h)| !h.is_disjoint(hosts) && h != hosts)
        {
            let d = at(
                &etcd::INITIAL_CLUSTER_MISMATCH,
                set.span,
                format!(
                    "initial-cluster lists {:?}; another member of the same cluster lists {:?}",
                    hosts, h0
                ),
            )
            .help("use one initial-cluster on every member");
            push(
                out,
                *file,
                label(d, *f0, s0.span, "the other member's initial-cluster"),
            );
        }
    }
    let Some(plan) = plan else { return };
    let expected: BTreeSet<String> = plan.etcd_members().map(|n| n.address.to_string()).collect();
    for (file, set, hosts) in &sets {
        if *hosts != expected {
            push(out, *file, at(&etcd::INITIAL_CLUSTER_MISMATCH, set.span, format!("initial-cluster lists {hosts:?}; the topology's etcd members are {expected:?}")).help("re-render the etcd configuration with hagen"));
        }
    }
}

/// The host of a URL, IP addresses in their canonical form (so `fd00:0::1` is `fd00::1`).
fn host_of(url: &str) -> String {
    net::url_host(url).to_string()
}

/// KVP003 across kube-vip manifests on 1.29+.
fn kube_vip_kubeconfigs(
    parsed: &[Option<Parsed>],
    options: &super::LintOptions,
    out: &mut Diagnostics,
) {
    let version = options
        .kubernetes_version
        .as_ref()
        .or(options.topology.as_ref().map(|p| &p.version));
    let Some(v) = version.filter(|v| v.has_super_admin_conf()) else {
        return;
    };
    let manifests: Vec<(FileId, &kubevip::Manifest)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Some(Parsed::KubeVip(m)) if m.kind == "Pod" && m.kubeconfig.is_some() => Some((i, m)),
            _ => None,
        })
        .collect();
    if manifests.len() < 2 {
        return;
    }
    let supers: Vec<&(FileId, &kubevip::Manifest)> = manifests
        .iter()
        .filter(|(_, m)| {
            m.kubeconfig
                .as_ref()
                .is_some_and(|k| k.0.ends_with("super-admin.conf"))
        })
        .collect();
    if supers.is_empty() {
        let (f, m) = manifests[0];
        let span = m.kubeconfig.as_ref().map_or(m.span, |k| k.1);
        push(out, f, at(&kubevip::KUBECONFIG_FOR_VERSION, span, format!("no kube-vip manifest mounts super-admin.conf: on Kubernetes {v} admin.conf has no rights during `kubeadm init`, so the VIP never comes up")).severity(Severity::Warning).help("mount /etc/kubernetes/super-admin.conf on the init node during init"));
    }
    for (f, m) in supers.iter().skip(1) {
        let span = m.kubeconfig.as_ref().map_or(m.span, |k| k.1);
        push(out, *f, at(&kubevip::KUBECONFIG_FOR_VERSION, span, "a second kube-vip manifest mounts super-admin.conf: only the init node has that file").severity(Severity::Warning).help("mount /etc/kubernetes/admin.conf on joining nodes"));
    }
}

/// KAD007: the VIP (topology, or the single VIP of the run's keepalived/kube-vip files)
/// in certSANs when controlPlaneEndpoint is a name.
fn vip_in_sans(
    parsed: &[Option<Parsed>],
    kals: &[Kal<'_>],
    plan: Option<&Plan>,
    out: &mut Diagnostics,
) {
    let mut vips: BTreeSet<String> = match plan {
        Some(p) => p.endpoint.vip.iter().map(|v| v.addr.to_string()).collect(),
        None => kals.iter().flat_map(|k| k.vips()).collect(),
    };
    if plan.is_none() {
        for p in parsed.iter().flatten() {
            if let Parsed::KubeVip(m) = p
                && let Some(v) = m.vip()
            {
                vips.insert(v.1.clone());
            }
        }
    }
    if vips.len() != 1 {
        return;
    }
    let vip = vips.into_iter().next().expect("one");
    for (i, p) in parsed.iter().enumerate() {
        let Some(Parsed::Kubeadm(y)) = p else {
            continue;
        };
        let Some((host, _, node)) = kubeadm::endpoint(y) else {
            continue;
        };
        if host == vip || host.parse::<std::net::IpAddr>().is_ok() {
            continue;
        }
        if !kubeadm::cert_sans(y).contains(&vip) {
            push(out, i, at(&kubeadm::VIP_MISSING_FROM_SANS, node.span, format!("controlPlaneEndpoint is `{host}`, and the VIP {vip} behind it is not in apiServer.certSANs: clients using the address fail TLS verification")).path("ClusterConfiguration.apiServer.certSANs").help(format!("add {vip} to apiServer.certSANs")));
        }
    }
}

/// Every file against the topology.
fn topology(parsed: &[Option<Parsed>], kals: &[Kal<'_>], plan: &Plan, out: &mut Diagnostics) {
    let expected: BTreeSet<String> = plan
        .control_planes()
        .map(|n| HostPort::new(n.address, plan.bind_port).to_string())
        .collect();
    let addresses: BTreeSet<String> = plan.nodes.iter().map(|n| n.address.to_string()).collect();
    let vip = plan.endpoint.vip.as_ref().map(|v| v.addr.to_string());
    for (i, p) in parsed.iter().enumerate() {
        match p {
            Some(Parsed::Haproxy(_) | Parsed::Nginx(_)) => {
                // The proxy's servers against the control planes, the same for both.
                let (rule, first, got, what, file) = match p {
                    Some(Parsed::Haproxy(cfg)) => {
                        let servers = haproxy::backend_servers(cfg);
                        let first = servers.first().map(|(d, _)| d.words_span());
                        let got = canonical_servers(servers.into_iter().map(|(_, a)| a));
                        (
                            &BACKENDS_DIFFER,
                            first,
                            got,
                            "haproxy's servers",
                            "haproxy.cfg",
                        )
                    }
                    Some(Parsed::Nginx(cfg)) => {
                        let servers = nginx::upstream_servers(cfg);
                        let first = servers.first().map(|(d, _)| d.span());
                        let got = canonical_servers(servers.into_iter().map(|(_, a)| a));
                        (
                            &UPSTREAM_DIFFERS,
                            first,
                            got,
                            "nginx's upstream servers",
                            "nginx.conf",
                        )
                    }
                    _ => continue,
                };
                if let Some(span) = first
                    && got != expected
                {
                    push(
                        out,
                        i,
                        at(rule, span, diff(what, &got, &expected))
                            .help(format!("re-render {file} with hagen")),
                    );
                }
            }
            Some(Parsed::Kubeadm(y)) => {
                if let Some((host, _, node)) = kubeadm::endpoint(y)
                    && plan.nodes.iter().any(|n| n.address.to_string() == host)
                {
                    push(out, i, at(&kubeadm::ENDPOINT_IS_SINGLE_NODE, node.span, format!("controlPlaneEndpoint `{host}` is the address of one node of the topology")).help(format!("use {}", plan.endpoint.address())));
                }
            }
            Some(Parsed::Certs(cs)) => {
                for c in cs
                    .iter()
                    .filter(|c| c.server_auth && c.subject.contains("CN=kube-apiserver"))
                {
                    let sans = c.sans.clone().unwrap_or_default();
                    let mut missing: Vec<String> = vip
                        .iter()
                        .chain(plan.endpoint.dns.iter())
                        .filter(|n| !sans.contains(n))
                        .cloned()
                        .collect();
                    if !plan
                        .control_planes()
                        .any(|n| sans.contains(&n.address.to_string()))
                    {
                        missing.push("a control-plane node address".into());
                    }
                    if !missing.is_empty() {
                        push(
                            out,
                            i,
                            at(
                                &certs::SAN_MISSING,
                                c.span,
                                format!("the API server certificate lacks {}", missing.join(", ")),
                            )
                            .help("add them to apiServer.certSANs and regenerate the certificate"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    for k in kals {
        if let Some((v, span)) = k.inst.vrid
            && v.parse::<u8>().ok() != Some(plan.load_balancer.virtual_router_id)
        {
            push(
                out,
                k.file,
                at(
                    &keepalived::VRRP_MISMATCH,
                    span,
                    format!(
                        "virtual_router_id {v}; the topology uses {}",
                        plan.load_balancer.virtual_router_id
                    ),
                )
                .help("re-render keepalived.conf with hagen"),
            );
        }
        if let Some(vip) = &vip
            && let Some((v, span)) = k.inst.vips.first()
            && v != vip
        {
            push(
                out,
                k.file,
                at(
                    &keepalived::VRRP_MISMATCH,
                    *span,
                    format!("VIP {v}; the topology's VIP is {vip}"),
                )
                .help("re-render keepalived.conf with hagen"),
            );
        }
        for (p, span) in &k.inst.peers {
            if !addresses.contains(*p) {
                push(
                    out,
                    k.file,
                    at(
                        &keepalived::VRRP_MISMATCH,
                        *span,
                        format!("unicast peer {p} is not a node of the topology"),
                    )
                    .help("list the other nodes' addresses"),
                );
            }
        }
    }
}

/// Server addresses in hagen's own spelling of `host:port` (so `[fd00:0::11]:6443` is
/// `[fd00::11]:6443`); what is not a `host:port` is kept as written.
fn canonical_servers(servers: impl Iterator<Item = String>) -> BTreeSet<String> {
    servers
        .map(|a| HostPort::parse(&a).map_or(a, |hp| hp.to_string()))
        .collect()
}

fn diff(what: &str, got: &BTreeSet<String>, expected: &BTreeSet<String>) -> String {
    let missing: Vec<&String> = expected.difference(got).collect();
    let extra: Vec<&String> = got.difference(expected).collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("lack {missing:?}"));
    }
    if !extra.is_empty() {
        parts.push(format!("also list {extra:?}"));
    }
    format!(
        "{what} {} (the topology's control planes are {expected:?})",
        parts.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use crate::lint::{LintOptions, lint};
    use crate::source::SourceFile;

    fn kal(src: &str, prio: u8, vrid: u8, vip: &str, peers: &[&str], weight: i32) -> String {
        format!(
            "vrrp_script chk {{\n script \"/usr/bin/true\"\n weight {weight}\n}}\nvrrp_instance VI {{\n virtual_router_id {vrid}\n priority {prio}\n unicast_src_ip {src}\n unicast_peer {{\n{}\n }}\n virtual_ipaddress {{\n {vip}\n }}\n track_script {{\n chk\n }}\n}}\n",
            peers.join("\n")
        )
    }

    fn codes(files: &[SourceFile]) -> Vec<&'static str> {
        lint(files, &LintOptions::default())
            .iter()
            .map(|d| d.rule.code)
            .collect()
    }

    #[test]
    fn one_cluster_must_agree() {
        let a = SourceFile::new(
            "a/keepalived.conf",
            kal("10.0.0.1", 150, 51, "10.0.0.100", &["10.0.0.2"], -60),
        );
        let b = SourceFile::new(
            "b/keepalived.conf",
            kal("10.0.0.2", 100, 51, "10.0.0.100", &["10.0.0.1"], -60),
        );
        assert!(
            !codes(&[a.clone(), b.clone()])
                .iter()
                .any(|c| matches!(*c, "KAL006" | "KAL008"))
        );
        let b52 = SourceFile::new(
            "b/keepalived.conf",
            kal("10.0.0.2", 100, 52, "10.0.0.100", &["10.0.0.1"], -60),
        );
        assert!(codes(&[a.clone(), b52]).contains(&"KAL008"));
        let weak = SourceFile::new(
            "a/keepalived.conf",
            kal("10.0.0.1", 150, 51, "10.0.0.100", &["10.0.0.2"], -20),
        );
        assert!(codes(&[weak, b.clone()]).contains(&"KAL006"));
        let lonely = SourceFile::new(
            "b/keepalived.conf",
            kal("10.0.0.2", 100, 51, "10.0.0.100", &[], -60),
        );
        assert!(codes(&[a, lonely]).contains(&"KAL008"));
    }

    #[test]
    fn unrelated_clusters_are_not_compared() {
        let a = SourceFile::new(
            "a/keepalived.conf",
            kal("10.0.0.1", 150, 51, "10.0.0.100", &["10.0.0.2"], -60),
        );
        let c = SourceFile::new(
            "c/keepalived.conf",
            kal("10.9.0.1", 150, 7, "10.9.0.100", &["10.9.0.2"], -1),
        );
        assert!(
            !codes(&[a, c])
                .iter()
                .any(|c| matches!(*c, "KAL006" | "KAL008"))
        );
    }
}
