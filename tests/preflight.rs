//! `hagen-preflight`, the per-node checks every overlay carries: every one rendered in the
//! golden bundles passes `sh -n` and shellcheck (Debian's `shellcheck`, POSIX sh mode),
//! and one runs for real inside network namespaces this test makes (root): a node set up
//! right passes with no output; a node whose address is missing fails, naming that
//! address; a clock before the certificates and a kernel setting left off fail too.
//!
//! What the namespaces cannot hold is stood in for, not skipped: kubeadm is not
//! installed on the test machine, so a stub on `PATH` answers `kubeadm version -o short`
//! with the bundle's version (haproxy and keepalived are the real, installed ones);
//! `/proc/sys` and `/proc/swaps` are read from a prepared tree
//! (`HAGEN_PREFLIGHT_ROOT`), because the host's bridge settings and swap are the host's
//! and this test must not change them. `/etc/hosts` comes from an overlay layer
//! (`tests/tools/node-exec.sh`), so the endpoint name resolves only inside the test.
//! `HAGEN_PREFLIGHT_SKIP` is used by no case here.

use crate::real::{bundle_files, render_text};
use crate::render::golden_bundles;
use hagen_tests::sandbox::{
    Netns, Scratch, golden_files, ip, node_command_in, require_real_tools, run_bounded, run_name,
    text, write_file,
};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SCRIPT: &str = "usr/local/bin/hagen-preflight";

/// Every rendered preflight and etcdctl helper of every golden bundle.
fn golden_scripts() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, dir) in golden_bundles() {
        for (path, bytes, _) in golden_files(&dir) {
            if path.ends_with(SCRIPT) || path.ends_with("usr/local/bin/hagen-etcdctl") {
                out.push((format!("{}/{path}", dir.display()), bytes));
            }
        }
    }
    out
}

#[test]
fn every_golden_preflight_passes_sh_n_and_shellcheck() {
    let scripts = golden_scripts();
    assert!(
        scripts.iter().filter(|(p, _)| p.ends_with(SCRIPT)).count() >= 8,
        "a preflight in every golden bundle"
    );
    assert!(
        Command::new("shellcheck").arg("--version").output().is_ok(),
        "shellcheck is not installed: apt-get install shellcheck (scripts/test.sh does)"
    );
    let mut failures = Vec::new();
    for (path, _) in &scripts {
        for (program, args) in [
            ("sh", vec!["-n"]),
            ("shellcheck", vec!["--shell=sh", "--severity=style"]),
        ] {
            let mut cmd = Command::new(program);
            cmd.args(&args).arg(path);
            let out = run_bounded(cmd, Duration::from_secs(60));
            if !out.status.success() || !text(&out).trim().is_empty() {
                failures.push(format!("{program} {path}: {}\n{}", out.status, text(&out)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const NODE: &str = "192.0.2.11";
const VIP: &str = "192.0.2.100";
const NAME: &str = "api.preflight.test";

fn topology() -> String {
    format!(
        "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: preflight\nspec:\n  \
         kubernetesVersion: v1.31.2\n  controlPlaneEndpoint:\n    vip: {VIP}/24\n    \
         dns: {NAME}\n    port: 8443\n  loadBalancer:\n    type: haproxy-keepalived\n    \
         interface: eth0\n  nodes:\n    - {{name: pf-1, address: {NODE}, roles: [control-plane]}}\n    \
         - {{name: pf-2, address: 192.0.2.12, roles: [control-plane]}}\n    \
         - {{name: pf-3, address: 192.0.2.13, roles: [control-plane]}}\n"
    )
}

/// A namespace with `eth0` (a veth, up) holding `addr`.
fn namespace(netns: &mut Netns, tag: &str, addr: &str) -> String {
    let n = run_name(tag);
    netns.add(&n);
    ip(&[
        "-n", &n, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
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
    ip(&["-n", &n, "link", "set", "peer0", "up"]);
    n
}

/// The prepared /proc tree: IPv4 forwarding and bridged iptables on (unless
/// `ip_forward` says otherwise), no swap.
fn proc_tree(dir: &Path, ip_forward: &str) {
    let f = |rel: &str, text: &str| write_file(&dir.join(rel), text.as_bytes(), 0o644);
    f("proc/sys/net/ipv4/ip_forward", &format!("{ip_forward}\n"));
    f("proc/sys/net/bridge/bridge-nf-call-iptables", "1\n");
    f(
        "proc/swaps",
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n",
    );
}

/// Runs `script` in `netns` with the /etc layer and the /proc tree; (exit code, output).
fn run(netns: &str, scratch: &Scratch, script: &Path, proc_root: &Path) -> (i32, String) {
    let mut cmd = node_command_in(netns, &[&scratch.join("etc")], "sh");
    cmd.arg(script);
    let path = format!(
        "{}:{}",
        scratch.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path)
        .env("HAGEN_PREFLIGHT_ROOT", proc_root)
        .env_remove("HAGEN_PREFLIGHT_SKIP");
    let out = run_bounded(cmd, Duration::from_secs(60));
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
fn preflight_in_network_namespaces() {
    if !require_real_tools() {
        return;
    }
    let bundle = render_text("preflight", &topology());
    let files = bundle_files(&bundle);
    let script = files
        .iter()
        .find(|(p, _, _)| p == &format!("nodes/pf-1/{SCRIPT}"))
        .map(|(_, b, _)| String::from_utf8(b.clone()).unwrap())
        .expect("pf-1 has a preflight");
    let scratch = Scratch::new("preflight");
    // The certificates' window, as `hagen render` stamps it: valid from an hour ago for a
    // year (right), or from tomorrow (a render host whose clock ran ahead).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stamped = |from: u64, until: u64| {
        assert!(script.contains("cert_window=''\n"));
        script.replacen(
            "cert_window=''\n",
            &format!("cert_window='{from} {until}'\n"),
            1,
        )
    };
    let good = scratch.join("good.sh");
    write_file(
        &good,
        stamped(now - 3600, now + 365 * 86400).as_bytes(),
        0o755,
    );
    let ahead = scratch.join("ahead.sh");
    write_file(
        &ahead,
        stamped(now + 86400, now + 366 * 86400).as_bytes(),
        0o755,
    );
    write_file(
        &scratch.join("etc/hosts"),
        format!("127.0.0.1 localhost\n{VIP} {NAME}\n").as_bytes(),
        0o644,
    );
    write_file(
        &scratch.join("bin/kubeadm"),
        b"#!/bin/sh\n# stands in for kubeadm, which the test machine does not have\n[ \"$*\" = 'version -o short' ] && echo v1.31.2\n",
        0o755,
    );
    let right = scratch.join("proc-right");
    proc_tree(&right, "1");
    let no_forward = scratch.join("proc-no-forward");
    proc_tree(&no_forward, "0");

    let mut netns = Netns::default();
    let set_up = namespace(&mut netns, "pfok", NODE);
    let wrong_address = namespace(&mut netns, "pfno", "192.0.2.99");

    let (code, out) = run(&set_up, &scratch, &good, &right);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "a node set up right passes silently"
    );

    let (code, out) = run(&wrong_address, &scratch, &good, &right);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "hagen-preflight: address {NODE} is not configured on interface eth0"
        )),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "only the address fails: {out}");

    let (code, out) = run(&set_up, &scratch, &ahead, &right);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("before this node's certificates become valid"),
        "{out}"
    );

    let (code, out) = run(&set_up, &scratch, &good, &no_forward);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("net.ipv4.ip_forward is 0, not 1"), "{out}");
}

/// `hagen render` (through `assemble`) writes each node's certificate window into its
/// preflight: the latest notBefore and the earliest notAfter of that node's certificates.
/// A worker holds none and keeps the empty window (its preflight skips the clock check).
#[test]
fn assemble_stamps_each_nodes_certificate_window() {
    let topology = hagen_tests::root().join("fixtures/topologies/valid/external-etcd.yaml");
    let text = std::fs::read_to_string(&topology).unwrap();
    let source = hagen_core::source::SourceFile::new("external-etcd.yaml", text);
    let checked = hagen_core::check(&source);
    let plan = checked.plan.expect("valid");
    let now = 1_780_272_000;
    let pki = hagen_core::pki::generate(
        &plan,
        &hagen_core::pki::Existing::none(),
        &mut hagen_core::pki::SeededEntropy::new(9),
        now,
    )
    .unwrap();
    let bundle =
        hagen_core::assemble(&source, &plan, &checked.what_if.unwrap_or_default(), &pki).unwrap();
    let window = |node: &str| {
        let f = bundle.get(&format!("nodes/{node}/{SCRIPT}")).unwrap();
        let t = String::from_utf8(f.bytes.clone()).unwrap();
        let line = t.lines().find(|l| l.starts_with("cert_window=")).unwrap();
        line.to_string()
    };
    // Leaves are backdated 5 minutes and live certValidityDays (365 here).
    let leaves = format!("cert_window='{} {}'", now - 300, now + 365 * 86400);
    assert_eq!(window("cp-1"), leaves);
    assert_eq!(window("etcd-2"), leaves);
    assert_eq!(window("worker-1"), "cert_window=''");
}
