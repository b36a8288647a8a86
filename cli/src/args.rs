//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// hagen: one topology.yaml in; every file of a highly available Kubernetes control
/// plane out, checked against the rules of HA before anything is written.
#[derive(Debug, Parser)]
#[command(name = "hagen", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  hagen init > topology.yaml             write a commented starter topology
  hagen validate topology.yaml           check it; exit 1 on errors
  hagen validate --format sarif t.yaml   findings for GitHub code scanning
  hagen explain TOP010                   what a rule checks and how to fix it
  hagen lint /etc/haproxy /etc/keepalived  audit the configs a cluster runs
  hagen lint --topology t.yaml nodes/     check files against the topology
  hagen import --collect-script > c.sh   gather a node's files (read-only, no keys)
  hagen import collected/ -o t.yaml      a topology from those files, with drift report
  hagen schema > topology.schema.json    JSON Schema for editors

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage or I/O failure.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check a topology; print findings and the what-if table.
    #[command(
        after_help = "Exit codes: 0 no errors (warnings allowed), 1 errors, 2 usage or I/O failure."
    )]
    Validate(ValidateArgs),
    /// Validate a topology, then write every file for every node to a bundle directory.
    #[command(after_help = RENDER_HELP)]
    Render(RenderArgs),
    /// Lint existing HA configs: haproxy, keepalived, nginx, kubeadm, etcd, kube-vip,
    /// check scripts, certificates and kubeconfigs (files or whole directories).
    #[command(after_help = LINT_HELP)]
    Lint(LintArgs),
    /// Rebuild a topology.yaml from a running cluster's files (one directory per node),
    /// with a drift report; or print the script that collects those files.
    #[command(after_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// Plan a day-2 change from an old bundle to a new topology: quorum-safe steps.
    Plan(crate::cmd::plan::PlanArgs),
    /// Print the JSON Schema of topology.yaml.
    Schema,
    /// Explain a rule (by code or name); without one, list every rule.
    Explain(ExplainArgs),
    /// Print a commented starter topology.yaml (or write it with --output).
    Init(InitArgs),
    /// Drill a rendered bundle with the real daemons in network namespaces (Linux, root).
    #[cfg(target_os = "linux")]
    Rehearse(crate::rehearse::RehearseArgs),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Findings with source excerpts, and the what-if table.
    Human,
    /// Versioned JSON (docs/json-output.md).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Color on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The topology file.
    pub topology: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to color human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule code (TOP010) or name (even-etcd-members).
    pub rule: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Write to this file instead of standard output (never overwrites).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Where the `# yaml-language-server: $schema=` line points.
    #[arg(long, default_value = "./topology.schema.json")]
    pub schema_url: String,
}

const LINT_HELP: &str = "\
Suppress one finding with a comment on its line or the line above:
  # hagen:ignore HAP003
Configure rules in .hagen-lint.yaml (read from the current directory, or --config):
  rules: {HAP003: off, KAL003: error}
  certExpiryDays: 30

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage or I/O failure.";

const RENDER_HELP: &str = "\
Writes DIR/nodes/<name>/ (an overlay for that node; DIR/README.md, the runbook, gives the
command that installs it as root without re-owning `/`), a MANIFEST, the topology and
the join material. Nothing is written
when the topology has errors. Re-rendering into an earlier bundle keeps its CAs, keys,
token and every certificate that still matches; a directory that is not a hagen bundle
is refused unless --force, which moves it aside.

Exit codes: 0 written, 1 errors in the topology or the existing PKI, 2 usage or I/O failure.";

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The topology file.
    pub topology: PathBuf,
    /// The bundle directory to write.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Reuse an existing cluster's PKI: a copy of a control plane's /etc/kubernetes/pki.
    /// Its CAs and keys are kept; its leaves are kept for the first control plane when
    /// they still match, re-issued otherwise.
    #[arg(long, value_name = "DIR")]
    pub pki_from: Option<PathBuf>,
    /// Replace a non-empty directory that is not a hagen bundle (it is moved aside).
    #[arg(long)]
    pub force: bool,
    /// List every PKI file with what was done to it.
    #[arg(short, long)]
    pub verbose: bool,
    /// Threads for RSA key generation (default: one per available core). The files do
    /// not depend on it.
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// When to color human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or directories to lint (directories are walked; hidden entries skipped).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Check every file against this topology.yaml too.
    #[arg(long)]
    pub topology: Option<PathBuf>,
    /// The Kubernetes version the files are for (default: from --topology or the files).
    #[arg(long)]
    pub kubernetes_version: Option<String>,
    /// Report certificates expiring within this many days (default 30).
    #[arg(long)]
    pub cert_expiry_days: Option<u32>,
    /// Configuration file (default: .hagen-lint.yaml in the current directory, if any).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to color human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

const IMPORT_HELP: &str = "\
Input: one directory per node (as the collect script writes them: OUT/<node>/etc/...),
a directory of such directories, or a hagen bundle (its nodes/<node>/ directories); a
dump of the kubeadm-config ConfigMap, `etcdctl member list -w json` and `kubectl get
nodes -o json` may sit anywhere among them. Private keys (*.key) are never read.

Without -o the topology goes to standard output and the report to standard error.
Run the collect script on each node:  hagen import --collect-script > collect.sh
(HAGEN_ROOT=/mnt/node sh collect.sh OUT reads a node's files under a prefix).

Exit codes: 0 no drift at error level, 1 drift at error level, 2 usage or I/O failure.";

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Node directories, directories of them, or a bundle.
    #[arg(required_unless_present = "collect_script")]
    pub paths: Vec<PathBuf>,
    /// Write the topology to this file (refused if it exists, unless --force).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing --output file.
    #[arg(long)]
    pub force: bool,
    /// Print the read-only collect script (POSIX sh) and exit.
    #[arg(long, conflicts_with_all = ["paths", "output"])]
    pub collect_script: bool,
    /// Report certificates expiring within this many days (default 30).
    #[arg(long)]
    pub cert_expiry_days: Option<u32>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// When to color human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}
