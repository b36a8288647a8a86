//! The generated PKI checked from outside, by openssl: every leaf verifies against its CA
//! for its purposes, subjects, SANs and EKUs match kubeadm's table (partly spelled out
//! here, so a wrong table row fails too), every key is its certificate's, files sit on
//! the right nodes with the right modes, and re-rendering keeps what it must.

use hagen_core::bundle::{File, MODE_FILE, MODE_SECRET};
use hagen_core::pki::spec::{CertSpec, Eku, San};
use hagen_core::pki::{Existing, Pki, PkiAction, SeededEntropy, generate, kubeconfig};
use hagen_core::plan::Plan;
use hagen_core::topology::Role;
use hagen_tests::{TempDir, plan_of, run, write_files};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

const V135: &str = "apiVersion: hagen/v1alpha1
kind: Topology
metadata:
  name: v135
spec:
  kubernetesVersion: v1.35.0
  controlPlaneEndpoint:
    vip: 10.20.0.100/24
    dns: api.v135.example
    port: 8443
  apiServer:
    certSANs: [10.20.0.99, extra.v135.example, api.v135.example]
  loadBalancer:
    type: haproxy-keepalived
    interface: eth0
  networking:
    serviceSubnet: 10.100.0.0/16
    dnsDomain: corp.local
  nodes:
    - {name: cp-a, address: 10.20.0.11, roles: [control-plane]}
    - {name: cp-b, address: 10.20.0.12, roles: [control-plane]}
    - {name: cp-c, address: 10.20.0.13, roles: [control-plane]}
    - {name: wk-a, address: 10.20.0.21, roles: [worker]}
    - {name: wk-b, address: 10.20.0.22, roles: [worker]}
";

fn openssl(args: &[&str], dir: &Path) -> String {
    let (ok, out) = run(Command::new("openssl").args(args).current_dir(dir));
    assert!(ok, "openssl {args:?} failed:\n{out}");
    out
}

/// Subject, SANs, EKUs, basic constraints and key usage of a certificate, as openssl
/// prints them.
struct Seen {
    subject: String,
    sans: BTreeSet<San>,
    ekus: BTreeSet<String>,
    ca: bool,
    usage: String,
}

fn inspect(cert: &Path) -> Seen {
    let dir = cert.parent().expect("parent");
    let text = openssl(
        &[
            "x509",
            "-in",
            &cert.to_string_lossy(),
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName,extendedKeyUsage,basicConstraints,keyUsage",
        ],
        dir,
    );
    let lines: Vec<&str> = text.lines().collect();
    let after = |header: &str| {
        lines
            .iter()
            .position(|l| l.contains(header))
            .and_then(|i| lines.get(i + 1))
            .map(|l| l.trim().to_string())
            .unwrap_or_default()
    };
    let sans = after("Subject Alternative Name")
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(d) = s.strip_prefix("DNS:") {
                San::Dns(d.to_string())
            } else if let Some(ip) = s.strip_prefix("IP Address:") {
                San::Ip(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")))
            } else {
                panic!("unexpected SAN {s}")
            }
        })
        .collect();
    Seen {
        subject: lines
            .iter()
            .find_map(|l| l.strip_prefix("subject="))
            .unwrap_or_default()
            .trim()
            .to_string(),
        sans,
        ekus: after("Extended Key Usage")
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        ca: after("Basic Constraints") == "CA:TRUE",
        usage: after("Key Usage"),
    }
}

fn subject(org: Option<&str>, cn: &str) -> String {
    match org {
        Some(o) => format!("O = {o}, CN = {cn}"),
        None => format!("CN = {cn}"),
    }
}

fn pubkey_of_cert(cert: &Path) -> String {
    openssl(
        &["x509", "-in", &cert.to_string_lossy(), "-pubkey", "-noout"],
        Path::new("/"),
    )
}

fn pubkey_of_key(key: &Path) -> String {
    openssl(
        &["pkey", "-in", &key.to_string_lossy(), "-pubout"],
        Path::new("/"),
    )
}

fn verify(ca: &Path, cert: &Path, purpose: &str) {
    let out = openssl(
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-CAfile",
            &ca.to_string_lossy(),
            &cert.to_string_lossy(),
        ],
        Path::new("/"),
    );
    assert!(
        out.trim_end().ends_with(": OK"),
        "{}: {out}",
        cert.display()
    );
}

/// The table row of a certificate path relative to a node's root.
fn row_of(rel: &str) -> &'static CertSpec {
    let name = rel.strip_suffix(".crt").expect(".crt");
    if let Some(n) = name.strip_prefix("etc/kubernetes/pki/") {
        CertSpec::find(n).unwrap_or_else(|| panic!("no row for {rel}"))
    } else if let Some(n) = name.strip_prefix("etc/etcd/pki/") {
        hagen_core::pki::spec::CERTS
            .iter()
            .find(|c| c.external == Some(n))
            .unwrap_or_else(|| panic!("no row for {rel}"))
    } else {
        panic!("unexpected certificate {rel}")
    }
}

/// Every check of the module doc on one generated PKI; returns how many certificates
/// were verified.
fn check_pki(plan: &Plan, pki: &Pki, dir: &Path) -> usize {
    write_files(dir, pki.files.iter().map(|(p, f)| (p, f)));
    let files: BTreeMap<&str, &File> = pki.files.iter().map(|(p, f)| (p.as_str(), f)).collect();
    let mut verified = 0;
    for node in &plan.nodes {
        let prefix = format!("nodes/{}/", node.name);
        let mine: Vec<(&str, &File)> = files
            .iter()
            .filter_map(|(p, f)| p.strip_prefix(&prefix).map(|r| (r, *f)))
            .collect();
        let cp = node.has(Role::ControlPlane);
        if node.roles == [Role::Worker] {
            assert!(mine.is_empty(), "worker {} got {mine:?}", node.name);
            continue;
        }
        for (rel, file) in &mine {
            let expect = if rel.ends_with(".key") || rel.ends_with(".conf") {
                MODE_SECRET
            } else {
                MODE_FILE
            };
            assert_eq!(file.mode, expect, "{prefix}{rel}");
            assert!(file.pki);
            if rel.ends_with("ca.key") || rel.ends_with("sa.key") {
                assert!(cp, "{} holds {rel}", node.name);
            }
            assert_ne!(*rel, "etc/kubernetes/kubelet.conf");
        }
        let root = dir.join(&prefix);
        for (rel, _) in mine.iter().filter(|(r, _)| r.ends_with(".crt")) {
            let row = row_of(rel);
            let crt = root.join(rel);
            let seen = inspect(&crt);
            let org = (row.org)(&plan.version);
            assert_eq!(
                seen.subject,
                subject(org, &row.cn.for_node(node)),
                "{prefix}{rel}"
            );
            let want: BTreeSet<San> = row.sans_on(plan, node).into_iter().collect();
            assert_eq!(seen.sans, want, "{prefix}{rel}");
            assert_eq!(seen.ca, row.is_ca, "{prefix}{rel}");
            let ekus: BTreeSet<String> = row
                .ekus
                .iter()
                .map(|e| match e {
                    Eku::ServerAuth => "TLS Web Server Authentication".to_string(),
                    Eku::ClientAuth => "TLS Web Client Authentication".to_string(),
                })
                .collect();
            assert_eq!(seen.ekus, ekus, "{prefix}{rel}");
            if row.is_ca {
                assert_eq!(
                    seen.usage,
                    "Digital Signature, Key Encipherment, Certificate Sign"
                );
                verify(&crt, &crt, "any");
            } else {
                assert_eq!(
                    seen.usage, "Digital Signature, Key Encipherment",
                    "{prefix}{rel}"
                );
                let signer = CertSpec::find(row.signer.expect("leaf has a signer")).expect("row");
                let (ca_rel, _) = signer
                    .place(plan, node)
                    .expect("the signer sits beside its leaves");
                let ca = root.join(format!("{ca_rel}.crt"));
                for eku in row.ekus {
                    let purpose = match eku {
                        Eku::ServerAuth => "sslserver",
                        Eku::ClientAuth => "sslclient",
                    };
                    verify(&ca, &crt, purpose);
                }
                // Each purpose the certificate lacks must fail: proves verify checks it.
                if row.ekus == [Eku::ClientAuth] {
                    let (ok, _) = run(Command::new("openssl").args([
                        "verify",
                        "-x509_strict",
                        "-purpose",
                        "sslserver",
                        "-CAfile",
                        &ca.to_string_lossy(),
                        &crt.to_string_lossy(),
                    ]));
                    assert!(!ok, "{prefix}{rel} passes as a server certificate");
                }
            }
            verified += 1;
            let key = crt.with_extension("key");
            if key.exists() {
                assert_eq!(pubkey_of_key(&key), pubkey_of_cert(&crt), "{prefix}{rel}");
            }
        }
        if cp {
            let pki_dir = root.join("etc/kubernetes/pki");
            assert_eq!(
                pubkey_of_key(&pki_dir.join("sa.key")),
                std::fs::read_to_string(pki_dir.join("sa.pub")).expect("sa.pub")
            );
            let first = plan.control_planes().next().expect("a control plane").name == node.name;
            let mut confs = vec!["admin.conf", "controller-manager.conf", "scheduler.conf"];
            if first && plan.version.minor >= 29 {
                confs.push("super-admin.conf");
            }
            let present: BTreeSet<&str> = mine
                .iter()
                .filter_map(|(r, _)| r.strip_prefix("etc/kubernetes/"))
                .filter(|r| r.ends_with(".conf"))
                .collect();
            assert_eq!(present, confs.iter().copied().collect(), "{}", node.name);
            for conf in confs {
                verified += check_kubeconfig(plan, node, &root.join("etc/kubernetes").join(conf));
            }
        }
    }
    // The discovery hash, as kubeadm documents computing it.
    let ca = dir.join(format!(
        "nodes/{}/etc/kubernetes/pki/ca.crt",
        plan.control_planes().next().expect("cp").name
    ));
    let spki = dir.join("ca-spki.der");
    std::fs::write(dir.join("ca-pub.pem"), pubkey_of_cert(&ca)).expect("write");
    openssl(
        &[
            "pkey",
            "-pubin",
            "-in",
            "ca-pub.pem",
            "-outform",
            "DER",
            "-out",
            "ca-spki.der",
        ],
        dir,
    );
    let digest = openssl(&["dgst", "-sha256", "-r", &spki.to_string_lossy()], dir);
    let hex = digest.split_whitespace().next().expect("digest");
    assert_eq!(pki.join.ca_cert_hash, format!("sha256:{hex}"));
    verified
}

fn check_kubeconfig(plan: &Plan, node: &hagen_core::plan::Node, path: &Path) -> usize {
    let parts = kubeconfig::parse(&std::fs::read(path).expect("read")).expect("kubeconfig parses");
    let file = path.file_name().and_then(|f| f.to_str()).expect("name");
    let spec = hagen_core::pki::spec::KUBECONFIGS
        .iter()
        .find(|k| k.file == file)
        .expect("spec");
    let endpoint = format!("{}:{}", plan.endpoint.host(), plan.endpoint.port);
    let local = format!("{}:{}", node.address, plan.bind_port);
    let want_server = match file {
        "admin.conf" | "super-admin.conf" => format!("https://{endpoint}"),
        _ => format!("https://{local}"),
    };
    assert_eq!(parts.server, want_server, "{}", path.display());
    assert_eq!(parts.cluster, plan.cluster_name);
    let dir = path.with_extension("parts");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("ca.crt"), &parts.ca_pem).expect("write");
    std::fs::write(dir.join("client.crt"), &parts.cert_pem).expect("write");
    std::fs::write(dir.join("client.key"), &parts.key_pem).expect("write");
    verify(&dir.join("ca.crt"), &dir.join("client.crt"), "sslclient");
    let seen = inspect(&dir.join("client.crt"));
    assert_eq!(seen.subject, subject((spec.org)(&plan.version), spec.cn));
    assert_eq!(
        pubkey_of_key(&dir.join("client.key")),
        pubkey_of_cert(&dir.join("client.crt"))
    );
    let node_ca = path.parent().expect("dir").join("pki/ca.crt");
    assert_eq!(std::fs::read(node_ca).expect("ca.crt"), parts.ca_pem);
    1
}

fn fresh(plan: &Plan, seed: u64) -> Pki {
    generate(
        plan,
        &Existing::none(),
        &mut SeededEntropy::new(seed),
        now(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn file<'a>(pki: &'a Pki, path: &str) -> &'a [u8] {
    &pki.files
        .iter()
        .find(|(p, _)| p == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .1
        .bytes
}

/// RSA keys are made on several threads from seeds drawn in a fixed order: the same seed
/// gives the same files on one thread and on many; a re-render with part of the PKI
/// present makes only the missing keys (debug builds check the count) and keeps the rest.
#[test]
fn rsa_pki_does_not_depend_on_the_thread_count() {
    use hagen_core::pki::{Options, generate_with};
    let plan = plan_of("valid/v1beta3-keepalived-rsa.yaml", None);
    let at = now();
    let with = |threads: usize, existing: &Existing| {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let progress = |done: usize, total: usize| {
            assert!(done >= 1 && done <= total);
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        };
        let options = Options {
            threads,
            progress: Some(&progress),
            ..Options::default()
        };
        let pki = generate_with(&plan, existing, &mut SeededEntropy::new(21), at, &options)
            .unwrap_or_else(|e| panic!("{e}"));
        (pki, calls.into_inner())
    };
    let (one, one_calls) = with(1, &Existing::none());
    let (three, three_calls) = with(3, &Existing::none());
    assert_eq!(one.files, three.files);
    assert_eq!(one.join, three.join);
    // 3 CAs, sa, and per control plane 7 leaves and 3 kubeconfigs (1.28: no super-admin).
    assert_eq!((one_calls, three_calls), (4 + 3 * 10, 4 + 3 * 10));

    // Drop one node's leaves: only their keys are made again.
    let mut existing = Existing::from_bundle(
        one.files
            .iter()
            .map(|(p, f)| (p.as_str(), f.bytes.as_slice())),
    )
    .unwrap();
    existing.per_node.remove("m2");
    let (again, calls) = with(2, &existing);
    assert_eq!(calls, 10);
    let kept = |pki: &Pki, node: &str| -> Vec<(String, File)> {
        pki.files
            .iter()
            .filter(|(p, _)| !p.starts_with(&format!("nodes/{node}/")))
            .cloned()
            .collect()
    };
    assert_eq!(kept(&again, "m2"), kept(&one, "m2"));
    assert_ne!(
        file(&again, "nodes/m2/etc/kubernetes/pki/apiserver.key"),
        file(&one, "nodes/m2/etc/kubernetes/pki/apiserver.key")
    );
}

#[test]
fn v1_28_rsa_pki_verifies() {
    let plan = plan_of("valid/v1beta3-keepalived-rsa.yaml", None);
    let pki = fresh(&plan, 28);
    let dir = TempDir::new("pki128");
    let n = check_pki(&plan, &pki, dir.path());
    assert_eq!(n, 3 * (3 + 7 + 3));
    let key = String::from_utf8_lossy(file(&pki, "nodes/m1/etc/kubernetes/pki/ca.key")).to_string();
    let text = openssl(
        &[
            "pkey",
            "-in",
            "nodes/m1/etc/kubernetes/pki/ca.key",
            "-noout",
            "-text",
        ],
        dir.path(),
    );
    assert!(
        key.starts_with("-----BEGIN PRIVATE KEY-----") && text.contains("2048 bit"),
        "{text}"
    );
    let root = dir.path().join("nodes/m1/etc/kubernetes/pki");
    assert_eq!(
        inspect(&root.join("apiserver-kubelet-client.crt")).subject,
        "O = system:masters, CN = kube-apiserver-kubelet-client"
    );
    assert_eq!(
        inspect(&root.join("etcd/healthcheck-client.crt")).subject,
        "O = system:masters, CN = kube-etcd-healthcheck-client"
    );
}

#[test]
fn v1_31_pki_verifies() {
    let plan = plan_of("valid/haproxy-keepalived-stacked.yaml", None);
    let pki = fresh(&plan, 31);
    let dir = TempDir::new("pki131");
    assert_eq!(check_pki(&plan, &pki, dir.path()), 3 * (3 + 7 + 3) + 1);
    let root = dir.path().join("nodes/k8s-m1/etc/kubernetes/pki");
    // Spelled out, so a wrong SAN function fails here and not only against itself.
    let sans: Vec<String> = inspect(&root.join("apiserver.crt"))
        .sans
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        sans,
        [
            "DNS:k8s-api",
            "DNS:k8s-api.local",
            "DNS:k8s-m1",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
            "IP:10.96.0.1",
            "IP:127.0.0.1",
            "IP:192.168.2.140",
            "IP:192.168.2.250",
        ]
    );
    let etcd: Vec<String> = inspect(&root.join("etcd/peer.crt"))
        .sans
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        etcd,
        [
            "DNS:k8s-m1",
            "DNS:localhost",
            "IP:127.0.0.1",
            "IP:192.168.2.140",
            "IP:::1"
        ]
    );
    assert_eq!(inspect(&root.join("etcd/peer.crt")).subject, "CN = k8s-m1");
    assert_eq!(
        inspect(&root.join("apiserver-kubelet-client.crt")).subject,
        "O = kubeadm:cluster-admins, CN = kube-apiserver-kubelet-client"
    );
    assert_eq!(
        inspect(&root.join("apiserver-etcd-client.crt")).subject,
        "CN = kube-apiserver-etcd-client"
    );
    assert_eq!(
        inspect(&root.join("ca.crt"))
            .sans
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        ["DNS:kubernetes"]
    );
    assert_eq!(inspect(&root.join("etcd/ca.crt")).subject, "CN = etcd-ca");
}

#[test]
fn v1_35_pki_verifies() {
    let plan = plan_of("v135.yaml", Some(V135));
    let pki = fresh(&plan, 35);
    let dir = TempDir::new("pki135");
    assert_eq!(check_pki(&plan, &pki, dir.path()), 3 * (3 + 7 + 3) + 1);
    let root = dir.path().join("nodes/cp-b/etc/kubernetes/pki");
    let sans: Vec<String> = inspect(&root.join("apiserver.crt"))
        .sans
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        sans,
        [
            "DNS:api.v135.example",
            "DNS:cp-b",
            "DNS:extra.v135.example",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.corp.local",
            "IP:10.20.0.12",
            "IP:10.20.0.99",
            "IP:10.20.0.100",
            "IP:10.100.0.1",
        ]
    );
    assert_eq!(
        inspect(&root.join("etcd/healthcheck-client.crt")).subject,
        "CN = kube-etcd-healthcheck-client"
    );
    assert!(!pki.files.iter().any(|(p, _)| p.starts_with("nodes/wk-")));
}

#[test]
fn external_etcd_pki_verifies_and_is_placed() {
    let plan = plan_of("valid/external-etcd.yaml", None);
    let pki = fresh(&plan, 7);
    let dir = TempDir::new("pkiext");
    // 2 control planes: 3 CAs + 4 leaves + 4 kubeconfigs (super-admin on one);
    // 3 etcd hosts: etcd CA + server, peer, healthcheck-client.
    assert_eq!(
        check_pki(&plan, &pki, dir.path()),
        2 * (3 + 4 + 3) + 1 + 3 * 4
    );
    let etcd1: Vec<&str> = pki
        .files
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("nodes/etcd-1/"))
        .collect();
    assert_eq!(
        etcd1,
        [
            "etc/etcd/pki/ca.crt",
            "etc/etcd/pki/healthcheck-client.crt",
            "etc/etcd/pki/healthcheck-client.key",
            "etc/etcd/pki/peer.crt",
            "etc/etcd/pki/peer.key",
            "etc/etcd/pki/server.crt",
            "etc/etcd/pki/server.key",
        ]
    );
    assert!(
        !pki.files
            .iter()
            .any(|(p, _)| p.starts_with("nodes/cp-1/") && p.contains("etcd/server"))
    );
    assert_eq!(
        file(&pki, "nodes/etcd-2/etc/etcd/pki/ca.crt"),
        file(&pki, "nodes/cp-2/etc/kubernetes/pki/etcd/ca.crt")
    );
    // kubeadm never reads the etcd CA key with external etcd: no node gets it, the bundle
    // keeps it (top-level pki/) and a re-render reads it back, changing nothing.
    let etcd_ca_keys: Vec<&str> = pki
        .files
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| p.ends_with("etcd/ca.key"))
        .collect();
    assert_eq!(etcd_ca_keys, ["pki/etcd/ca.key"]);
    let d = dir.path();
    std::fs::write(d.join("etcd-ca.key"), file(&pki, "pki/etcd/ca.key")).unwrap();
    std::fs::write(
        d.join("etcd-ca.crt"),
        file(&pki, "nodes/cp-1/etc/kubernetes/pki/etcd/ca.crt"),
    )
    .unwrap();
    assert_eq!(
        pubkey_of_key(&d.join("etcd-ca.key")),
        pubkey_of_cert(&d.join("etcd-ca.crt")),
        "pki/etcd/ca.key is the etcd CA's key"
    );
    let existing = Existing::from_bundle(
        pki.files
            .iter()
            .map(|(p, f)| (p.as_str(), f.bytes.as_slice())),
    )
    .expect("bundle");
    let again = generate(&plan, &existing, &mut SeededEntropy::new(8), now()).expect("re-render");
    assert_eq!(again.files, pki.files, "a re-render changed bytes");
}

#[test]
fn rerender_keeps_cas_and_keys_and_a_new_san_reissues_only_apiserver() {
    let mut plan = plan_of("valid/haproxy-keepalived-stacked.yaml", None);
    let first = fresh(&plan, 1);
    let existing = Existing::from_bundle(
        first
            .files
            .iter()
            .map(|(p, f)| (p.as_str(), f.bytes.as_slice())),
    )
    .expect("bundle");
    let again = generate(&plan, &existing, &mut SeededEntropy::new(2), now()).expect("re-render");
    assert_eq!(again.files, first.files, "a re-render changed bytes");
    assert!(again.report.iter().all(|e| e.action == PkiAction::Kept));

    plan.cert_sans.push("lb.example.org".into());
    let third = generate(&plan, &existing, &mut SeededEntropy::new(3), now()).expect("re-render");
    let changed: Vec<(&str, PkiAction, &str)> = third
        .report
        .iter()
        .filter(|e| e.action != PkiAction::Kept)
        .map(|e| (e.path.as_str(), e.action, e.reason.as_str()))
        .collect();
    let want: Vec<(String, PkiAction, &str)> = ["k8s-m1", "k8s-m2", "k8s-m3"]
        .iter()
        .map(|m| {
            (
                format!("nodes/{m}/etc/kubernetes/pki/apiserver.crt"),
                PkiAction::Reissued,
                "SANs lack DNS:lb.example.org",
            )
        })
        .collect();
    assert_eq!(
        changed,
        want.iter()
            .map(|(p, a, r)| (p.as_str(), *a, *r))
            .collect::<Vec<_>>()
    );
    for (path, f) in &third.files {
        if path.ends_with(".key") || path.contains("ca.") || path.ends_with(".pub") {
            assert_eq!(f.bytes, file(&first, path), "{path} changed");
        }
    }
    let dir = TempDir::new("pkisan");
    check_pki(&plan, &third, dir.path());
    let seen = inspect(
        &dir.path()
            .join("nodes/k8s-m2/etc/kubernetes/pki/apiserver.crt"),
    );
    assert!(seen.sans.contains(&San::Dns("lb.example.org".into())));
}

/// Seed 004: a single-master cluster made by kubeadm-style openssl commands (PKCS#1 RSA
/// and SEC1 EC keys), whose apiserver certificate lacks the VIP and the LB name.
#[test]
fn an_openssl_made_single_master_pki_is_adopted() {
    let dir = TempDir::new("pki004");
    let d = dir.path();
    std::fs::create_dir_all(d.join("etcd")).expect("mkdir");
    std::fs::write(
        d.join("ca.cnf"),
        "[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyCertSign\n\
         [srv]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:m1,DNS:kubernetes,DNS:kubernetes.default,\
         DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:192.168.50.11\n",
    )
    .expect("write");
    openssl(&["genrsa", "-traditional", "-out", "ca.key", "2048"], d);
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "front-proxy-ca.key",
        ],
        d,
    );
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "etcd/ca.key",
        ],
        d,
    );
    openssl(&["genrsa", "-traditional", "-out", "sa.key", "2048"], d);
    openssl(&["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], d);
    for (name, cn) in [
        ("ca", "kubernetes"),
        ("front-proxy-ca", "front-proxy-ca"),
        ("etcd/ca", "etcd-ca"),
    ] {
        openssl(
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                &format!("/CN={cn}"),
                "-days",
                "3650",
                "-out",
                &format!("{name}.crt"),
                "-config",
                "ca.cnf",
                "-extensions",
                "ca",
                "-addext",
                &format!("subjectAltName=DNS:{cn}"),
            ],
            d,
        );
    }
    openssl(
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "apiserver.key",
        ],
        d,
    );
    openssl(
        &[
            "req",
            "-new",
            "-key",
            "apiserver.key",
            "-subj",
            "/CN=kube-apiserver",
            "-config",
            "ca.cnf",
            "-out",
            "apiserver.csr",
        ],
        d,
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "apiserver.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-extfile",
            "ca.cnf",
            "-extensions",
            "srv",
            "-out",
            "apiserver.crt",
        ],
        d,
    );
    let mut files = BTreeMap::new();
    for name in [
        "ca.crt",
        "ca.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "etcd/ca.crt",
        "etcd/ca.key",
        "sa.key",
        "sa.pub",
        "apiserver.crt",
        "apiserver.key",
    ] {
        files.insert(name.to_string(), std::fs::read(d.join(name)).expect("read"));
    }
    let existing = Existing::from_pki_dir(files.clone(), "m1");
    let plan = plan_of("valid/v1beta3-keepalived-rsa.yaml", None);
    // ECDSA for the new keys keeps the test quick; the loaded CA stays RSA.
    let plan = Plan {
        key_algorithm: hagen_core::topology::KeyAlgorithm::EcdsaP256,
        ..plan
    };
    let pki = generate(&plan, &existing, &mut SeededEntropy::new(4), now())
        .unwrap_or_else(|e| panic!("{e}"));
    for (name, bytes) in &files {
        if name != "apiserver.crt" {
            assert_eq!(
                file(&pki, &format!("nodes/m1/etc/kubernetes/pki/{name}")),
                bytes.as_slice(),
                "{name}"
            );
        }
    }
    let event = pki
        .report
        .iter()
        .find(|e| e.path == "nodes/m1/etc/kubernetes/pki/apiserver.crt")
        .expect("event");
    assert_eq!(event.action, PkiAction::Reissued);
    assert_eq!(event.reason, "SANs lack IP:192.168.50.10");
    let out = TempDir::new("pki004out");
    check_pki(&plan, &pki, out.path());

    // The same directory with a key that is not its certificate's: an error naming it.
    let mut bad = files.clone();
    bad.insert("front-proxy-ca.key".into(), files["etcd/ca.key"].clone());
    let err = generate(
        &plan,
        &Existing::from_pki_dir(bad, "m1"),
        &mut SeededEntropy::new(4),
        now(),
    )
    .expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        "front-proxy-ca.key is not the private key of front-proxy-ca.crt"
    );
}
