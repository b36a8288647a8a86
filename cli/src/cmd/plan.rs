//! `hagen plan --from OLD_BUNDLE NEW_TOPOLOGY -o PLAN_DIR`: the day-2 change from the
//! bundle a cluster was built from to a new topology, as ordered, quorum-safe steps with
//! the files of every step and the final bundle (`hagen_core::change`).

use crate::args::Color;
use crate::exit;
use crate::write::{is_bundle, write_bundle};
use clap::Args;
use hagen_core::bundle::{Bundle, MODE_FILE, TOPOLOGY};
use hagen_core::change::{self, Refusal};
use hagen_core::diag::{Severity, text};
use hagen_core::pki::{Existing, PkiAction};
use std::path::PathBuf;

const PLAN_HELP: &str = "\
Writes PLAN_DIR/README.md (the steps in order: where each runs, the check before, the
commands, the check after, the rollback and the state it leaves), PLAN_DIR/plan.json
(the same, machine-readable), PLAN_DIR/steps/NN-action-node/nodes/<name>/ (the files a
node needs at that step) and PLAN_DIR/bundle/ (the new topology's bundle; the CA and
every key that still fits are kept). Nothing is written when the change is refused.

Planned: adding and removing control planes (stacked or external etcd) and external etcd
members, replacing dead ones (--dead), adding and removing workers; --renew (every leaf
certificate and kubeconfig re-issued with its key, one node at a time); --rotate-ca (new
cluster, front-proxy and etcd CAs in three phases: trust both, issue from the new, drop
the old; the service-account keys kept; PLAN_DIR/rotation/join.txt pins both CA hashes
for joins meanwhile). Refused with the
reason: anything that would leave etcd without quorum (2 of 3 members dead: restore
from a snapshot), shrinking etcd below 3 members, and changes of settings other than
the node list (endpoint, load-balancer type, etcd type, versions, networks).

Exit codes: 0 written, 1 refused (unsafe or unsupported change, errors in a topology),
2 usage or I/O failure (--rotate-ca or --renew with a topology change or --dead).";

#[derive(Debug, Args)]
#[command(after_help = PLAN_HELP)]
pub struct PlanArgs {
    /// The bundle the cluster runs now (written by `hagen render`).
    #[arg(long, value_name = "OLD_BUNDLE")]
    pub from: PathBuf,
    /// The topology the cluster should have.
    pub topology: PathBuf,
    /// The plan directory to write.
    #[arg(short, long, value_name = "PLAN_DIR")]
    pub output: PathBuf,
    /// A node of the old topology that is dead (repeat for several).
    #[arg(long, value_name = "NODE")]
    pub dead: Vec<String>,
    /// Rotate the CAs (cluster, front-proxy, etcd) in three phases, one node at a time:
    /// trust both, issue from the new, drop the old. NEW_TOPOLOGY must equal the old
    /// bundle's topology.
    #[arg(long)]
    pub rotate_ca: bool,
    /// Renew every leaf certificate and kubeconfig (same keys, same CA; super-admin.conf
    /// and external etcd's included), one node at a time. NEW_TOPOLOGY must equal the
    /// old bundle's topology.
    #[arg(long)]
    pub renew: bool,
    /// Replace a non-empty PLAN_DIR that is not a plan (it is moved aside).
    #[arg(long)]
    pub force: bool,
    /// When to color human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

use super::render::OsEntropy;

pub fn run(args: &PlanArgs) -> u8 {
    if !is_bundle(&args.from) {
        eprintln!(
            "hagen: {} is not a hagen bundle (no MANIFEST written by `hagen render`)",
            args.from.display()
        );
        return exit::FAILURE;
    }
    if args
        .output
        .canonicalize()
        .ok()
        .is_some_and(|o| args.from.canonicalize().ok() == Some(o))
    {
        eprintln!("hagen: PLAN_DIR must not be the old bundle");
        return exit::FAILURE;
    }
    let files = match super::render::read_tree(&args.from) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("hagen: {e}");
            return exit::FAILURE;
        }
    };
    let style = text::Style {
        color: super::use_color(args.color),
    };
    let old_name = args.from.join(TOPOLOGY).display().to_string();
    let Some(old_bytes) = files.get(TOPOLOGY) else {
        eprintln!("hagen: {old_name} is missing");
        return exit::FAILURE;
    };
    let (old_source, old_checked) = hagen_core::check_bytes(&old_name, old_bytes);
    let Some(old) = old_checked.plan else {
        for d in &old_checked.diagnostics {
            println!(
                "{}",
                text::render_diagnostic(std::slice::from_ref(&old_source), d, style)
            );
        }
        println!("the old bundle's topology has errors; nothing written");
        return exit::FINDINGS;
    };
    let bytes = match super::read(&args.topology) {
        Ok(b) => b,
        Err(message) => {
            eprintln!("hagen: {message}");
            return exit::FAILURE;
        }
    };
    let (source, checked) = hagen_core::check_bytes(&args.topology.display().to_string(), &bytes);
    for d in &checked.diagnostics {
        println!(
            "{}",
            text::render_diagnostic(std::slice::from_ref(&source), d, style)
        );
    }
    let Some(new) = checked.plan.as_ref() else {
        let errors = checked.diagnostics.count(Severity::Error);
        let warnings = checked.diagnostics.count(Severity::Warning);
        println!("{}; nothing written", text::summary(errors, warnings));
        return exit::FINDINGS;
    };

    let opts = change::Options {
        dead: args.dead.clone(),
        rotate_ca: args.rotate_ca,
        renew: args.renew,
    };
    let planned = match change::plan_change(&old, new, &opts) {
        Ok(p) => p,
        Err(refusal) => {
            eprintln!("hagen: refusing the change: {refusal}");
            eprintln!("nothing written");
            let usage = matches!(refusal, Refusal::Usage(_))
                || (matches!(refusal, Refusal::Unsupported { .. })
                    && (args.rotate_ca || args.renew));
            return if usage { exit::FAILURE } else { exit::FINDINGS };
        }
    };

    let existing =
        match Existing::from_bundle(files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("hagen: the bundle in {}: {e}", args.from.display());
                return exit::FINDINGS;
            }
        };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let what_if = checked.what_if.clone().unwrap_or_default();
    let made = match change::files::materialize(
        &planned,
        &old,
        new,
        &source,
        &what_if,
        &existing,
        &mut OsEntropy,
        now,
    ) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("hagen: cannot make the plan's files: {e}");
            return exit::FINDINGS;
        }
    };

    let mut out = Bundle::new();
    out.add(
        "README.md",
        change::readme::readme(&planned, &new.cluster_name),
        MODE_FILE,
    );
    let json = serde_json::to_string_pretty(&planned).unwrap_or_default() + "\n";
    out.add("plan.json", json, MODE_FILE);
    for (id, files) in &made.steps {
        for (path, f) in files {
            out.insert(format!("steps/{id}/{path}"), f.clone());
        }
    }
    for (path, f) in made.bundle.iter() {
        out.insert(format!("bundle/{path}"), f.clone());
    }
    for (path, f) in &made.plan_files {
        out.insert(path.clone(), f.clone());
    }
    out.seal();
    if let Err(e) = write_bundle(&out, &args.output, args.force) {
        eprintln!("hagen: {e}");
        return exit::FAILURE;
    }
    let count = |a: PkiAction| made.report.iter().filter(|e| e.action == a).count();
    println!(
        "wrote a plan of {} steps to {} (PKI over both topologies: {} generated, {} kept, {} re-issued; {})",
        planned.steps.len(),
        args.output.display(),
        count(PkiAction::Generated),
        count(PkiAction::Kept),
        count(PkiAction::Reissued),
        if planned.rotate_ca {
            "new CAs in bundle/, both trusted until the last phase"
        } else {
            "the CA kept"
        }
    );
    for w in &planned.warnings {
        println!("warning: {w}");
    }
    println!("next: read {}/README.md", args.output.display());
    exit::OK
}
