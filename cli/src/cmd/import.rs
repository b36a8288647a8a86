//! `hagen import`: reads a cluster's collected files (never its private keys), hands
//! them to `hagen_core::import` with the node each belongs to, writes the topology and
//! prints the drift report. `--collect-script` prints the script that collects them.

use crate::args::{Format, ImportArgs};
use crate::exit;
use hagen_core::diag::{Severity, json, sarif, text};
use hagen_core::import::{self, ImportOptions, collect};
use hagen_core::source::SourceFile;
use serde_json::{Map, json as j};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Files larger than this are not configuration; they are skipped unread.
const MAX_FILE: u64 = 4 << 20;

pub fn run(args: &ImportArgs) -> u8 {
    if args.collect_script {
        print!("{}", collect::SCRIPT);
        return exit::OK;
    }
    match import_paths(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("hagen: {message}");
            exit::FAILURE
        }
    }
}

fn import_paths(args: &ImportArgs) -> Result<u8, String> {
    if let Some(out) = &args.output
        && out.exists()
        && !args.force
    {
        return Err(format!(
            "{} exists; pass --force to overwrite it",
            out.display()
        ));
    }
    let mut files = Vec::new();
    let mut groups = Vec::new();
    for p in &args.paths {
        if !p.exists() {
            return Err(format!("{} does not exist", p.display()));
        }
        let mut found = Vec::new();
        walk(p, &mut found).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        for f in found {
            let name = display(&f);
            let group = group_of(p, &f);
            let key = f.extension().is_some_and(|e| e.eq_ignore_ascii_case("key"));
            let big = std::fs::metadata(&f).is_ok_and(|m| m.len() > MAX_FILE);
            // A private key is never opened: core reports it by name as skipped.
            let text = if key || big {
                String::new()
            } else {
                let bytes =
                    std::fs::read(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
                String::from_utf8(bytes).unwrap_or_default()
            };
            files.push(SourceFile::new(name, text));
            groups.push(group);
        }
    }
    if files.is_empty() {
        return Err("no files found under the given paths".into());
    }
    let options = ImportOptions {
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
        cert_expiry_days: args.cert_expiry_days.unwrap_or(30),
    };
    let imported = import::import_grouped(&files, &groups, &options);
    let diags = &imported.diagnostics;
    let report = match args.format {
        Format::Human => {
            let style = text::Style {
                color: args.output.is_some() && super::use_color(args.color),
            };
            let mut out = String::new();
            for d in diags {
                out.push_str(&text::render_diagnostic(&files, d, style));
                out.push('\n');
            }
            out.push_str(&format!(
                "{} file(s) read, {} node(s): {}; ",
                files.len(),
                imported.nodes.len(),
                imported.nodes.join(", ")
            ));
            out.push_str(&text::summary(
                diags.count(Severity::Error),
                diags.count(Severity::Warning),
            ));
            out.push('\n');
            out
        }
        Format::Json => {
            let mut extra = Map::new();
            extra.insert("nodes".into(), j!(imported.nodes));
            extra.insert("topology".into(), j!(imported.topology));
            pretty(&json::report(&files, diags, extra))
        }
        Format::Sarif => pretty(&sarif::report(&files, diags, hagen_core::registry::all())),
    };
    match &args.output {
        Some(out) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true);
            if args.force {
                opts.create(true).truncate(true);
            } else {
                opts.create_new(true);
            }
            let mut f = opts
                .open(out)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            f.write_all(imported.topology.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            print!("{report}");
            if args.format == Format::Human {
                println!(
                    "wrote {}; check it with `hagen validate {}`",
                    out.display(),
                    out.display()
                );
            }
        }
        None => {
            print!("{}", imported.topology);
            eprint!("{report}");
        }
    }
    Ok(if diags.has_errors() {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// The node a file under `root` belongs to: `root/nodes/<node>/…` (a bundle), `root`
/// itself when it is one node's directory (it has `etc/`), else the first directory
/// below `root`. `None` for cluster-wide files at the top.
fn group_of(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if root.join("nodes").is_dir() {
        return (parts.len() > 2 && parts[0] == "nodes").then(|| parts[1].clone());
    }
    if root.join("etc").is_dir() {
        let name = root
            .canonicalize()
            .ok()
            .and_then(|r| r.file_name().map(|n| n.to_string_lossy().into_owned()));
        return name;
    }
    (parts.len() > 1).then(|| parts[0].clone())
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            let hidden = e
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden && !e.is_symlink() {
                walk(&e, out)?;
            }
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn display(p: &Path) -> String {
    let s = p.display().to_string().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
