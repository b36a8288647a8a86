//! `hagen lint`: audits the HA configuration files people already run (haproxy,
//! keepalived, nginx, kubeadm, etcd, kube-vip, check scripts, certificates) with the same
//! [`Rule`]s and [`Diagnostic`]s as the topology checks.
//!
//! The flow for one run, all in memory (the CLI reads the files; core does no I/O):
//!
//! 1. **Detect** each file's [`Kind`] from its name *and* its content ([`detect`]).
//!    A file a `vrrp_script` of the run names is a check script whatever its name.
//!    Templates (`{{`, `{%`) get LNT002 and only their static parts are checked (see
//!    [`mask_template`]); unknown files are skipped with an info (LNT003).
//! 2. **Parse** it with a tolerant parser of our own that keeps byte spans. A file that
//!    cannot be parsed gives one LNT001 diagnostic and no other finding.
//! 3. **Check** it with its domain's `RULES`.
//! 4. **Cross-check** the parsed files together with [`cross::RULES`]: the same VRID,
//!    VIP and peers in every keepalived.conf, one CA, the check script's VIP; and, with
//!    a topology, every file against the validated [`Plan`].
//! 5. **Filter**: a finding whose value is only a placeholder (`${port}`, `<VIP>`) is
//!    dropped (the value is unknown); inline `hagen:ignore CODE` comments and the
//!    configured levels ([`LintOptions::levels`]) drop or re-grade findings.
//!
//! Every rule is registered once, as a `(&Rule, check)` pair in one list sorted by
//! code, the shape of the topology rules: each domain module (`haproxy`, `keepalived`,
//! …) has `RULES: &[(&Rule, CheckFn)]` for the rules one file decides, its `CheckFn`
//! taking that domain's parsed file; [`cross::RULES`] has the rules that read several
//! files or the topology (`CrossFn`, over a [`cross::Run`]), even when part of what
//! they report concerns one file. Each check reports only its own rule (debug builds
//! assert it). Rules reported while a file is detected or parsed (LNT001–LNT004) pair
//! with a no-op that says where. [`rules`] chains the lists for the registry.

pub mod certs;
pub mod checkscript;
pub mod cross;
pub mod etcd;
pub mod files;
pub mod general;
pub mod haproxy;
pub mod keepalived;
pub mod kubeadm;
pub mod kubevip;
pub mod nginx;
pub mod scan;
pub use crate::yaml;

use crate::diag::{Diagnostic, Diagnostics, Level, Rule};
use crate::plan::Plan;
use crate::source::{FileId, SourceFile, Span};
use crate::version::KubeVersion;
use std::collections::BTreeMap;

/// Everything a lint run needs besides the files.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// The Kubernetes version the files are for (from `--topology` or the command line);
    /// without it, kubeadm's own `kubernetesVersion` is used where present.
    pub kubernetes_version: Option<KubeVersion>,
    /// The validated topology to check every file against (`--topology`).
    pub topology: Option<Plan>,
    /// "Now" as seconds since the Unix epoch, for certificate expiry (core reads no
    /// clock, so the caller passes it); `None` skips the expiry rules.
    pub now: Option<i64>,
    /// Certificates expiring within this many days are reported (CRT002).
    pub cert_expiry_days: u32,
    /// Per-rule levels by code, from the configuration file.
    pub levels: BTreeMap<String, Level>,
    /// Unix permission bits of the linted files, by [`SourceFile::name`], when the caller
    /// knows them (the CLI does). Used for "track script is not executable".
    pub modes: BTreeMap<String, u32>,
    /// Files, by [`SourceFile::name`], whose bytes were not UTF-8 and were decoded with
    /// replacement characters ([`decode`]); each gets one LNT005 info.
    pub lossy: std::collections::BTreeSet<String>,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            kubernetes_version: None,
            topology: None,
            now: None,
            cert_expiry_days: 30,
            levels: BTreeMap::new(),
            modes: BTreeMap::new(),
            lossy: std::collections::BTreeSet::new(),
        }
    }
}

/// The kind of a linted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// haproxy.cfg.
    Haproxy,
    /// keepalived.conf.
    Keepalived,
    /// A keepalived track (check) script.
    CheckScript,
    /// nginx.conf (or a stream/http fragment).
    Nginx,
    /// kubeadm configuration YAML (any of its kinds).
    Kubeadm,
    /// etcd settings: config YAML, systemd unit, environment file, static pod or compose file.
    Etcd,
    /// A kube-vip static pod or DaemonSet manifest.
    KubeVip,
    /// PEM certificates.
    Certificate,
    /// A kubeconfig (client certificates are checked like PEM files).
    Kubeconfig,
    /// A hagen topology (`apiVersion: hagen/…`, `kind: Topology`), checked with the TOP rules.
    Topology,
    /// Anything else (skipped with an info).
    Unknown,
}

impl Kind {
    /// A short lowercase name, used in messages and in the corpus report.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Haproxy => "haproxy",
            Kind::Keepalived => "keepalived",
            Kind::CheckScript => "check-script",
            Kind::Nginx => "nginx",
            Kind::Kubeadm => "kubeadm",
            Kind::Etcd => "etcd",
            Kind::KubeVip => "kube-vip",
            Kind::Certificate => "certificate",
            Kind::Kubeconfig => "kubeconfig",
            Kind::Topology => "topology",
            Kind::Unknown => "unknown",
        }
    }
}

/// How a file was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Parsed and checked.
    Parsed,
    /// Could not be parsed (an LNT001 diagnostic says why).
    Unparseable,
    /// An unrendered template (LNT002).
    Template,
    /// Not a kind hagen lints (LNT003).
    Skipped,
}

/// What a run did with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileReport {
    /// The detected kind.
    pub kind: Kind,
    /// Parsed, unparseable, template or skipped.
    pub outcome: Outcome,
}

/// The result of [`lint_report`]: the findings and what happened to each file.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every finding, sorted by file and position, after suppressions and levels.
    pub diagnostics: Diagnostics,
    /// One entry per input file, in input order.
    pub files: Vec<FileReport>,
}

/// Lints files together; see the module documentation for the steps.
pub fn lint(files: &[SourceFile], options: &LintOptions) -> Diagnostics {
    lint_report(files, options).diagnostics
}

/// A file's bytes as text for linting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Valid UTF-8.
    Text(String),
    /// Text with some bytes that are not UTF-8 (a Latin-1 `é` in a comment): decoded
    /// with U+FFFD in their place, linted, and reported once (LNT005).
    Lossy(String),
    /// Binary (a NUL byte): DER, an image; kept with no text, so it is skipped.
    Binary,
}

/// Decodes a file's bytes: a config with one stray Latin-1 byte is still a config, and
/// silently linting it as empty would call it clean.
pub fn decode(bytes: Vec<u8>) -> Decoded {
    match String::from_utf8(bytes) {
        Ok(text) => Decoded::Text(text),
        Err(e) if e.as_bytes().contains(&0) => Decoded::Binary,
        Err(e) => Decoded::Lossy(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// The parsed form of one file, kept for the cross-file rules.
#[derive(Debug)]
pub enum Parsed {
    /// haproxy.cfg.
    Haproxy(haproxy::parse::Config),
    /// keepalived.conf.
    Keepalived(keepalived::parse::Config),
    /// A check script.
    CheckScript(keepalived::Script),
    /// nginx.conf.
    Nginx(nginx::parse::Config),
    /// kubeadm YAML.
    Kubeadm(yaml::Yaml),
    /// etcd settings.
    Etcd(etcd::Settings),
    /// kube-vip manifest.
    KubeVip(kubevip::Manifest),
    /// Certificates (from PEM or a kubeconfig).
    Certs(Vec<certs::Cert>),
    /// A hagen topology that has no error.
    Topology(Box<Plan>),
}

/// Per-file context handed to every single-file rule.
pub struct Ctx<'a> {
    /// The run's options.
    pub options: &'a LintOptions,
    /// Every input file (for rules that look at a file another one names).
    pub files: &'a [SourceFile],
    /// Those files by directory and base name.
    pub index: &'a files::FileIndex<'a>,
    /// The file being checked.
    pub file: &'a SourceFile,
    /// The Kubernetes version in force, if known.
    pub version: Option<&'a KubeVersion>,
}

/// Like [`lint`], and also says what happened to each file.
pub fn lint_report(files: &[SourceFile], options: &LintOptions) -> Report {
    let mut out = Diagnostics::new();
    let mut reports = Vec::with_capacity(files.len());
    let mut parsed: Vec<Option<Parsed>> = Vec::with_capacity(files.len());
    // Without a version from the caller, the `kubernetesVersion` of the run's
    // kubeadm files applies to all of them (a JoinConfiguration has none of its own),
    // but only when they all agree: a directory of unrelated files has no one version.
    let found: std::collections::BTreeSet<String> = files
        .iter()
        .filter(|f| f.text.contains("kubeadm.k8s.io/"))
        .flat_map(|f| f.text.lines())
        .filter_map(|l| l.trim().strip_prefix("kubernetesVersion:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        .collect();
    let from_files = match found.len() {
        1 => found.first().and_then(|v| KubeVersion::parse(v).ok()),
        _ => None,
    };
    let version = options
        .kubernetes_version
        .as_ref()
        .or(options.topology.as_ref().map(|p| &p.version))
        .or(from_files.as_ref());
    // A file a `vrrp_script` of the run names is a check script, whatever its name.
    let scripts: std::collections::BTreeSet<&str> = files
        .iter()
        .filter(|f| f.text.contains("vrrp_script"))
        .flat_map(|f| f.text.lines())
        .filter_map(|l| l.trim().strip_prefix("script"))
        .filter_map(|rest| {
            // `script "/bin/bash /etc/keepalived/x.sh"`: the script, not the interpreter.
            rest.trim()
                .trim_matches(['"', '\''])
                .split_whitespace()
                .filter(|w| w.starts_with('/'))
                .filter_map(|w| w.rsplit('/').next())
                .find(|b| !matches!(*b, "sh" | "bash" | "dash" | "zsh" | "env" | "busybox"))
        })
        .filter(|base| !base.is_empty())
        .collect();
    let index = files::FileIndex::new(files);
    for (id, file) in files.iter().enumerate() {
        let ctx = Ctx {
            options,
            files,
            index: &index,
            file,
            version,
        };
        let mut local = Diagnostics::new();
        let base = file.name.rsplit(['/', '\\']).next().unwrap_or("");
        let named = scripts.iter().any(|s| keepalived::names_script(base, s));
        let (report, p) = lint_one(&ctx, named, &mut local);
        relocate(local, id, &mut out);
        reports.push(report);
        parsed.push(p);
    }
    cross::run(
        &cross::Run::new(files, &index, &parsed, options, version),
        &mut out,
    );
    let mut diagnostics = filter(files, out, options);
    diagnostics.sort();
    Report {
        diagnostics,
        files: reports,
    }
}

/// Moves findings made on one file alone (which say file 0) to that file, labels too.
fn relocate(local: Diagnostics, id: FileId, out: &mut Diagnostics) {
    for mut d in local.into_vec() {
        d.file = id;
        for l in &mut d.labels {
            l.file = id;
        }
        out.push(d);
    }
}

/// The shape of every domain's `CheckFn`, over its parsed file `P`.
type Check<P> = fn(&P, &Ctx<'_>, &mut Diagnostics);

/// Runs a domain's checks over one parsed file.
fn run_checks<P: ?Sized>(
    rules: &[(&'static Rule, Check<P>)],
    parsed: &P,
    ctx: &Ctx<'_>,
    out: &mut Diagnostics,
) {
    for (rule, check) in rules {
        let before = out.len();
        check(parsed, ctx, out);
        debug_assert_only(rule, out, before);
    }
}

/// A check reports its own rule only, so that its line in `RULES` is the whole of the
/// rule's wiring; debug builds (the tests) fail on one that strays.
fn debug_assert_only(rule: &Rule, out: &Diagnostics, before: usize) {
    if cfg!(debug_assertions)
        && let Some(d) = out.iter().skip(before).find(|d| d.rule.code != rule.code)
    {
        panic!(
            "the check paired with {} reported {}",
            rule.code, d.rule.code
        );
    }
}

/// Runs a pass that finds several rules' problems at once and keeps `rule`'s, so each
/// of those rules still has a check of its own.
fn only(rule: &Rule, out: &mut Diagnostics, pass: impl FnOnce(&mut Diagnostics)) {
    let mut all = Diagnostics::new();
    pass(&mut all);
    for d in all.into_vec() {
        if d.rule.code == rule.code {
            out.push(d);
        }
    }
}

fn lint_one(
    ctx: &Ctx<'_>,
    named_script: bool,
    out: &mut Diagnostics,
) -> (FileReport, Option<Parsed>) {
    let text = ctx.file.text.as_str();
    let kind = match detect(&ctx.file.name, text) {
        Kind::Unknown | Kind::CheckScript if named_script => Kind::CheckScript,
        kind => kind,
    };
    let report = |outcome| FileReport { kind, outcome };
    if ctx.options.lossy.contains(&ctx.file.name) {
        out.push(general::lossy(text));
    }
    if kind == Kind::Unknown {
        out.push(general::unknown_kind(&ctx.file.name));
        return (report(Outcome::Skipped), None);
    }
    if let Some(span) = template_marker(text) {
        out.push(general::template(kind, span, &text[span.start..span.end]));
        lint_template(ctx, kind, out);
        return (report(Outcome::Template), None);
    }
    let parsed = parse_and_check(ctx, kind, out);
    general::placeholders_left(kind, &ctx.file.name, text, out);
    let outcome = if parsed.is_some() {
        Outcome::Parsed
    } else {
        Outcome::Unparseable
    };
    (report(outcome), parsed)
}

/// Rules that report something *missing* or *counted* (no timeout, one server, no
/// `unicast_peer`, no client-cert auth, one member…) or an *order* (HAP001: a later
/// check option replaces an earlier one): in a template the missing line may sit in an
/// `{% if %}`, two lines may be the two branches of one, and a `{% for %}` writes many
/// servers, so these say nothing there. Rules about a literal value that is present
/// stay.
const ABSENCE_RULES: &[&str] = &[
    "HAP001", "HAP002", "HAP006", "HAP007", "HAP008", "NGX002", "NGX003", "KAL003", "KAL005",
    "KAL007", "KAL017", "KAD005", "ETC001", "ETC002", "ETC004", "ETC005", "KVP002",
];

/// A template's static parts: each `{{ … }}` becomes an unknown value (`x`s of the same
/// length, so spans stay true), each `{% … %}` and `{# … #}` blank, and the result is
/// parsed and checked like a rendered file. A finding is kept only if it is about a
/// line with no template markup and is not one of the [`ABSENCE_RULES`]; a file whose
/// static parts do not parse on their own is left at LNT002.
fn lint_template(ctx: &Ctx<'_>, kind: Kind, out: &mut Diagnostics) {
    let text = ctx.file.text.as_str();
    let masked = SourceFile::new(ctx.file.name.clone(), mask_template(text));
    let masked_ctx = Ctx {
        options: ctx.options,
        files: ctx.files,
        index: ctx.index,
        file: &masked,
        version: ctx.version,
    };
    let mut found = Diagnostics::new();
    parse_and_check(&masked_ctx, kind, &mut found);
    // A whole template whose only markup is values and loops (no `if`, no include, no
    // line that is an expression of its own) has every check option in plain sight: a
    // TCP-only check (HAP002) is then a fact, not an absence.
    // (With its `defaults` in the file too: a fragment's may set `option httpchk`.)
    let loops_only = text.lines().any(|l| l.trim_end() == "defaults")
        && !text.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("{{") || t.starts_with("%{")
        })
        && ![
            "if ", "include", "import", "macro", "block", "extends", "set ",
        ]
        .iter()
        .any(|k| {
            text.match_indices("{%").any(|(i, _)| {
                text[i + 2..]
                    .trim_start_matches(['-', '+', ' '])
                    .starts_with(k)
            })
        });
    for d in found.into_vec() {
        if d.rule.code.starts_with("LNT")
            || ABSENCE_RULES.contains(&d.rule.code) && !(d.rule.code == "HAP002" && loops_only)
        {
            continue;
        }
        let Some(span) = d.span else { continue };
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = &text[line_start..line_end];
        let templated = ["{{", "}}", "{%", "%}", "{#", "#}"]
            .iter()
            .any(|m| line.contains(m))
            || template_marker(line).is_some();
        let spanned = text.get(span.start..span.end.min(text.len())).unwrap_or("");
        // HAP005 and NGX001 also report a missing timeout: only a literal one counts.
        let literal = !matches!(d.rule.code, "HAP005" | "NGX001")
            || spanned.starts_with("timeout")
            || spanned.starts_with("proxy_timeout")
            || spanned.starts_with("proxy_read_timeout");
        // A message that quotes a masked value is about a template value.
        let quotes_mask = d.message.contains("xxx");
        // HAP002 names the section, and its `check` is literal even on a server line
        // that a loop writes.
        let templated = templated && !(d.rule.code == "HAP002" && loops_only);
        if !templated && literal && !quotes_mask {
            out.push(d);
        }
    }
}

/// `text` with template markup neutralised, byte for byte: `{{ … }}` → `x…x`,
/// `{% … %}` and `{# … #}` → spaces (line breaks kept).
pub fn mask_template(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{', '%']) {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let close = match from.get(..2) {
            Some("{{") => Some(("}}", 'x')),
            Some("{%") => Some(("%}", ' ')),
            Some("{#") => Some(("#}", ' ')),
            Some("%{") if terraform_directive(from) => Some(("}", ' ')),
            _ => None,
        };
        let Some((end, fill)) = close else {
            out.push_str(&from[..1]);
            rest = &from[1..];
            continue;
        };
        let len = from[2..]
            .find(end)
            .map_or(from.len(), |j| j + 2 + end.len());
        for c in from[..len].chars() {
            match c {
                '\n' | '\r' => out.push(c),
                // Same byte length: a multi-byte character becomes as many fill bytes.
                _ => (0..c.len_utf8()).for_each(|_| out.push(fill)),
            }
        }
        rest = &from[len..];
    }
    out.push_str(rest);
    out
}

/// Parses a file of a known kind and runs its domain's checks.
fn parse_and_check(ctx: &Ctx<'_>, kind: Kind, out: &mut Diagnostics) -> Option<Parsed> {
    let text = ctx.file.text.as_str();
    match kind {
        Kind::Haproxy => haproxy::lint(ctx, out).map(Parsed::Haproxy),
        Kind::Keepalived => keepalived::lint(ctx, out).map(Parsed::Keepalived),
        Kind::CheckScript => Some(Parsed::CheckScript(keepalived::parse_script(text))),
        Kind::Nginx => nginx::lint(ctx, out).map(Parsed::Nginx),
        Kind::Kubeadm => kubeadm::lint(ctx, out).map(Parsed::Kubeadm),
        Kind::Etcd => etcd::lint(ctx, out).map(Parsed::Etcd),
        Kind::KubeVip => kubevip::lint(ctx, out).map(Parsed::KubeVip),
        Kind::Certificate | Kind::Kubeconfig => certs::lint(ctx, kind, out).map(Parsed::Certs),
        Kind::Topology => lint_topology(ctx, out).map(|p| Parsed::Topology(Box::new(p))),
        Kind::Unknown => None,
    }
}

/// A topology met among the linted files gets the checks `hagen validate` runs; its plan
/// is kept, though the files are judged against it only when it is given as `--topology`
/// (a directory may hold topologies of other clusters).
fn lint_topology(ctx: &Ctx<'_>, out: &mut Diagnostics) -> Option<Plan> {
    let checked = crate::check(ctx.file);
    let parsed = checked.what_if.is_some();
    for d in checked.diagnostics.into_vec() {
        out.push(d);
    }
    parsed.then_some(checked.plan).flatten()
}

/// True for a hagen topology: its `apiVersion` is `hagen/…` and its kind `Topology`.
fn is_topology(text: &str) -> bool {
    let top_level = |key: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().trim_matches(['"', '\'']))
            .next()
    };
    top_level("apiVersion:").is_some_and(|v| v.starts_with("hagen/"))
        && top_level("kind:") == Some("Topology")
}

/// The first template marker (`{{`, `{%` or a Terraform directive `%{ for … }`) in a
/// text, if any.
pub fn template_marker(text: &str) -> Option<Span> {
    let terraform = text
        .match_indices("%{")
        .map(|(i, _)| i)
        .find(|&i| terraform_directive(&text[i..]));
    ["{{", "{%"]
        .iter()
        .filter_map(|m| text.find(m))
        .chain(terraform)
        .min()
        .map(|i| Span::new(i, i + 2))
}

/// True if `at` starts a Terraform template directive (`%{ for x in y ~}`, `%{ endif }`),
/// not haproxy's `%{+Q}r` log-format flags.
fn terraform_directive(at: &str) -> bool {
    let Some(rest) = at.strip_prefix("%{") else {
        return false;
    };
    let word = rest.trim_start_matches(['~', ' ']);
    ["for ", "endfor", "if ", "else", "endif"]
        .iter()
        .any(|k| word.starts_with(k))
}

/// Decides a file's kind from its name and content.
pub fn detect(name: &str, text: &str) -> Kind {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    if text.contains("-----BEGIN CERTIFICATE-----") && !is_yaml_name(base) {
        return Kind::Certificate;
    }
    if base.ends_with(".crt") || base.ends_with(".pem") || base.ends_with(".cert") {
        return Kind::Certificate;
    }
    let yamlish = is_yaml_name(base) || base.ends_with(".conf") && text.contains("apiVersion:");
    if yamlish || text.trim_start().starts_with("apiVersion:") {
        // Before the others: a topology mentions kube-vip, etcd and kubeadm's versions.
        if is_topology(text) {
            return Kind::Topology;
        }
        if text.contains("kubeadm.k8s.io/") {
            return Kind::Kubeadm;
        }
        if text.contains("kind: Config") && text.contains("clusters:") {
            return Kind::Kubeconfig;
        }
        if text.contains("kube-vip") || text.contains("vip_interface") || text.contains("vip_arp") {
            return Kind::KubeVip;
        }
    }
    if base.ends_with(".kubeconfig")
        || (base == "admin.conf" || base == "super-admin.conf" || base.ends_with("kubelet.conf"))
            && text.contains("clusters:")
    {
        return Kind::Kubeconfig;
    }
    if [".md", ".txt", ".rst", ".html", ".json", ".toml"]
        .iter()
        .any(|e| base.ends_with(e))
    {
        return Kind::Unknown;
    }
    let has_etcd_settings = text.contains("initial-cluster")
        || text.contains("INITIAL_CLUSTER")
        || text.contains("listen-client-urls")
        || text.contains("LISTEN_CLIENT_URLS")
        || text.contains("advertise-client-urls");
    let script = base.ends_with(".sh") || text.starts_with("#!");
    let yaml = is_yaml_name(base);
    // The name first: `keepalived.conf` stays keepalived even if it mentions haproxy.
    if !yaml && !script {
        if base.contains("keepalived") {
            return Kind::Keepalived;
        }
        if base.contains("haproxy") {
            return Kind::Haproxy;
        }
        if base.contains("nginx") {
            return Kind::Nginx;
        }
    }
    if base.contains("etcd") && (has_etcd_settings || base.ends_with(".service"))
        || text.contains("etcd") && has_etcd_settings
    {
        return Kind::Etcd;
    }
    if script {
        if base.contains("check") || text.contains("curl") || text.contains("wget") {
            return Kind::CheckScript;
        }
        return Kind::Unknown;
    }
    if yaml {
        return Kind::Unknown;
    }
    // Then the content.
    if haproxy::parse::looks_like(text) {
        return Kind::Haproxy;
    }
    if keepalived::parse::looks_like(text) {
        return Kind::Keepalived;
    }
    if nginx::parse::looks_like(text) {
        return Kind::Nginx;
    }
    Kind::Unknown
}

fn is_yaml_name(base: &str) -> bool {
    [
        ".yaml",
        ".yml",
        ".yaml.j2",
        ".yml.j2",
        ".yaml.tpl",
        ".manifest.j2",
    ]
    .iter()
    .any(|e| base.ends_with(e))
}

/// Applies inline suppressions and configured levels. Each file is searched for
/// `hagen:ignore` once (see [`Suppressions`]), whatever the number of findings.
fn filter(files: &[SourceFile], diags: Diagnostics, options: &LintOptions) -> Diagnostics {
    let mut out = Diagnostics::new();
    let mut index: Vec<Option<Option<Suppressions<'_>>>> = files.iter().map(|_| None).collect();
    for mut d in diags.into_vec() {
        match options.levels.get(d.rule.code) {
            Some(Level::Off) => continue,
            Some(Level::At(s)) => d.severity = *s,
            None => {}
        }
        // A claim about a value that is only a placeholder (`${port}`, `$vip`,
        // `<MN03_IP>`, `{{ x }}`) is a claim about nothing: the value is unknown.
        // (LNT006, ETC010 and KAL025 are about the placeholders themselves.)
        // Bare stand-ins (`K8SHA_KA_STATE`) too, but not in etcd's files, where
        // `ETCD_NAME` is a variable's own name.
        if !d.rule.code.starts_with("LNT")
            && !matches!(d.rule.code, "ETC010" | "KAL025")
            && let Some((file, span)) = files.get(d.file).zip(d.span)
            && file.text.get(span.start..span.end).is_some_and(|t| {
                placeholder_only(t)
                    || !d.rule.code.starts_with("ETC")
                        && !matches!(d.rule.code, "HAP006" | "HAP010")
                        && stand_in(t)
            })
        {
            continue;
        }
        if let Some(file) = files.get(d.file)
            && index[d.file]
                .get_or_insert_with(|| Suppressions::new(&file.text))
                .as_ref()
                .is_some_and(|s| s.covers(d.rule.code, d.span))
        {
            continue;
        }
        out.push(d);
    }
    out
}

/// The placeholders of a text, by byte range: `${name}`, `$name`, `<UPPER_NAME>` and
/// `{{ … }}`, the stand-ins of envsubst, shell heredocs, Terraform and Jinja.
pub fn placeholders(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut v = Vec::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let start = i;
        let end = match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => text[i..].find('}').map(|j| i + j + 1),
            b'$' if b
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
            {
                let mut j = i + 1;
                while j < b.len() && ident(b[j]) {
                    j += 1;
                }
                Some(j)
            }
            b'{' if b.get(i + 1) == Some(&b'{') => text[i..].find("}}").map(|j| i + j + 2),
            b'<' => {
                let mut j = i + 1;
                while j < b.len()
                    && (b[j].is_ascii_uppercase()
                        || b[j].is_ascii_digit()
                        || b[j] == b'_'
                        || b[j] == b'-')
                {
                    j += 1;
                }
                (j > i + 2 && b.get(j) == Some(&b'>') && b[i + 1].is_ascii_uppercase())
                    .then_some(j + 1)
            }
            _ => None,
        };
        match end {
            Some(e) => {
                v.push(start..e);
                i = e;
            }
            None => i += 1,
        }
    }
    v
}

/// True for a bare word that stands in for a value in sed-filled templates: `_VIP_`,
/// `_INTERFACE_`, or an upper-case name whose parts say what goes there
/// (`K8SHA_KA_STATE`, `K8SHA_IP1`, `MASTER_IP`), not a name of its own (`LVS_DEVEL`,
/// `VI_1`).
pub fn stand_in(word: &str) -> bool {
    const PARTS: &[&str] = &[
        "IP",
        "VIP",
        "IPS",
        "IPLOCAL",
        "ADDR",
        "ADDRESS",
        "HOST",
        "HOSTNAME",
        "PORT",
        "INTF",
        "IFACE",
        "INTERFACE",
        "NIC",
        "STATE",
        "PRIO",
        "PRIORITY",
        "AUTH",
        "PASS",
        "PASSWD",
        "PASSWORD",
        "TOKEN",
        "VRID",
        "SERVER",
        "SERVERS",
        "PEER",
        "PEERS",
    ];
    let w = word.trim_matches(['"', '\'', ',', ';']);
    let upper = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && p.bytes().any(|b| b.is_ascii_uppercase())
    };
    if let Some(inner) = w.strip_prefix('_').and_then(|r| r.strip_suffix('_')) {
        return upper(inner) && inner.as_bytes()[0].is_ascii_uppercase();
    }
    upper(w)
        && w.as_bytes()[0].is_ascii_uppercase()
        && w.contains('_')
        && w.split('_')
            .any(|p| PARTS.contains(&p.trim_end_matches(|c: char| c.is_ascii_digit())))
}

/// True if `value` is placeholders and punctuation only (`${ip}:${port}`, `"$vip"`).
pub fn placeholder_only(value: &str) -> bool {
    let found = placeholders(value);
    if found.is_empty() {
        return false;
    }
    let mut rest = String::new();
    let mut at = 0;
    for r in &found {
        rest.push_str(&value[at..r.start]);
        at = r.end;
    }
    rest.push_str(&value[at..]);
    !rest.chars().any(char::is_alphanumeric)
}

/// The `hagen:ignore` comments of one file, found in one pass.
#[derive(Debug)]
pub struct Suppressions<'a> {
    line_starts: Vec<usize>,
    /// The text after each `hagen:ignore-file`.
    file_wide: Vec<&'a str>,
    /// By 0-based line: the text after each `hagen:ignore` on it, and whether the line
    /// is a comment of its own (then it also covers the line below).
    lines: BTreeMap<usize, (Vec<&'a str>, bool)>,
}

impl<'a> Suppressions<'a> {
    /// The suppressions of `text`, or `None` when it has none.
    pub fn new(text: &'a str) -> Option<Self> {
        crate::source::count_scan(text.len());
        if !text.contains("hagen:ignore") {
            return None;
        }
        let mut line_starts = vec![0];
        let mut file_wide = Vec::new();
        let mut lines = BTreeMap::new();
        let mut start = 0;
        for (n, raw) in text.split_inclusive('\n').enumerate() {
            if n > 0 {
                line_starts.push(start);
            }
            start += raw.len();
            let line = raw.trim_end_matches(['\n', '\r']);
            let mut here = Vec::new();
            for (i, _) in line.match_indices("hagen:ignore") {
                let rest = &line[i + "hagen:ignore".len()..];
                match rest.strip_prefix("-file") {
                    Some(rest) => file_wide.push(rest),
                    None => here.push(rest),
                }
            }
            if !here.is_empty() {
                let comment = line.trim_start().starts_with(['#', '!', ';', '/']);
                lines.insert(n, (here, comment));
            }
        }
        Some(Suppressions {
            line_starts,
            file_wide,
            lines,
        })
    }

    /// True if `code` at `span` is suppressed: `hagen:ignore CODE` on the finding's line
    /// or alone on the line above, or `hagen:ignore-file CODE` anywhere.
    pub fn covers(&self, code: &str, span: Option<Span>) -> bool {
        if self.file_wide.iter().any(|rest| names(rest, code)) {
            return true;
        }
        let Some(span) = span else { return false };
        let line = self.line_starts.partition_point(|&s| s <= span.start) - 1;
        let on = |n: usize, own_line: bool| {
            self.lines.get(&n).is_some_and(|(rests, comment)| {
                (own_line || *comment) && rests.iter().any(|rest| names(rest, code))
            })
        };
        on(line, true) || line > 0 && on(line - 1, false)
    }
}

/// True if the words after `hagen:ignore` name `code`, or name no code at all.
fn names(rest: &str, code: &str) -> bool {
    let mut words = rest
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .take_while(|w| w.len() == 6 && w[..3].bytes().all(|b| b.is_ascii_uppercase()))
        .peekable();
    words.peek().is_none() || words.any(|w| w.eq_ignore_ascii_case(code))
}

/// True if `hagen:ignore CODE` is on the finding's line or the line above, or
/// `hagen:ignore-file CODE` is anywhere in the file. A bare `hagen:ignore` (no codes)
/// silences every rule on that line.
pub fn suppressed(text: &str, code: &str, span: Option<Span>) -> bool {
    Suppressions::new(text).is_some_and(|s| s.covers(code, span))
}

/// Every lint rule, sorted by code, for the registry: each domain's list and the
/// cross-file one.
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    fn of<F>(list: &'static [(&'static Rule, F)]) -> impl Iterator<Item = &'static Rule> {
        list.iter().map(|(rule, _)| *rule)
    }
    let mut all: Vec<&'static Rule> = of(certs::RULES)
        .chain(of(etcd::RULES))
        .chain(of(general::RULES))
        .chain(of(haproxy::RULES))
        .chain(of(keepalived::RULES))
        .chain(of(kubeadm::RULES))
        .chain(of(kubevip::RULES))
        .chain(of(nginx::RULES))
        .chain(of(cross::RULES))
        .collect();
    // The cross-file codes fall between the domains' (KAL004 among the KALs).
    all.sort_by_key(|r| r.code);
    all.into_iter()
}

/// A proxy name that says "the API servers".
pub(crate) fn api_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !other_name(&n)
        && [
            "api",
            "kube",
            "k8s",
            "master",
            "control",
            "controlplane",
            "cp",
        ]
        .iter()
        .any(|w| {
            n.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|part| part == *w || part.starts_with(w) && *w != "cp")
        })
}

/// A proxy name that says it is something else (ingress, dashboards, monitoring).
pub(crate) fn other_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "ingress",
        "dashboard",
        "grafana",
        "prometheus",
        "stats",
        "nodeport",
        "web",
        "http",
        "registry",
        "harbor",
        "etcd",
    ]
    .iter()
    .any(|w| n.contains(w))
        && !n.contains("apiserver")
        && !n.contains("kube-api")
}

/// A diagnostic helper shared by the domains: a finding at a span with a help line.
pub(crate) fn at(rule: &'static Rule, span: Span, msg: impl Into<String>) -> Diagnostic {
    let mut d = Diagnostic::new(rule, msg);
    d.span = Some(span);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_on_the_line_or_above() {
        let text = "a\n# hagen:ignore HAP003\nbind x\nother # hagen:ignore\n";
        let bind = text.find("bind").unwrap();
        assert!(suppressed(text, "HAP003", Some(Span::new(bind, bind + 1))));
        assert!(!suppressed(text, "HAP004", Some(Span::new(bind, bind + 1))));
        let other = text.find("other").unwrap();
        assert!(suppressed(text, "KAL001", Some(Span::new(other, other))));
        assert!(!suppressed(text, "HAP003", Some(Span::new(0, 1))));
        assert!(suppressed(
            "x\n# hagen:ignore-file CRT002\n",
            "CRT002",
            None
        ));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "the check paired with HAP001 reported HAP002")]
    fn a_check_reporting_another_rule_fails() {
        let mut out = Diagnostics::new();
        out.push(Diagnostic::new(&haproxy::TCP_ONLY_CHECK, "stray"));
        debug_assert_only(&haproxy::HTTPCHK_OVERRIDDEN, &out, 0);
    }

    #[test]
    fn templates_are_masked_byte_for_byte() {
        let t = "a {{ b }} c\n{% for x in y %}\nd {# é #}\n";
        let m = mask_template(t);
        assert_eq!(m.len(), t.len());
        assert_eq!(m, "a xxxxxxx c\n                \nd         \n");
        assert_eq!(mask_template("{ a } {{ open"), "{ a } xxxxxxx");
        // Terraform directives are blanked; haproxy's `%{+Q}` log flags are text.
        let tf = "%{ for s in sans ~}\n  - \"${s}\"\n%{ endfor ~}\n";
        assert_eq!(
            mask_template(tf),
            "                   \n  - \"${s}\"\n            \n"
        );
        let log = "log-format \"%ci %{+Q}r\"\n";
        assert_eq!(mask_template(log), log);
        assert!(template_marker(log).is_none());
        assert!(template_marker(tf).is_some());
    }

    #[test]
    fn placeholder_values_are_unknown() {
        for v in [
            "${port}",
            "$vip",
            "<MN03_IP>",
            "\"${ip}:${port}\"",
            "{{ token }}",
        ] {
            assert!(placeholder_only(v), "{v}");
        }
        for v in ["6443", "http://${ip}:2379", "$", "<b>", "a<B>", "10.0.0.1"] {
            assert!(!placeholder_only(v), "{v}");
        }
    }

    #[test]
    fn kinds_by_name_and_content() {
        assert_eq!(detect("x/haproxy.cfg", "global\n"), Kind::Haproxy);
        assert_eq!(
            detect("lb.cfg", "frontend a\n bind :1\nbackend b\n"),
            Kind::Haproxy
        );
        assert_eq!(
            detect("k.conf", "vrrp_instance VI_1 {\n}\n"),
            Kind::Keepalived
        );
        assert_eq!(
            detect("a.yaml", "apiVersion: kubeadm.k8s.io/v1beta4\n"),
            Kind::Kubeadm
        );
        assert_eq!(detect("notes.txt", "hello"), Kind::Unknown);
        let topology =
            "apiVersion: hagen/v1alpha1\nkind: Topology\nspec:\n  loadBalancer: {type: kube-vip}\n";
        assert_eq!(detect("out/topology.yaml", topology), Kind::Topology);
        assert_eq!(
            detect(
                "t.yaml",
                "apiVersion: v1\nkind: Pod\n# hagen/ kind: Topology\n"
            ),
            Kind::Unknown
        );
        assert!(template_marker("a {{ b }}").is_some());
    }
}
