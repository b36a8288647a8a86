//! A keepalived drill with the generated keepalived.conf files, unchanged: three control
//! planes in three network namespaces joined by a bridge in a fourth (a test subnet that
//! exists only inside them, never connected to the host), each keepalived in its own
//! overlay mount namespace. A stand-in lies over `/etc/keepalived/check_apiserver.sh`
//! (the only thing replaced: it fails while a flag file exists, so the test decides when
//! a node's API is unhealthy).
//!
//! Asserted, with the VIP's holders sampled every 200 ms throughout: the VIP sits on the
//! highest-priority node; when its check fails the VIP moves to the next; when that
//! holder dies (keepalived killed, link down) it moves to the healthiest remaining node,
//! not to the one whose check still fails; when the first recovers it takes the VIP
//! back; never two holders at once.

use crate::real::{bundle_files, render_text};
use hagen_tests::sandbox::{
    Netns, Proc, Scratch, ip, materialize, node_command_in, require_real_tools, run_name,
    write_file,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.100";
const NODES: &[(&str, &str)] = &[
    ("vrrp-1", "192.0.2.11"),
    ("vrrp-2", "192.0.2.12"),
    ("vrrp-3", "192.0.2.13"),
];

fn topology() -> String {
    let mut t = format!(
        "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: vrrp\nspec:\n  \
         kubernetesVersion: v1.31.2\n  controlPlaneEndpoint:\n    vip: {VIP}/24\n    \
         dns: api.vrrp.test\n    port: 8443\n  loadBalancer:\n    type: haproxy-keepalived\n    \
         interface: eth0\n    virtualRouterId: 77\n  nodes:\n"
    );
    for (name, ip) in NODES {
        t.push_str(&format!(
            "    - {{name: {name}, address: {ip}, roles: [control-plane]}}\n"
        ));
    }
    t
}

/// The namespaces and keepalived processes; keepalived is stopped first, then every
/// namespace deleted by name (fields drop in order).
struct Drill {
    keepalived: Vec<Option<Proc>>,
    _netns: Netns,
    ns: Vec<String>,
    scratch: Scratch,
    t0: Instant,
    timeline: Vec<String>,
    samples: usize,
    last: Vec<usize>,
}

impl Drill {
    fn flag(&self, i: usize) -> PathBuf {
        self.scratch.join(&format!("fail-{}", NODES[i].0))
    }

    /// Which nodes hold the VIP on an interface that is up.
    fn holders_once(&self) -> Vec<usize> {
        (0..NODES.len())
            .filter(|&i| {
                ip(&["-n", &self.ns[i], "-o", "-4", "addr", "show", "up"])
                    .contains(&format!(" {VIP}/"))
            })
            .collect()
    }

    /// A sample of the holders. Two holders are confirmed by an immediate second look: the
    /// three namespaces are read one after the other, so a handover between two reads
    /// would otherwise look like two holders.
    fn holders(&mut self) -> Vec<usize> {
        self.samples += 1;
        let h = self.holders_once();
        if h.len() > 1 {
            let again = self.holders_once();
            if again.len() > 1 {
                panic!(
                    "two VIP holders at once at {:?}: {:?} then {:?}\n{}",
                    self.t0.elapsed(),
                    names(&h),
                    names(&again),
                    self.logs()
                );
            }
            return again;
        }
        h
    }

    /// Samples every 200 ms until `to` is the only holder, allowing only a node of
    /// `meanwhile` (or no one) before; returns how long it took. Then checks it stays
    /// there for 1 s.
    fn wait_holder(
        &mut self,
        meanwhile: &[usize],
        to: usize,
        limit: Duration,
        what: &str,
    ) -> Duration {
        let start = Instant::now();
        for _ in 0..(limit.as_millis() / 200 + 1) {
            for (i, k) in self.keepalived.iter_mut().enumerate() {
                if let Some(k) = k
                    && !k.running()
                {
                    panic!("keepalived on {} exited:\n{}", NODES[i].0, k.log());
                }
            }
            let h = self.holders();
            if h != self.last {
                self.timeline.push(format!(
                    "{:>6.1}s holders {:?}",
                    self.t0.elapsed().as_secs_f64(),
                    names(&h)
                ));
                self.last = h.clone();
            }
            if h == [to] {
                let took = start.elapsed();
                self.timeline.push(format!("  {what}: {took:.1?}"));
                for _ in 0..5 {
                    std::thread::sleep(Duration::from_millis(200));
                    let h = self.holders();
                    assert_eq!(h, [to], "{what}: the VIP did not stay on {}", NODES[to].0);
                }
                return took;
            }
            if let Some(&other) = h.iter().find(|&&i| !meanwhile.contains(&i) && i != to) {
                panic!(
                    "{what}: the VIP went to {} (expected {}):\n{}\n{}",
                    NODES[other].0,
                    NODES[to].0,
                    self.timeline.join("\n"),
                    self.logs()
                );
            }
            if start.elapsed() > limit {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "{what}: the VIP did not reach {} within {limit:?} (holders {:?}):\n{}\n{}",
            NODES[to].0,
            names(&self.last),
            self.timeline.join("\n"),
            self.logs()
        );
    }

    fn logs(&self) -> String {
        self.keepalived
            .iter()
            .enumerate()
            .filter_map(|(i, k)| {
                let k = k.as_ref()?;
                let log = k.log();
                let tail: Vec<&str> = log.lines().rev().take(25).collect();
                Some(format!(
                    "--- keepalived {} (last lines)\n{}",
                    NODES[i].0,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn names(h: &[usize]) -> Vec<&'static str> {
    h.iter().map(|&i| NODES[i].0).collect()
}

/// `interval` and `fall` of the generated vrrp_script.
fn script_timing(conf: &str) -> (u64, u64) {
    let value = |key: &str| -> u64 {
        conf.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("keepalived.conf has no {key}"))
            .trim()
            .parse()
            .unwrap()
    };
    (value("interval"), value("fall"))
}

#[test]
fn keepalived_moves_the_vip_on_check_failure_and_on_death() {
    if !require_real_tools() {
        return;
    }
    let scratch = Scratch::new("vrrp");
    let bundle = scratch.join("bundle");
    materialize(&bundle_files(&render_text("vrrp", &topology())), &bundle);
    let conf = |i: usize| {
        std::fs::read_to_string(
            bundle
                .join("nodes")
                .join(NODES[i].0)
                .join("etc/keepalived/keepalived.conf"),
        )
        .unwrap()
    };
    for i in 0..NODES.len() {
        assert!(
            conf(i).contains("script \"/etc/keepalived/check_apiserver.sh\""),
            "the stand-in must lie over the script keepalived runs"
        );
    }
    let (interval, fall) = script_timing(&conf(0));

    let mut netns = Netns::default();
    let sw = run_name("sw");
    netns.add(&sw);
    ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &sw, "link", "set", "br0", "up"]);
    let mut ns = Vec::new();
    for (i, (_, addr)) in NODES.iter().enumerate() {
        let n = run_name(&format!("v{}", i + 1));
        netns.add(&n);
        let port = format!("p{}", i + 1);
        ip(&[
            "-n", &n, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns", &sw,
        ]);
        ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
        ip(&[
            "-n",
            &n,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &n, "link", "set", "eth0", "up"]);
        ns.push(n);
    }
    let mut drill = Drill {
        keepalived: Vec::new(),
        _netns: netns,
        ns,
        scratch,
        t0: Instant::now(),
        timeline: Vec::new(),
        samples: 0,
        last: Vec::new(),
    };

    for (i, (node, _)) in NODES.iter().enumerate() {
        // The stand-in: root's, 0755, in root's 0755 directories (enable_script_security).
        let standin = drill.scratch.join(&format!("standin-{node}"));
        write_file(
            &standin.join("keepalived/check_apiserver.sh"),
            format!(
                "#!/bin/sh\n# Stand-in for the generated check in hagen's VRRP drill.\n\
                 test ! -e {}\n",
                drill.flag(i).display()
            )
            .as_bytes(),
            0o755,
        );
        let etc = bundle.join("nodes").join(node).join("etc");
        let mut cmd = node_command_in(&drill.ns[i], &[&standin, &etc], "keepalived");
        cmd.args([
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            "/etc/keepalived/keepalived.conf",
        ]);
        let log = drill.scratch.join(&format!("keepalived-{node}.log"));
        drill.keepalived.push(Some(Proc::spawn(node, cmd, &log)));
    }
    drill.t0 = Instant::now();

    let first = drill.wait_holder(
        &[1, 2],
        0,
        Duration::from_secs(15),
        "first holder is vrrp-1 (priority highest)",
    );

    // vrrp-1's check fails: after fall × interval its priority drops below vrrp-2's.
    std::fs::write(drill.flag(0), "").unwrap();
    let limit = Duration::from_secs(interval * (fall + 1) + 6);
    let on_fail = drill.wait_holder(&[0], 1, limit, "check fails on vrrp-1 → vrrp-2");

    // vrrp-2 dies (node crash: link down, keepalived killed): vrrp-3 takes over, not
    // vrrp-1, whose check still fails.
    ip(&["-n", &drill.ns[1], "link", "set", "eth0", "down"]);
    let mut dead = drill.keepalived[1].take().unwrap();
    dead.kill_hard();
    drill.timeline.push(format!(
        "{:>6.1}s vrrp-2 link down, keepalived killed",
        drill.t0.elapsed().as_secs_f64()
    ));
    let on_death = drill.wait_holder(&[1], 2, Duration::from_secs(8), "vrrp-2 dies → vrrp-3");

    // vrrp-1's check passes again: it preempts.
    std::fs::remove_file(drill.flag(0)).unwrap();
    let on_recover = drill.wait_holder(&[2], 0, limit, "vrrp-1 recovers → vrrp-1");

    eprintln!(
        "keepalived drill ({} samples, never two holders):\n{}\n  first holder {first:.1?}, \
         check failure {on_fail:.1?}, death {on_death:.1?}, recovery {on_recover:.1?}",
        drill.samples,
        drill.timeline.join("\n")
    );
    for k in drill.keepalived.iter_mut().flatten() {
        k.stop();
    }
}
