//! The drill: reads the bundle and its topology, predicts every scenario from the what-if
//! table, builds the lab, injects each fault, watches until what it sees matches the
//! prediction (or a bound passes), restores the lab and moves on.

use super::RehearseArgs;
use super::lab::{
    self, Abort, Namespaces, Proc, Scratch, check_time, in_netns, nap, node_command, run_bounded,
};
use hagen_core::plan::Plan;
use hagen_core::topology::{EtcdType, LbType, Role};
use hagen_core::whatif::{Loss, Scenario};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The daemons of a node, in start order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Etcd = 0,
    ApiServer = 1,
    Haproxy = 2,
    Nginx = 3,
    Keepalived = 4,
}

const DAEMONS: [Daemon; 5] = [
    Daemon::Etcd,
    Daemon::ApiServer,
    Daemon::Haproxy,
    Daemon::Nginx,
    Daemon::Keepalived,
];

impl Daemon {
    fn name(self) -> &'static str {
        match self {
            Daemon::Etcd => "etcd",
            Daemon::ApiServer => "apiserver-standin",
            Daemon::Haproxy => "haproxy",
            Daemon::Nginx => "nginx",
            Daemon::Keepalived => "keepalived",
        }
    }
}

/// A node of the lab.
struct LabNode {
    name: String,
    address: IpAddr,
    prefix: u8,
    iface: String,
    cp: bool,
    etcd: bool,
    netns: String,
    /// The switch-side veth.
    port: String,
    /// The node's `etc/` in the bundle.
    etc: PathBuf,
    /// Which daemons the bundle gives it.
    runs: [bool; 5],
}

/// What a scenario is expected to show, and what it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// Who holds the VIP (None: the load balancer holds no VIP); "" nobody.
    pub vip_holder: Option<String>,
    /// Every surviving node gets /readyz 200 through the endpoint with admin.conf.
    pub endpoint_ready: bool,
    /// Surviving nodes that did not (observed only).
    pub not_ready_from: Vec<String>,
    /// API servers that answered /readyz 200 through the endpoint.
    pub api_servers: BTreeSet<String>,
    /// An etcd write succeeds (on the majority side).
    pub etcd_write: bool,
    /// etcd members that answer a linearizable read (on the majority side).
    pub etcd_members: BTreeSet<String>,
    /// Inside a partitioned zone: an etcd write there succeeds (None: not a partition,
    /// or no etcd client inside).
    pub isolated_etcd_write: Option<bool>,
}

impl View {
    fn to_json(&self) -> Value {
        json!({
            "vipHolder": self.vip_holder,
            "endpointReady": self.endpoint_ready,
            "notReadyFrom": self.not_ready_from,
            "apiServers": self.api_servers,
            "etcdWrite": self.etcd_write,
            "etcdMembersHealthy": self.etcd_members,
            "isolatedEtcdWrite": self.isolated_etcd_write,
        })
    }

    /// The fields that differ from `want`, described.
    fn differences(&self, want: &View) -> Vec<String> {
        let mut d = Vec::new();
        if self.vip_holder != want.vip_holder {
            d.push(format!(
                "VIP on {} (predicted {})",
                holder_text(&self.vip_holder),
                holder_text(&want.vip_holder)
            ));
        }
        if self.endpoint_ready != want.endpoint_ready {
            if want.endpoint_ready {
                d.push(format!(
                    "/readyz through the endpoint failed from {}",
                    self.not_ready_from.join(", ")
                ));
            } else {
                d.push("/readyz through the endpoint answered 200 (predicted not)".into());
            }
        }
        if self.api_servers != want.api_servers {
            d.push(format!(
                "API servers reached through the endpoint: [{}] (predicted [{}])",
                join(&self.api_servers),
                join(&want.api_servers)
            ));
        }
        if self.etcd_write != want.etcd_write {
            d.push(format!(
                "etcd write {} (predicted {})",
                ok_text(self.etcd_write),
                ok_text(want.etcd_write)
            ));
        }
        if self.etcd_members != want.etcd_members {
            d.push(format!(
                "healthy etcd members: [{}] (predicted [{}])",
                join(&self.etcd_members),
                join(&want.etcd_members)
            ));
        }
        if want.isolated_etcd_write.is_some()
            && self.isolated_etcd_write != want.isolated_etcd_write
        {
            d.push(format!(
                "etcd write inside the partitioned zone {} (predicted {})",
                self.isolated_etcd_write.map_or("not tried", ok_text),
                want.isolated_etcd_write.map_or("not tried", ok_text)
            ));
        }
        d
    }
}

fn holder_text(h: &Option<String>) -> String {
    match h {
        None => "-".into(),
        Some(s) if s.is_empty() => "nobody".into(),
        Some(s) => s.clone(),
    }
}

fn ok_text(b: bool) -> &'static str {
    if b { "succeeds" } else { "fails" }
}

fn join(s: &BTreeSet<String>) -> String {
    s.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// One scenario's result.
pub struct ScenarioResult {
    pub name: String,
    pub what: String,
    pub predicted: View,
    pub observed: View,
    pub agree: bool,
    pub why: String,
    pub recovery_seconds: Option<f64>,
    pub expected_seconds: f64,
    pub two_holders: bool,
}

impl ScenarioResult {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "what": self.what,
            "predicted": self.predicted.to_json(),
            "observed": self.observed.to_json(),
            "agree": self.agree,
            "why": self.why,
            "recoverySeconds": self.recovery_seconds.map(|s| (s * 10.0).round() / 10.0),
            "expectedSeconds": self.expected_seconds,
            "twoVipHolders": self.two_holders,
        })
    }
}

/// The whole run.
pub struct Results {
    pub bundle: String,
    pub load_balancer: String,
    pub etcd: String,
    pub scenarios: Vec<ScenarioResult>,
    pub not_rehearsed: Vec<String>,
    pub seconds: f64,
}

/// The fault a scenario injects.
#[derive(Debug, Clone)]
enum Fault {
    None,
    /// Nodes crash: daemons SIGKILLed, links down.
    Crash(Vec<usize>),
    /// A node shuts down cleanly: daemons SIGTERMed, then its link goes down.
    Shutdown(usize),
    /// One daemon dies on one node.
    Daemon(usize, Daemon),
    /// These nodes are cut off from the others (their bridge ports moved to a second
    /// bridge).
    Partition(Vec<usize>),
}

struct Plan2 {
    name: String,
    what: String,
    fault: Fault,
    predicted: View,
    expected: f64,
}

/// Timings the configs imply (seconds).
struct Timings {
    advert: f64,
    check_interval: f64,
    check_fall: f64,
    hap_inter: f64,
    hap_fall: f64,
    hap_connect: f64,
}

impl Timings {
    fn from_bundle(etc: &Path) -> Self {
        let ka = fs::read_to_string(etc.join("keepalived/keepalived.conf")).unwrap_or_default();
        let hap = fs::read_to_string(etc.join("haproxy/haproxy.cfg")).unwrap_or_default();
        let key = |text: &str, k: &str, default: f64| -> f64 {
            text.lines()
                .find_map(|l| {
                    let mut w = l.split_whitespace();
                    (w.next() == Some(k))
                        .then(|| w.next().and_then(|v| v.parse().ok()))
                        .flatten()
                })
                .unwrap_or(default)
        };
        let hap_word = |k: &str, default: f64| -> f64 {
            hap.lines()
                .filter(|l| l.trim_start().starts_with("default-server"))
                .find_map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    let i = w.iter().position(|x| *x == k)?;
                    w.get(i + 1)
                        .map(|v| v.trim_end_matches("ms").trim_end_matches('s'))
                        .and_then(|v| v.parse().ok())
                })
                .unwrap_or(default)
        };
        Self {
            advert: key(&ka, "advert_int", 1.0),
            check_interval: key(&ka, "interval", 3.0),
            check_fall: key(&ka, "fall", 2.0),
            hap_inter: hap_word("inter", 2.0),
            hap_fall: hap_word("fall", 3.0),
            hap_connect: hap
                .lines()
                .find_map(|l| l.trim().strip_prefix("timeout connect "))
                .map(|v| v.trim())
                .and_then(|v| {
                    v.strip_suffix("ms")
                        .and_then(|ms| ms.parse::<f64>().ok().map(|m| m / 1000.0))
                        .or_else(|| v.trim_end_matches('s').parse().ok())
                })
                .unwrap_or(5.0),
        }
    }

    /// A backup takes over once the master's adverts stop (3 × advert_int + skew).
    fn takeover(&self) -> f64 {
        3.0 * self.advert + 1.0
    }

    /// A failing track script lowers the priority after interval × fall; the next advert
    /// hands the VIP over.
    fn check_fail(&self) -> f64 {
        self.check_interval * self.check_fall + 2.0 * self.advert
    }

    /// haproxy marks a dead server DOWN after `fall` checks `inter` apart; a crashed
    /// server does not refuse but stays silent, so each check also waits its connect
    /// timeout (min(timeout connect, inter)).
    fn haproxy_down(&self) -> f64 {
        self.hap_fall * (self.hap_inter + self.hap_connect.min(self.hap_inter))
    }
}

/// Loads the bundle, builds the lab, drills.
pub fn rehearse(args: &RehearseArgs) -> Result<Results, Abort> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout);
    let bundle = args.bundle.clone();
    let topo_path = bundle.join(hagen_core::bundle::TOPOLOGY);
    let bytes = fs::read(&topo_path).map_err(|e| {
        Abort(format!(
            "cannot read {} ({e}): pass a directory `hagen render` wrote",
            topo_path.display()
        ))
    })?;
    let (_, checked) = hagen_core::check_bytes(&topo_path.display().to_string(), &bytes);
    let plan = checked.plan.ok_or_else(|| {
        Abort(format!(
            "{} has errors; run `hagen validate` on it",
            topo_path.display()
        ))
    })?;
    let what_if = checked.what_if.unwrap_or_default();
    let lb = plan.load_balancer.kind;
    match lb {
        LbType::KubeVip => {
            return Err(Abort(
                "kube-vip is not rehearsed: no `kube-vip` binary is run by rehearse (its static \
                 pod needs a kubelet and a container runtime); lint the manifest with `hagen lint` \
                 instead"
                    .into(),
            ));
        }
        LbType::External => {
            return Err(Abort(
                "an external load balancer is not in the bundle, so there is nothing to \
                 rehearse between the clients and the API servers"
                    .into(),
            ));
        }
        _ => {}
    }
    let bundle_text = bundle.to_string_lossy().into_owned();
    if bundle_text.contains(':') || bundle_text.contains(',') {
        return Err(Abort(format!(
            "the bundle path {bundle_text} holds `:` or `,`, which overlayfs cannot take; copy it elsewhere"
        )));
    }
    let bundle =
        fs::canonicalize(&bundle).map_err(|e| Abort(format!("{}: {e}", bundle.display())))?;

    let tag = format!("hr{}", std::process::id() % 100_000);
    let mut programs = vec!["ip", "unshare", "curl", "python3", "etcdctl"];
    let vip_prefix = plan.endpoint.vip.and_then(|v| v.prefix);
    let mut nodes = Vec::new();
    for (i, n) in plan.nodes.iter().enumerate() {
        let etc = bundle.join("nodes").join(&n.name).join("etc");
        if !etc.is_dir() {
            return Err(Abort(format!("the bundle has no {}", etc.display())));
        }
        let cp = n.has(Role::ControlPlane);
        let etcd = match plan.etcd {
            EtcdType::Stacked => cp,
            EtcdType::External => n.has(Role::Etcd),
        };
        let mut runs = [false; 5];
        runs[Daemon::Etcd as usize] = etcd;
        runs[Daemon::ApiServer as usize] = cp;
        runs[Daemon::Haproxy as usize] = etc.join("haproxy/haproxy.cfg").is_file();
        runs[Daemon::Nginx as usize] = etc.join("nginx/nginx.conf").is_file();
        runs[Daemon::Keepalived as usize] = etc.join("keepalived/keepalived.conf").is_file();
        for d in DAEMONS {
            if runs[d as usize] && d != Daemon::ApiServer && !programs.contains(&d.name()) {
                programs.push(d.name());
            }
        }
        nodes.push(LabNode {
            name: n.name.clone(),
            address: n.address,
            prefix: n.prefix.or(vip_prefix).unwrap_or(24),
            iface: n
                .interface
                .clone()
                .or_else(|| plan.load_balancer.interface.clone())
                .unwrap_or_else(|| "eth0".into()),
            cp,
            etcd,
            netns: format!("{tag}n{i}"),
            port: format!("{tag}p{i}"),
            etc,
            runs,
        });
    }
    lab::preflight(&programs, &format!("{tag}chk"))?;

    let scratch = Scratch::new()?;
    let first_cp = nodes
        .iter()
        .position(|n| n.cp)
        .ok_or_else(|| Abort("the topology has no control plane".into()))?;
    let timings = Timings::from_bundle(&nodes[first_cp].etc);
    let plans = scenarios(&plan, &what_if, &nodes, &timings);
    let matches = |s: &str, name: &str| s == name || name.split('/').next() == Some(s);
    if let Some(unknown) = args
        .scenarios
        .iter()
        .find(|s| !plans.iter().any(|p| matches(s, &p.name)))
    {
        return Err(Abort(format!(
            "no scenario is called {unknown:?}; this bundle has: {}",
            plans
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let selected: Vec<Plan2> = plans
        .into_iter()
        .filter(|p| {
            p.name == "baseline"
                || args.scenarios.is_empty()
                || args.scenarios.iter().any(|s| matches(s, &p.name))
        })
        .collect();

    let mut lab = Lab::build(&plan, nodes, scratch, &tag, deadline)?;
    let mut results = Vec::new();
    for p in &selected {
        check_time(deadline)?;
        eprintln!("rehearse: {} ({})", p.name, p.what);
        let r = lab.drill(p, deadline)?;
        eprintln!(
            "  {} {}",
            if r.agree { "agrees" } else { "DISAGREES:" },
            r.why
        );
        let agree = r.agree;
        results.push(r);
        if !matches!(p.fault, Fault::None) {
            lab.restore(deadline)?;
            if let Err(why) = lab.settle(&selected[0].predicted, deadline, "after the restore") {
                results.push(ScenarioResult {
                    name: format!("restore-after/{}", p.name),
                    what: "everything back up".into(),
                    predicted: selected[0].predicted.clone(),
                    observed: why.1.clone(),
                    agree: false,
                    why: why.0,
                    recovery_seconds: None,
                    expected_seconds: SETTLE as f64,
                    two_holders: false,
                });
                break;
            }
        } else if !agree {
            // Without a healthy baseline no other scenario means anything.
            break;
        }
    }
    let mut not_rehearsed = vec![
        "kube-apiserver itself: a stand-in answers in its place (TLS with the node's \
         apiserver certificate, /readyz from an etcd read)"
            .to_string(),
        "kubeadm, kubelet, the scheduler and the controller manager".to_string(),
    ];
    if plan.etcd == EtcdType::Stacked {
        not_rehearsed.push(
            "stacked etcd runs with the flags kubeadm's static pod would get (the bundle has no \
             etcd file for it)"
                .into(),
        );
    }
    Ok(Results {
        bundle: bundle.display().to_string(),
        load_balancer: lb.as_str().to_string(),
        etcd: match plan.etcd {
            EtcdType::Stacked => "stacked",
            EtcdType::External => "external",
        }
        .to_string(),
        scenarios: results,
        not_rehearsed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// How long a fresh or restored lab may take to be healthy (etcd elects in 1-2 s,
/// keepalived's first holder takes ~4 s, haproxy needs `rise` checks).
const SETTLE: u64 = 45;

/// Every scenario with its prediction.
fn scenarios(plan: &Plan, what_if: &[Scenario], nodes: &[LabNode], t: &Timings) -> Vec<Plan2> {
    let lb = plan.load_balancer.kind;
    let holds_vip = matches!(lb, LbType::HaproxyKeepalived | LbType::Keepalived);
    let index = |name: &str| nodes.iter().position(|n| n.name == name);
    let cps: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].cp).collect();
    let predict =
        |lost: &[usize], etcd_ok: bool, api_down: Option<usize>, proxy_down: Option<usize>| {
            let alive: Vec<usize> = cps.iter().copied().filter(|i| !lost.contains(i)).collect();
            let servers: BTreeSet<String> = if etcd_ok {
                alive
                    .iter()
                    .filter(|&&i| Some(i) != api_down)
                    .map(|&i| nodes[i].name.clone())
                    .collect()
            } else {
                BTreeSet::new()
            };
            let vip_holder = holds_vip.then(|| {
                // Priorities fall in control-plane order; a failing track script moves the VIP
                // off a node only where it fails alone (when etcd is gone every check fails
                // and the order stays).
                let unhealthy = |i: usize| {
                    (lb == LbType::Keepalived && Some(i) == api_down) || Some(i) == proxy_down
                };
                alive
                    .iter()
                    .copied()
                    .find(|&i| !unhealthy(i))
                    .or(alive.first().copied())
                    .map_or(String::new(), |i| nodes[i].name.clone())
            });
            // keepalived alone: the VIP leads to one API server, the holder's.
            let servers: BTreeSet<String> = match (&vip_holder, lb) {
                (Some(h), LbType::Keepalived) => servers.into_iter().filter(|s| s == h).collect(),
                _ => servers,
            };
            View {
                vip_holder,
                endpoint_ready: !servers.is_empty(),
                not_ready_from: Vec::new(),
                api_servers: servers,
                etcd_write: etcd_ok,
                etcd_members: if etcd_ok {
                    (0..nodes.len())
                        .filter(|i| nodes[*i].etcd && !lost.contains(i))
                        .map(|i| nodes[i].name.clone())
                        .collect()
                } else {
                    BTreeSet::new()
                },
                isolated_etcd_write: None,
            }
        };
    let mut out = vec![Plan2 {
        name: "baseline".into(),
        what: "everything up".into(),
        fault: Fault::None,
        predicted: predict(&[], true, None, None),
        expected: 0.0,
    }];
    let holder = cps.first().copied();
    let lost_cost = |lost: &[usize], etcd_ok: bool| -> f64 {
        let mut e: f64 = 1.0;
        if holds_vip && holder.is_some_and(|h| lost.contains(&h)) {
            e = e.max(t.takeover());
        }
        if lb == LbType::HaproxyKeepalived {
            e = e.max(t.haproxy_down());
        }
        if !etcd_ok {
            e = e.max(5.0);
        }
        e
    };
    for row in what_if {
        let lost: Vec<usize> = row.nodes_lost.iter().filter_map(|n| index(n)).collect();
        let (name, what, fault) = match row.loss {
            Loss::Node => (
                format!("node/{}", row.name),
                format!("node {} crashes", row.name),
                Fault::Crash(lost.clone()),
            ),
            Loss::Zone => (
                format!("zone/{}", row.name),
                format!("zone {} lost ({})", row.name, row.nodes_lost.join(", ")),
                Fault::Crash(lost.clone()),
            ),
            Loss::VipHolder => (
                format!("vip-holder/{}", row.name),
                format!("VIP holder {} shuts down", row.name),
                Fault::Shutdown(lost[0]),
            ),
        };
        out.push(Plan2 {
            name,
            what,
            fault,
            predicted: predict(&lost, row.etcd_ok, None, None),
            expected: lost_cost(&lost, row.etcd_ok),
        });
    }
    if let Some(h) = holder.filter(|_| holds_vip) {
        let name = &nodes[h].name;
        let api_expected = if lb == LbType::Keepalived {
            t.check_fail()
        } else {
            t.haproxy_down()
        };
        out.push(Plan2 {
            name: format!("apiserver-on-vip-holder/{name}"),
            what: format!("the API server alone dies on {name}, the node stays up"),
            fault: Fault::Daemon(h, Daemon::ApiServer),
            predicted: predict(&[], true, Some(h), None),
            expected: api_expected,
        });
        if lb == LbType::HaproxyKeepalived {
            out.push(Plan2 {
                name: format!("proxy-on-vip-holder/{name}"),
                what: format!("haproxy alone dies on {name}, the node stays up"),
                fault: Fault::Daemon(h, Daemon::Haproxy),
                predicted: predict(&[], true, None, Some(h)),
                expected: t.check_fail(),
            });
        }
    }
    for row in what_if.iter().filter(|r| r.loss == Loss::Zone) {
        let inside: Vec<usize> = row.nodes_lost.iter().filter_map(|n| index(n)).collect();
        let mut predicted = predict(&inside, row.etcd_ok, None, None);
        let members_inside = inside.iter().filter(|&&i| nodes[i].etcd).count();
        let has_client = inside.iter().any(|&i| nodes[i].cp || nodes[i].etcd);
        predicted.isolated_etcd_write =
            has_client.then_some(members_inside >= row.etcd_quorum && members_inside > 0);
        out.push(Plan2 {
            name: format!("partition/{}", row.name),
            what: format!(
                "zone {} cut off from the others ({})",
                row.name,
                row.nodes_lost.join(", ")
            ),
            fault: Fault::Partition(inside.clone()),
            predicted,
            expected: lost_cost(&inside, row.etcd_ok),
        });
    }
    out
}

/// The running lab. Field order is drop order: processes first, then namespaces, then
/// the scratch directory.
struct Lab {
    procs: Vec<[Option<Proc>; 5]>,
    _namespaces: Namespaces,
    scratch: Scratch,
    nodes: Vec<LabNode>,
    switch: String,
    endpoint_host: String,
    endpoint_port: u16,
    connect_target: String,
    vip: Option<IpAddr>,
    bind_port: u16,
    etcd_urls: Vec<String>,
    stacked: bool,
    python: String,
    /// Nodes down or cut off now.
    down: BTreeSet<usize>,
    isolated: BTreeSet<usize>,
    two_holders: bool,
}

impl Lab {
    fn build(
        plan: &Plan,
        nodes: Vec<LabNode>,
        scratch: Scratch,
        tag: &str,
        deadline: Instant,
    ) -> Result<Self, Abort> {
        let mut namespaces = Namespaces::default();
        let switch = format!("{tag}sw");
        namespaces.add(&switch)?;
        lab::ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"])?;
        lab::ip(&["-n", &switch, "link", "set", "br0", "up"])?;
        lab::ip(&["-n", &switch, "link", "add", "br1", "type", "bridge"])?;
        lab::ip(&["-n", &switch, "link", "set", "br1", "up"])?;
        for n in &nodes {
            namespaces.add(&n.netns)?;
            lab::ip(&[
                "-n", &n.netns, "link", "add", &n.iface, "type", "veth", "peer", "name", &n.port,
                "netns", &switch,
            ])?;
            lab::ip(&["-n", &switch, "link", "set", &n.port, "master", "br0", "up"])?;
        }
        let s = &scratch.0;
        let standin = s.join("apiserver-standin.py");
        fs::write(&standin, include_str!("standin.py"))
            .map_err(|e| Abort(format!("{}: {e}", standin.display())))?;
        // admin.conf's credentials, as files curl can take.
        let admin = nodes
            .iter()
            .map(|n| n.etc.join("kubernetes/admin.conf"))
            .find(|p| p.is_file())
            .ok_or_else(|| Abort("the bundle has no etc/kubernetes/admin.conf".into()))?;
        let admin_text =
            fs::read_to_string(&admin).map_err(|e| Abort(format!("{}: {e}", admin.display())))?;
        for (key, file) in [
            ("certificate-authority-data", "admin-ca.crt"),
            ("client-certificate-data", "admin.crt"),
            ("client-key-data", "admin.key"),
        ] {
            let b64 = admin_text
                .lines()
                .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
                .ok_or_else(|| Abort(format!("{} has no {key}", admin.display())))?;
            let der = base64_decode(b64.trim())
                .ok_or_else(|| Abort(format!("{}: {key} is not base64", admin.display())))?;
            let path = s.join(file);
            fs::write(&path, der).map_err(|e| Abort(format!("{}: {e}", path.display())))?;
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(|e| Abort(format!("{}: {e}", path.display())))?;
        }
        let endpoint_host = plan.endpoint.host().to_string();
        let connect_target = match plan.load_balancer.kind {
            LbType::NginxLocal => "127.0.0.1".to_string(),
            _ => plan
                .endpoint
                .vip
                .map(|v| hagen_core::net::Host::Ip(v.addr).to_string())
                .unwrap_or_else(|| endpoint_host.clone()),
        };
        let stacked = plan.etcd == EtcdType::Stacked;
        let etcd_urls = nodes
            .iter()
            .filter(|n| n.etcd)
            .map(|n| hagen_core::net::HostPort::new(n.address, 2379).url("https"))
            .collect();
        let python = if Path::new("/usr/bin/python3").is_file() {
            "/usr/bin/python3".to_string()
        } else {
            "python3".to_string()
        };
        let count = nodes.len();
        let mut lab = Lab {
            procs: (0..count).map(|_| Default::default()).collect(),
            _namespaces: namespaces,
            scratch,
            nodes,
            switch,
            endpoint_host,
            endpoint_port: plan.endpoint.port,
            connect_target,
            vip: plan.endpoint.vip.map(|v| v.addr),
            bind_port: plan.bind_port,
            etcd_urls,
            stacked,
            python,
            down: BTreeSet::new(),
            isolated: BTreeSet::new(),
            two_holders: false,
        };
        for i in 0..count {
            lab.link_up(i)?;
        }
        for d in DAEMONS {
            for i in 0..count {
                if lab.nodes[i].runs[d as usize] {
                    lab.start(i, d)?;
                }
            }
            if d == Daemon::Etcd {
                // The members find each other first, so the stand-ins start on a cluster.
                let limit = Instant::now() + Duration::from_secs(40);
                while !lab.etcd_write(&lab.all_up()) {
                    check_time(deadline)?;
                    lab.assert_running()?;
                    if Instant::now() > limit {
                        break;
                    }
                    nap(Duration::from_millis(500));
                }
            }
        }
        Ok(lab)
    }

    fn all_up(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| !self.down.contains(i) && !self.isolated.contains(i))
            .collect()
    }

    fn link_up(&self, i: usize) -> Result<(), Abort> {
        let n = &self.nodes[i];
        lab::ip(&["-n", &n.netns, "addr", "flush", "dev", &n.iface])?;
        lab::ip(&[
            "-n",
            &n.netns,
            "addr",
            "add",
            &format!("{}/{}", n.address, n.prefix),
            "dev",
            &n.iface,
        ])?;
        lab::ip(&["-n", &n.netns, "link", "set", &n.iface, "up"])?;
        Ok(())
    }

    fn start(&mut self, i: usize, d: Daemon) -> Result<(), Abort> {
        let n = &self.nodes[i];
        let data = self.scratch.0.join("etcd-data").join(&n.name);
        let log = self.scratch.0.join(format!("{}-{}.log", n.name, d.name()));
        let mut cmd;
        match d {
            Daemon::Etcd => {
                std::os::unix::fs::DirBuilderExt::mode(
                    fs::DirBuilder::new().recursive(true),
                    0o700,
                )
                .create(&data)
                .map_err(|e| Abort(format!("{}: {e}", data.display())))?;
                if self.stacked {
                    // The flags kubeadm gives its etcd static pod.
                    cmd = node_command(&n.netns, &n.etc, None, "etcd");
                    let ip = hagen_core::net::Host::Ip(n.address).to_string();
                    let cluster = self
                        .nodes
                        .iter()
                        .filter(|m| m.etcd)
                        .map(|m| {
                            format!(
                                "{}={}",
                                m.name,
                                hagen_core::net::HostPort::new(m.address, 2380).url("https")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    let pki = "/etc/kubernetes/pki/etcd";
                    cmd.args([
                        format!("--name={}", n.name),
                        format!("--data-dir={}", data.display()),
                        format!("--advertise-client-urls=https://{ip}:2379"),
                        format!("--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379"),
                        format!("--listen-peer-urls=https://{ip}:2380"),
                        format!("--initial-advertise-peer-urls=https://{ip}:2380"),
                        format!("--initial-cluster={cluster}"),
                        "--initial-cluster-state=new".into(),
                        "--client-cert-auth=true".into(),
                        format!("--cert-file={pki}/server.crt"),
                        format!("--key-file={pki}/server.key"),
                        format!("--trusted-ca-file={pki}/ca.crt"),
                        "--peer-client-cert-auth=true".into(),
                        format!("--peer-cert-file={pki}/peer.crt"),
                        format!("--peer-key-file={pki}/peer.key"),
                        format!("--peer-trusted-ca-file={pki}/ca.crt"),
                        "--snapshot-count=10000".into(),
                        "--listen-metrics-urls=http://127.0.0.1:2381".into(),
                    ]);
                } else {
                    cmd = node_command(&n.netns, &n.etc, Some(&data), "etcd");
                    cmd.args(["--config-file", "/etc/etcd/etcd.conf.yml"]);
                }
            }
            Daemon::ApiServer => {
                cmd = node_command(&n.netns, &n.etc, None, &self.python);
                let etcd = if self.stacked {
                    "https://127.0.0.1:2379".to_string()
                } else {
                    self.etcd_urls.join(",")
                };
                cmd.arg(self.scratch.0.join("apiserver-standin.py"));
                cmd.args([
                    "--name",
                    &n.name,
                    "--port",
                    &self.bind_port.to_string(),
                    "--etcd",
                    &etcd,
                    "--etcd-ca",
                    "/etc/kubernetes/pki/etcd/ca.crt",
                    "--etcd-cert",
                    "/etc/kubernetes/pki/apiserver-etcd-client.crt",
                    "--etcd-key",
                    "/etc/kubernetes/pki/apiserver-etcd-client.key",
                    "--etcdctl",
                    "etcdctl",
                ]);
            }
            Daemon::Haproxy => {
                cmd = node_command(&n.netns, &n.etc, None, "haproxy");
                cmd.args(["-db", "-f", "/etc/haproxy/haproxy.cfg"]);
            }
            Daemon::Nginx => {
                cmd = node_command(&n.netns, &n.etc, None, "nginx");
                cmd.args(["-c", "/etc/nginx/nginx.conf", "-g", "daemon off;"]);
            }
            Daemon::Keepalived => {
                cmd = node_command(&n.netns, &n.etc, None, "keepalived");
                cmd.args([
                    "-n",
                    "-l",
                    "-D",
                    "-P",
                    "-f",
                    "/etc/keepalived/keepalived.conf",
                ]);
            }
        }
        let p = Proc::spawn(&format!("{} on {}", d.name(), n.name), cmd, &log)?;
        self.procs[i][d as usize] = Some(p);
        Ok(())
    }

    /// Fails (exit 2) when a daemon that should run has exited, with its log.
    fn assert_running(&mut self) -> Result<(), Abort> {
        for (i, procs) in self.procs.iter_mut().enumerate() {
            if self.down.contains(&i) {
                continue;
            }
            for p in procs.iter_mut().flatten() {
                if !p.running() {
                    return Err(Abort(format!(
                        "{} exited; its log ends:\n{}",
                        p.name,
                        p.tail(15)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Which of `among` hold the VIP on an interface that is up.
    fn holders_once(&self, among: &[usize]) -> Vec<usize> {
        let Some(vip) = self.vip else {
            return Vec::new();
        };
        let needle = format!(" {vip}/");
        among
            .iter()
            .copied()
            .filter(|&i| {
                lab::ip(&["-n", &self.nodes[i].netns, "-o", "addr", "show", "up"])
                    .is_ok_and(|s| s.contains(&needle))
            })
            .collect()
    }

    /// The VIP holders among `among`; two at once is confirmed by a second look (the
    /// namespaces are read one after another, so a handover could look like two) and
    /// remembered.
    fn holders(&mut self, among: &[usize]) -> Vec<usize> {
        let h = self.holders_once(among);
        if h.len() > 1 {
            let again = self.holders_once(among);
            if again.len() > 1 {
                self.two_holders = true;
            }
            return again;
        }
        h
    }

    /// One /readyz through the endpoint from node `i` with admin.conf's certificate:
    /// (HTTP status, the API server that answered).
    fn readyz(&self, i: usize) -> (u16, Option<String>) {
        let s = &self.scratch.0;
        let port = self.endpoint_port;
        let mut c = in_netns(&self.nodes[i].netns, "curl");
        c.args(["--silent", "--max-time", "3", "--output", "/dev/null"]);
        c.args([
            "--dump-header",
            "-",
            "--write-out",
            "\nstatus=%{http_code}\n",
        ]);
        c.arg("--cacert").arg(s.join("admin-ca.crt"));
        c.arg("--cert").arg(s.join("admin.crt"));
        c.arg("--key").arg(s.join("admin.key"));
        c.arg("--connect-to").arg(format!(
            "{}:{port}:{}:{port}",
            self.endpoint_host, self.connect_target
        ));
        c.arg(format!("https://{}:{port}/readyz", self.endpoint_host));
        let out = run_bounded(c, Duration::from_secs(5));
        let status = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("status="))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let node = out.stdout.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("x-hagen-node")
                .then(|| v.trim().to_string())
        });
        (status, node)
    }

    /// `etcdctl ARGS` against one member from the first node of `side` that holds etcd
    /// client credentials (a control plane's apiserver-etcd-client pair, else an etcd
    /// host's own server pair, which is also a client certificate). gRPC, as
    /// kube-apiserver speaks (etcd's JSON gateway is off when it runs from a config file).
    fn etcdctl(&self, side: &[usize], member: usize, args: &[&str]) -> bool {
        let Some(&from) = side
            .iter()
            .find(|&&i| self.nodes[i].cp || self.nodes[i].etcd)
        else {
            return false;
        };
        let n = &self.nodes[from];
        let (ca, cert, key) = if n.cp {
            (
                n.etc.join("kubernetes/pki/etcd/ca.crt"),
                n.etc.join("kubernetes/pki/apiserver-etcd-client.crt"),
                n.etc.join("kubernetes/pki/apiserver-etcd-client.key"),
            )
        } else {
            (
                n.etc.join("etcd/pki/ca.crt"),
                n.etc.join("etcd/pki/server.crt"),
                n.etc.join("etcd/pki/server.key"),
            )
        };
        let url = hagen_core::net::HostPort::new(self.nodes[member].address, 2379).url("https");
        let mut c = in_netns(&n.netns, "etcdctl");
        c.env("ETCDCTL_API", "3");
        c.arg(format!("--endpoints={url}"));
        c.arg(format!("--cacert={}", ca.display()));
        c.arg(format!("--cert={}", cert.display()));
        c.arg(format!("--key={}", key.display()));
        c.args(["--dial-timeout=1s", "--command-timeout=2s"]);
        c.args(args);
        run_bounded(c, Duration::from_secs(5)).ok
    }

    /// An etcd write from `side`, tried on every etcd member of `side`.
    fn etcd_write(&self, side: &[usize]) -> bool {
        side.iter()
            .filter(|&&m| self.nodes[m].etcd)
            .any(|&m| self.etcdctl(side, m, &["put", "/hagen-rehearse/write", "ok"]))
    }

    /// The etcd members of `side` that answer a linearizable read (`endpoint health`):
    /// one cut off from its peers (a peer certificate that does not match its URL, a
    /// foreign CA) does not, even while the others keep quorum.
    fn etcd_healthy(&self, side: &[usize]) -> BTreeSet<String> {
        side.iter()
            .filter(|&&m| self.nodes[m].etcd)
            .filter(|&&m| self.etcdctl(side, m, &["endpoint", "health"]))
            .map(|&m| self.nodes[m].name.clone())
            .collect()
    }

    /// What the majority side shows now. `full`: /readyz from every surviving node and
    /// enough requests to see every API server in rotation; otherwise one observer.
    fn observe(&mut self, full: bool, want: &View) -> View {
        let side = self.all_up();
        let holder = self.vip.map(|_| {
            let h = self.holders(&side);
            h.iter()
                .map(|&i| self.nodes[i].name.clone())
                .collect::<Vec<_>>()
                .join("+")
        });
        let observers: Vec<usize> = if full {
            side.clone()
        } else {
            side.iter().copied().take(1).collect()
        };
        let mut not_ready = Vec::new();
        let mut servers = BTreeSet::new();
        for &i in &observers {
            let (status, node) = self.readyz(i);
            if status == 200 {
                servers.extend(node);
            } else {
                not_ready.push(self.nodes[i].name.clone());
            }
        }
        if full && let Some(&o) = side.first() {
            let n = 2 * self.nodes.iter().filter(|n| n.cp).count() + 2;
            for _ in 0..n {
                let (status, node) = self.readyz(o);
                if status == 200 {
                    servers.extend(node);
                }
            }
        }
        let api_servers = if full {
            servers
        } else {
            // Quick looks cannot see the whole rotation; judged on the full look.
            want.api_servers.clone()
        };
        let isolated: Vec<usize> = self.isolated.iter().copied().collect();
        // Judged on the full look: a write into a minority waits out its timeout.
        let isolated_etcd_write = if full {
            want.isolated_etcd_write.map(|_| self.etcd_write(&isolated))
        } else {
            want.isolated_etcd_write
        };
        if !isolated.is_empty() {
            // Each side may have its own holder; two on one side is split brain.
            let _ = self.holders(&isolated);
        }
        View {
            vip_holder: holder,
            endpoint_ready: !observers.is_empty() && not_ready.is_empty(),
            not_ready_from: not_ready,
            api_servers,
            etcd_write: self.etcd_write(&side),
            etcd_members: if full {
                self.etcd_healthy(&side)
            } else {
                want.etcd_members.clone()
            },
            isolated_etcd_write,
        }
    }

    fn inject(&mut self, f: &Fault) -> Result<(), Abort> {
        match f {
            Fault::None => {}
            Fault::Crash(nodes) => {
                for &i in nodes {
                    self.down.insert(i);
                    for p in self.procs[i].iter_mut() {
                        if let Some(mut p) = p.take() {
                            p.kill_hard();
                        }
                    }
                    let n = &self.nodes[i];
                    lab::ip(&["-n", &n.netns, "link", "set", &n.iface, "down"])?;
                }
            }
            Fault::Shutdown(i) => {
                self.down.insert(*i);
                for p in self.procs[*i].iter_mut().rev() {
                    if let Some(mut p) = p.take() {
                        p.stop();
                    }
                }
                let n = &self.nodes[*i];
                lab::ip(&["-n", &n.netns, "link", "set", &n.iface, "down"])?;
            }
            Fault::Daemon(i, d) => {
                if let Some(mut p) = self.procs[*i][*d as usize].take() {
                    p.kill_hard();
                }
            }
            Fault::Partition(nodes) => {
                for &i in nodes {
                    self.isolated.insert(i);
                    lab::ip(&[
                        "-n",
                        &self.switch,
                        "link",
                        "set",
                        &self.nodes[i].port,
                        "master",
                        "br1",
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// Everything back: links up, cut-off ports back on the bridge, every daemon that
    /// is not running started again.
    fn restore(&mut self, deadline: Instant) -> Result<(), Abort> {
        check_time(deadline)?;
        for i in std::mem::take(&mut self.isolated) {
            lab::ip(&[
                "-n",
                &self.switch,
                "link",
                "set",
                &self.nodes[i].port,
                "master",
                "br0",
            ])?;
        }
        for i in std::mem::take(&mut self.down) {
            self.link_up(i)?;
        }
        for d in DAEMONS {
            for i in 0..self.nodes.len() {
                if self.nodes[i].runs[d as usize] && self.procs[i][d as usize].is_none() {
                    self.start(i, d)?;
                }
            }
        }
        Ok(())
    }

    /// Waits until the lab shows `want` (the healthy state) again.
    fn settle(
        &mut self,
        want: &View,
        deadline: Instant,
        when: &str,
    ) -> Result<(), Box<(String, View)>> {
        let limit = Instant::now() + Duration::from_secs(SETTLE);
        let mut last = None;
        while Instant::now() < limit && check_time(deadline).is_ok() {
            if let Err(e) = self.assert_running() {
                return Err(Box::new((e.0, last.unwrap_or_else(|| want.clone()))));
            }
            let quick = self.observe(false, want);
            if quick.differences(want).is_empty() {
                let full = self.observe(true, want);
                if full.differences(want).is_empty() {
                    self.two_holders = false;
                    return Ok(());
                }
                last = Some(full);
            } else {
                last = Some(quick);
            }
            nap(Duration::from_millis(700));
        }
        let last = last.unwrap_or_else(|| want.clone());
        Err(Box::new((
            format!(
                "not healthy {SETTLE} s {when}: {}",
                last.differences(want).join("; ")
            ),
            last,
        )))
    }

    /// Injects the fault, watches until the prediction holds (then checks it stays for
    /// 2 s and holds from every node) or the scenario's bound passes.
    fn drill(&mut self, p: &Plan2, deadline: Instant) -> Result<ScenarioResult, Abort> {
        let want = &p.predicted;
        self.two_holders = false;
        if matches!(p.fault, Fault::None) {
            // The first look at a fresh lab: give it the time a real start takes.
            if let Err(e) = self.settle(want, deadline, "after the start") {
                let (why, seen) = *e;
                check_time(deadline)?;
                self.assert_running()?;
                return Ok(self.result(p, seen, None, why));
            }
            let seen = self.observe(true, want);
            let why = seen.differences(want).join("; ");
            return Ok(self.result(p, seen, Some(0.0), why));
        }
        self.inject(&p.fault)?;
        let t0 = Instant::now();
        let allowed = Duration::from_secs_f64(p.expected * 2.0 + 8.0);
        let mut last;
        loop {
            check_time(deadline)?;
            self.assert_running()?;
            // Recovery is counted to the start of the first look that saw it: a look
            // takes time of its own (a write into a minority waits out its timeout).
            let look = t0.elapsed().as_secs_f64();
            let quick = self.observe(false, want);
            if quick.differences(want).is_empty() {
                let took = look;
                nap(Duration::from_secs(2));
                let full = self.observe(true, want);
                if full.differences(want).is_empty() {
                    let mut why = String::new();
                    if took > p.expected * 2.0 + 3.0 {
                        why = format!(
                            "recovered in {took:.1} s, slower than the configs imply \
                             ({:.0} s)",
                            p.expected
                        );
                    }
                    return Ok(self.result(p, full, Some(took), why));
                }
                last = full;
            } else {
                last = quick;
            }
            if t0.elapsed() > allowed {
                let why = format!(
                    "after {:.0} s: {}",
                    t0.elapsed().as_secs_f64(),
                    last.differences(want).join("; ")
                );
                let full = self.observe(true, want);
                return Ok(self.result(p, full, None, why));
            }
            nap(Duration::from_millis(300));
        }
    }

    fn result(&self, p: &Plan2, seen: View, took: Option<f64>, why: String) -> ScenarioResult {
        let mut why = why;
        if self.two_holders {
            why = format!(
                "two VIP holders at once on one side{}{why}",
                if why.is_empty() { "" } else { "; " }
            );
        }
        let agree = why.is_empty();
        ScenarioResult {
            name: p.name.clone(),
            what: p.what.clone(),
            predicted: p.predicted.clone(),
            observed: seen,
            agree,
            why: if agree { "as predicted".into() } else { why },
            recovery_seconds: took,
            expected_seconds: p.expected,
            two_holders: self.two_holders,
        }
    }
}

/// Standard base64 (kubeconfig `*-data` fields).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'"' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
