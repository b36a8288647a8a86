//! `hagen rehearse` end to end, as root: the fixture bundles whose daemons exist here
//! (haproxy + keepalived stacked, keepalived alone, external etcd, nginx on every node,
//! five control planes in three zones for the zone and partition drills) are rendered
//! with the real `hagen` binary and rehearsed, and must agree with their what-if tables;
//! four broken bundles must each fail, naming the scenario that shows it; and after
//! every run (also after a Ctrl-C) no namespace, process or scratch directory of that run
//! is left. kube-vip and the external load balancer are refused with exit 2.
//!
//! The rehearsals take minutes each and are run one at a time (a lock), so the timings
//! they measure are not skewed by each other. To keep the test command near its time
//! budget, every fixture is rehearsed with the baseline and a few scenarios of each kind
//! it has; `HAGEN_REHEARSE_ALL=1` drills every scenario of every fixture (about 13
//! minutes here).

use hagen_tests::root;
use hagen_tests::sandbox::require_real_tools;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `full` with `HAGEN_REHEARSE_ALL=1`, else `short` (the baseline always runs).
fn scenarios<'a>(full: &'a [&'a str], short: &'a [&'a str]) -> &'a [&'a str] {
    if std::env::var_os("HAGEN_REHEARSE_ALL").is_some() {
        full
    } else {
        short
    }
}

/// The `hagen` binary, built once for this test run (`cargo build -p hagen`).
fn hagen() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "hagen"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build -p hagen failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        let bin = target.join("debug/hagen");
        assert!(bin.is_file(), "no {}", bin.display());
        bin
    })
    .clone()
}

/// A scratch directory for one test, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("hagen-it-rehearse-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `hagen render fixtures/topologies/valid/NAME.yaml -o DIR/bundle`.
fn render(name: &str, dir: &Dir) -> PathBuf {
    let out = dir.0.join("bundle");
    let topo = root().join(format!("fixtures/topologies/valid/{name}.yaml"));
    let o = Command::new(hagen())
        .arg("render")
        .arg(&topo)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "render {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

/// `hagen rehearse BUNDLE --format json ARGS`, then checks nothing of it is left.
fn rehearse(bundle: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(hagen());
    cmd.arg("rehearse")
        .arg(bundle)
        .args(["--format", "json"])
        .args(args)
        .stdin(Stdio::null());
    let before = (all_rehearse_namespaces(), all_rehearse_processes());
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_nothing_left(pid);
    let after = (all_rehearse_namespaces(), all_rehearse_processes());
    assert_eq!(
        (before.0.len(), before.1.len()),
        (after.0.len(), after.1.len()),
        "namespaces and processes of rehearsals before {before:?} and after {after:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: format!("{stdout}\n{stderr}"),
    }
}

/// The namespaces of the run with this PID (`hr<pid mod 100000>` + `sw`, `chk` or `n<i>`).
fn namespaces_of(pid: u32) -> Vec<String> {
    let tag = format!("hr{}", pid % 100_000);
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| {
            n.strip_prefix(&tag).is_some_and(|rest| {
                rest == "sw"
                    || rest == "chk"
                    || rest
                        .strip_prefix('n')
                        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .map(str::to_string)
        .collect()
}

/// Processes started by the run with this PID (they carry `HAGEN_REHEARSE=<pid>`).
fn processes_of(pid: u32) -> Vec<String> {
    let marker = format!("HAGEN_REHEARSE={pid}");
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|v| v == marker.as_bytes()) {
            let cmd = std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{} {}",
                e.file_name().to_string_lossy(),
                cmd.replace('\0', " ")
            ));
        }
    }
    found
}

/// Every namespace any rehearsal made (`hr<digits>…`), whoever ran it.
fn all_rehearse_namespaces() -> Vec<String> {
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| {
            n.strip_prefix("hr")
                .is_some_and(|r| r.bytes().next().is_some_and(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
        .collect()
}

/// Every process any rehearsal started (`HAGEN_REHEARSE=` in its environment).
fn all_rehearse_processes() -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env
            .split(|&b| b == 0)
            .any(|v| v.starts_with(b"HAGEN_REHEARSE="))
        {
            found.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

fn assert_nothing_left(pid: u32) {
    // Stopped daemons may take a moment to be reaped by init.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ns = namespaces_of(pid);
        let procs = processes_of(pid);
        let scratch = std::env::temp_dir().join(format!("hagen-rehearse-{pid}"));
        if ns.is_empty() && procs.is_empty() && !scratch.exists() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "rehearse {pid} left namespaces {ns:?}, processes {procs:?}, scratch {} {}",
                scratch.display(),
                if scratch.exists() { "present" } else { "gone" }
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn scenario_names(run: &Run) -> Vec<String> {
    run.json["scenarios"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn assert_passes(fixture: &str, args: &[&str], must_have: &[&str]) {
    if !require_real_tools() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Dir::new(fixture);
    let bundle = render(fixture, &dir);
    let run = rehearse(&bundle, args);
    assert_eq!(
        run.code, 0,
        "{fixture} should rehearse clean:\n{}",
        run.stderr
    );
    assert_eq!(run.json["agree"], Value::Bool(true), "{}", run.stderr);
    let names = scenario_names(&run);
    for m in must_have {
        assert!(
            names.iter().any(|n| n.starts_with(m)),
            "{fixture}: no {m} scenario in {names:?}"
        );
    }
    for s in run.json["scenarios"].as_array().unwrap() {
        assert!(s["recoverySeconds"].is_number(), "{s}");
    }
    eprintln!(
        "{fixture}: {} scenarios agree in {} s",
        names.len(),
        run.json["seconds"]
    );
}

/// Renders `fixture`, breaks it with `edit(bundle)`, rehearses `scenario`: exit 1, and the
/// scenario named as disagreeing, with `why` in its reason.
fn assert_fails(fixture: &str, edit: impl Fn(&Path), scenario: &str, why: &str) {
    if !require_real_tools() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Dir::new(&format!("broken-{}", scenario.replace('/', "-")));
    let bundle = render(fixture, &dir);
    edit(&bundle);
    let name = scenario.split('/').next().unwrap();
    let run = rehearse(&bundle, &["--scenario", name]);
    assert_eq!(run.code, 1, "the broken bundle must fail:\n{}", run.stderr);
    let bad: Vec<&Value> = run.json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["agree"] == Value::Bool(false))
        .collect();
    assert!(
        bad.iter()
            .any(|s| s["name"].as_str().unwrap_or("").starts_with(scenario)
                && s["why"].as_str().unwrap_or("").contains(why)),
        "expected {scenario} to disagree with {why:?}:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("scenario {scenario}")),
        "stderr must name {scenario}:\n{}",
        run.stderr
    );
}

/// Replaces `from` with `to` in `rel` on every node that has it.
fn edit_all(bundle: &Path, rel: &str, from: &str, to: &str) {
    let mut n = 0;
    for node in std::fs::read_dir(bundle.join("nodes")).unwrap().flatten() {
        let f = node.path().join(rel);
        if let Ok(text) = std::fs::read_to_string(&f) {
            assert!(text.contains(from), "{}: no {from:?}", f.display());
            std::fs::write(&f, text.replace(from, to)).unwrap();
            n += 1;
        }
    }
    assert!(n > 0, "no node has {rel}");
}

#[test]
fn rehearse_haproxy_keepalived_stacked() {
    assert_passes(
        "haproxy-keepalived-stacked",
        &[],
        &[
            "baseline",
            "node/",
            "vip-holder/",
            "apiserver-on-vip-holder/",
            "proxy-on-vip-holder/",
        ],
    );
}

#[test]
fn rehearse_keepalived_only() {
    assert_passes(
        "keepalived-only",
        scenarios(
            &[],
            &[
                "--scenario",
                "vip-holder",
                "--scenario",
                "apiserver-on-vip-holder",
            ],
        ),
        &["vip-holder/", "apiserver-on-vip-holder/"],
    );
}

#[test]
fn rehearse_external_etcd() {
    assert_passes(
        "external-etcd",
        scenarios(
            &[],
            &["--scenario", "node/etcd-1", "--scenario", "vip-holder"],
        ),
        &["node/etcd-1", "vip-holder/"],
    );
}

#[test]
fn rehearse_nginx_local_workers() {
    assert_passes(
        "nginx-local-workers",
        scenarios(
            &["--timeout", "400"],
            &[
                "--scenario",
                "node/ydzs-master",
                "--scenario",
                "node/ydzs-node1",
            ],
        ),
        &["node/ydzs-master", "node/ydzs-node1"],
    );
}

/// Zones: each zone lost, and each zone cut off (the other side keeps the VIP and quorum,
/// the cut-off side cannot write to etcd).
#[test]
fn rehearse_zones_and_partitions() {
    assert_passes(
        "five-control-planes-three-zones",
        scenarios(
            &[
                "--scenario",
                "zone",
                "--scenario",
                "partition",
                "--timeout",
                "500",
            ],
            &[
                "--scenario",
                "zone/room-a",
                "--scenario",
                "partition/room-c",
            ],
        ),
        &["zone/room-a", "partition/room-c"],
    );
}

#[test]
fn rehearse_fails_when_the_track_weight_cannot_move_the_vip() {
    // Priorities 150/149/148: a weight of -1 leaves a failing holder level with the next
    // node, and equal priority does not preempt.
    assert_fails(
        "keepalived-only",
        |b| {
            edit_all(
                b,
                "etc/keepalived/keepalived.conf",
                "weight -20",
                "weight -1",
            )
        },
        "apiserver-on-vip-holder/k8s-master1",
        "VIP on k8s-master1 (predicted k8s-master2)",
    );
}

#[test]
fn rehearse_fails_when_the_check_script_probes_the_wrong_port() {
    // The script probes the local API server (6443) instead of the local haproxy (8443):
    // haproxy dying goes unseen and the VIP stays where nothing answers.
    assert_fails(
        "haproxy-keepalived-stacked",
        |b| {
            edit_all(
                b,
                "etc/keepalived/check_apiserver.sh",
                "127.0.0.1:8443",
                "127.0.0.1:6443",
            )
        },
        "proxy-on-vip-holder/k8s-m1",
        "VIP on k8s-m1 (predicted k8s-m2)",
    );
}

#[test]
fn rehearse_fails_when_haproxy_misses_a_control_plane() {
    assert_fails(
        "haproxy-keepalived-stacked",
        |b| {
            edit_all(
                b,
                "etc/haproxy/haproxy.cfg",
                "    server k8s-m3 192.168.2.142:6443 check verifyhost k8s-m3\n",
                "",
            )
        },
        "baseline",
        "API servers reached through the endpoint: [k8s-m1, k8s-m2]",
    );
}

#[test]
fn rehearse_fails_when_an_etcd_peer_url_does_not_match_its_certificate() {
    // etcd-3 serves etcd-2's peer certificate on https://172.16.10.23:2380.
    assert_fails(
        "external-etcd",
        |b| {
            for f in ["peer.crt", "peer.key"] {
                std::fs::copy(
                    b.join("nodes/etcd-2/etc/etcd/pki").join(f),
                    b.join("nodes/etcd-3/etc/etcd/pki").join(f),
                )
                .unwrap();
            }
        },
        "baseline",
        "healthy etcd members: [etcd-1, etcd-2]",
    );
}

#[test]
fn rehearse_refuses_kube_vip_and_an_external_lb() {
    if !require_real_tools() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (fixture, why) in [
        ("kube-vip", "kube-vip is not rehearsed"),
        ("external-lb-three-zones", "external load balancer"),
    ] {
        let dir = Dir::new(fixture);
        let bundle = render(fixture, &dir);
        let run = rehearse(&bundle, &[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(why), "{}", run.stderr);
    }
}

/// Ctrl-C in the middle: exit 2, and everything made is gone.
#[test]
fn rehearse_cleans_up_on_ctrl_c() {
    if !require_real_tools() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Dir::new("ctrl-c");
    let bundle = render("haproxy-keepalived-stacked", &dir);
    let before = (all_rehearse_namespaces(), all_rehearse_processes());
    let child = Command::new(hagen())
        .arg("rehearse")
        .arg(&bundle)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until the daemons run, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    while processes_of(pid).len() < 9 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(processes_of(pid).len() >= 9, "the lab never came up");
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_nothing_left(pid);
    let after = (all_rehearse_namespaces(), all_rehearse_processes());
    assert_eq!(
        (before.0.len(), before.1.len()),
        (after.0.len(), after.1.len()),
        "before {before:?}, after {after:?}"
    );
}

/// Without root it stops at once with exit 2 and says why.
#[test]
fn rehearse_without_root_says_why() {
    if !require_real_tools() {
        return;
    }
    let dir = Dir::new("noroot");
    let bundle = render("keepalived-only", &dir);
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(hagen())
        .arg("rehearse")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs root"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
