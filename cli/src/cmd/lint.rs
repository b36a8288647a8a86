//! `hagen lint`: walks the paths, reads every file, and hands them to
//! `hagen_core::lint` in one run (so cross-file rules see them all).

use crate::args::{Format, LintArgs};
use crate::exit;
use hagen_core::config;
use hagen_core::diag::{Severity, json, sarif, text};
use hagen_core::lint::{self, LintOptions, Outcome};
use hagen_core::source::{LineIndexes, SourceFile};
use hagen_core::version::KubeVersion;
use serde_json::{Map, json as j};
use std::path::{Path, PathBuf};

pub fn run(args: &LintArgs) -> u8 {
    match lint_paths(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("hagen: {message}");
            exit::FAILURE
        }
    }
}

fn lint_paths(args: &LintArgs) -> Result<u8, String> {
    let mut options = LintOptions::default();
    let config_path = args.config.clone().or_else(|| {
        let p = PathBuf::from(".hagen-lint.yaml");
        p.is_file().then_some(p)
    });
    if let Some(path) = config_path {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let cfg = config::parse_config(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        options.levels = cfg.levels;
        if let Some(d) = cfg.cert_expiry_days {
            options.cert_expiry_days = d;
        }
        options.kubernetes_version = cfg.kubernetes_version;
    }
    if let Some(d) = args.cert_expiry_days {
        options.cert_expiry_days = d;
    }
    if let Some(v) = &args.kubernetes_version {
        options.kubernetes_version = Some(KubeVersion::parse(v).map_err(|e| e.to_string())?);
    }
    if let Some(t) = &args.topology {
        let bytes = super::read(t)?;
        let (source, checked) = hagen_core::check_bytes(&t.display().to_string(), &bytes);
        match checked.plan {
            Some(plan) => options.topology = Some(plan),
            None => {
                let out = text::render(
                    &[source],
                    &checked.diagnostics,
                    text::Style { color: false },
                );
                return Err(format!("the topology {} is not valid:\n{out}", t.display()));
            }
        }
    }
    options.now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok());

    let mut paths = Vec::new();
    for p in &args.paths {
        if !p.exists() {
            return Err(format!("{} does not exist", p.display()));
        }
        walk(p, &mut paths).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    }
    let mut files = Vec::with_capacity(paths.len());
    for p in &paths {
        let bytes = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let name = display(p);
        if let Some(mode) = mode(p) {
            options.modes.insert(name.clone(), mode);
        }
        // Binary files (DER, images) are kept with no text: they are reported as skipped.
        // Text with a stray non-UTF-8 byte is linted, and says so (LNT005).
        let text = match lint::decode(bytes) {
            lint::Decoded::Text(text) => text,
            lint::Decoded::Lossy(text) => {
                options.lossy.insert(name.clone());
                text
            }
            lint::Decoded::Binary => String::new(),
        };
        files.push(SourceFile::new(name, text));
    }
    let report = lint::lint_report(&files, &options);
    let diags = &report.diagnostics;
    let output = match args.format {
        Format::Human => {
            let style = text::Style {
                color: super::use_color(args.color),
            };
            let mut out = String::new();
            // Files met while walking a directory that are not a kind hagen lints (keys,
            // READMEs) are counted, not listed one by one; named files are always listed.
            let named: Vec<String> = args.paths.iter().map(|p| display(p)).collect();
            let mut quiet = 0;
            let indexes = LineIndexes::new(&files);
            for d in diags {
                let walked = files.get(d.file).is_some_and(|f| !named.contains(&f.name));
                if d.rule.code == "LNT003" && walked {
                    quiet += 1;
                    continue;
                }
                out.push_str(&text::render_diagnostic_indexed(&indexes, d, style));
                out.push('\n');
            }
            if quiet > 0 {
                out.push_str(&format!("({quiet} file(s) of kinds hagen does not lint were skipped; --format json lists them)\n"));
            }
            let parsed = report
                .files
                .iter()
                .filter(|f| f.outcome == Outcome::Parsed)
                .count();
            out.push_str(&format!("{} file(s), {parsed} linted; ", files.len()));
            out.push_str(&text::summary(
                diags.count(Severity::Error),
                diags.count(Severity::Warning),
            ));
            out.push('\n');
            out
        }
        Format::Json => {
            let mut extra = Map::new();
            let list: Vec<serde_json::Value> = files
                .iter()
                .zip(&report.files)
                .map(|(f, r)| {
                    j!({"file": f.name, "kind": r.kind.as_str(), "outcome": match r.outcome {
                        Outcome::Parsed => "parsed",
                        Outcome::Unparseable => "unparseable",
                        Outcome::Template => "template",
                        Outcome::Skipped => "skipped",
                    }})
                })
                .collect();
            extra.insert("files".into(), serde_json::Value::Array(list));
            pretty(&json::report(&files, diags, extra))
        }
        Format::Sarif => pretty(&sarif::report(&files, diags, hagen_core::registry::all())),
    };
    write_out(&output)?;
    Ok(if diags.has_errors() {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// Writes the report to stdout. A reader that stops early (`| head`) closes the pipe:
/// that ends the output quietly, as ripgrep does, instead of a panic in `print!`.
fn write_out(output: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(output.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the report: {e}"))
        }
        _ => Ok(()),
    }
}

/// The files under `path`, sorted. A path named on the command line is followed if it
/// is a symlink; symlinks to directories met while walking are not (a link back up the
/// tree would loop forever), symlinks to files are read.
fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    walk_in(path, out, true)
}

fn walk_in(path: &Path, out: &mut Vec<PathBuf>, named: bool) -> std::io::Result<()> {
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if link && !named {
        // A dangling link or a link to a directory: nothing to read here.
        if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            out.push(path.to_path_buf());
        }
        return Ok(());
    }
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            let hidden = e
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden {
                walk_in(&e, out, false)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn display(p: &Path) -> String {
    let s = p.display().to_string().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

#[cfg(unix)]
fn mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
