//! A real 3-member TLS etcd (hagen's certificates, on 127.0.0.x) runs the etcd steps of
//! `hagen plan` in their order — `member add --learner`, start, `member promote`,
//! `member remove` — and after every step the membership etcd reports equals the step's
//! state (voting members, learners) and a write through the voting members succeeds.
//! Once replacing a healthy member (add before remove), once replacing a dead one
//! (killed first; removed before anyone is added), and once on external etcd, the new
//! member started from the `etcd.conf.yml` of its step. New members get their
//! certificates from their step's files, old ones from the old bundle. Mechanics from
//! `tests/etcd.rs`;
//! every process is killed by its PID when the test ends. And a CA rotation
//! (`--rotate-ca`, stacked and external): every member restarted with its step's files,
//! one at a time, healthy and writable after each; the old CA's client refused at the end.

use crate::etcd::{Client, Member, Members, etcdctl, etcdctl_json, on_loopback, wait_until};
use hagen_core::change::{self, Action, Options};
use hagen_core::pki::{Existing, Pki, SeededEntropy, generate};
use hagen_core::plan::{Node, Plan};
use hagen_core::source::SourceFile;
use hagen_core::topology::Role;
use hagen_tests::sandbox::require_real_tools;
use hagen_tests::{TempDir, write_files};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const OLD: &str = "apiVersion: hagen/v1alpha1
kind: Topology
metadata:
  name: day2
spec:
  kubernetesVersion: v1.31.2
  controlPlaneEndpoint:
    vip: 10.0.0.100/24
    port: 8443
  loadBalancer:
    type: haproxy-keepalived
    interface: eth0
  nodes:
    - {name: m1, address: 10.0.0.11, roles: [control-plane]}
    - {name: m2, address: 10.0.0.12, roles: [control-plane]}
    - {name: m3, address: 10.0.0.13, roles: [control-plane]}
";

fn plan_of(text: &str) -> Plan {
    crate::day2::plan_text(text)
}

/// m4 instead of m3.
fn new_text() -> String {
    OLD.replace(
        "{name: m3, address: 10.0.0.13",
        "{name: m4, address: 10.0.0.14",
    )
}

/// The union of both plans on loopback from `first`, by name.
fn loopback(old: &Plan, new: &Plan, first: u8) -> (Plan, Plan, Plan) {
    let union = on_loopback(
        Plan {
            nodes: change::union_nodes(old, new),
            ..new.clone()
        },
        first,
    );
    let relocate = |p: &Plan| {
        let mut p = p.clone();
        for n in &mut p.nodes {
            n.address = union
                .nodes
                .iter()
                .find(|u| u.name == n.name)
                .expect("in the union")
                .address;
        }
        p
    };
    (relocate(old), relocate(new), union)
}

struct Cluster<'a> {
    dir: &'a Path,
    union: &'a Plan,
    members: Members,
    client: Client,
}

impl Cluster<'_> {
    fn node(&self, name: &str) -> &Node {
        self.union
            .nodes
            .iter()
            .find(|n| n.name == name)
            .expect("a node")
    }

    /// Starts a member from the flags kubeadm writes into its static pod.
    fn start(&mut self, name: &str, initial: &[String], state: &str) {
        let node = self.node(name).clone();
        let pki = self
            .dir
            .join("nodes")
            .join(name)
            .join(if node.has(Role::Etcd) {
                "etc/etcd/pki"
            } else {
                "etc/kubernetes/pki/etcd"
            });
        let data = self.dir.join(format!("data-{name}"));
        std::fs::create_dir_all(&data).expect("mkdir");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        }
        let log = self.dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let p = |f: &str| pki.join(f).display().to_string();
        let ip = node.address;
        let cluster: Vec<String> = initial
            .iter()
            .map(|m| format!("{m}={}", self.node(m).etcd_peer_url()))
            .collect();
        let child = Command::new("etcd")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .args([
                format!("--name={name}"),
                format!("--data-dir={}", data.display()),
                format!("--advertise-client-urls=https://{ip}:2379"),
                format!("--listen-client-urls=https://{ip}:2379"),
                format!("--listen-peer-urls=https://{ip}:2380"),
                format!("--initial-advertise-peer-urls=https://{ip}:2380"),
                format!("--initial-cluster={}", cluster.join(",")),
                format!("--initial-cluster-state={state}"),
                "--client-cert-auth=true".into(),
                format!("--cert-file={}", p("server.crt")),
                format!("--key-file={}", p("server.key")),
                format!("--trusted-ca-file={}", p("ca.crt")),
                "--peer-client-cert-auth=true".into(),
                format!("--peer-cert-file={}", p("peer.crt")),
                format!("--peer-key-file={}", p("peer.key")),
                format!("--peer-trusted-ca-file={}", p("ca.crt")),
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("etcd starts (apt-get install etcd-server etcd-client)");
        self.members.0.push(Member {
            name: name.to_string(),
            ip,
            child: Some(child),
            log,
        });
    }

    /// Starts an external member from the `etc/etcd/etcd.conf.yml` its plan step wrote,
    /// with the node's paths moved under the scratch directory and the loopback-only
    /// listeners dropped (all members share this host's 127.0.0.1).
    fn start_from_config(&mut self, name: &str, conf: &str) {
        let node_root = self.dir.join("nodes").join(name);
        let data = self.dir.join(format!("data-{name}"));
        let text = conf
            .replace(
                "/etc/etcd/pki/",
                &format!("{}/etc/etcd/pki/", node_root.display()),
            )
            .replace(
                "data-dir: /var/lib/etcd",
                &format!("data-dir: {}", data.display()),
            )
            .replace(",https://127.0.0.1:2379", "")
            .lines()
            .filter(|l| !l.starts_with("listen-metrics-urls"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("initial-cluster-state: existing"), "{text}");
        let path = self.dir.join(format!("{name}.conf.yml"));
        std::fs::write(&path, text).expect("write the config");
        let log = self.dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = Command::new("etcd")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .arg(format!("--config-file={}", path.display()))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("etcd starts");
        self.members.0.push(Member {
            name: name.to_string(),
            ip: self.node(name).address,
            child: Some(child),
            log,
        });
    }

    fn kill(&mut self, name: &str) {
        for m in &mut self.members.0 {
            if m.name == name
                && let Some(mut child) = m.child.take()
            {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    fn running_endpoints(&self) -> String {
        self.members
            .0
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| format!("https://{}:2379", m.ip))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `member list`: peer URL → (hex id, is learner).
    fn list(&self) -> Result<BTreeMap<String, (String, bool)>, String> {
        let json = etcdctl_json(
            &self.running_endpoints(),
            &self.client,
            &["member", "list", "-w", "json"],
            '{',
        )?;
        let mut map = BTreeMap::new();
        for m in json["members"].as_array().ok_or("no members")? {
            let id = m["ID"].as_u64().ok_or("no ID")?;
            let peer = m["peerURLs"][0].as_str().ok_or("no peer URL")?.to_string();
            map.insert(
                peer,
                (format!("{id:x}"), m["isLearner"].as_bool().unwrap_or(false)),
            );
        }
        Ok(map)
    }

    fn id(&self, name: &str) -> String {
        let peer = self.node(name).etcd_peer_url();
        self.list()
            .unwrap_or_else(|e| panic!("member list: {e}\n{}", self.members.logs()))
            .get(&peer)
            .unwrap_or_else(|| panic!("{name} is not a member"))
            .0
            .clone()
    }

    fn ctl(&self, args: &[&str]) -> (bool, String) {
        etcdctl(&self.running_endpoints(), &self.client, args)
    }
}

/// The old bundle's PKI as `hagen render` makes it (seeded), and every step's files of
/// `p` as `hagen plan --from` that bundle writes them.
fn old_bundle_and_steps(
    p: &change::ChangePlan,
    old: &Plan,
    new: &Plan,
    new_text: &str,
) -> (Pki, change::files::Materialized) {
    let now = crate::pki::now();
    let old_pki = generate(old, &Existing::none(), &mut SeededEntropy::new(5), now)
        .unwrap_or_else(|e| panic!("{e}"));
    let existing = Existing::from_bundle(
        old_pki
            .files
            .iter()
            .map(|(p, f)| (p.as_str(), f.bytes.as_slice())),
    )
    .expect("the old PKI");
    let made = change::files::materialize(
        p,
        old,
        new,
        &SourceFile::new("new.yaml", new_text.to_string()),
        &[],
        &existing,
        &mut SeededEntropy::new(6),
        now,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (old_pki, made)
}

fn run_plan(tag: &str, first: u8, old_text: &str, new_text: &str, dead: &[&str]) {
    let old = plan_of(old_text);
    let new = plan_of(new_text);
    let (old, new, union) = loopback(&old, &new, first);
    let opts = Options {
        dead: dead.iter().map(|d| d.to_string()).collect(),
        ..Options::default()
    };
    let p = change::plan_change(&old, &new, &opts).expect("plans");
    // As `hagen render` then `hagen plan` would: the old nodes hold the old bundle's
    // files; a new node gets its files from its step.
    let (old_pki, made) = old_bundle_and_steps(&p, &old, &new, new_text);
    let dir = TempDir::new(tag);
    write_files(dir.path(), old_pki.files.iter().map(|(p, f)| (p, f)));
    let cp_name = old
        .control_planes()
        .next()
        .expect("a control plane")
        .name
        .clone();
    let cp = |n: &str| -> PathBuf { dir.path().join("nodes").join(n).join("etc/kubernetes/pki") };
    let mut c = Cluster {
        dir: dir.path(),
        union: &union,
        members: Members(Vec::new()),
        client: Client {
            ca: cp(&cp_name).join("etcd/ca.crt"),
            cert: cp(&cp_name).join("apiserver-etcd-client.crt"),
            key: cp(&cp_name).join("apiserver-etcd-client.key"),
        },
    };
    let initial: Vec<String> = p.initial.etcd_members.clone();
    for m in &initial {
        c.start(m, &initial, "new");
    }
    wait_until("the old cluster healthy", 30, &c.members, || {
        let (ok, out) = c.ctl(&["endpoint", "health"]);
        if ok { Ok(()) } else { Err(out) }
    });
    for d in dead {
        c.kill(d);
    }
    let mut log = Vec::new();
    for step in &p.steps {
        let n = step.node.as_str();
        match step.action {
            Action::AddLearner => {
                let peer = c.node(n).etcd_peer_url();
                // etcd's strict reconfiguration check refuses any member change until
                // every voting member has been connected for 5 s ("unhealthy cluster"),
                // so a dead voting member blocks even a learner: retry while it says so.
                wait_until(&step.id, 30, &c.members, || {
                    let (ok, out) = c.ctl(&[
                        "member",
                        "add",
                        n,
                        &format!("--peer-urls={peer}"),
                        "--learner",
                    ]);
                    if ok {
                        Ok(())
                    } else if out.contains("unhealthy cluster") {
                        Err(out)
                    } else {
                        panic!("{}: {out}\n{}", step.id, c.members.logs())
                    }
                });
            }
            Action::JoinControlPlane | Action::StartEtcdMember => {
                // The node's files from its step, as `rsync` puts them.
                let files = made.steps.get(&step.id).expect("the step's files");
                write_files(dir.path(), files.iter().map(|(p, f)| (p, f)));
                if step.action == Action::StartEtcdMember {
                    let conf = files
                        .iter()
                        .find(|(p, _)| p.ends_with("etc/etcd/etcd.conf.yml"))
                        .expect("the step's etcd.conf.yml");
                    c.start_from_config(n, &String::from_utf8_lossy(&conf.1.bytes));
                } else {
                    let mut cluster = step.state.etcd_members.clone();
                    cluster.extend(step.state.etcd_learners.iter().cloned());
                    c.start(n, &cluster, "existing");
                }
                wait_until(&format!("{} started", step.id), 45, &c.members, || {
                    let (ok, out) = etcdctl(
                        &format!("https://{}:2379", c.node(n).address),
                        &c.client,
                        &["endpoint", "status"],
                    );
                    if ok { Ok(()) } else { Err(out) }
                });
            }
            Action::PromoteLearner => {
                let id = c.id(n);
                // etcd refuses while the learner is behind (kubernetes/kubeadm#2997): retry.
                wait_until(&step.id, 30, &c.members, || {
                    let (ok, out) = c.ctl(&["member", "promote", &id]);
                    if ok { Ok(()) } else { Err(out) }
                });
            }
            Action::RemoveMember | Action::RemoveDeadMember => {
                let id = c.id(n);
                // The same strict check: a just-promoted member must have been
                // connected for 5 s before another member may leave.
                wait_until(&step.id, 30, &c.members, || {
                    let (ok, out) = c.ctl(&["member", "remove", &id]);
                    if ok || out.contains("member not found") {
                        // (not found: an earlier attempt that timed out was applied)
                        Ok(())
                    } else {
                        // Removal is idempotent, so every refusal is retried within the
                        // bound: etcd's answer varies with load ("unhealthy cluster"
                        // under the strict check, "deadline exceeded", "server stopped"
                        // from the member being removed, a leader change…); the member
                        // list is checked after the step.
                        Err(out)
                    }
                });
                c.kill(n);
            }
            _ => continue,
        }
        // etcd's view equals the step's state, and the voting members take a write.
        let voting: Vec<String> = step
            .state
            .etcd_members
            .iter()
            .map(|m| c.node(m).etcd_peer_url())
            .collect();
        let learners: Vec<String> = step
            .state
            .etcd_learners
            .iter()
            .map(|m| c.node(m).etcd_peer_url())
            .collect();
        wait_until(&format!("{} state", step.id), 20, &c.members, || {
            let list = c.list()?;
            let v: Vec<&String> = list.iter().filter(|(_, m)| !m.1).map(|(p, _)| p).collect();
            let l: Vec<&String> = list.iter().filter(|(_, m)| m.1).map(|(p, _)| p).collect();
            let mut want_v: Vec<&String> = voting.iter().collect();
            let mut want_l: Vec<&String> = learners.iter().collect();
            want_v.sort();
            want_l.sort();
            if v == want_v && l == want_l {
                Ok(())
            } else {
                Err(format!(
                    "voting {v:?} learners {l:?}, want {want_v:?} {want_l:?}"
                ))
            }
        });
        let up: Vec<String> = step
            .state
            .etcd_members
            .iter()
            .filter(|m| !step.state.dead.contains(m))
            .map(|m| format!("https://{}:2379", c.node(m).address))
            .collect();
        wait_until(&format!("{} healthy", step.id), 20, &c.members, || {
            let (ok, out) = etcdctl(&up.join(","), &c.client, &["endpoint", "health"]);
            if !ok {
                return Err(out);
            }
            let (ok, out) = etcdctl(&up.join(","), &c.client, &["put", "/hagen/day2", &step.id]);
            if ok { Ok(()) } else { Err(out) }
        });
        log.push(step.id.clone());
    }
    eprintln!("{tag}: etcd stayed healthy through {log:?}");
    assert!(log.iter().any(|s| s.contains("promote-learner")));
    assert!(log.iter().any(|s| s.contains("remove-")));
}

#[test]
fn real_etcd_replaces_a_healthy_member_learner_first() {
    if !require_real_tools() {
        return;
    }
    run_plan("day2-etcd-healthy", 161, OLD, &new_text(), &[]);
}

#[test]
fn real_etcd_replaces_a_dead_member_removing_it_first() {
    if !require_real_tools() {
        return;
    }
    run_plan("day2-etcd-dead", 171, OLD, &new_text(), &["m3"]);
}

/// External etcd: etcd-4 replaces etcd-3, started from the `etcd.conf.yml` its step wrote
/// (`initial-cluster-state: existing`, the membership it will find).
#[test]
fn real_external_etcd_member_starts_from_its_step_files() {
    if !require_real_tools() {
        return;
    }
    let old = "apiVersion: hagen/v1alpha1
kind: Topology
metadata:
  name: day2x
spec:
  kubernetesVersion: v1.31.2
  controlPlaneEndpoint:
    vip: 10.0.0.100/24
    port: 8443
  loadBalancer:
    type: haproxy-keepalived
    interface: eth0
  etcd:
    type: external
  nodes:
    - {name: cp-1, address: 10.0.0.11, roles: [control-plane]}
    - {name: cp-2, address: 10.0.0.12, roles: [control-plane]}
    - {name: etcd-1, address: 10.0.0.21, roles: [etcd]}
    - {name: etcd-2, address: 10.0.0.22, roles: [etcd]}
    - {name: etcd-3, address: 10.0.0.23, roles: [etcd]}
";
    let new = old.replace(
        "{name: etcd-3, address: 10.0.0.23",
        "{name: etcd-4, address: 10.0.0.24",
    );
    run_plan("day2-etcd-external", 181, old, &new, &[]);
}

/// `--rotate-ca` on a real etcd: the members start from the old bundle; every step's
/// files are written over the nodes' files as `rsync` would, and a member whose node the
/// step restarts is restarted. After each restart every member is healthy, their peer
/// links (old certificates against bundles, new ones against bundles) carry a write,
/// and the client is the first control plane's API server client of that moment. At the
/// end, a client with the old CA's certificate is refused.
fn run_rotation(tag: &str, first: u8, text: &str) {
    let plain = plan_of(text);
    let (plan, _, _) = loopback(&plain, &plain, first);
    let opts = Options {
        rotate_ca: true,
        ..Options::default()
    };
    let p = change::plan_change(&plan, &plan, &opts).expect("plans");
    let (old_pki, made) = old_bundle_and_steps(&p, &plan, &plan, text);
    let dir = TempDir::new(tag);
    write_files(dir.path(), old_pki.files.iter().map(|(p, f)| (p, f)));
    let old_client_dir = dir.path().join("old-client");
    write_files(&old_client_dir, old_pki.files.iter().map(|(p, f)| (p, f)));
    let cp_name = plan
        .control_planes()
        .next()
        .expect("a control plane")
        .name
        .clone();
    let client_of = |root: &Path| {
        let pki = root.join("nodes").join(&cp_name).join("etc/kubernetes/pki");
        Client {
            ca: pki.join("etcd/ca.crt"),
            cert: pki.join("apiserver-etcd-client.crt"),
            key: pki.join("apiserver-etcd-client.key"),
        }
    };
    let mut c = Cluster {
        dir: dir.path(),
        union: &plan,
        members: Members(Vec::new()),
        client: client_of(dir.path()),
    };
    let members: Vec<String> = p.initial.etcd_members.clone();
    for m in &members {
        c.start(m, &members, "new");
    }
    let endpoints: Vec<String> = members
        .iter()
        .map(|m| format!("https://{}:2379", c.node(m).address))
        .collect();
    let healthy = |c: &Cluster, what: &str| {
        wait_until(what, 30, &c.members, || {
            let (ok, out) = etcdctl(&endpoints.join(","), &c.client, &["endpoint", "health"]);
            if !ok {
                return Err(out);
            }
            let (ok, out) = etcdctl(
                &endpoints.join(","),
                &c.client,
                &["put", "/hagen/rotate", what],
            );
            if ok { Ok(()) } else { Err(out) }
        });
    };
    healthy(&c, "the old cluster");
    let mut restarted = Vec::new();
    for step in &p.steps {
        if let Some(files) = made.steps.get(&step.id) {
            write_files(dir.path(), files.iter().map(|(p, f)| (p, f)));
        }
        let mut any = false;
        for r in &step.restarts {
            if members.contains(r) {
                c.kill(r);
                c.start(r, &members, "new");
                any = true;
            }
        }
        if any || step.action == Action::RotateControlPlane {
            healthy(&c, &step.id);
            restarted.push(step.id.clone());
        }
    }
    eprintln!("{tag}: etcd stayed healthy through {restarted:?}");
    assert_eq!(
        restarted.iter().filter(|s| s.contains("rotate-")).count(),
        3 * plan
            .nodes
            .iter()
            .filter(|n| members.contains(&n.name) || n.has(Role::ControlPlane))
            .count(),
        "{restarted:?}"
    );
    // The old CA is gone: its client certificate no longer gets in, the new one does.
    let old_client = Client {
        ca: c.client.ca.clone(),
        ..client_of(&old_client_dir)
    };
    let (ok, out) = etcdctl(&endpoints.join(","), &old_client, &["get", "/hagen/rotate"]);
    assert!(!ok, "the old CA's client still gets in: {out}");
    let ca = std::fs::read_to_string(&c.client.ca).expect("ca");
    assert_eq!(ca.matches("BEGIN CERTIFICATE").count(), 1);
}

#[test]
fn real_etcd_stays_healthy_through_a_ca_rotation_stacked() {
    if !require_real_tools() {
        return;
    }
    run_rotation("day2-rotate-stacked", 191, OLD);
}

#[test]
fn real_external_etcd_stays_healthy_through_a_ca_rotation() {
    if !require_real_tools() {
        return;
    }
    let text = "apiVersion: hagen/v1alpha1
kind: Topology
metadata:
  name: rotx
spec:
  kubernetesVersion: v1.31.2
  controlPlaneEndpoint:
    vip: 10.0.0.100/24
    port: 8443
  loadBalancer:
    type: haproxy-keepalived
    interface: eth0
  etcd:
    type: external
  nodes:
    - {name: cp-1, address: 10.0.0.11, roles: [control-plane]}
    - {name: cp-2, address: 10.0.0.12, roles: [control-plane]}
    - {name: etcd-1, address: 10.0.0.21, roles: [etcd]}
    - {name: etcd-2, address: 10.0.0.22, roles: [etcd]}
    - {name: etcd-3, address: 10.0.0.23, roles: [etcd]}
";
    run_rotation("day2-rotate-external", 201, text);
}
