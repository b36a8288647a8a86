//! The JSON Schema is current, accepts every valid fixture and rejects what the parser
//! rejects; SARIF output validates against the SARIF 2.1.0 schema. Both use the Python
//! `jsonschema` package, a validator independent of our code.

use hagen_core::source::SourceFile;
use hagen_tests::{fixtures, golden, jsonschema_check, rel, root};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hagen-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn committed_schema_is_current() {
    golden(
        &root().join("schema/topology.schema.json"),
        &hagen_core::schema::json_schema(),
    )
    .unwrap();
}

/// YAML → JSON through serde-saphyr (the parser hagen uses), for the validator.
fn yaml_to_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr_json(&text).unwrap_or_else(|e| panic!("{}: {e}", rel(path)))
}

fn serde_saphyr_json(text: &str) -> Result<serde_json::Value, String> {
    hagen_core::parse::to_json(text).map_err(|e| e.to_string())
}

#[test]
fn schema_accepts_valid_and_rejects_unknown_keys() {
    let dir = scratch("schema");
    let mut valid = Vec::new();
    for (i, path) in fixtures("topologies/valid").iter().enumerate() {
        let out = dir.join(format!("valid-{i}.json"));
        std::fs::write(&out, yaml_to_json(path).to_string()).unwrap();
        valid.push(out);
    }
    let starter = hagen_core::starter::starter_topology("./x.json");
    let out = dir.join("starter.json");
    std::fs::write(&out, serde_saphyr_json(&starter).unwrap().to_string()).unwrap();
    valid.push(out);
    let schema = root().join("schema/topology.schema.json");
    let (ok, text) = jsonschema_check(&schema, &valid);
    assert!(ok, "{text}");

    // Each of these must be rejected by the schema, as hagen rejects it.
    let invalid = [
        "TOP001-unknown-key.yaml",
        "TOP001-unknown-key-in-node.yaml",
        "TOP000-unknown-lb-type.yaml",
        "TOP000-missing-key.yaml",
        "TOP062-vrid-out-of-range.yaml",
        "TOP068-invalid-port.yaml",
    ];
    for name in invalid {
        let path = root().join("fixtures/topologies/invalid").join(name);
        let out = dir.join(format!("{name}.json"));
        std::fs::write(&out, yaml_to_json(&path).to_string()).unwrap();
        let (ok, text) = jsonschema_check(&schema, std::slice::from_ref(&out));
        assert!(!ok, "the schema accepted {name}: {text}");
        // And hagen itself reports it as an error.
        let src = SourceFile::new(name, std::fs::read_to_string(&path).unwrap());
        assert!(hagen_core::check(&src).diagnostics.has_errors(), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sarif_validates_against_the_sarif_schema() {
    let dir = scratch("sarif");
    let mut logs = Vec::new();
    let mut paths: Vec<PathBuf> = fixtures("topologies/invalid");
    paths.extend(fixtures("topologies/warning"));
    paths.extend(fixtures("topologies/valid").into_iter().take(1));
    for (i, path) in paths.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let (source, checked) = hagen_core::check_bytes(&rel(path), &bytes);
        let log = hagen_core::diag::sarif::report(
            &[source],
            &checked.diagnostics,
            hagen_core::registry::all(),
        );
        // Structure GitHub relies on: a result per finding, each with a rule id and a region.
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), checked.diagnostics.len());
        for r in results {
            assert!(r["ruleId"].as_str().is_some_and(|id| id.starts_with("TOP")));
        }
        let out = dir.join(format!("{i}.sarif.json"));
        std::fs::write(&out, log.to_string()).unwrap();
        logs.push(out);
    }
    let (ok, text) = jsonschema_check(&root().join("fixtures/schemas/sarif-2.1.0.json"), &logs);
    assert!(ok, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
