//! Helpers shared by hagen's integration tests: fixture discovery, golden files and the
//! external JSON-Schema validator.

pub mod sandbox;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `.yaml` files of a fixture folder, sorted.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = root().join("fixtures").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// The path relative to the repository root, with forward slashes.
pub fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Compares `actual` with the golden file; with HAGEN_BLESS=1 rewrites it instead and
/// fails, so a blessed run is never mistaken for a passing one.
pub fn golden(path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("HAGEN_BLESS").is_some() {
        std::fs::write(path, actual).map_err(|e| e.to_string())?;
        return Err(format!("blessed {}", rel(path)));
    }
    let expected = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "missing golden {} ({e}); run with HAGEN_BLESS=1 and review it",
            rel(path)
        )
    })?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs from the output (HAGEN_BLESS=1 rewrites it):\n--- expected\n{expected}\n--- actual\n{actual}",
            rel(path)
        ))
    }
}

/// Runs tests/jsonschema_check.py; returns its exit status and output.
pub fn jsonschema_check(schema: &Path, instances: &[PathBuf]) -> (bool, String) {
    let out = Command::new("python3")
        .arg(root().join("tests/jsonschema_check.py"))
        .arg(schema)
        .args(instances)
        .output()
        .expect("python3 runs (the test command installs python3-jsonschema)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("ModuleNotFoundError"),
        "python3 lacks jsonschema; run the README's test command, which installs it:\n{text}"
    );
    (out.status.success(), text)
}
