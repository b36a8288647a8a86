//! What the CLI's end-to-end tests share: the repository root and running `hagen` there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (fixtures are named relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs the built `hagen` in the repository root, with the caller's environment minus
/// `NO_COLOR` (the tests check color handling themselves).
pub fn hagen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hagen"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("hagen runs")
}
