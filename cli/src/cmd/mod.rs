//! One module per subcommand.

pub mod explain;
pub mod import;
pub mod init;
pub mod lint;
pub mod plan;
pub mod render;
pub mod schema;
pub mod validate;

use crate::args::Color;
use std::io::IsTerminal;

/// Reads a file for a command; the error is a ready-to-print message.
pub fn read(path: &std::path::Path) -> Result<Vec<u8>, String> {
    if path.is_dir() {
        return Err(format!(
            "{} is a directory; pass a topology.yaml file",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Whether to color output on stdout.
pub fn use_color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}
