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

/// A directory under the system temp dir, removed (with everything in it) on drop, so
/// a failing test leaves nothing behind.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("hagen-{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The plan of a topology fixture (relative to `fixtures/topologies/`), or of inline YAML.
pub fn plan_of(name: &str, yaml: Option<&str>) -> hagen_core::plan::Plan {
    let text = match yaml {
        Some(y) => y.to_string(),
        None => std::fs::read_to_string(root().join("fixtures/topologies").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}")),
    };
    let checked = hagen_core::check(&hagen_core::source::SourceFile::new(name, text));
    checked
        .plan
        .unwrap_or_else(|| panic!("{name} does not plan: {:#?}", checked.diagnostics))
}

/// Writes bundle files under `dir` with their modes.
pub fn write_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a String, &'a hagen_core::bundle::File)>,
) {
    use std::os::unix::fs::PermissionsExt;
    for (path, file) in files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&full, &file.bytes).expect("write");
        std::fs::set_permissions(&full, std::fs::Permissions::from_mode(file.mode)).expect("chmod");
    }
}

/// Runs a command, returns (success, stdout + stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
