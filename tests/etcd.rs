//! A real 3-member TLS etcd cluster on 127.0.0.x (x in 111..126) with the generated certificates and
//! kubeadm's etcd flags (shared/reference/real-tools.md §5): healthy through etcdctl
//! with the healthcheck-client certificate, survives SIGKILL of its leader with its data,
//! and refuses a client certificate from another CA. Once stacked (certificates on the
//! control planes), once external (on the etcd hosts, the API server's client on a
//! control plane). Every process is killed by its own PID when the test ends, passing
//! or not; every wait is bounded.

use hagen_core::pki::{Existing, SeededEntropy, generate};
use hagen_core::plan::Plan;
use hagen_core::topology::{EtcdType, Role};
use hagen_tests::{TempDir, plan_of, run, write_files};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The members started so far; killed (SIGKILL, by PID) and reaped on drop.
pub(crate) struct Members(pub(crate) Vec<Member>);

pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) ip: IpAddr,
    pub(crate) child: Option<Child>,
    pub(crate) log: PathBuf,
}

impl Drop for Members {
    fn drop(&mut self) {
        for m in &mut self.0 {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Members {
    pub(crate) fn logs(&self) -> String {
        self.0
            .iter()
            .map(|m| {
                let text = std::fs::read_to_string(&m.log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {} (last lines)\n{}",
                    m.name,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn endpoint(&self, i: usize) -> String {
        format!("https://{}:2379", self.0[i].ip)
    }
}

/// A client identity: CA bundle, certificate, key.
pub(crate) struct Client {
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

pub(crate) fn etcdctl(endpoints: &str, c: &Client, args: &[&str]) -> (bool, String) {
    run(Command::new("etcdctl")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .arg(format!("--cacert={}", c.ca.display()))
        .arg(format!("--cert={}", c.cert.display()))
        .arg(format!("--key={}", c.key.display()))
        .args(["--dial-timeout=2s", "--command-timeout=4s"])
        .args(args))
}

/// Polls `check` every 250 ms for at most `secs` seconds (and at most 200 tries).
pub(crate) fn wait_until(
    what: &str,
    secs: u64,
    members: &Members,
    mut check: impl FnMut() -> Result<(), String>,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::new();
    for _ in 0..200 {
        match check() {
            Ok(()) => return,
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}: {last}\n{}", members.logs());
}

/// The JSON etcdctl prints for `args` (`-w json`): the value that starts at the first
/// `opening` character (`[` for a list, so that JSON log lines before it are skipped).
pub(crate) fn etcdctl_json(
    endpoints: &str,
    client: &Client,
    args: &[&str],
    opening: char,
) -> Result<serde_json::Value, String> {
    let (ok, out) = etcdctl(endpoints, client, args);
    if !ok {
        return Err(out);
    }
    let start = out.find(opening).ok_or_else(|| out.clone())?;
    serde_json::Deserializer::from_str(&out[start..])
        .into_iter()
        .next()
        .ok_or("no JSON")?
        .map_err(|e| format!("{e}: {out}"))
}

/// The index of the leader among `alive`, from `endpoint status -w json`.
fn leader(members: &Members, alive: &[usize], client: &Client) -> Result<usize, String> {
    let eps: Vec<String> = alive.iter().map(|i| members.endpoint(*i)).collect();
    let json = etcdctl_json(
        &eps.join(","),
        client,
        &["endpoint", "status", "-w", "json"],
        '[',
    )?;
    let rows = json.as_array().ok_or("not an array")?;
    if rows.len() != alive.len() {
        return Err(format!(
            "{} of {} endpoints answered",
            rows.len(),
            alive.len()
        ));
    }
    for row in rows {
        let id = row["Status"]["header"]["member_id"].as_u64();
        let lead = row["Status"]["leader"].as_u64();
        if id.is_some() && id == lead {
            let ep = row["Endpoint"].as_str().unwrap_or_default();
            return alive
                .iter()
                .copied()
                .find(|i| members.endpoint(*i) == ep)
                .ok_or_else(|| format!("leader {ep} is not among the endpoints"));
        }
    }
    Err(format!("no leader yet: {json}"))
}

/// Moves the plan's etcd members (and control planes) onto loopback addresses.
pub(crate) fn on_loopback(mut plan: Plan, first: u8) -> Plan {
    for (last, node) in (first..).zip(plan.nodes.iter_mut()) {
        node.address = IpAddr::from([127, 0, 0, last]);
    }
    plan
}

fn drill(plan: &Plan, tag: &str) {
    let pki = generate(
        plan,
        &Existing::none(),
        &mut SeededEntropy::new(11),
        crate::pki::now(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new(tag);
    write_files(dir.path(), pki.files.iter().map(|(p, f)| (p, f)));
    let node_dir = |name: &str| dir.path().join("nodes").join(name);
    let stacked = plan.etcd == EtcdType::Stacked;
    // The member's own files, at the paths its flags name.
    let member_pki = |name: &str| -> PathBuf {
        if stacked {
            node_dir(name).join("etc/kubernetes/pki/etcd")
        } else {
            node_dir(name).join("etc/etcd/pki")
        }
    };
    let members_of: Vec<&hagen_core::plan::Node> = plan.etcd_members().collect();
    assert_eq!(members_of.len(), 3);
    let initial: Vec<String> = members_of
        .iter()
        .map(|n| format!("{}=https://{}:2380", n.name, n.address))
        .collect();
    let mut members = Members(Vec::new());
    for node in &members_of {
        let pki_dir = member_pki(&node.name);
        let data = dir.path().join(format!("data-{}", node.name));
        std::fs::create_dir_all(&data).expect("mkdir");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        }
        let log = dir.path().join(format!("{}.log", node.name));
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let p = |f: &str| pki_dir.join(f).display().to_string();
        let ip = node.address;
        let child = Command::new("etcd")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .args([
                format!("--name={}", node.name),
                format!("--data-dir={}", data.display()),
                format!("--advertise-client-urls=https://{ip}:2379"),
                format!("--listen-client-urls=https://{ip}:2379"),
                format!("--listen-peer-urls=https://{ip}:2380"),
                format!("--initial-advertise-peer-urls=https://{ip}:2380"),
                format!("--initial-cluster={}", initial.join(",")),
                "--initial-cluster-state=new".into(),
                "--client-cert-auth=true".into(),
                format!("--cert-file={}", p("server.crt")),
                format!("--key-file={}", p("server.key")),
                format!("--trusted-ca-file={}", p("ca.crt")),
                "--peer-client-cert-auth=true".into(),
                format!("--peer-cert-file={}", p("peer.crt")),
                format!("--peer-key-file={}", p("peer.key")),
                format!("--peer-trusted-ca-file={}", p("ca.crt")),
                "--snapshot-count=10000".into(),
                "--experimental-initial-corrupt-check=true".into(),
                "--experimental-watch-progress-notify-interval=5s".into(),
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("etcd starts (apt-get install etcd-server etcd-client)");
        members.0.push(Member {
            name: node.name.clone(),
            ip,
            child: Some(child),
            log,
        });
    }

    // Each member is healthy for its own healthcheck-client certificate.
    for (i, node) in members_of.iter().enumerate() {
        let pki_dir = member_pki(&node.name);
        let hc = Client {
            ca: pki_dir.join("ca.crt"),
            cert: pki_dir.join("healthcheck-client.crt"),
            key: pki_dir.join("healthcheck-client.key"),
        };
        let ep = members.endpoint(i);
        wait_until(&format!("{ep} healthy"), 30, &members, || {
            let (ok, out) = etcdctl(&ep, &hc, &["endpoint", "health"]);
            if ok && out.contains("is healthy") {
                Ok(())
            } else {
                Err(out)
            }
        });
    }

    // Writes as the API server does, from the first control plane.
    let cp = plan
        .nodes
        .iter()
        .find(|n| n.has(Role::ControlPlane))
        .expect("control plane");
    let cp_pki = node_dir(&cp.name).join("etc/kubernetes/pki");
    let api = Client {
        ca: cp_pki.join("etcd/ca.crt"),
        cert: cp_pki.join("apiserver-etcd-client.crt"),
        key: cp_pki.join("apiserver-etcd-client.key"),
    };
    let all = format!(
        "{},{},{}",
        members.endpoint(0),
        members.endpoint(1),
        members.endpoint(2)
    );
    let (ok, out) = etcdctl(&all, &api, &["put", "/hagen/drill", "before"]);
    assert!(ok, "put: {out}\n{}", members.logs());

    let mut lead = None;
    wait_until("a leader", 20, &members, || {
        lead = Some(leader(&members, &[0, 1, 2], &api)?);
        Ok(())
    });
    let lead = lead.expect("leader");
    // Peer certificates lacking a member's IP still let a one-host cluster form (real-tools
    // §5), so the member logs are the proof.
    for m in &members.0 {
        let text = std::fs::read_to_string(&m.log).unwrap_or_default();
        assert!(
            !text.contains("x509:") && !text.contains("bad certificate"),
            "{} logged TLS errors:\n{}",
            m.name,
            members.logs()
        );
    }
    if let Some(mut child) = members.0[lead].child.take() {
        child.kill().expect("SIGKILL the leader");
        child.wait().expect("reap");
    }
    let alive: Vec<usize> = (0..3).filter(|i| *i != lead).collect();
    let eps: Vec<String> = alive.iter().map(|i| members.endpoint(*i)).collect();
    let eps = eps.join(",");
    wait_until("a new leader", 20, &members, || {
        leader(&members, &alive, &api).map(|_| ())
    });
    let (ok, out) = etcdctl(&eps, &api, &["get", "/hagen/drill", "--print-value-only"]);
    assert!(
        ok && out.trim() == "before",
        "data lost: {out}\n{}",
        members.logs()
    );
    let (ok, out) = etcdctl(&eps, &api, &["put", "/hagen/drill", "after"]);
    assert!(ok, "write on two members: {out}");
    let (ok, out) = etcdctl(&eps, &api, &["get", "/hagen/drill", "--print-value-only"]);
    assert!(ok && out.trim() == "after", "{out}");

    // A client certificate from the Kubernetes CA is refused at the handshake.
    let foreign = Client {
        ca: cp_pki.join("etcd/ca.crt"),
        cert: cp_pki.join("apiserver-kubelet-client.crt"),
        key: cp_pki.join("apiserver-kubelet-client.key"),
    };
    let (ok, out) = etcdctl(&eps, &foreign, &["get", "/hagen/drill"]);
    assert!(!ok, "a foreign client certificate was accepted: {out}");
    let survivor = &members.0[alive[0]];
    wait_until("the refusal in the member log", 10, &members, || {
        let text = std::fs::read_to_string(&survivor.log).unwrap_or_default();
        if text.contains("certificate signed by unknown authority") {
            Ok(())
        } else {
            Err("not logged yet".into())
        }
    });
}

#[test]
fn stacked_etcd_cluster_runs_on_the_generated_pki() {
    // 127.0.0.111..113: apart from the addresses the load-balancer drills use.
    let plan = on_loopback(plan_of("valid/haproxy-keepalived-stacked.yaml", None), 111);
    drill(&plan, "etcd-stacked");
}

#[test]
fn external_etcd_cluster_runs_on_the_generated_pki() {
    // cp-1, cp-2, etcd-1..3, worker-1 → 127.0.0.121..126.
    let plan = on_loopback(plan_of("valid/external-etcd.yaml", None), 121);
    assert_eq!(plan.etcd, EtcdType::External);
    drill(&plan, "etcd-external");
}
