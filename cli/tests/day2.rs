//! `hagen plan` end to end: a plan written from a rendered bundle, the CA kept, and
//! the exit codes of a refused (1) and an unsupported (2) request.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        Scratch::named("plan-cli")
    }

    fn named(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("hagen-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `hagen render TOPOLOGY -o OUT`, which must succeed.
fn render(topology: PathBuf, out: &Path) {
    let st = Command::new(env!("CARGO_BIN_EXE_hagen"))
        .arg("render")
        .arg(topology)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
}

/// `hagen plan FLAGS… --from OLD NEW -o OUT`.
fn plan(flags: &[&str], old: &Path, new: PathBuf, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hagen"))
        .arg("plan")
        .args(flags)
        .arg("--from")
        .arg(old)
        .arg(new)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn the_cli_writes_a_plan_and_refuses_an_unsafe_one() {
    let tmp = Scratch::new();
    let case = root().join("fixtures/plans/three-to-five");
    let old = tmp.0.join("old");
    render(case.join("old.yaml"), &old);
    let out = tmp.0.join("plan");
    let st = plan(&[], &old, case.join("new.yaml"), &out);
    assert!(st.status.success(), "{st:?}");
    for f in [
        "README.md",
        "plan.json",
        "bundle/MANIFEST",
        "bundle/topology.yaml",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(
        out.join(
            "steps/03-join-control-plane-k8s-m4/nodes/k8s-m4/etc/kubernetes/kubeadm-config.yaml"
        )
        .is_file()
    );
    assert_eq!(
        std::fs::read(old.join("nodes/k8s-m1/etc/kubernetes/pki/ca.key")).unwrap(),
        std::fs::read(out.join("bundle/nodes/k8s-m5/etc/kubernetes/pki/ca.key")).unwrap()
    );
    let refused = tmp.0.join("refused");
    let st = plan(
        &["--dead", "k8s-m2", "--dead", "k8s-m3"],
        &old,
        case.join("old.yaml"),
        &refused,
    );
    assert_eq!(st.status.code(), Some(1), "{st:?}");
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("2 of 3 etcd members are dead"), "{err}");
    assert!(!refused.exists());
    let st = plan(&["--rotate-ca"], &old, case.join("new.yaml"), &refused);
    assert_eq!(st.status.code(), Some(2), "{st:?}");
    let st = plan(&["--dead", "nope"], &old, case.join("new.yaml"), &refused);
    assert_eq!(st.status.code(), Some(2), "{st:?}");
}

/// `--rotate-ca` with the same topology on both sides: new CAs in bundle/ (the
/// service-account key kept), the join pins of both CAs, the runbook's phases; refused
/// for a single control plane (exit 1).
#[test]
fn the_cli_plans_a_ca_rotation() {
    let tmp = Scratch::named("rotate-cli");
    let case = root().join("fixtures/plans/rotate-ca-stacked");
    let old = tmp.0.join("old");
    render(case.join("old.yaml"), &old);
    let out = tmp.0.join("plan");
    let st = plan(&["--rotate-ca"], &old, case.join("new.yaml"), &out);
    assert!(st.status.success(), "{st:?}");
    let stdout = String::from_utf8_lossy(&st.stdout);
    assert!(stdout.contains("new CAs in bundle/"), "{stdout}");
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let pki = |dir: &PathBuf, f: &str| read(dir.join("nodes/k8s-m2/etc/kubernetes/pki").join(f));
    assert_ne!(pki(&old, "ca.crt"), pki(&out.join("bundle"), "ca.crt"));
    assert_ne!(pki(&old, "ca.key"), pki(&out.join("bundle"), "ca.key"));
    assert_eq!(pki(&old, "sa.key"), pki(&out.join("bundle"), "sa.key"));
    let join = String::from_utf8(read(out.join("rotation/join.txt"))).unwrap();
    assert_eq!(
        join.matches("--discovery-token-ca-cert-hash sha256:")
            .count(),
        2,
        "{join}"
    );
    let readme = String::from_utf8(read(out.join("README.md"))).unwrap();
    for phase in ["phase 1/3", "phase 2/3", "phase 3/3", "rotation/join.txt"] {
        assert!(readme.contains(phase), "{phase}");
    }
    let bundle = read(
        out.join("steps/02-rotate-control-plane-k8s-m1/nodes/k8s-m1/etc/kubernetes/pki/ca.crt"),
    );
    assert_eq!(
        String::from_utf8_lossy(&bundle)
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );

    let single = root().join("fixtures/plans/refused-rotate-ca-single-control-plane");
    let old1 = tmp.0.join("old1");
    render(single.join("old.yaml"), &old1);
    let refused = tmp.0.join("refused");
    let st = plan(&["--rotate-ca"], &old1, single.join("new.yaml"), &refused);
    assert_eq!(st.status.code(), Some(1), "{st:?}");
    assert!(String::from_utf8_lossy(&st.stderr).contains("the only API server restarts"));
    assert!(!refused.exists());
}
