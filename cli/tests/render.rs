//! `hagen render` end to end: what is written, what is refused, what is kept.

mod common;

use common::{hagen, root};
use std::path::{Path, PathBuf};

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("hagen-render-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
    fn path(&self, p: &str) -> String {
        self.0.join(p).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tree(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if meta.is_dir() {
                out.push((
                    format!("{rel}/"),
                    meta.permissions().mode() & 0o777,
                    Vec::new(),
                ));
                stack.push(p);
            } else {
                out.push((
                    rel,
                    meta.permissions().mode() & 0o777,
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_invalid_topology_writes_nothing() {
    let s = Scratch::new("invalid");
    let out = hagen(&[
        "render",
        "fixtures/topologies/invalid/TOP010-four-etcd.yaml",
        "-o",
        &s.path("out"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing written"));
    assert!(!s.0.join("out").exists());
    assert_eq!(
        std::fs::read_dir(&s.0).unwrap().count(),
        0,
        "no temporary directory is left"
    );
}

#[test]
fn a_bundle_has_the_contract_layout_and_modes() {
    let s = Scratch::new("layout");
    let out = hagen(&[
        "render",
        "fixtures/topologies/valid/haproxy-keepalived-stacked.yaml",
        "-o",
        &s.path("out"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = tree(&s.0.join("out"));
    let mode = |p: &str| {
        files
            .iter()
            .find(|f| f.0 == p)
            .unwrap_or_else(|| panic!("no {p}"))
            .1
    };
    assert_eq!(mode("nodes/k8s-m1/etc/kubernetes/pki/"), 0o700);
    assert_eq!(mode("nodes/k8s-m1/etc/kubernetes/pki/ca.key"), 0o600);
    assert_eq!(mode("nodes/k8s-m1/etc/kubernetes/pki/ca.crt"), 0o644);
    assert_eq!(
        mode("nodes/k8s-m1/etc/keepalived/check_apiserver.sh"),
        0o755
    );
    assert_eq!(mode("nodes/k8s-m1/"), 0o755);
    assert_eq!(mode("join.yaml"), 0o600);
    for f in &files {
        if f.0.ends_with(".key") {
            assert_eq!(f.1, 0o600, "{}", f.0);
        }
    }
    // The MANIFEST lists every file with its mode.
    let manifest =
        String::from_utf8(files.iter().find(|f| f.0 == "MANIFEST").unwrap().2.clone()).unwrap();
    for f in files
        .iter()
        .filter(|f| !f.0.ends_with('/') && f.0 != "MANIFEST")
    {
        assert!(
            manifest.contains(&format!("{:04o} {}\n", f.1, f.0)),
            "{} not in MANIFEST",
            f.0
        );
    }
}

#[test]
fn workers_get_no_pki_and_only_control_planes_hold_ca_keys() {
    let s = Scratch::new("workers");
    let out = hagen(&[
        "render",
        "fixtures/topologies/valid/nginx-local-workers.yaml",
        "-o",
        &s.path("out"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    for (path, _, _) in tree(&s.0.join("out")) {
        let node = path
            .strip_prefix("nodes/")
            .and_then(|p| p.split('/').next())
            .unwrap_or("");
        if node.contains("node") {
            // No PKI, no key, no kubeconfig (the kernel settings under etc/sysctl.d and
            // etc/modules-load.d are .conf files too, and every node gets them).
            let kubeconfig = path.contains("/etc/kubernetes/") && path.ends_with(".conf");
            assert!(
                !path.contains("/pki/") && !path.ends_with(".key") && !kubeconfig,
                "a worker got {path}"
            );
        }
        if path.ends_with("ca.key") {
            assert!(node.contains("master"), "{path}");
        }
    }
}

#[test]
fn rerender_keeps_everything_and_foreign_dirs_need_force() {
    let s = Scratch::new("rerender");
    let out_dir = s.path("out");
    let t = "fixtures/topologies/valid/external-etcd.yaml";
    assert_eq!(hagen(&["render", t, "-o", &out_dir]).status.code(), Some(0));
    let first = tree(&s.0.join("out"));
    let again = hagen(&["render", t, "-o", &out_dir]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 generated"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(
        first,
        tree(&s.0.join("out")),
        "a re-render with the same input changes no byte and no mode"
    );

    // Adding a SAN re-issues exactly the API server certificates, and says so.
    let topo = std::fs::read_to_string(root().join(t)).unwrap().replace(
        "    port: 8443\n",
        "    port: 8443\n  apiServer:\n    certSANs: [k8s.example.com]\n",
    );
    let changed = s.path("changed.yaml");
    std::fs::write(&changed, topo).unwrap();
    let out = hagen(&["render", &changed, "-o", &out_dir]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("2 re-issued"), "{text}");
    assert_eq!(text.matches("re-issued  nodes/").count(), 2, "{text}");
    assert!(text.contains("apiserver.crt"), "{text}");
    let after = tree(&s.0.join("out"));
    for (p, _, bytes) in &first {
        if p.ends_with(".key") {
            assert_eq!(
                Some(bytes),
                after.iter().find(|f| &f.0 == p).map(|f| &f.2),
                "{p}: a key changed"
            );
        }
    }

    let foreign = s.path("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(s.0.join("foreign/notes.txt"), "mine").unwrap();
    let refused = hagen(&["render", t, "-o", &foreign]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(s.0.join("foreign/notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn pki_from_adopts_an_existing_ca() {
    let s = Scratch::new("pkifrom");
    let t = "fixtures/topologies/valid/haproxy-keepalived-stacked.yaml";
    assert_eq!(
        hagen(&["render", t, "-o", &s.path("a")]).status.code(),
        Some(0)
    );
    let pki = s.path("a/nodes/k8s-m1/etc/kubernetes/pki");
    let out = hagen(&["render", t, "-o", &s.path("b"), "--pki-from", &pki]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = |d: &str| {
        std::fs::read(s.0.join(d).join("nodes/k8s-m2/etc/kubernetes/pki/ca.key")).unwrap()
    };
    assert_eq!(ca("a"), ca("b"), "the CA key is adopted, not regenerated");
    // A key that does not match its certificate is refused, naming the file.
    std::fs::copy(
        s.0.join("a/nodes/k8s-m1/etc/kubernetes/pki/front-proxy-ca.key"),
        s.0.join("a/nodes/k8s-m1/etc/kubernetes/pki/ca.key"),
    )
    .unwrap();
    let bad = hagen(&["render", t, "-o", &s.path("c"), "--pki-from", &pki]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("ca."),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(!s.0.join("c").exists());
}

/// Every bundle `hagen render` writes lints clean as a whole directory against its own
/// topology, IPv4 and IPv6 alike — the command a user runs in CI
/// (`hagen lint --topology t.yaml out/`), with the topology file inside the bundle
/// recognised as a topology, not taken for a kube-vip manifest.
#[test]
fn rendered_bundles_lint_clean_as_a_directory_ipv4_and_ipv6() {
    let cases = [
        (
            "v4-haproxy",
            "10.20.0.100/24",
            ["10.20.0.11", "10.20.0.12", "10.20.0.13"],
            "haproxy-keepalived",
            "stacked",
            "",
        ),
        (
            "v6-haproxy",
            "fd00:20::100/64",
            ["fd00:20::b", "fd00:20::c", "fd00:20::d"],
            "haproxy-keepalived",
            "stacked",
            "  networking: {podSubnet: \"fd00:10:244::/56\", serviceSubnet: \"fd00:10:96::/112\"}\n",
        ),
        (
            "v6-kubevip-external",
            "fd00:20::100/64",
            ["fd00:20::b", "fd00:20::c", "fd00:20::d"],
            "kube-vip",
            "external",
            "  networking: {podSubnet: \"fd00:10:244::/56,10.244.0.0/16\", serviceSubnet: \"fd00:10:96::/112,10.96.0.0/16\"}\n",
        ),
        (
            "v6-nginx",
            "",
            ["fd00:20::b", "fd00:20::c", "fd00:20::d"],
            "nginx-local",
            "stacked",
            "  networking: {podSubnet: \"fd00:10:244::/56\", serviceSubnet: \"fd00:10:96::/112\"}\n",
        ),
    ];
    for (name, vip, cps, lb, etcd, networking) in cases {
        let s = Scratch::new(&format!("lint-{name}"));
        let endpoint = if vip.is_empty() {
            "{dns: api.k8s.test, port: 8443}".to_string()
        } else {
            let port = if lb == "haproxy-keepalived" {
                8443
            } else {
                6443
            };
            format!("{{vip: \"{vip}\", port: {port}}}")
        };
        let balancer = match lb {
            "nginx-local" => "{type: nginx-local}".to_string(),
            "kube-vip" => "{type: kube-vip, interface: eth0}".to_string(),
            _ => format!("{{type: {lb}, interface: eth0, virtualRouterId: 7}}"),
        };
        let mut nodes = String::new();
        for (i, a) in cps.iter().enumerate() {
            nodes.push_str(&format!(
                "    - {{name: cp-{i}, address: \"{a}\", roles: [control-plane], zone: z{i}}}\n"
            ));
            if etcd == "external" {
                let e = a.replace("::", "::1");
                nodes.push_str(&format!(
                    "    - {{name: etcd-{i}, address: \"{e}\", roles: [etcd], zone: z{i}}}\n"
                ));
            }
        }
        let topology = format!(
            "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: {name}\nspec:\n  kubernetesVersion: v1.32.3\n  controlPlaneEndpoint: {endpoint}\n  loadBalancer: {balancer}\n  etcd: {{type: {etcd}}}\n{networking}  nodes:\n{nodes}"
        );
        std::fs::write(s.path("t.yaml"), &topology).unwrap();
        let validate = hagen(&["validate", &s.path("t.yaml")]);
        let report = String::from_utf8_lossy(&validate.stdout).into_owned();
        assert!(
            validate.status.success() && report.contains("no problems found"),
            "{name}: {report}\n{topology}"
        );
        let render = hagen(&["render", &s.path("t.yaml"), "-o", &s.path("out")]);
        assert!(
            render.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&render.stderr)
        );
        let lint = hagen(&[
            "lint",
            "--format",
            "json",
            "--topology",
            &s.path("t.yaml"),
            &s.path("out"),
        ]);
        let json: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
        let findings: Vec<&serde_json::Value> = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] != "info")
            .collect();
        assert!(
            lint.status.success() && findings.is_empty(),
            "{name}: {findings:#?}"
        );
        // The bundle's own topology.yaml was read as a topology.
        let files = json["files"].as_array().unwrap();
        assert!(
            files.iter().any(|f| f["file"]
                .as_str()
                .is_some_and(|p| p.ends_with("out/topology.yaml"))
                && f["kind"] == "topology"),
            "{name}: {files:#?}"
        );
    }
}
