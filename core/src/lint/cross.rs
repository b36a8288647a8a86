//! Rules across files (every keepalived.conf of one cluster agrees; one CA; the check
//! script's VIP is keepalived's) and against `--topology` (each file matches what the
//! validated [`Plan`] implies).
//!
//! Each rule is one function over the whole [`Run`], paired with it in [`RULES`]. A rule
//! that also reports what one file shows alone (KAL004, KAD006, KVP003, CRT004) does that
//! part here too, through its domain's helper, so that it is registered once.
//!
//! Files of one run are not assumed to be one cluster: keepalived configurations are
//! grouped by shared addresses (a VIP, a unicast source or peer) and compared only
//! within a group, so a directory of unrelated configs does not report mismatches.

use super::files::{self as run_files, FileIndex};
use super::{
    LintOptions, Parsed, at, certs, checkscript, etcd, haproxy, keepalived, kubeadm, kubevip,
    nginx, yaml,
};
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::net::{self, Host, HostPort};
use crate::plan::Plan;
use crate::source::{FileId, SourceFile, Span};
use crate::version::KubeVersion;
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

/// A cross-file rule's check: reads the whole run and pushes findings with their files.
pub type CrossFn = fn(&Run<'_>, &mut Diagnostics);

/// Every rule that reads several files or the topology, with its check, sorted by code.
pub static RULES: &[(&Rule, CrossFn)] = &[
    (&certs::SAN_MISSING, san_missing),
    (&certs::SEVERAL_CAS, several_cas),
    (&etcd::INITIAL_CLUSTER_MISMATCH, initial_cluster_mismatch),
    (&etcd::IMAGE_BEHIND_KUBEADM, etcd::image_behind_kubeadm),
    (&etcd::ETCD_END_OF_LIFE, etcd::etcd_end_of_life),
    (&BACKENDS_DIFFER, backends_differ),
    (
        &haproxy::BIND_COLLIDES_WITH_APISERVER,
        bind_collides_with_apiserver,
    ),
    (&haproxy::BIND_NOT_THE_VIP, bind_not_the_vip),
    (&kubeadm::ENDPOINT_IS_SINGLE_NODE, endpoint_is_single_node),
    (&kubeadm::VIP_MISSING_FROM_SANS, vip_missing_from_sans),
    (&kubeadm::ADVERTISE_ADDRESS_IS_VIP, advertise_address_is_vip),
    (&keepalived::TRACK_SCRIPT_BROKEN, track_script_broken),
    (&keepalived::WEIGHT_TOO_SMALL, weight_too_small),
    (&keepalived::VRRP_MISMATCH, vrrp_mismatch),
    (
        &keepalived::CHECK_SCRIPT_WRONG_TARGET,
        check_script_wrong_target,
    ),
    (
        &checkscript::CURL_WITHOUT_FAIL,
        checkscript::curl_without_fail,
    ),
    (
        &checkscript::PLAIN_HTTP_TO_TLS_PORT,
        checkscript::plain_http_to_tls_port,
    ),
    (
        &checkscript::CHECK_STOPS_KEEPALIVED,
        checkscript::check_stops_keepalived,
    ),
    (
        &checkscript::MALFORMED_ADDRESS,
        checkscript::malformed_address,
    ),
    (
        &checkscript::PROBES_ONLY_THE_VIP,
        checkscript::probes_only_the_vip,
    ),
    (
        &checkscript::LISTEN_ONLY_CHECK,
        checkscript::listen_only_check,
    ),
    (
        &checkscript::RETRIES_OUTLAST_TIMEOUT,
        checkscript::retries_outlast_timeout,
    ),
    (
        &checkscript::VARIABLE_UNDEFINED,
        checkscript::variable_undefined,
    ),
    (&kubevip::KUBECONFIG_FOR_VERSION, kubeconfig_for_version),
    (&UPSTREAM_DIFFERS, upstream_differs),
];

/// What the cross-file rules read: the whole run.
pub struct Run<'a> {
    /// Every input file.
    pub files: &'a [SourceFile],
    /// Those files by directory and base name.
    pub index: &'a FileIndex<'a>,
    /// Each file's parsed form, by file id (`None`: not parsed).
    pub parsed: &'a [Option<Parsed>],
    /// Every `vrrp_instance` of the run's keepalived.conf files.
    pub kals: Vec<Kal<'a>>,
    /// The run's options.
    pub options: &'a LintOptions,
    /// The validated topology (`--topology`), if given.
    pub plan: Option<&'a Plan>,
    /// The Kubernetes version the single-file rules use (the options', the topology's,
    /// or the one the run's kubeadm files agree on).
    pub version: Option<&'a KubeVersion>,
    /// The VIPs of the whole run (keepalived and kube-vip), made on first use.
    all_vips: std::cell::OnceCell<BTreeSet<String>>,
    /// Indices into `kals` by the directory of their file.
    kals_by_dir: std::collections::HashMap<&'a str, Vec<usize>>,
    /// How many kubeadm files name a controlPlaneEndpoint (see [`same_cluster`]); counted
    /// once here, not per pair of files, so that cross-file rules stay linear.
    clusters: usize,
}

impl<'a> Run<'a> {
    /// Gathers a run's parsed files and keepalived instances.
    pub fn new(
        files: &'a [SourceFile],
        index: &'a FileIndex<'a>,
        parsed: &'a [Option<Parsed>],
        options: &'a LintOptions,
        version: Option<&'a KubeVersion>,
    ) -> Self {
        let kals: Vec<Kal<'a>> = parsed
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
        let mut kals_by_dir: std::collections::HashMap<&'a str, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, k) in kals.iter().enumerate() {
            kals_by_dir
                .entry(run_files::dir(&files[k.file].name))
                .or_default()
                .push(i);
        }
        let clusters = parsed
            .iter()
            .filter_map(|p| kubeadm_yaml(p.as_ref()?))
            .filter(|y| kubeadm::endpoint(y).is_some())
            .count();
        Run {
            files,
            index,
            parsed,
            kals,
            options,
            plan: options.topology.as_ref(),
            version,
            kals_by_dir,
            all_vips: std::cell::OnceCell::new(),
            clusters,
        }
    }

    /// The keepalived instances of the files in the directory of file `file`.
    pub(crate) fn kals_beside(&self, file: FileId) -> impl Iterator<Item = &Kal<'a>> {
        self.kals_by_dir
            .get(run_files::dir(&self.files[file].name))
            .into_iter()
            .flatten()
            .map(|&i| &self.kals[i])
    }

    /// The parsed files `pick` accepts, with their ids.
    fn each<T: ?Sized + 'a>(
        &self,
        pick: impl Fn(&'a Parsed) -> Option<&'a T>,
    ) -> impl Iterator<Item = (FileId, &'a T)> {
        let parsed: &'a [Option<Parsed>] = self.parsed;
        parsed
            .iter()
            .enumerate()
            .filter_map(move |(i, p)| pick(p.as_ref()?).map(|t| (i, t)))
    }
}

/// One `vrrp_instance` and the file it is in.
pub struct Kal<'a> {
    /// The keepalived.conf.
    pub file: FileId,
    /// The instance's facts.
    pub inst: keepalived::Instance<'a>,
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

/// Runs a rule's part that looks at one file alone, whose findings say file 0.
fn in_file(out: &mut Diagnostics, file: FileId, part: impl FnOnce(&mut Diagnostics)) {
    let mut local = Diagnostics::new();
    part(&mut local);
    super::relocate(local, file, out);
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
pub fn run(run: &Run<'_>, out: &mut Diagnostics) {
    for (rule, check) in RULES {
        let before = out.len();
        check(run, out);
        super::debug_assert_only(rule, out, before);
    }
}

fn kubeadm_yaml(p: &Parsed) -> Option<&yaml::Yaml> {
    match p {
        Parsed::Kubeadm(y) => Some(y),
        _ => None,
    }
}

fn manifest(p: &Parsed) -> Option<&kubevip::Manifest> {
    match p {
        Parsed::KubeVip(m) => Some(m),
        _ => None,
    }
}

fn cert_list(p: &Parsed) -> Option<&[certs::Cert]> {
    match p {
        Parsed::Certs(c) => Some(c),
        _ => None,
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
    // Instances of different files that share a VIP or an address are one group. By
    // shared value rather than by pair, so that a run of many files stays linear: each
    // instance joins the first holder of the value from another file (all holders of a
    // value in two or more files end up together, as pairwise joining would put them).
    let mut holders: std::collections::HashMap<(bool, String), Vec<usize>> = Default::default();
    for (i, k) in kals.iter().enumerate() {
        let values = k.vips().into_iter().map(|v| (true, v));
        for key in values.chain(k.addresses().into_iter().map(|a| (false, a))) {
            holders.entry(key).or_default().push(i);
        }
    }
    for members in holders.values() {
        let first = members[0];
        // The first holder in another file than the first holder's.
        let Some(&other) = members.iter().find(|&&o| kals[o].file != kals[first].file) else {
            continue;
        };
        for &m in members {
            let to = if kals[m].file == kals[first].file {
                other
            } else {
                first
            };
            let (ra, rb) = (find(&mut parent, m), find(&mut parent, to));
            parent[ra] = rb;
        }
    }
    let mut out: Vec<Vec<&Kal<'a>>> = Vec::new();
    let mut slot: std::collections::HashMap<usize, usize> = Default::default();
    for (i, k) in kals.iter().enumerate() {
        let r = find(&mut parent, i);
        let n = *slot.entry(r).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[n].push(k);
    }
    out.into_iter().filter(|g| g.len() > 1).collect()
}

/// KAL008: the keepalived.conf files of one cluster agree on the VRID, VIP, auth_pass
/// and peers, and (with a topology) match it.
fn vrrp_mismatch(run: &Run<'_>, out: &mut Diagnostics) {
    let per_file = |f: FileId| run.kals.iter().filter(|k| k.file == f).count();
    for group in groups(&run.kals) {
        for (n, k) in group.iter().enumerate() {
            // The same instance on another node: a shared VIP, the same VRID, or the one
            // instance of each file. A file's second instance (an ingress VIP beside the
            // API's) is compared with its own counterparts, not with the API instance.
            let Some(first) = group[..n].iter().find(|o| {
                o.file != k.file
                    && (!o.vips().is_disjoint(&k.vips())
                        || o.inst.vrid.is_some()
                            && o.inst.vrid.map(|v| v.0) == k.inst.vrid.map(|v| v.0)
                        || per_file(o.file) == 1 && per_file(k.file) == 1)
            }) else {
                continue;
            };
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
        // Peers: every other node's unicast_src_ip of the same VRRP instance (same VRID,
        // a shared VIP, another file) is in this instance's unicast_peer list. Compared
        // pairwise, so a node without unicast_src_ip (its interface address, unknown
        // here) or a second instance in the same files does not silence the rest.
        for k in &group {
            let Some((own, src_span)) = k.inst.src else {
                continue;
            };
            if k.inst.vrid.is_none() {
                continue;
            }
            if k.inst.peers.is_empty() {
                // No unicast_peer: this node multicasts its adverts, while a node of the
                // same instance sends it unicast ones; the two modes do not hear each other.
                let unicast_to_us = group.iter().any(|o| {
                    o.file != k.file
                        && o.inst.vrid.map(|v| v.0) == k.inst.vrid.map(|v| v.0)
                        && !o.vips().is_disjoint(&k.vips())
                        && o.inst.peers.iter().any(|(p, _)| *p == own)
                });
                if unicast_to_us {
                    push(out, k.file, at(&keepalived::VRRP_MISMATCH, src_span, format!("{own} has no unicast_peer, so it sends its adverts by multicast, while another node of this VIP and virtual_router_id sends it unicast ones: neither hears the other and both take the VIP")).help("list every other node in unicast_peer"));
                }
                continue;
            }
            let peers: BTreeSet<&str> = k.inst.peers.iter().map(|(p, _)| *p).collect();
            let mut missing: BTreeSet<&str> = BTreeSet::new();
            for o in &group {
                let Some((other, _)) = o.inst.src else {
                    continue;
                };
                let same = o.file != k.file
                    && other != own
                    && o.inst.vrid.map(|v| v.0) == k.inst.vrid.map(|v| v.0)
                    && !o.vips().is_disjoint(&k.vips())
                    && other.parse::<std::net::IpAddr>().is_ok();
                if same && !peers.contains(other) {
                    missing.insert(other);
                }
            }
            if !missing.is_empty() {
                let span = k.inst.peers.first().map_or(src_span, |p| p.1);
                push(out, k.file, at(&keepalived::VRRP_MISMATCH, span, format!("unicast_peer lacks {missing:?}, which another node of this VIP and virtual_router_id uses as unicast_src_ip: this node sends its adverts only to the listed peers, so that node never hears it and takes the VIP as well")).help("list every other node in unicast_peer"));
            }
        }
    }
    let Some(plan) = run.plan else { return };
    let addresses: BTreeSet<String> = plan.nodes.iter().map(|n| n.address.to_string()).collect();
    let vip = plan.endpoint.vip.as_ref().map(|v| v.addr.to_string());
    for k in &run.kals {
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

/// KAL006: a failing check must drop a node below the best other node of its cluster.
fn weight_too_small(run: &Run<'_>, out: &mut Diagnostics) {
    for group in groups(&run.kals) {
        for k in &group {
            if !k.inst.priority_known {
                continue;
            }
            // The same instance on the other nodes (a shared VIP or the same VRID), not
            // another VIP's instance in the same files; a priority from a variable is
            // unknown, and then the comparison is not made.
            let others: Vec<&&Kal<'_>> = group
                .iter()
                .filter(|o| o.file != k.file)
                .filter(|o| {
                    !o.vips().is_disjoint(&k.vips())
                        || o.inst.vrid.is_some()
                            && o.inst.vrid.map(|v| v.0) == k.inst.vrid.map(|v| v.0)
                })
                .collect();
            if others.is_empty() || others.iter().any(|o| !o.inst.priority_known) {
                continue;
            }
            let span = k
                .inst
                .item
                .get("priority")
                .map_or(k.inst.item.span(), |p| p.span());
            let p = k.inst.priority;
            if let Some(w) = k.inst.weight
                && w < 0
            {
                let best = others.iter().map(|o| o.inst.priority).max().unwrap_or(0);
                if p + w >= best {
                    push(out, k.file, at(&keepalived::WEIGHT_TOO_SMALL, span, format!("priority {p} with weight {w} is still {} when the check fails, not below the best other node's {best}: the VIP stays on a node whose API server is down", p + w)).help(format!("use a weight of at most -{} (or no weight, so the node enters FAULT)", p - best + 1)));
                }
                continue;
            }
            // Positive weights: a failing check only withholds the bonus, so the failing
            // node keeps at least its priority; a healthy peer has its priority plus its
            // positive weights (at most 254).
            let positive = !k.inst.weights.is_empty()
                && k.inst.weights.iter().all(|w| w.is_some_and(|w| w > 0));
            if !positive {
                continue;
            }
            let healthy = |o: &Kal<'_>| {
                let bonus: i64 = o.inst.weights.iter().flatten().filter(|w| **w > 0).sum();
                (o.inst.priority + bonus).min(254)
            };
            let best = others.iter().map(|o| healthy(o)).max().unwrap_or(0);
            if p >= best {
                push(out, k.file, at(&keepalived::WEIGHT_TOO_SMALL, span, format!("priority {p} with positive weights stays {p} when the check fails, not below the best other node's {best} with its checks passing: the VIP stays on a node whose API server is down")).help(format!("raise the weight to more than {} (the priority spread), or use a negative weight", p - others.iter().map(|o| o.inst.priority).max().unwrap_or(0))));
            }
        }
    }
}

/// KAL004: on keepalived.conf, a tracked script that is not defined or not among the
/// linted files; on a check script, no `#!` line or no execute bit.
fn track_script_broken(run: &Run<'_>, out: &mut Diagnostics) {
    for (i, p) in run.parsed.iter().enumerate() {
        let file = &run.files[i];
        match p {
            Some(Parsed::Keepalived(cfg)) => in_file(out, i, |o| {
                keepalived::track_script_broken(cfg, file, run.files, run.index, o);
            }),
            Some(Parsed::CheckScript(script)) => {
                let mode = run.options.modes.get(&file.name).copied();
                in_file(out, i, |o| {
                    keepalived::script_not_runnable(script, &file.text, mode, o);
                });
            }
            _ => {}
        }
    }
}

use run_files::dir;

/// A check script probing this host probes its own node: loopback, or a wildcard address
/// (connecting to `0.0.0.0` reaches the local host).
fn is_local(host: &str) -> bool {
    let host = Host::parse(host);
    host.is_loopback() || host.is_unspecified()
}

/// KAL009: check scripts against the keepalived.conf of their directory and the topology.
fn check_script_wrong_target(run: &Run<'_>, out: &mut Diagnostics) {
    let (files, parsed, plan) = (run.files, run.parsed, run.plan);
    for (i, p) in parsed.iter().enumerate() {
        let Some(Parsed::CheckScript(script)) = p else {
            continue;
        };
        // The keepalived.conf beside the script that runs a script of the same name.
        let base = files[i].name.rsplit('/').next().unwrap_or("");
        let beside: Vec<&Kal<'_>> = run
            .kals_beside(i)
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

/// CRT004: server certificates without any SAN, and (with a topology) the API server's
/// certificate without the VIP, the endpoint names or a control-plane address.
fn san_missing(run: &Run<'_>, out: &mut Diagnostics) {
    for (i, cs) in run.each(cert_list) {
        in_file(out, i, |o| certs::no_san(cs, o));
    }
    let Some(plan) = run.plan else { return };
    let vip = plan.endpoint.vip.as_ref().map(|v| v.addr.to_string());
    for (i, cs) in run.each(cert_list) {
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
}

/// CRT005.
fn several_cas(run: &Run<'_>, out: &mut Diagnostics) {
    let cas: Vec<(FileId, &certs::Cert)> = run
        .each(cert_list)
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
fn initial_cluster_mismatch(run: &Run<'_>, out: &mut Diagnostics) {
    let sets: Vec<(FileId, &etcd::Setting, BTreeSet<String>)> = run
        .parsed
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
    let Some(plan) = run.plan else { return };
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

/// KVP003: super-admin.conf before 1.29 in one manifest; from 1.29, exactly one of a
/// run's kube-vip static pods (the init node's) mounts it.
fn kubeconfig_for_version(run: &Run<'_>, out: &mut Diagnostics) {
    for (i, m) in run.each(manifest) {
        in_file(out, i, |o| {
            kubevip::super_admin_before_1_29(m, run.version, o)
        });
    }
    // Only a version the user gave counts here, not one guessed from the files.
    let options = run.options;
    let version = options
        .kubernetes_version
        .as_ref()
        .or(options.topology.as_ref().map(|p| &p.version));
    let Some(v) = version.filter(|v| v.has_super_admin_conf()) else {
        return;
    };
    let manifests: Vec<(FileId, &kubevip::Manifest)> = run
        .each(manifest)
        .filter(|(_, m)| m.kind == "Pod" && m.kubeconfig.is_some())
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
fn vip_missing_from_sans(run: &Run<'_>, out: &mut Diagnostics) {
    let (parsed, plan) = (run.parsed, run.plan);
    let mut vips: BTreeSet<String> = match plan {
        Some(p) => p.endpoint.vip.iter().map(|v| v.addr.to_string()).collect(),
        None => run.kals.iter().flat_map(|k| k.vips()).collect(),
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
    for (i, y) in run.each(kubeadm_yaml) {
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

/// KAD006: controlPlaneEndpoint is the address of one node: this file's own
/// advertiseAddress, or (with a topology) any node's.
fn endpoint_is_single_node(run: &Run<'_>, out: &mut Diagnostics) {
    for (i, y) in run.each(kubeadm_yaml) {
        // An advertiseAddress that is the VIP is KAD015's finding.
        let vip = kubeadm::endpoint(y).is_some_and(|(h, ..)| run_vips(run, i).contains(&h));
        if !vip {
            in_file(out, i, |o| kubeadm::endpoint_is_own_address(y, o));
        }
    }
    // The nodes' own addresses in the run (not the VIPs), by file.
    let mut nodes: Vec<(FileId, String)> = run
        .kals
        .iter()
        .flat_map(|k| k.addresses().into_iter().map(move |a| (k.file, a)))
        .collect();
    for (j, cfg) in run.each(|p| match p {
        Parsed::Haproxy(c) => Some(c),
        _ => None,
    }) {
        // The servers' addresses, and their names when they are host names.
        for (d, a) in haproxy::backend_servers(cfg) {
            let host = net::split_host_port(&a).0.to_string();
            if let Some(name) = d.arg(1) {
                nodes.push((j, name.to_string()));
            }
            nodes.push((j, host));
        }
    }
    for (j, cfg) in run.each(|p| match p {
        Parsed::Nginx(c) => Some(c),
        _ => None,
    }) {
        nodes.extend(
            nginx::upstream_servers(cfg)
                .into_iter()
                .map(|(_, a)| (j, net::split_host_port(&a).0.to_string())),
        );
    }
    let advertised = by_host(run.each(kubeadm_yaml).flat_map(|(i, y)| {
        kubeadm::advertise_addresses(y)
            .into_iter()
            .map(move |(a, _)| (i, a))
    }));
    // By host, so that each kubeadm file looks its endpoint up instead of scanning all.
    let nodes = by_host(nodes);
    for (i, y) in run.each(kubeadm_yaml) {
        let Some((host, _, node)) = kubeadm::endpoint(y) else {
            continue;
        };
        let vips = run_vips(run, i);
        let other_kubeadm = advertised
            .get(host.as_str())
            .is_some_and(|js| js.iter().any(|&j| j != i && same_cluster(run, i, j)));
        let a_node = nodes
            .get(host.as_str())
            .is_some_and(|js| js.iter().any(|&j| same_cluster(run, i, j)));
        if vips.contains(&host) || !(a_node || other_kubeadm) {
            continue;
        }
        if kubeadm::advertise_addresses(y)
            .iter()
            .any(|(a, _)| *a == host)
        {
            continue; // said above, with the file's own advertiseAddress
        }
        push(
            out,
            i,
            at(&kubeadm::ENDPOINT_IS_SINGLE_NODE, node.span, format!("controlPlaneEndpoint `{host}` is the address of one control-plane node in this run (a backend or VRRP peer), not of a VIP or load balancer: the endpoint dies with that node"))
                .path("ClusterConfiguration.controlPlaneEndpoint")
                .help("point it at the VIP or the load balancer's DNS name"),
        );
    }
    let Some(plan) = run.plan else { return };
    for (i, y) in run.each(kubeadm_yaml) {
        if let Some((host, _, node)) = kubeadm::endpoint(y)
            && plan.nodes.iter().any(|n| n.address.to_string() == host)
        {
            push(
                out,
                i,
                at(
                    &kubeadm::ENDPOINT_IS_SINGLE_NODE,
                    node.span,
                    format!(
                        "controlPlaneEndpoint `{host}` is the address of one node of the topology"
                    ),
                )
                .help(format!("use {}", plan.endpoint.address())),
            );
        }
    }
}

/// The files that name each host.
fn by_host(
    pairs: impl IntoIterator<Item = (FileId, String)>,
) -> std::collections::HashMap<String, Vec<FileId>> {
    let mut map: std::collections::HashMap<String, Vec<FileId>> = Default::default();
    for (file, host) in pairs {
        map.entry(host).or_default().push(file);
    }
    map
}

/// Whether file `other` can describe the cluster of kubeadm file `k`: the same
/// directory, or any file when the run holds one ClusterConfiguration (files of one run
/// are not assumed to be one cluster).
fn same_cluster(run: &Run<'_>, k: FileId, other: FileId) -> bool {
    run.clusters <= 1 || dir(&run.files[k].name) == dir(&run.files[other].name)
}

/// The VIPs of the run that can be kubeadm file `k`'s: keepalived `virtual_ipaddress`
/// entries and kube-vip addresses.
fn run_vips(run: &Run<'_>, k: FileId) -> BTreeSet<String> {
    // Every file can be k's when the run holds one cluster (the same set for every k,
    // made once); else only the files beside it.
    if run.clusters <= 1 {
        return run
            .all_vips
            .get_or_init(|| vips_of(run.kals.iter(), run.each(manifest).map(|(_, m)| m)))
            .clone();
    }
    let beside = run.index.in_dir(dir(&run.files[k].name));
    vips_of(
        run.kals_beside(k),
        beside
            .iter()
            .filter_map(|&j| manifest(run.parsed[j].as_ref()?)),
    )
}

/// The VIPs of these keepalived instances and kube-vip manifests.
fn vips_of<'k, 'a: 'k>(
    kals: impl Iterator<Item = &'k Kal<'a>>,
    manifests: impl Iterator<Item = &'k kubevip::Manifest>,
) -> BTreeSet<String> {
    let mut v: BTreeSet<String> = kals.flat_map(Kal::vips).collect();
    for m in manifests {
        for key in ["address", "vip_address"] {
            if let Some(e) = m.get(key) {
                v.insert(e.1.clone());
            }
        }
    }
    v
}

/// KAD015: a node's advertiseAddress is a VIP of the run.
fn advertise_address_is_vip(run: &Run<'_>, out: &mut Diagnostics) {
    for (i, y) in run.each(kubeadm_yaml) {
        let vips = run_vips(run, i);
        for (a, node) in kubeadm::advertise_addresses(y) {
            if vips.contains(&a) {
                push(
                    out,
                    i,
                    at(&kubeadm::ADVERTISE_ADDRESS_IS_VIP, node.span, format!("advertiseAddress `{a}` is the VIP: the API server advertises an address that moves to other nodes"))
                        .help("use this node's own address; the VIP belongs in controlPlaneEndpoint"),
                );
            }
        }
    }
}

/// HAP009: haproxy's API backend against the topology's control planes.
fn backends_differ(run: &Run<'_>, out: &mut Diagnostics) {
    let Some(plan) = run.plan else { return };
    let configs = run.each(|p| match p {
        Parsed::Haproxy(cfg) => Some(cfg),
        _ => None,
    });
    for (i, cfg) in configs {
        let servers = haproxy::backend_servers(cfg);
        if let Some(span) = servers.first().map(|(d, _)| d.words_span())
            && let Some(msg) = servers_differ(
                plan,
                servers.into_iter().map(|(_, a)| a),
                "haproxy's servers",
            )
        {
            push(
                out,
                i,
                at(&BACKENDS_DIFFER, span, msg).help("re-render haproxy.cfg with hagen"),
            );
        }
    }
}

/// HAP013: the API frontends bind a VIP of the keepalived.conf beside them (or the node's
/// own address).
fn bind_not_the_vip(run: &Run<'_>, out: &mut Diagnostics) {
    for (i, cfg) in run.each(|p| match p {
        Parsed::Haproxy(c) => Some(c),
        _ => None,
    }) {
        let mut beside: Vec<&Kal<'_>> = run.kals_beside(i).collect();
        // A directory of several setups with their names in front (`repo__haproxy.cfg`,
        // `repo__keepalived.conf`): the keepalived files that share most of the name.
        let base = |n: &str| n.rsplit('/').next().unwrap_or(n).to_string();
        let own = base(&run.files[i].name);
        let shared = |k: &&Kal<'_>| {
            base(&run.files[k.file].name)
                .bytes()
                .zip(own.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        };
        if let Some(most) = beside.iter().map(shared).max()
            && most >= 4
        {
            beside.retain(|k| shared(k) == most);
        }
        let vips: BTreeSet<String> = beside.iter().flat_map(|k| k.vips()).collect();
        if vips.is_empty() {
            continue;
        }
        let known: BTreeSet<String> = beside
            .iter()
            .flat_map(|k| k.addresses())
            .chain(vips.iter().cloned())
            .collect();
        let ctx = super::Ctx {
            options: run.options,
            files: run.files,
            index: run.index,
            file: &run.files[i],
            version: run.version,
        };
        let api = haproxy::api_scope(cfg, &ctx);
        for (d, host) in haproxy::specific_binds(cfg, &api) {
            if !known.contains(&host) {
                push(
                    out,
                    i,
                    at(
                        &haproxy::BIND_NOT_THE_VIP,
                        d.words_span(),
                        format!(
                            "`bind {}`: keepalived beside this haproxy serves {}, not {host}",
                            d.arg(1).unwrap_or(""),
                            vips.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .help("bind the VIP keepalived serves, or `*:<port>`"),
                );
            }
        }
    }
}

/// HAP012: haproxy on the control planes binding the API server's port on every address.
fn bind_collides_with_apiserver(run: &Run<'_>, out: &mut Diagnostics) {
    // The nodes that run keepalived (and so, beside it, haproxy) in this run.
    let lb_nodes: BTreeSet<String> = run
        .kals
        .iter()
        .flat_map(|k| k.inst.src.iter().map(|s| s.0.to_string()))
        .collect();
    let mut ports = vec![6443];
    ports.extend(run.plan.map(|p| p.bind_port));
    if lb_nodes.is_empty() {
        return;
    }
    let configs = run.each(|p| match p {
        Parsed::Haproxy(cfg) => Some(cfg),
        _ => None,
    });
    for (i, cfg) in configs {
        for (d, port, hosts) in haproxy::wildcard_binds(cfg, &ports) {
            if let Some(node) = hosts.iter().find(|h| lb_nodes.contains(*h)) {
                push(
                    out,
                    i,
                    at(&haproxy::BIND_COLLIDES_WITH_APISERVER, d.words_span(), format!("`{}` binds port {port} on every address, and {node} (a server of this backend) runs this haproxy: kube-apiserver binds {port} there too, so one of them cannot start", d.arg(1).unwrap_or(""))).help("bind another port (`*:8443`) and point controlPlaneEndpoint at it"),
                );
            }
        }
    }
}

/// NGX004: nginx's upstream servers against the topology's control planes.
fn upstream_differs(run: &Run<'_>, out: &mut Diagnostics) {
    let Some(plan) = run.plan else { return };
    let configs = run.each(|p| match p {
        Parsed::Nginx(cfg) => Some(cfg),
        _ => None,
    });
    for (i, cfg) in configs {
        let servers = nginx::upstream_servers(cfg);
        if let Some(span) = servers.first().map(|(d, _)| d.span())
            && let Some(msg) = servers_differ(
                plan,
                servers.into_iter().map(|(_, a)| a),
                "nginx's upstream servers",
            )
        {
            push(
                out,
                i,
                at(&UPSTREAM_DIFFERS, span, msg).help("re-render nginx.conf with hagen"),
            );
        }
    }
}

/// What a proxy's servers lack or add next to the control planes (`address:bindPort`),
/// if they differ; HAP009 and NGX004 say it alike.
fn servers_differ(
    plan: &Plan,
    servers: impl Iterator<Item = String>,
    what: &str,
) -> Option<String> {
    let expected: BTreeSet<String> = plan
        .control_planes()
        .map(|n| HostPort::new(n.address, plan.bind_port).to_string())
        .collect();
    let got = canonical_servers(servers);
    (got != expected).then(|| diff(what, &got, &expected))
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
