//! The `hagen` binary end to end: exit codes of the contract, formats, and files.

mod common;

use common::{hagen, root};
use std::path::Path;
use std::process::Output;

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn list(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn validate_exit_codes_follow_the_contract() {
    for f in list("fixtures/topologies/valid") {
        let out = hagen(&["validate", &f]);
        assert_eq!(code(&out), 0, "{f}: {}", stdout(&out));
        assert!(stdout(&out).contains("no problems found"), "{f}");
    }
    for f in list("fixtures/topologies/warning") {
        assert_eq!(code(&hagen(&["validate", &f])), 0, "{f}");
    }
    for f in list("fixtures/topologies/invalid") {
        let out = hagen(&["validate", &f]);
        assert_eq!(code(&out), 1, "{f}");
        let rule = Path::new(&f).file_name().unwrap().to_string_lossy()[..6].to_string();
        assert!(
            stdout(&out).contains(&format!("error[{rule}]")),
            "{f}: {}",
            stdout(&out)
        );
        assert!(out.stderr.is_empty(), "{f}: findings go to stdout");
    }
}

#[test]
fn io_and_usage_failures_exit_2() {
    for args in [
        &["validate", "does/not/exist.yaml"][..],
        &["validate", "fixtures"],
        &["validate"],
        &["frobnicate"],
        &[
            "validate",
            "--format",
            "xml",
            "fixtures/topologies/valid/kube-vip.yaml",
        ],
        &["explain", "TOP999"],
    ] {
        let out = hagen(args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} says why on stderr");
    }
}

#[test]
fn json_output_is_versioned_and_carries_positions_and_what_if() {
    let out = hagen(&[
        "validate",
        "--format",
        "json",
        "fixtures/topologies/invalid/TOP040-vip-five-parts.yaml",
    ]);
    assert_eq!(code(&out), 1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["valid"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "TOP040");
    assert_eq!(d["path"], "spec.controlPlaneEndpoint.vip");
    assert_eq!(
        (
            d["location"]["line"].as_u64(),
            d["location"]["column"].as_u64()
        ),
        (Some(8), Some(10))
    );
    let ok = hagen(&[
        "validate",
        "--format",
        "json",
        "fixtures/topologies/valid/external-lb-three-zones.yaml",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["kubeadmApiVersion"], "kubeadm.k8s.io/v1beta4");
    let zones: Vec<_> = v["whatIf"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["loss"] == "zone")
        .collect();
    assert_eq!(zones.len(), 3);
    assert!(
        zones
            .iter()
            .all(|z| z["survives"] == true && z["etcdLeft"] == 2)
    );
}

#[test]
fn human_output_has_the_what_if_table_and_no_color_off_a_tty() {
    let out = hagen(&[
        "validate",
        "fixtures/topologies/valid/haproxy-keepalived-stacked.yaml",
    ]);
    let text = stdout(&out);
    assert!(text.contains("kubeadm.k8s.io/v1beta4"));
    assert!(
        text.contains("VIP holder k8s-m1") && text.contains("VIP moves to k8s-m2"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no color when stdout is not a terminal"
    );
    let forced = hagen(&[
        "validate",
        "--color",
        "always",
        "fixtures/topologies/invalid/TOP021-two-stacked.yaml",
    ]);
    // Any SGR escape: the exact codes are annotate-snippets' palette.
    assert!(stdout(&forced).contains("\x1b["), "{}", stdout(&forced));
}

#[test]
fn sarif_output_names_rules_and_regions() {
    let out = hagen(&[
        "validate",
        "--format",
        "sarif",
        "fixtures/topologies/invalid/TOP062-vrid-out-of-range.yaml",
    ]);
    assert_eq!(code(&out), 1);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "TOP062");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        13
    );
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "TOP062"
    );
}

#[test]
fn schema_matches_the_committed_file() {
    let out = hagen(&["schema"]);
    assert_eq!(code(&out), 0);
    let committed = std::fs::read_to_string(root().join("schema/topology.schema.json")).unwrap();
    assert_eq!(stdout(&out), committed);
}

#[test]
fn explain_lists_and_explains() {
    let list = stdout(&hagen(&["explain"]));
    assert!(list.lines().count() >= 40, "{list}");
    for (query, code) in [
        ("TOP010", "TOP010"),
        ("top021", "TOP021"),
        ("vip-outside-node-subnet", "TOP046"),
    ] {
        let out = hagen(&["explain", query]);
        assert_eq!(self::code(&out), 0);
        let text = stdout(&out);
        assert!(
            text.starts_with(&format!("# {code} ")) && text.contains("## Fix"),
            "{text}"
        );
    }
}

#[test]
fn init_writes_a_valid_starter_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("hagen-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("topology.yaml");
    let f = file.to_string_lossy().into_owned();
    assert_eq!(code(&hagen(&["init", "-o", &f])), 0);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema="));
    assert_eq!(code(&hagen(&["validate", &f])), 0);
    std::fs::write(&file, "mine").unwrap();
    let again = hagen(&["init", "-o", &f]);
    assert_eq!(code(&again), 2);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "mine",
        "an existing file is never overwritten"
    );
    assert_eq!(
        stdout(&hagen(&["init"])),
        text,
        "stdout and file get the same starter"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_and_help() {
    let out = hagen(&["completions", "bash"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("validate"));
    let help = stdout(&hagen(&["--help"]));
    assert!(help.contains("Examples:") && help.contains("Exit codes"));
}

#[test]
fn lint_exit_codes_follow_the_contract() {
    // Clean files and infos only: 0.
    for f in [
        "fixtures/lint/haproxy/clean_haproxy.cfg",
        "fixtures/lint/nginx/clean_nginx.conf",
        "fixtures/lint/general/LNT003_1.txt",
    ] {
        let out = hagen(&["lint", "--color", "never", f]);
        assert_eq!(code(&out), 0, "{f}: {}", stdout(&out));
    }
    // Warnings only: 0. Errors: 1, printed on stdout.
    assert_eq!(
        code(&hagen(&["lint", "fixtures/lint/haproxy/HAP003_1.cfg"])),
        0
    );
    let out = hagen(&[
        "lint",
        "--color",
        "never",
        "fixtures/lint/haproxy/HAP006_1.cfg",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("error[HAP006]"), "{}", stdout(&out));
    assert!(out.stderr.is_empty());
    // A directory is walked; cross-file rules see every file.
    let out = hagen(&["lint", "--color", "never", "fixtures/lint/cross/KAL008_1"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("error[KAL008]"));
    // Usage and I/O failures: 2.
    for args in [
        &["lint"][..],
        &["lint", "does/not/exist.cfg"],
        &["lint", "--format", "xml", "fixtures/lint"],
        &[
            "lint",
            "--topology",
            "fixtures/topologies/invalid/TOP010-four-etcd.yaml",
            "fixtures/lint/haproxy",
        ],
        &[
            "lint",
            "--kubernetes-version",
            "one",
            "fixtures/lint/haproxy",
        ],
        &[
            "lint",
            "--config",
            "does/not/exist.yaml",
            "fixtures/lint/haproxy",
        ],
    ] {
        let out = hagen(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn lint_topology_and_config() {
    let out = hagen(&[
        "lint",
        "--color",
        "never",
        "--topology",
        "fixtures/lint/topology/HAP009_1/topology.yaml",
        "fixtures/lint/topology/HAP009_1/haproxy.cfg",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("error[HAP009]"), "{}", stdout(&out));
    let dir = std::env::temp_dir().join(format!("hagen-lint-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("lint.yaml");
    std::fs::write(&cfg, "rules:\n  HAP006: warning\n").unwrap();
    let out = hagen(&[
        "lint",
        "--config",
        cfg.to_str().unwrap(),
        "fixtures/lint/haproxy/HAP006_1.cfg",
    ]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("warning[HAP006]"));
    std::fs::write(&cfg, "rules:\n  HAP006: off\n").unwrap();
    let out = hagen(&[
        "lint",
        "--config",
        cfg.to_str().unwrap(),
        "fixtures/lint/haproxy/HAP006_1.cfg",
    ]);
    assert!(!stdout(&out).contains("HAP006"));
    std::fs::write(&cfg, "rules:\n  NOPE99: off\n").unwrap();
    assert_eq!(
        code(&hagen(&[
            "lint",
            "--config",
            cfg.to_str().unwrap(),
            "fixtures/lint/haproxy"
        ])),
        2
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lint_json_and_sarif() {
    let out = hagen(&["lint", "--format", "json", "fixtures/lint/keepalived"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["version"], 1);
    assert!(v["summary"]["errors"].as_u64().unwrap() > 0);
    let files = v["files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .any(|f| f["kind"] == "keepalived" && f["outcome"] == "parsed")
    );
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "KAL002")
        .expect("KAL002");
    assert!(d["location"]["line"].as_u64().unwrap() > 1);
    let out = hagen(&["lint", "--format", "sarif", "fixtures/lint/haproxy"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "HAP001"));
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| {
        r["ruleId"] == "HAP004"
            && r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .is_some()
    }));
}

#[test]
fn explain_knows_every_lint_rule() {
    for rule in [
        "HAP001", "KAL004", "NGX002", "KAD003", "ETC005", "KVP003", "CRT002", "LNT001",
    ] {
        let out = hagen(&["explain", rule]);
        assert_eq!(code(&out), 0, "{rule}");
        assert!(stdout(&out).contains("## Why it matters"), "{rule}");
    }
}

#[test]
fn import_exit_codes_output_file_and_collect_script() {
    let dir = std::env::temp_dir().join(format!("hagen-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("topology.yaml");
    let f = file.to_string_lossy().into_owned();
    // A clean cluster: exit 0, and the topology it writes validates.
    let clean = hagen(&["import", "fixtures/import/clean_1", "-o", &f]);
    assert_eq!(code(&clean), 0, "{}", stdout(&clean));
    assert!(stdout(&clean).contains("3 node(s): k8s-m1, k8s-m2, k8s-m3"));
    assert_eq!(code(&hagen(&["validate", &f])), 0);
    // An existing -o file is refused without --force, kept as it was.
    std::fs::write(&file, "mine").unwrap();
    assert_eq!(
        code(&hagen(&["import", "fixtures/import/clean_1", "-o", &f])),
        2
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    assert_eq!(
        code(&hagen(&[
            "import",
            "fixtures/import/clean_1",
            "-o",
            &f,
            "--force"
        ])),
        0
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("kind: Topology")
    );
    // Drift at error level: exit 1, in every format.
    let drift = hagen(&["import", "fixtures/import/IMP005_1", "--format", "sarif"]);
    assert_eq!(code(&drift), 1);
    let sarif: serde_json::Value = serde_json::from_slice(&drift.stderr)
        .expect("SARIF on stderr when the topology is on stdout");
    assert!(sarif.to_string().contains("IMP005"));
    assert!(stdout(&drift).contains("apiVersion: hagen/v1alpha1"));
    let json = hagen(&[
        "import",
        "fixtures/import/IMP003_1",
        "--format",
        "json",
        "-o",
        &dir.join("t2.yaml").to_string_lossy(),
    ]);
    assert_eq!(code(&json), 1);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v.to_string().contains("IMP003"));
    // Nothing to read: exit 2.
    assert_eq!(code(&hagen(&["import", "no/such/dir"])), 2);
    // The collect script.
    let script = hagen(&["import", "--collect-script"]);
    assert_eq!(code(&script), 0);
    assert!(stdout(&script).starts_with("#!/bin/sh\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
