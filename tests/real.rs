//! The real programs on every golden bundle: each node's `etc/` is laid over `/etc` in a
//! private mount namespace (with a throwaway test PKI under it, for the `ca-file` that
//! haproxy opens at check time) and its files go through the program that will read
//! them on the node: `haproxy -c -dW`, `nginx -t`, `keepalived --config-test` (in a
//! private network namespace holding the interface it names), `systemd-analyze verify`
//! (any output fails), `sh -n`/`bash -n`, a YAML parse, `sysctl -p` (in a throwaway
//! network namespace: every key is per-namespace) and the module names of a
//! modules-load.d file (known to the running kernel where it says). A file of no known kind fails
//! the test, so a new artifact cannot go unchecked; a second test proves each check
//! rejects a broken file.

use crate::render::golden_bundles;
use hagen_tests::rel;
use hagen_tests::sandbox::{
    BundleFile, PYTHON, Scratch, TestPki, golden_files, materialize, node_command,
    require_real_tools, run_bounded, text,
};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Renders a topology given as text (a variant made by a test), the way the goldens are.
pub fn render_text(name: &str, yaml: &str) -> hagen_core::bundle::Bundle {
    let checked = hagen_core::check(&hagen_core::source::SourceFile::new(
        format!("{name}.yaml"),
        yaml.to_string(),
    ));
    let plan = checked.plan.unwrap_or_else(|| {
        panic!(
            "{name}: the test topology is invalid:\n{:#?}\n{yaml}",
            checked.diagnostics
        )
    });
    let what_if = checked.what_if.unwrap_or_default();
    hagen_core::render::render(&hagen_core::render::Input {
        plan: &plan,
        join: &crate::render::test_join(),
        what_if: &what_if,
    })
    .expect("renders")
}

/// The files of an in-memory bundle (a variant rendered by a test), MANIFEST aside.
pub fn bundle_files(bundle: &hagen_core::bundle::Bundle) -> Vec<BundleFile> {
    bundle
        .iter()
        .filter(|(p, _)| p.as_str() != hagen_core::bundle::MANIFEST)
        .map(|(p, f)| (p.clone(), f.bytes.clone(), f.mode))
        .collect()
}

/// What reads a bundle file, so which program checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Haproxy,
    Nginx,
    Keepalived,
    SystemdUnit,
    Shell,
    Yaml,
    /// `etc/sysctl.d/*.conf`: read by systemd-sysctl at boot, `sysctl --system` now.
    Sysctl,
    /// `etc/modules-load.d/*.conf`: read by systemd-modules-load.
    ModulesLoad,
    /// The runbook: read by people only.
    Runbook,
    /// The topology diagram the runbook shows: read by browsers and image viewers.
    Svg,
}

/// Every kind a check exists for; each must occur in some golden bundle.
const KINDS: &[Kind] = &[
    Kind::Haproxy,
    Kind::Nginx,
    Kind::Keepalived,
    Kind::SystemdUnit,
    Kind::Shell,
    Kind::Yaml,
    Kind::Sysctl,
    Kind::ModulesLoad,
    Kind::Runbook,
    Kind::Svg,
];

/// The kind of a bundle file, or None when no check knows it (which fails the test).
pub fn kind_of(path: &str, bytes: &[u8]) -> Option<Kind> {
    let on_node = on_node_path(path);
    Some(match on_node.as_deref() {
        Some("/etc/haproxy/haproxy.cfg") => Kind::Haproxy,
        Some("/etc/nginx/nginx.conf") => Kind::Nginx,
        Some("/etc/keepalived/keepalived.conf") => Kind::Keepalived,
        Some(p) if p.starts_with("/etc/systemd/system/") && p.ends_with(".service") => {
            Kind::SystemdUnit
        }
        Some(p) if p.starts_with("/etc/sysctl.d/") && p.ends_with(".conf") => Kind::Sysctl,
        Some(p) if p.starts_with("/etc/modules-load.d/") && p.ends_with(".conf") => {
            Kind::ModulesLoad
        }
        _ if bytes.starts_with(b"#!") => Kind::Shell,
        _ if path.ends_with(".yaml") || path.ends_with(".yml") => Kind::Yaml,
        None if path == "README.md" => Kind::Runbook,
        None if path.ends_with(".svg") => Kind::Svg,
        _ => return None,
    })
}

/// `nodes/NAME/etc/x` → `/etc/x`.
fn on_node_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("nodes/")?;
    let (_, on_node) = rest.split_once('/')?;
    Some(format!("/{on_node}"))
}

fn node_of(path: &str) -> Option<&str> {
    path.strip_prefix("nodes/")?.split('/').next()
}

/// Runs the check for one materialized file; Err carries the program's words.
pub fn check_file(root: &Path, path: &str, kind: Kind, pki_layer: &Path) -> Result<(), String> {
    let limit = Duration::from_secs(30);
    let local = root.join(path);
    let node_etc = node_of(path).map(|n| root.join("nodes").join(n).join("etc"));
    let in_node = |program: &str, ifaces: &[&str], args: &[&str]| {
        let etc = node_etc
            .as_ref()
            .ok_or_else(|| format!("{path}: not under nodes/NAME/etc/"))?;
        let mut cmd = node_command(&[etc, pki_layer], ifaces, program);
        cmd.args(args);
        Ok::<_, String>(run_bounded(cmd, limit))
    };
    let on_node = on_node_path(path).unwrap_or_default();
    match kind {
        Kind::Haproxy => {
            let out = in_node("haproxy", &[], &["-c", "-dW", "-f", &on_node])?;
            let t = text(&out);
            if !out.status.success() || !t.contains("Configuration file is valid") {
                return Err(format!("haproxy -c -dW -f {on_node}: {}\n{t}", out.status));
            }
        }
        Kind::Nginx => {
            let out = in_node("nginx", &[], &["-t", "-c", &on_node])?;
            let t = text(&out);
            if !out.status.success() || !t.contains("test is successful") || t.contains("[warn]") {
                return Err(format!("nginx -t -c {on_node}: {}\n{t}", out.status));
            }
        }
        Kind::Keepalived => {
            let conf = std::fs::read_to_string(&local).map_err(|e| e.to_string())?;
            let ifaces = interfaces(&conf);
            if ifaces.is_empty() {
                return Err(format!("{path}: names no interface"));
            }
            // --config-test only checks that a track script exists: keepalived refuses a
            // script that is not executable, or writable by others under
            // enable_script_security, only once it runs. Check those modes here.
            for script in scripts(&conf) {
                let rel = script.trim_start_matches('/');
                let etc = node_etc.as_ref().ok_or("keepalived.conf outside a node")?;
                let file = etc.parent().unwrap().join(rel);
                let mode = std::fs::metadata(&file)
                    .map_err(|e| {
                        format!("{path}: track script {script} is not in the bundle: {e}")
                    })?
                    .permissions()
                    .mode();
                if mode & 0o111 != 0o111 || mode & 0o022 != 0 {
                    return Err(format!(
                        "{path}: track script {script} has mode {:04o}: keepalived needs it \
                         executable and, with enable_script_security, writable by root only",
                        mode & 0o7777
                    ));
                }
            }
            let ifaces: Vec<&str> = ifaces.iter().map(String::as_str).collect();
            let out = in_node("keepalived", &ifaces, &["--config-test", "-f", &on_node])?;
            let t = text(&out);
            // keepalived is silent when the configuration is sound.
            if !out.status.success() || !t.trim().is_empty() {
                return Err(format!(
                    "keepalived --config-test -f {on_node} (interfaces {ifaces:?}): {}\n{t}",
                    out.status
                ));
            }
        }
        Kind::SystemdUnit => {
            // The units run etcd from /usr/local/bin, where the runbook installs the
            // release; here the packaged /usr/bin/etcd stands in for it, on a tmpfs that
            // only this private mount namespace sees.
            let script = "mount -t tmpfs tmpfs /usr/local/bin && \
                          ln -s /usr/bin/etcd /usr/local/bin/etcd && \
                          exec systemd-analyze verify \"$1\"";
            let out = in_node("sh", &[], &["-c", script, "sh", &on_node])?;
            let t = text(&out);
            // An unknown key is only a message with exit 0: any output fails.
            if !out.status.success() || !t.trim().is_empty() {
                return Err(format!(
                    "systemd-analyze verify {on_node}: {}\n{t}",
                    out.status
                ));
            }
        }
        Kind::Shell => {
            let bytes = std::fs::read(&local).map_err(|e| e.to_string())?;
            let first =
                String::from_utf8_lossy(bytes.split(|b| *b == b'\n').next().unwrap()).into_owned();
            let shell = match first.trim_end() {
                "#!/bin/sh" | "#!/usr/bin/env sh" => "sh",
                "#!/bin/bash" | "#!/usr/bin/env bash" => "bash",
                other => return Err(format!("{path}: no syntax check for `{other}`")),
            };
            let mut cmd = Command::new(shell);
            cmd.arg("-n").arg(&local);
            let out = run_bounded(cmd, limit);
            if !out.status.success() || !text(&out).trim().is_empty() {
                return Err(format!("{shell} -n {path}: {}\n{}", out.status, text(&out)));
            }
        }
        Kind::Yaml => {
            // Every document parses; kubeadm's and Kubernetes' files also say what they are.
            let needs_kind = on_node.starts_with("/etc/kubernetes/");
            let mut cmd = Command::new(PYTHON);
            cmd.args([
                "-c",
                "import sys, yaml\n\
                 docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]\n\
                 assert docs, 'no document'\n\
                 for i, d in enumerate(docs):\n\
                 \x20   assert isinstance(d, dict), 'document %d is not a mapping' % i\n\
                 \x20   if sys.argv[2] == '1':\n\
                 \x20       assert d.get('apiVersion') and d.get('kind'), 'document %d lacks apiVersion/kind' % i\n",
            ])
            .arg(&local)
            .arg(if needs_kind { "1" } else { "0" });
            let out = run_bounded(cmd, limit);
            if !out.status.success() {
                return Err(format!("YAML parse of {path}: {}", text(&out)));
            }
        }
        Kind::Sysctl => {
            let conf = std::fs::read_to_string(&local).map_err(|e| e.to_string())?;
            for line in conf.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let key = line.split('=').next().unwrap_or("").trim();
                // Only per-network-namespace keys may be written in the throwaway one.
                if !key.starts_with("net.") {
                    return Err(format!(
                        "{path}: `{key}` is not a net.* key; no check writes it"
                    ));
                }
            }
            let mut cmd = Command::new("unshare");
            cmd.args(["--net", "--", "sysctl", "-p"]).arg(&local);
            let out = run_bounded(cmd, limit);
            let t = text(&out);
            if !out.status.success() || t.contains("cannot") || t.contains("Invalid") {
                return Err(format!(
                    "sysctl -p {path} (private netns): {}\n{t}",
                    out.status
                ));
            }
        }
        Kind::ModulesLoad => {
            let conf = std::fs::read_to_string(&local).map_err(|e| e.to_string())?;
            let mut uname = Command::new("uname");
            uname.arg("-r");
            let release = run_bounded(uname, limit);
            let dir = Path::new("/lib/modules").join(text(&release).trim());
            let known: String = ["modules.dep", "modules.builtin"]
                .iter()
                .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
                .collect();
            for line in conf.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                    continue;
                }
                if !line
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(format!("{path}: `{line}` is not one module name"));
                }
                // Known to the running kernel, where it says (this machine may have no
                // /lib/modules: then only the name is checked).
                let file = format!("/{line}.ko");
                let listed = known.contains(&file)
                    || known.contains(&format!("/{}.ko", line.replace('_', "-")));
                if !known.is_empty() && !listed && !Path::new("/sys/module").join(line).exists() {
                    return Err(format!(
                        "{path}: kernel module `{line}` is unknown to this kernel"
                    ));
                }
            }
        }
        Kind::Svg => {
            // Well-formed XML (a browser shows nothing of a file that is not) whose root is
            // an <svg> in the SVG namespace, with a title and a viewBox.
            let mut cmd = Command::new(PYTHON);
            cmd.args([
                "-c",
                "import sys, xml.etree.ElementTree as ET\n\
                 root = ET.parse(sys.argv[1]).getroot()\n\
                 assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag\n\
                 assert root.get('viewBox'), 'no viewBox'\n\
                 assert root.find('{http://www.w3.org/2000/svg}title') is not None, 'no title'\n",
            ])
            .arg(&local);
            let out = run_bounded(cmd, limit);
            if !out.status.success() {
                return Err(format!("SVG parse of {path}: {}", text(&out)));
            }
        }
        Kind::Runbook => {
            let t = std::fs::read_to_string(&local).map_err(|e| e.to_string())?;
            if !t.starts_with("# ") {
                return Err(format!("{path}: the runbook does not open with a title"));
            }
        }
    }
    Ok(())
}

/// The interfaces a keepalived.conf names (`interface X`, `dev X`).
fn interfaces(conf: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in conf
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with(['!', '#']))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(2) {
            if (w[0] == "interface" || w[0] == "dev") && !out.iter().any(|o| o == w[1]) {
                out.push(w[1].to_string());
            }
        }
    }
    out
}

/// The scripts a keepalived.conf runs (`script "/path"`).
fn scripts(conf: &str) -> Vec<String> {
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("script "))
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect()
}

/// A test PKI with just a CA: what a syntax check needs (haproxy opens `ca-file`).
fn check_pki(scratch: &Scratch) -> TestPki {
    TestPki::new(&scratch.join("pki"), &[])
}

/// Checks every file of a bundle; returns (kind → files checked, failures).
fn check_bundle(files: &[BundleFile], label: &str) -> (BTreeMap<Kind, usize>, Vec<String>) {
    let scratch = Scratch::new("syntax");
    let pki = check_pki(&scratch);
    let root = scratch.join("bundle");
    materialize(files, &root);
    let mut seen = BTreeMap::new();
    let mut failures = Vec::new();
    for (path, bytes, _) in files {
        let Some(kind) = kind_of(path, bytes) else {
            failures.push(format!(
                "{label}/{path}: no real-program check knows this kind of file; add one in tests/real.rs"
            ));
            continue;
        };
        *seen.entry(kind).or_insert(0) += 1;
        if let Err(e) = check_file(&root, path, kind, &pki.common_layer()) {
            failures.push(format!("{label}/{path} ({kind:?}): {e}"));
        }
    }
    (seen, failures)
}

#[test]
fn real_programs_accept_every_golden_bundle() {
    if !require_real_tools() {
        return;
    }
    let bundles = golden_bundles();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = bundles
            .iter()
            .map(|(_, dir)| {
                s.spawn(move || {
                    let files = golden_files(dir);
                    let label = rel(dir);
                    let (seen, failures) = check_bundle(&files, &label);
                    (label, files.len(), seen, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all_seen: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (label, count, seen, f) in results {
        let checked: usize = seen.values().sum();
        eprintln!("{label}: {checked}/{count} files checked by the real programs {seen:?}");
        for (k, n) in seen {
            *all_seen.entry(k).or_insert(0) += n;
        }
        failures.extend(f);
    }
    for kind in KINDS {
        if !all_seen.contains_key(kind) {
            failures.push(format!(
                "no golden bundle has a {kind:?} file: the check for it is never exercised"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One way to break a file, and the file to break.
struct Mutant {
    bundle: &'static str,
    path: &'static str,
    what: &'static str,
    apply: fn(&mut Vec<u8>, &mut u32),
}

fn replace(bytes: &mut Vec<u8>, from: &str, to: &str) {
    let t = String::from_utf8(bytes.clone()).unwrap();
    assert!(t.contains(from), "mutant target `{from}` not found");
    *bytes = t.replacen(from, to, 1).into_bytes();
}

const MUTANTS: &[Mutant] = &[
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "diagram.svg",
        what: "an element left open",
        apply: |b, _| replace(b, "</g>", ""),
    },
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "nodes/k8s-m1/etc/haproxy/haproxy.cfg",
        what: "a misspelt keyword",
        apply: |b, _| replace(b, "balance roundrobin", "balance roundrobn"),
    },
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "nodes/k8s-m1/etc/haproxy/haproxy.cfg",
        what: "a missing timeout (a warning, fatal with -dW)",
        apply: |b, _| replace(b, "timeout client 1h", ""),
    },
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "nodes/k8s-m1/etc/haproxy/haproxy.cfg",
        what: "a ca-file that is not there",
        apply: |b, _| {
            replace(
                b,
                "/etc/kubernetes/pki/ca.crt",
                "/etc/kubernetes/pki/nope.crt",
            )
        },
    },
    Mutant {
        bundle: "nginx-local-workers",
        path: "nodes/ydzs-node1/etc/nginx/nginx.conf",
        what: "a missing semicolon",
        apply: |b, _| replace(b, "proxy_timeout 1h;", "proxy_timeout 1h"),
    },
    Mutant {
        bundle: "nginx-local-workers",
        path: "nodes/ydzs-node1/etc/nginx/nginx.conf",
        what: "the stream module not loaded",
        apply: |b, _| replace(b, "include /etc/nginx/modules-enabled/*.conf;", ""),
    },
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "nodes/k8s-m1/etc/keepalived/keepalived.conf",
        what: "a misspelt keyword",
        apply: |b, _| replace(b, "priority 150", "priorty 150"),
    },
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "nodes/k8s-m1/etc/keepalived/keepalived.conf",
        what: "a VRID out of range",
        apply: |b, _| replace(b, "virtual_router_id 48", "virtual_router_id 256"),
    },
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "nodes/k8s-m1/etc/keepalived/check_apiserver.sh",
        what: "a track script that is not executable (checked through keepalived.conf)",
        apply: |_, mode| *mode = 0o644,
    },
    Mutant {
        bundle: "keepalived-only",
        path: "nodes/k8s-master2/etc/keepalived/check_apiserver.sh",
        what: "a track script others may write (checked through keepalived.conf)",
        apply: |_, mode| *mode = 0o775,
    },
    Mutant {
        bundle: "external-etcd",
        path: "nodes/etcd-1/etc/systemd/system/etcd.service",
        what: "an unknown key (exit 0, but output)",
        apply: |b, _| {
            replace(
                b,
                "Restart=on-failure",
                "Restart=on-failure\nRestartSecs=5s",
            )
        },
    },
    Mutant {
        bundle: "external-etcd",
        path: "nodes/etcd-1/etc/systemd/system/etcd.service",
        what: "an ExecStart binary that does not exist",
        apply: |b, _| replace(b, "/usr/local/bin/etcd ", "/usr/local/bin/etcd-nope "),
    },
    Mutant {
        bundle: "haproxy-keepalived-stacked",
        path: "nodes/k8s-m1/etc/keepalived/check_apiserver.sh",
        what: "a shell syntax error",
        apply: |b, _| replace(b, "exec curl", "if then curl"),
    },
    Mutant {
        bundle: "external-etcd",
        path: "nodes/cp-1/usr/local/bin/hagen-etcdctl",
        what: "bash-only syntax under #!/bin/sh",
        apply: |b, _| replace(b, "ETCDCTL_API=3", "a=(x y)\nETCDCTL_API=3"),
    },
    Mutant {
        bundle: "v1beta3-keepalived-rsa",
        path: "nodes/m1/etc/sysctl.d/90-hagen-kubernetes.conf",
        what: "a misspelt sysctl key",
        apply: |b, _| replace(b, "net.ipv4.ip_forward", "net.ipv4.ip_forwrd"),
    },
    Mutant {
        bundle: "kube-vip",
        path: "nodes/cp-1/etc/modules-load.d/hagen-kubernetes.conf",
        what: "two module names on one line",
        apply: |b, _| replace(b, "\nbr_netfilter\n", "\nbr_netfilter overlay\n"),
    },
    Mutant {
        bundle: "external-etcd",
        path: "nodes/etcd-1/etc/etcd/etcd.conf.yml",
        what: "a YAML syntax error",
        apply: |b, _| replace(b, "snapshot-count: 10000", "snapshot-count: [10000"),
    },
    Mutant {
        bundle: "kube-vip",
        path: "nodes/cp-1/etc/kubernetes/kubeadm-config.yaml",
        what: "a document without kind",
        apply: |b, _| replace(b, "kind: ", "kindd: "),
    },
];

#[test]
fn real_program_checks_reject_broken_files() {
    if !require_real_tools() {
        return;
    }
    let scratch = Scratch::new("mutants");
    let pki = check_pki(&scratch);
    let mut survivors = Vec::new();
    for (i, m) in MUTANTS.iter().enumerate() {
        let dir = hagen_tests::root().join("fixtures/expected").join(m.bundle);
        let mut files = golden_files(&dir);
        let target = files
            .iter_mut()
            .find(|(p, _, _)| p == m.path)
            .unwrap_or_else(|| panic!("{}: no {}", m.bundle, m.path));
        (m.apply)(&mut target.1, &mut target.2);
        let root = scratch.join(&format!("m{i}"));
        materialize(&files, &root);
        // A broken script is found through the file that runs it.
        let checked =
            if m.path.ends_with("check_apiserver.sh") && m.what.contains("keepalived.conf") {
                m.path.replace("check_apiserver.sh", "keepalived.conf")
            } else {
                m.path.to_string()
            };
        let bytes = std::fs::read(root.join(&checked)).unwrap();
        let kind = kind_of(&checked, &bytes).unwrap();
        match check_file(&root, &checked, kind, &pki.common_layer()) {
            Ok(()) => survivors.push(format!("{} {}: {}", m.bundle, m.path, m.what)),
            Err(e) => eprintln!(
                "rejected as it should ({}): {}",
                m.what,
                e.lines().next().unwrap_or("")
            ),
        }
    }
    // A file of a kind no check knows fails the golden check.
    let (_, failures) = check_bundle(
        &[(
            "nodes/x/etc/unknown/thing.conf".into(),
            b"x\n".to_vec(),
            0o644,
        )],
        "synthetic",
    );
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        survivors.is_empty(),
        "broken files the real programs did not reject:\n{}",
        survivors.join("\n")
    );
}
