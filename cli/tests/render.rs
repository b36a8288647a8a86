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
            assert!(
                !path.contains("/pki/") && !path.ends_with(".key") && !path.ends_with(".conf")
                    || path.ends_with("nginx.conf"),
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
