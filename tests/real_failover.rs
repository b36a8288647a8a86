//! Failover through the generated proxies, with the real programs, on loopback: three
//! fake TLS API servers (`tools/fake_apiserver.py`, certificates from the test PKI) on
//! 127.0.0.x, and the bundle's own haproxy.cfg or nginx.conf, unchanged, in front. Each
//! test runs in its own network namespace (only `lo`, up), so nothing listens on the
//! host's interfaces and ports cannot collide with anything else.
//!
//! haproxy: every server reaches UP/L7OK; a killed one goes DOWN within inter × fall
//! (+ one interval and a margin) while requests through the endpoint keep succeeding;
//! a server presenting another node's certificate stays DOWN (verify + verifyhost);
//! the real one comes back UP. nginx-local: requests keep succeeding and are served by
//! the remaining servers when one dies; it is used again after fail_timeout.

use crate::real::{bundle_files, render_text};
use hagen_tests::sandbox::{
    Netns, Proc, Scratch, TestPki, in_netns, materialize, node_command_in, require_real_tools,
    run_bounded, run_name, text, tool, wait_for,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DNS: &str = "api.loop.test";
const PORT: u16 = 18443;
const BIND_PORT: u16 = 16443;

/// A topology whose control planes sit on loopback addresses, so the generated files can
/// run unchanged on one machine.
fn loop_topology(
    lb: &str,
    vip: Option<&str>,
    cps: &[(&str, &str)],
    workers: &[(&str, &str)],
) -> String {
    let mut t = format!(
        "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: loop\nspec:\n  \
         kubernetesVersion: v1.31.2\n  controlPlaneEndpoint:\n    dns: {DNS}\n    port: {PORT}\n"
    );
    if let Some(vip) = vip {
        t.push_str(&format!("    vip: {vip}\n"));
    }
    t.push_str(&format!(
        "  apiServer:\n    bindPort: {BIND_PORT}\n  loadBalancer:\n    type: {lb}\n"
    ));
    if lb.contains("keepalived") {
        t.push_str("    interface: eth0\n    virtualRouterId: 61\n");
    }
    t.push_str("  nodes:\n");
    for (name, ip) in cps {
        t.push_str(&format!(
            "    - {{name: {name}, address: {ip}, roles: [control-plane]}}\n"
        ));
    }
    for (name, ip) in workers {
        t.push_str(&format!(
            "    - {{name: {name}, address: {ip}, roles: [worker]}}\n"
        ));
    }
    t
}

/// A lab: scratch directory, test PKI, a network namespace and the fake API servers.
/// Fields drop in order: servers are stopped before the namespace is deleted.
struct Lab {
    servers: BTreeMap<String, Proc>,
    /// Deleted (by name) once the servers are stopped.
    _netns: Netns,
    ns: String,
    pki: TestPki,
    bundle: PathBuf,
    scratch: Scratch,
    cps: Vec<(String, String)>,
}

impl Lab {
    fn new(tag: &str, topology: &str, cps: &[(&str, &str)], extra_sans: &[&str]) -> Self {
        let scratch = Scratch::new(tag);
        let bundle = scratch.join("bundle");
        materialize(&bundle_files(&render_text(tag, topology)), &bundle);
        // The certificates and CA are the ones hagen makes for this topology; the endpoint
        // name and VIP must be in them already (`extra_sans` is what the test relies on).
        let pki = TestPki::from_topology(&scratch.join("pki"), topology);
        for (node, _) in cps {
            let (crt, _) = pki.apiserver_pair(node);
            let text = std::process::Command::new("openssl")
                .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
                .arg(&crt)
                .output()
                .expect("openssl runs");
            let sans = String::from_utf8_lossy(&text.stdout).into_owned();
            for want in extra_sans {
                assert!(
                    sans.contains(want),
                    "{node}'s apiserver.crt lacks {want}: {sans}"
                );
            }
        }
        let ns = run_name(tag);
        let mut netns = Netns::default();
        netns.add(&ns);
        let mut lab = Self {
            servers: BTreeMap::new(),
            _netns: netns,
            ns,
            pki,
            bundle,
            scratch,
            cps: cps
                .iter()
                .map(|(n, i)| (n.to_string(), i.to_string()))
                .collect(),
        };
        for (node, _) in cps {
            lab.start_server(node, node);
        }
        lab
    }

    fn ip(&self, node: &str) -> String {
        self.cps.iter().find(|(n, _)| n == node).unwrap().1.clone()
    }

    /// Starts the fake API server of `node`, presenting the certificate of `cert_of`;
    /// waits until it listens.
    fn start_server(&mut self, node: &str, cert_of: &str) {
        if let Some(mut old) = self.servers.remove(node) {
            old.stop();
        }
        let (crt, key) = self.pki.apiserver_pair(cert_of);
        let ready = self.scratch.join(&format!("ready-{node}"));
        let _ = std::fs::remove_file(&ready);
        let mut cmd = in_netns(&self.ns, "/usr/bin/python3");
        cmd.arg(tool("fake_apiserver.py"))
            .arg("--listen")
            .arg(format!("{}:{BIND_PORT}", self.ip(node)))
            .arg("--cert")
            .arg(crt)
            .arg("--key")
            .arg(key)
            .arg("--name")
            .arg(node)
            .arg("--ready-file")
            .arg(&ready);
        let mut proc = Proc::spawn(node, cmd, &self.scratch.join(&format!("{node}.log")));
        let up = wait_for(Duration::from_secs(10), Duration::from_millis(20), || {
            ready.exists().then_some(())
        });
        proc.assert_running();
        assert!(
            up.is_some(),
            "fake API server {node} never listened:\n{}",
            proc.log()
        );
        self.servers.insert(node.to_string(), proc);
    }

    fn kill_server(&mut self, node: &str) {
        let mut p = self.servers.remove(node).unwrap();
        p.kill_hard();
    }

    fn node_etc(&self, node: &str) -> PathBuf {
        self.bundle.join("nodes").join(node).join("etc")
    }

    /// One request through the endpoint, dialled at `address`; the name of the server
    /// that answered.
    fn request(&self, address: &str) -> Result<String, String> {
        let mut cmd = in_netns(&self.ns, "curl");
        cmd.args(["--silent", "--show-error", "--fail", "--max-time", "8"])
            .arg("--cacert")
            .arg(self.pki.ca())
            .arg("--resolve")
            .arg(format!("{DNS}:{PORT}:{address}"))
            .arg(format!("https://{DNS}:{PORT}/name"));
        let out = run_bounded(cmd, Duration::from_secs(15));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(text(&out))
        }
    }

    /// One request to the VIP as an address (`https://VIP:PORT/`), so TLS is verified
    /// against the VIP as an IP SAN rather than the endpoint name.
    fn request_by_ip(&self, vip: &str) -> Result<String, String> {
        let mut cmd = in_netns(&self.ns, "curl");
        cmd.args(["--silent", "--show-error", "--fail", "--max-time", "8"])
            .arg("--cacert")
            .arg(self.pki.ca())
            .arg(format!("https://{vip}:{PORT}/name"));
        let out = run_bounded(cmd, Duration::from_secs(15));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(text(&out))
        }
    }

    /// `n` requests, every one must succeed; the servers that answered.
    fn requests(&self, address: &str, n: usize) -> BTreeSet<String> {
        (0..n)
            .map(|i| {
                self.request(address)
                    .unwrap_or_else(|e| panic!("request {i} through {address} failed: {e}"))
            })
            .collect()
    }
}

/// `inter`, `fall` and `rise` of haproxy's `default-server` line, in ms / counts.
fn check_timing(cfg: &str) -> (u64, u64, u64) {
    let line = cfg
        .lines()
        .find(|l| l.trim_start().starts_with("default-server"))
        .expect("haproxy.cfg has a default-server line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let value = |key: &str| {
        words
            .windows(2)
            .find(|w| w[0] == key)
            .map(|w| w[1])
            .unwrap_or_else(|| panic!("default-server has no {key}: {line}"))
    };
    let inter = value("inter");
    let inter_ms = if let Some(ms) = inter.strip_suffix("ms") {
        ms.parse().unwrap()
    } else if let Some(s) = inter.strip_suffix('s') {
        s.parse::<u64>().unwrap() * 1000
    } else {
        inter.parse().unwrap()
    };
    (
        inter_ms,
        value("fall").parse().unwrap(),
        value("rise").parse().unwrap(),
    )
}

/// A lower maxconn when this machine's hard file limit cannot hold the generated one.
fn fitting_maxconn(cfg: &str) -> Option<u64> {
    let maxconn: u64 = cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("maxconn "))?
        .trim()
        .parse()
        .ok()?;
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let hard: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(4)?
        .parse()
        .ok()?;
    let need = 2 * maxconn + 100;
    (hard < need).then(|| (hard - 100) / 2)
}

/// `show stat` over haproxy's admin socket: server → (status, check_status).
fn show_stat(socket: &Path) -> Option<BTreeMap<String, (String, String)>> {
    let mut s = std::os::unix::net::UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"show stat\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (px, sv, st, ck) = (
        col("pxname")?,
        col("svname")?,
        col("status")?,
        col("check_status")?,
    );
    let mut servers = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f.len() > ck && f[px] == "kube-apiserver" && f[sv] != "BACKEND" && f[sv] != "FRONTEND" {
            servers.insert(f[sv].to_string(), (f[st].to_string(), f[ck].to_string()));
        }
    }
    Some(servers)
}

const HAPROXY_CPS: &[(&str, &str)] = &[
    ("loop-1", "127.0.0.11"),
    ("loop-2", "127.0.0.12"),
    ("loop-3", "127.0.0.13"),
];
const VIP: &str = "127.0.0.100";

#[test]
fn haproxy_marks_a_dead_api_server_down_and_keeps_serving() {
    if !require_real_tools() {
        return;
    }
    let topology = loop_topology(
        "haproxy-keepalived",
        Some(&format!("{VIP}/8")),
        HAPROXY_CPS,
        &[],
    );
    let mut lab = Lab::new("hap", &topology, HAPROXY_CPS, &[DNS, VIP]);
    let front = "loop-1";
    let cfg = std::fs::read_to_string(lab.node_etc(front).join("haproxy/haproxy.cfg")).unwrap();
    // Every control plane runs the same haproxy (only the banner differs), so one stands
    // for all.
    for (node, _) in HAPROXY_CPS {
        let other =
            std::fs::read_to_string(lab.node_etc(node).join("haproxy/haproxy.cfg")).unwrap();
        assert_eq!(
            other.split_once('\n').unwrap().1,
            cfg.split_once('\n').unwrap().1,
            "{node}'s haproxy.cfg differs from {front}'s"
        );
    }
    let (inter, fall, rise) = check_timing(&cfg);
    assert!(
        inter * fall <= 10_000,
        "a dead API server would stay in rotation for {} ms (inter {inter} ms × fall {fall})",
        inter * fall
    );

    // The generated haproxy.cfg, unchanged, plus a second file with only an admin socket
    // we can reach from outside the namespace.
    let socket = lab.scratch.join("stats.sock");
    let stats_cfg = lab.scratch.join("stats.cfg");
    let extra = format!(
        "global\n    stats socket {} mode 600 level admin\n",
        socket.display()
    );
    // haproxy raises its file limit to about 2 × maxconn at start; a node has room for
    // that (systemd's hard limit is 524288), a container may not, and an unprivileged
    // root cannot raise the hard limit. Only then, lower maxconn for this run (`-n`).
    let lower = fitting_maxconn(&cfg);
    std::fs::write(&stats_cfg, extra).unwrap();
    let mut cmd = node_command_in(
        &lab.ns,
        &[&lab.node_etc(front), &lab.pki.layer(front)],
        "haproxy",
    );
    cmd.args(["-db", "-f", "/etc/haproxy/haproxy.cfg", "-f"])
        .arg(&stats_cfg);
    if let Some(maxconn) = lower {
        eprintln!(
            "haproxy: the hard file limit cannot hold the generated maxconn; running with -n {maxconn}"
        );
        cmd.arg("-n").arg(maxconn.to_string());
    }
    let mut haproxy = Proc::spawn("haproxy", cmd, &lab.scratch.join("haproxy.log"));

    let stat = |haproxy: &mut Proc| {
        haproxy.assert_running();
        show_stat(&socket)
    };
    let started = Instant::now();
    let all_ok = wait_for(Duration::from_secs(15), Duration::from_millis(100), || {
        let s = stat(&mut haproxy)?;
        (s.len() == HAPROXY_CPS.len() && s.values().all(|(st, ck)| st == "UP" && ck == "L7OK"))
            .then_some(s)
    });
    assert!(
        all_ok.is_some(),
        "not every API server reached UP/L7OK: {:?}\n{}",
        stat(&mut haproxy),
        haproxy.log()
    );

    eprintln!(
        "haproxy: every API server UP/L7OK {:?} after start",
        started.elapsed()
    );
    let served = lab.requests(VIP, 6);
    let by_ip = lab.request_by_ip(VIP);
    assert!(
        by_ip.is_ok(),
        "a client dialling the VIP itself verifies hagen's certificate: {by_ip:?}"
    );
    let everyone: BTreeSet<String> = HAPROXY_CPS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(served, everyone, "round robin reaches every API server");

    // Kill one; requests keep flowing from another thread while we watch its state.
    let victim = "loop-2";
    lab.kill_server(victim);
    let t0 = Instant::now();
    let limit = Duration::from_millis(inter * fall + inter + 1500);
    let stop = AtomicBool::new(false);
    let results = Mutex::new(Vec::new());
    let down = std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..100 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                results.lock().unwrap().push(lab.request(VIP));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let down = wait_for(limit, Duration::from_millis(100), || {
            let s = stat(&mut haproxy)?;
            let (st, ck) = s.get(victim)?.clone();
            (st == "DOWN").then_some((t0.elapsed(), ck))
        });
        stop.store(true, Ordering::SeqCst);
        down
    });
    let (took, check_status) = down.unwrap_or_else(|| {
        panic!(
            "{victim} not DOWN within {limit:?} (inter {inter} ms × fall {fall} + one interval + margin): {:?}",
            stat(&mut haproxy)
        )
    });
    eprintln!("haproxy: {victim} DOWN after {took:?} ({check_status}); limit {limit:?}");
    assert!(
        check_status.starts_with("L4"),
        "a dead server fails at connect: {check_status}"
    );
    let during = results.into_inner().unwrap();
    assert!(!during.is_empty());
    let failed: Vec<_> = during.iter().filter(|r| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "requests failed while {victim} was dying: {failed:?}"
    );

    let after = lab.requests(VIP, 8);
    let remaining: BTreeSet<String> = everyone.iter().filter(|n| *n != victim).cloned().collect();
    assert_eq!(
        after, remaining,
        "the remaining API servers serve every request"
    );

    // An impostor on the dead node's address, with a valid certificate for another
    // node: the check must reject it (verify required + verifyhost).
    lab.start_server(victim, "loop-1");
    let reached = wait_for(
        Duration::from_millis(inter * 2 + 2000),
        Duration::from_millis(100),
        || {
            let (st, ck) = stat(&mut haproxy)?.get(victim)?.clone();
            (!ck.starts_with("L4")).then_some((st, ck))
        },
    );
    let (_, ck) = reached.expect("the check reaches the impostor");
    let hold = Instant::now() + Duration::from_millis(inter * rise + 1500);
    while Instant::now() < hold {
        let (st, ck2) = stat(&mut haproxy).unwrap()[victim].clone();
        assert!(
            st.starts_with("DOWN") && ck2 != "L7OK",
            "{victim} presenting loop-1's certificate became {st}/{ck2}: the health check does not verify the server"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("haproxy: impostor on {victim} kept DOWN ({ck})");

    // The real server returns: UP again after rise checks.
    lab.start_server(victim, victim);
    let t1 = Instant::now();
    let back_limit = Duration::from_millis(inter * rise + inter + 1500);
    let back = wait_for(back_limit, Duration::from_millis(100), || {
        let (st, ck) = stat(&mut haproxy)?.get(victim)?.clone();
        (st == "UP" && ck == "L7OK").then(|| t1.elapsed())
    });
    let back = back.unwrap_or_else(|| {
        panic!(
            "{victim} not UP again within {back_limit:?}: {:?}",
            stat(&mut haproxy)
        )
    });
    eprintln!("haproxy: {victim} UP again after {back:?}");
    assert_eq!(lab.requests(VIP, 6), everyone);
    haproxy.stop();
    drop(lab);
}

const NGINX_CPS: &[(&str, &str)] = &[
    ("ngx-1", "127.0.0.21"),
    ("ngx-2", "127.0.0.22"),
    ("ngx-3", "127.0.0.23"),
];

#[test]
fn nginx_local_keeps_serving_when_an_api_server_dies() {
    if !require_real_tools() {
        return;
    }
    let workers = [("ngx-w1", "127.0.0.31")];
    let topology = loop_topology("nginx-local", None, NGINX_CPS, &workers);
    let mut lab = Lab::new("ngx", &topology, NGINX_CPS, &[DNS]);

    // Every node runs the same proxy on 127.0.0.1:PORT (only the banner differs).
    let body = |node: &str| {
        let t = std::fs::read_to_string(lab.node_etc(node).join("nginx/nginx.conf")).unwrap();
        t.split_once('\n').unwrap().1.to_string()
    };
    let reference = body("ngx-w1");
    assert!(reference.contains(&format!("listen 127.0.0.1:{PORT};")));
    for (node, _) in NGINX_CPS {
        assert_eq!(body(node), reference, "{node}'s nginx.conf differs");
    }

    let node = "ngx-w1";
    let mut cmd = node_command_in(
        &lab.ns,
        &[&lab.node_etc(node), &lab.pki.common_layer()],
        "nginx",
    );
    cmd.args(["-c", "/etc/nginx/nginx.conf", "-g", "daemon off;"]);
    let mut nginx = Proc::spawn("nginx", cmd, &lab.scratch.join("nginx.log"));
    let ready = wait_for(Duration::from_secs(10), Duration::from_millis(100), || {
        nginx.assert_running();
        lab.request("127.0.0.1").ok()
    });
    assert!(ready.is_some(), "nginx never served:\n{}", nginx.log());

    let everyone: BTreeSet<String> = NGINX_CPS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(lab.requests("127.0.0.1", 9), everyone);

    let victim = "ngx-2";
    lab.kill_server(victim);
    let t0 = Instant::now();
    let after = lab.requests("127.0.0.1", 12);
    let remaining: BTreeSet<String> = everyone.iter().filter(|n| *n != victim).cloned().collect();
    assert_eq!(
        after, remaining,
        "the remaining API servers serve every request"
    );
    eprintln!(
        "nginx: 12 requests after killing {victim} all served, in {:?}",
        t0.elapsed()
    );
    nginx.assert_running();

    // Passive checks only: the restarted server is tried again after fail_timeout.
    lab.start_server(victim, victim);
    let t1 = Instant::now();
    let back = wait_for(Duration::from_secs(16), Duration::from_millis(250), || {
        (lab.request("127.0.0.1").ok()? == victim).then(|| t1.elapsed())
    });
    let back = back.unwrap_or_else(|| panic!("{victim} never served again:\n{}", nginx.log()));
    eprintln!("nginx: {victim} served again {back:?} after it returned");
    nginx.stop();
    drop(lab);
}
