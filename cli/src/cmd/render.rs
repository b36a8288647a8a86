//! `hagen render`: check, make or keep the PKI, render, write the bundle atomically.

use crate::args::RenderArgs;
use crate::exit;
use crate::write::{Previous, is_bundle, write_bundle};
use hagen_core::diag::{Severity, text};
use hagen_core::pki::{Entropy, Existing, PkiAction};
use std::collections::BTreeMap;
use std::path::Path;

/// The operating system's CSPRNG: the CLI's side of the entropy seam (render and plan).
pub(crate) struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        // Without a working OS generator no key can be made safely: stop rather than
        // fall back to anything weaker.
        if let Err(e) = getrandom::getrandom(buf) {
            eprintln!("hagen: the operating system's random generator failed: {e}");
            std::process::exit(i32::from(exit::FAILURE));
        }
    }
}

pub fn run(args: &RenderArgs) -> u8 {
    let bytes = match super::read(&args.topology) {
        Ok(b) => b,
        Err(message) => {
            eprintln!("hagen: {message}");
            return exit::FAILURE;
        }
    };
    let (source, checked) = hagen_core::check_bytes(&args.topology.display().to_string(), &bytes);
    let style = text::Style {
        color: super::use_color(args.color),
    };
    for d in &checked.diagnostics {
        println!(
            "{}",
            text::render_diagnostic(std::slice::from_ref(&source), d, style)
        );
    }
    let Some(plan) = checked.plan.as_ref() else {
        let errors = checked.diagnostics.count(Severity::Error);
        let warnings = checked.diagnostics.count(Severity::Warning);
        println!("{}; nothing written", text::summary(errors, warnings));
        return exit::FINDINGS;
    };

    let mut existing = Existing::none();
    if is_bundle(&args.output) {
        let files = match read_tree(&args.output) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("hagen: {e}");
                return exit::FAILURE;
            }
        };
        match Existing::from_bundle(files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))) {
            Ok(e) => existing = e,
            Err(e) => {
                eprintln!("hagen: the bundle in {}: {e}", args.output.display());
                return exit::FINDINGS;
            }
        }
    }
    if let Some(dir) = &args.pki_from {
        let files = match read_tree(dir) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                eprintln!(
                    "hagen: {} holds no files; pass a copy of a control plane's /etc/kubernetes/pki",
                    dir.display()
                );
                return exit::FAILURE;
            }
            Err(e) => {
                eprintln!("hagen: {e}");
                return exit::FAILURE;
            }
        };
        let first = plan
            .control_planes()
            .next()
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let from_dir = Existing::from_pki_dir(files, &first);
        // The given PKI wins over an earlier bundle's for the files it has.
        existing.shared.extend(from_dir.shared);
        for (node, files) in from_dir.per_node {
            existing.per_node.entry(node).or_default().extend(files);
        }
    }

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let bar = Bar::new();
    let progress = |done: usize, total: usize| bar.show(done, total);
    let options = hagen_core::pki::Options {
        threads: args.jobs.unwrap_or(0),
        progress: Some(&progress),
        ..hagen_core::pki::Options::default()
    };
    let made = hagen_core::pki::generate_with(plan, &existing, &mut OsEntropy, now, &options);
    bar.finish();
    let pki = match made {
        Ok(p) => p,
        Err(e) => {
            let place = args
                .pki_from
                .as_ref()
                .map(|d| format!(" (in {})", d.display()))
                .unwrap_or_default();
            eprintln!("hagen: cannot use the existing PKI{place}: {e}");
            return exit::FINDINGS;
        }
    };
    let what_if = checked.what_if.clone().unwrap_or_default();
    let bundle = match hagen_core::assemble(&source, plan, &what_if, &pki) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("hagen: internal error, please report it: {e}");
            return exit::FAILURE;
        }
    };
    let previous = match write_bundle(&bundle, &args.output, args.force) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("hagen: {e}");
            return exit::FAILURE;
        }
    };

    let count = |a: PkiAction| pki.report.iter().filter(|e| e.action == a).count();
    println!(
        "wrote {} files for {} nodes to {} (PKI: {} generated, {} kept, {} re-issued)",
        bundle.len(),
        plan.nodes.len(),
        args.output.display(),
        count(PkiAction::Generated),
        count(PkiAction::Kept),
        count(PkiAction::Reissued)
    );
    for e in &pki.report {
        if args.verbose || e.action == PkiAction::Reissued {
            println!("  {:<10} {}: {}", e.action.to_string(), e.path, e.reason);
        }
    }
    match previous {
        Previous::MovedAside(p) => println!(
            "the previous content of {} was moved to {}",
            args.output.display(),
            p.display()
        ),
        Previous::Bundle => {
            println!("replaced the earlier bundle; its CAs, keys and token were kept")
        }
        Previous::Nothing => {}
    }
    println!("next: read {}/README.md", args.output.display());
    exit::OK
}

/// Every regular file under `dir`, by `/`-separated relative path.
pub(crate) fn read_tree(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot read {}: {e}", d.display()))?
                .path();
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                out.insert(rel, bytes);
            }
        }
    }
    Ok(out)
}

/// A progress bar for RSA key generation on stderr: only on a terminal, and only once it
/// has taken more than a moment (ECDSA keys and a kept PKI never show one).
struct Bar {
    tty: bool,
    start: std::time::Instant,
    shown: std::sync::atomic::AtomicBool,
    /// The highest count drawn (the workers report out of order).
    drawn: std::sync::Mutex<usize>,
}

impl Bar {
    const AFTER: std::time::Duration = std::time::Duration::from_millis(300);
    const WIDTH: usize = 30;

    fn new() -> Bar {
        use std::io::IsTerminal;
        Bar {
            tty: std::io::stderr().is_terminal(),
            start: std::time::Instant::now(),
            shown: std::sync::atomic::AtomicBool::new(false),
            drawn: std::sync::Mutex::new(0),
        }
    }

    fn show(&self, done: usize, total: usize) {
        if !self.tty || total == 0 || self.start.elapsed() < Self::AFTER {
            return;
        }
        let Ok(mut drawn) = self.drawn.lock() else {
            return;
        };
        if done <= *drawn {
            return;
        }
        *drawn = done;
        self.shown.store(true, std::sync::atomic::Ordering::Relaxed);
        let filled = Self::WIDTH * done / total;
        eprint!(
            "\rmaking RSA keys [{}{}] {done}/{total}",
            "#".repeat(filled),
            " ".repeat(Self::WIDTH - filled)
        );
    }

    /// Clears the bar's line, if it was drawn.
    fn finish(&self) {
        if self.shown.load(std::sync::atomic::Ordering::Relaxed) {
            eprint!("\r{}\r", " ".repeat(Self::WIDTH + 40));
        }
    }
}
