//! `hagen plan` end to end: a plan written from a rendered bundle, the CA kept, and
//! the exit codes of a refused (1) and an unsupported (2) request.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let d = std::env::temp_dir().join(format!("hagen-plan-cli-{}", std::process::id()));
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

#[test]
fn the_cli_writes_a_plan_and_refuses_an_unsafe_one() {
    let bin = env!("CARGO_BIN_EXE_hagen");
    let tmp = Scratch::new();
    let case = root().join("fixtures/plans/three-to-five");
    let old = tmp.0.join("old");
    let st = std::process::Command::new(bin)
        .arg("render")
        .arg(case.join("old.yaml"))
        .arg("-o")
        .arg(&old)
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let out = tmp.0.join("plan");
    let st = std::process::Command::new(bin)
        .args(["plan", "--from"])
        .arg(&old)
        .arg(case.join("new.yaml"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
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
    let st = std::process::Command::new(bin)
        .args(["plan", "--from"])
        .arg(&old)
        .arg(case.join("old.yaml"))
        .args(["--dead", "k8s-m2", "--dead", "k8s-m3", "-o"])
        .arg(&refused)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(1), "{st:?}");
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("2 of 3 etcd members are dead"), "{err}");
    assert!(!refused.exists());
    let st = std::process::Command::new(bin)
        .args(["plan", "--rotate-ca", "--from"])
        .arg(&old)
        .arg(case.join("new.yaml"))
        .arg("-o")
        .arg(&refused)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2), "{st:?}");
    let st = std::process::Command::new(bin)
        .args(["plan", "--dead", "nope", "--from"])
        .arg(&old)
        .arg(case.join("new.yaml"))
        .arg("-o")
        .arg(&refused)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2), "{st:?}");
}
