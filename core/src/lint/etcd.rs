//! ETC rules: etcd's settings, wherever they are written — a config YAML
//! (`etcd.conf.yml`), a systemd unit (`ExecStart` flags, `Environment=`), an
//! environment file (`ETCD_NAME=…`), kubeadm's static pod or a compose file.
//!
//! All forms are read into one list of [`Setting`]s with the flag name as key
//! (`initial-cluster`, `client-cert-auth`), so every rule reads one model.

use super::yaml::{self, Value};
use super::{Ctx, at, files};
use crate::diag::Rule;
use crate::diag::{Diagnostics, Severity};
use crate::source::Span;

/// One etcd setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The flag name without dashes (`initial-cluster`).
    pub key: String,
    /// The value (`true` for a bare boolean flag).
    pub value: String,
    /// Where the value (or the bare flag) is.
    pub span: Span,
}

/// Every setting of a file, plus what the file is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// In file order; several members (a compose file) may repeat keys.
    pub settings: Vec<Setting>,
    /// kubeadm's static pod for stacked etcd.
    pub kubeadm_static_pod: bool,
    /// A systemd unit.
    pub systemd_unit: bool,
    /// Flags that are not `--name=value`, `--name value` or a known boolean: (text, span).
    pub malformed: Vec<(String, Span)>,
}

impl Settings {
    /// The settings with this key.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Setting> + 'a {
        self.settings.iter().filter(move |s| s.key == key)
    }
    /// The last setting with this key.
    pub fn get<'a>(&'a self, key: &'a str) -> Option<&'a Setting> {
        self.all(key).last()
    }
    /// True if `key` is set to true.
    pub fn is_true(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|s| s.value.eq_ignore_ascii_case("true"))
    }
}

/// A single-file etcd rule.
pub type CheckFn = fn(&Settings, &Ctx<'_>, &mut Diagnostics);

/// Every single-file ETC rule with its check, sorted by code (ETC007 is in
/// [`cross::RULES`](super::cross::RULES)).
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&EVEN_MEMBERS, even_members),
    (&SINGLE_MEMBER, single_member),
    (&PLAINTEXT_URL, plaintext_url),
    (&NO_CLIENT_CERT_AUTH, no_client_cert_auth),
    (&UNIT_CONTINUATION_BROKEN, unit_continuation_broken),
    (&MALFORMED_FLAG, malformed_flag),
    (&REMOVED_FLAG, removed_flag),
    (&UNSAFE_SETTING, unsafe_setting),
    (&UNIT_VARIABLE_UNDEFINED, unit_variable_undefined),
    (&UNIT_LINE_NOT_SYNTAX, unit_line_not_syntax),
];

/// ETC013.
pub const UNIT_LINE_NOT_SYNTAX: Rule = Rule {
    code: "ETC013",
    name: "unit-line-not-syntax",
    severity: Severity::Warning,
    summary: "A line of an etcd systemd unit that is not `Key=value`, a `[Section]` or a comment",
    explain: "\
## What it checks
Lines of an etcd unit that are none of what a unit file holds: not `Key=value`, not a
`[Section]` header, not a `#`/`;` comment, not the continuation of a line ending in `\\`.
Usually notes or a guide's text pasted into the unit. One finding per unit, at the first
such line. Flag lines cut from ExecStart are ETC005's.

## Why it matters
systemd logs `Missing '='` (or `Unknown section`) and skips the line, so whatever it was
meant to say does not happen; text pasted below `[Install]` is also where flags that were
meant for ExecStart end up.

## Example
```
[Install]
WantedBy=multi-user.target

Notes: the certificate flags
```

## Fix
Make the notes `#` comments, or move them out of the unit.
",
};

/// ETC013.
pub fn unit_line_not_syntax(s: &Settings, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    if !s.systemd_unit || !ctx.file.text.contains("[Service]") {
        return;
    }
    let mut offset = 0;
    let mut continued = false;
    let mut first: Option<Span> = None;
    let mut count = 0;
    for raw in ctx.file.text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let t = line.trim();
        let base = offset;
        offset += raw.len();
        let was_continued = continued;
        continued = t.ends_with('\\');
        // A flag line cut from ExecStart is ETC005's.
        let fine = t.is_empty()
            || was_continued
            || t.starts_with(['#', ';', '-'])
            || t.starts_with('[') && t.ends_with(']')
            || t.split_once('=').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if fine {
            continue;
        }
        count += 1;
        if first.is_none() {
            let start = base + (line.len() - line.trim_start().len());
            first = Some(Span::new(start, start + t.len()));
        }
    }
    if let Some(span) = first {
        let more = match count {
            1 => String::new(),
            2 => " (and one more line like it)".to_string(),
            n => format!(" (and {} more lines like it)", n - 1),
        };
        out.push(
            at(&UNIT_LINE_NOT_SYNTAX, span, format!("this line is not unit syntax (`Key=value`, `[Section]` or a comment): systemd skips it with `Missing '='`{more}"))
                .help("make such lines `#` comments or remove them"),
        );
    }
}

/// ETC010.
pub const UNIT_VARIABLE_UNDEFINED: Rule = Rule {
    code: "ETC010",
    name: "unit-variable-undefined",
    severity: Severity::Error,
    summary: "`ExecStart` uses `${VAR}` that the unit never defines: it expands to nothing",
    explain: "\
## What it checks
In an etcd systemd unit, each `$VAR` / `${VAR}` of `ExecStart` against the unit's
`Environment=` lines and, when it is linted in the same run, the `EnvironmentFile=`.
A unit with an `EnvironmentFile=` that is not in the run is not judged (its variables are
unknown).

## Why it matters
systemd replaces an undefined variable with an empty string: `--name=${ETCD_NAME}`
becomes `--name=`, `--initial-cluster=${ETCD_INITIAL_CLUSTER}` an empty cluster, and etcd
starts with defaults or refuses to start, on every node that got the unit.

## Example
```
[Service]
ExecStart=/usr/local/bin/etcd --name=${ETCD_NAME} --data-dir=/var/lib/etcd
```

## Fix
Add `EnvironmentFile=/etc/etcd/etcd.env` (defining the variables) or
`Environment=ETCD_NAME=etcd-1`, or write the values in.
",
};

/// ETC010.
pub fn unit_variable_undefined(s: &Settings, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    if !s.systemd_unit {
        return;
    }
    let text = ctx.file.text.as_str();
    let mut defined: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(file) = t.strip_prefix("EnvironmentFile=") {
            // Followed when that file is linted too; otherwise nothing can be told.
            let path = file.trim().trim_start_matches('-').trim();
            let Some(env) = ctx.index.find_path(ctx.files, path) else {
                return;
            };
            for l in env.text.lines() {
                let l = l.trim().trim_start_matches("export ");
                if let Some((name, _)) = l.split_once('=') {
                    defined.push(name.trim().to_string());
                }
            }
        } else if let Some(rest) = t.strip_prefix("Environment=") {
            for assign in rest.split_whitespace() {
                let assign = assign.trim_matches('"');
                if let Some((name, _)) = assign.split_once('=') {
                    defined.push(name.to_string());
                }
            }
        }
    }
    // The ExecStart line and its continuations.
    let mut offset = 0;
    let mut in_exec = false;
    let mut reported: Vec<String> = Vec::new();
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let base = offset;
        offset += raw.len();
        let t = line.trim_start();
        if t.starts_with("ExecStart=") {
            in_exec = true;
        } else if !in_exec || t.starts_with('#') {
            continue;
        }
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' || b.get(i + 1) == Some(&b'$') {
                i += if b[i] == b'$' { 2 } else { 1 };
                continue;
            }
            let (start, name_start) = if b.get(i + 1) == Some(&b'{') {
                (i, i + 2)
            } else {
                (i, i + 1)
            };
            let mut j = name_start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            let name = &line[name_start..j];
            let end = if b.get(j) == Some(&b'}') { j + 1 } else { j };
            i = end.max(i + 1);
            if name.is_empty()
                || defined.iter().any(|d| d == name)
                || reported.iter().any(|r| r == name)
            {
                continue;
            }
            reported.push(name.to_string());
            out.push(
                at(&UNIT_VARIABLE_UNDEFINED, Span::new(base + start, base + end), format!("`{}` is defined by no `Environment=` or `EnvironmentFile=` of this unit: systemd expands it to an empty string", &line[start..end]))
                    .help("add an EnvironmentFile= that defines it, or write the value"),
            );
        }
        if !line.trim_end().ends_with('\\') {
            in_exec = false;
        }
    }
}

/// ETC008.
pub const REMOVED_FLAG: Rule = Rule {
    code: "ETC008",
    name: "etcd-flag-removed",
    severity: Severity::Warning,
    summary: "An etcd flag removed in 3.6 (`enable-v2`) or deprecated there (`experimental-*`)",
    explain: "\
## What it checks
`enable-v2` (the v2 API and its flag are gone in etcd 3.6) and `experimental-*` flags
(deprecated in 3.6, renamed or moved under `--feature-gates`, removed in 3.7), in flags,
environment files (`ETCD_ENABLE_V2`), YAML configs and compose files.

## Why it matters
An etcd upgraded to a version that no longer has a command-line flag refuses to start
(`unknown flag`), during an upgrade, one member at a time, with quorum at stake; as an
environment variable or a config-file key the setting is silently ignored, so what it
was meant to do (the v2 API for an old client, a corruption check) is gone.

## Example
```
--enable-v2=true
--experimental-initial-corrupt-check=true
```

## Fix
Drop `enable-v2` (migrate v2 data first); use the 3.6 names
(`--feature-gates=InitialCorruptCheck=true`, `--compact-hash-check-enabled`, …).
",
};

/// ETC009.
pub const UNSAFE_SETTING: Rule = Rule {
    code: "ETC009",
    name: "etcd-unsafe-setting-committed",
    severity: Severity::Error,
    summary: "`force-new-cluster: true` or `strict-reconfig-check: false` left in the configuration",
    explain: "\
## What it checks
`force-new-cluster` set to true, and `strict-reconfig-check` set to false.

## Why it matters
`force-new-cluster` is a one-off disaster-recovery switch: left in, every restart of the
member throws away the cluster's membership and starts a one-member cluster with its
data, splitting the cluster. Without `strict-reconfig-check`, a member change that loses
quorum is accepted.

## Example
```yaml
force-new-cluster: true
```

## Fix
Remove both lines (the defaults are the safe values).
",
};

/// ETC008.
pub fn removed_flag(s: &Settings, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let text = ctx.file.text.as_str();
    for set in &s.settings {
        // A command-line flag etcd does not know stops it; an environment variable or a
        // config-file key it does not know is skipped (with a warning at most).
        let start = set.span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let flag = text[line_start..start].contains(&format!("--{}", set.key));
        let effect = if flag {
            "a member of that version refuses to start with it"
        } else {
            "a member of that version ignores it"
        };
        let msg = if set.key == "enable-v2" {
            Some(format!(
                "`enable-v2` is gone in etcd 3.6 with the v2 API: {effect}"
            ))
        } else if set.key.starts_with("experimental-") {
            Some(format!(
                "`{}` is deprecated in etcd 3.6 (renamed, or a `--feature-gates` entry) and removed in 3.7: {effect}",
                set.key
            ))
        } else {
            None
        };
        if let Some(msg) = msg {
            // Deprecated is not yet removed: an info until 3.7.
            let level = if set.key == "enable-v2" {
                Severity::Warning
            } else {
                Severity::Info
            };
            out.push(
                at(&REMOVED_FLAG, set.span, msg)
                    .severity(level)
                    .path(set.key.as_str())
                    .help("use the 3.6 name or drop the flag"),
            );
        }
    }
}

/// ETC009.
pub fn unsafe_setting(s: &Settings, _: &Ctx<'_>, out: &mut Diagnostics) {
    for set in &s.settings {
        let v = set.value.trim_matches(['"', '\'']).to_ascii_lowercase();
        let msg = match (set.key.as_str(), v.as_str()) {
            ("force-new-cluster", "true") => {
                "`force-new-cluster` is on: every restart of this member discards the cluster's membership and starts a one-member cluster"
            }
            ("strict-reconfig-check", "false") => {
                "`strict-reconfig-check` is off: etcd accepts member changes that lose quorum"
            }
            _ => continue,
        };
        out.push(
            at(&UNSAFE_SETTING, set.span, msg)
                .path(set.key.as_str())
                .help("remove the setting"),
        );
    }
}

/// Reads and checks one file of etcd settings.
pub fn lint(ctx: &Ctx<'_>, out: &mut Diagnostics) -> Option<Settings> {
    let s = read(&ctx.file.name, &ctx.file.text);
    super::run_checks(RULES, &s, ctx, out);
    Some(s)
}

/// etcd's boolean flags (a bare `--flag` means true).
const BOOL_FLAGS: &[&str] = &[
    "client-cert-auth",
    "peer-client-cert-auth",
    "auto-tls",
    "peer-auto-tls",
    "enable-v2",
    "enable-pprof",
    "strict-reconfig-check",
    "debug",
    "force-new-cluster",
    "enable-grpc-gateway",
    "pre-vote",
    "auto-compaction-retention-ignore",
    "experimental-initial-corrupt-check",
    "logger-zap",
    "v2-deprecation",
    "socket-reuse-port",
    "socket-reuse-address",
    "experimental-enable-lease-checkpoint",
    "experimental-compact-hash-check-enabled",
    "feature-gates",
    "version",
    "enable-log-rotation",
    "log-rotation-config-json",
    "experimental-enable-distributed-tracing",
    "unsafe-no-fsync",
];

/// etcd's flags (3.4–3.6), for the malformed-flag rule.
const FLAGS: &[&str] = &[
    "name",
    "data-dir",
    "wal-dir",
    "snapshot-count",
    "heartbeat-interval",
    "election-timeout",
    "initial-election-tick-advance",
    "listen-peer-urls",
    "listen-client-urls",
    "listen-client-http-urls",
    "listen-metrics-urls",
    "max-snapshots",
    "max-wals",
    "quota-backend-bytes",
    "backend-bbolt-freelist-type",
    "backend-batch-interval",
    "backend-batch-limit",
    "max-txn-ops",
    "max-request-bytes",
    "grpc-keepalive-min-time",
    "grpc-keepalive-interval",
    "grpc-keepalive-timeout",
    "socket-reuse-port",
    "socket-reuse-address",
    "initial-advertise-peer-urls",
    "initial-cluster",
    "initial-cluster-state",
    "initial-cluster-token",
    "advertise-client-urls",
    "discovery",
    "discovery-fallback",
    "discovery-proxy",
    "discovery-srv",
    "discovery-srv-name",
    "discovery-token",
    "discovery-endpoints",
    "strict-reconfig-check",
    "pre-vote",
    "auto-compaction-retention",
    "auto-compaction-mode",
    "enable-v2",
    "v2-deprecation",
    "proxy",
    "proxy-failure-wait",
    "proxy-refresh-interval",
    "proxy-dial-timeout",
    "proxy-write-timeout",
    "proxy-read-timeout",
    "ca-file",
    "cert-file",
    "key-file",
    "client-cert-auth",
    "client-crl-file",
    "client-cert-allowed-hostname",
    "trusted-ca-file",
    "auto-tls",
    "peer-ca-file",
    "peer-cert-file",
    "peer-key-file",
    "peer-client-cert-auth",
    "peer-crl-file",
    "peer-trusted-ca-file",
    "peer-auto-tls",
    "peer-cert-allowed-cn",
    "peer-cert-allowed-hostname",
    "self-signed-cert-validity",
    "cipher-suites",
    "cors",
    "host-whitelist",
    "tls-min-version",
    "tls-max-version",
    "client-cert-file",
    "client-key-file",
    "peer-client-cert-file",
    "peer-client-key-file",
    "auth-token",
    "bcrypt-cost",
    "auth-token-ttl",
    "enable-pprof",
    "metrics",
    "log-level",
    "logger",
    "log-outputs",
    "log-format",
    "enable-log-rotation",
    "log-rotation-config-json",
    "debug",
    "log-package-levels",
    "force-new-cluster",
    "config-file",
    "version",
    "enable-grpc-gateway",
    "unsafe-no-fsync",
    "feature-gates",
    "listen-metrics-urls",
    "max-concurrent-streams",
    "memory-mlock",
    "watch-progress-notify-interval",
    "warning-apply-duration",
    "warning-unary-request-duration",
    "downgrade-check-time",
    "snapshot-catchup-entries",
    "corrupt-check-time",
    "compact-hash-check-time",
    "enable-distributed-tracing",
    "distributed-tracing-address",
    "distributed-tracing-service-name",
    "distributed-tracing-instance-id",
    "distributed-tracing-sampling-rate",
    "auto-compaction-retention-ignore",
];

fn known_flag(name: &str) -> bool {
    FLAGS.contains(&name) || BOOL_FLAGS.contains(&name) || name.starts_with("experimental-")
}

/// Reads the settings of any supported form.
pub fn read(name: &str, text: &str) -> Settings {
    let mut s = Settings {
        systemd_unit: name.ends_with(".service") || text.contains("[Service]"),
        kubeadm_static_pod: text.contains("kind: Pod")
            && (text.contains("component: etcd") || text.contains("kubeadm.kubernetes.io/etcd")),
        ..Settings::default()
    };
    scan_flags(text, &mut s);
    scan_env(text, &mut s);
    if s.settings.is_empty() || !text.contains("--") {
        scan_yaml(text, &mut s);
    }
    s
}

fn scan_flags(text: &str, s: &mut Settings) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("--") {
        let at = i + pos;
        i = at + 2;
        let prev = if at == 0 { b' ' } else { bytes[at - 1] };
        if !(prev.is_ascii_whitespace() || matches!(prev, b'"' | b'\'' | b'[' | b',')) {
            continue;
        }
        let name_len = text[i..]
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            .count();
        if name_len == 0 {
            continue;
        }
        let name = &text[i..i + name_len];
        let after = i + name_len;
        i = after;
        let next = bytes.get(after).copied().unwrap_or(b' ');
        let value_end = |from: usize| -> usize {
            from + text[from..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ']' | '\\'))
                .unwrap_or(text.len() - from)
        };
        if next == b'=' {
            // `--name="value"`, or `--name=\"value\"` inside a `bash -c "…"` wrapper.
            let quote = ["\\\"", "\"", "'"]
                .into_iter()
                .find(|q| text[after + 1..].starts_with(q));
            let (start, end) = match quote {
                Some(q) => {
                    let start = after + 1 + q.len();
                    let end = text[start..]
                        .find(q)
                        .filter(|n| !text[start..start + n].contains('\n'))
                        .map_or_else(|| value_end(start), |n| start + n);
                    (start, end)
                }
                None => (after + 1, value_end(after + 1)),
            };
            s.settings.push(Setting {
                key: name.into(),
                value: text[start..end].into(),
                span: Span::new(start, end),
            });
            i = end;
        } else if next == b' ' || next == b'\t' {
            // `--name value` unless the next word is another flag, a continuation or a boolean.
            let ws = text[after..]
                .bytes()
                .take_while(|b| *b == b' ' || *b == b'\t')
                .count();
            let vstart = after + ws;
            let nb = bytes.get(vstart).copied().unwrap_or(b'\n');
            if BOOL_FLAGS.contains(&name)
                || matches!(nb, b'-' | b'\\' | b'\n' | b'\r' | b'"' | b'\'' | b'#')
            {
                s.settings.push(Setting {
                    key: name.into(),
                    value: "true".into(),
                    span: Span::new(at, after),
                });
            } else {
                let end = value_end(vstart);
                s.settings.push(Setting {
                    key: name.into(),
                    value: text[vstart..end].into(),
                    span: Span::new(vstart, end),
                });
                i = end;
            }
        } else if matches!(next, b'\n' | b'\r' | b'"' | b'\'' | b',' | b']' | b'\\') {
            s.settings.push(Setting {
                key: name.into(),
                value: "true".into(),
                span: Span::new(at, after),
            });
        } else {
            let end = value_end(after);
            s.malformed
                .push((text[at..end].to_string(), Span::new(at, end)));
            i = end;
            continue;
        }
        // Flags of etcdctl (health checks in units and compose files) are not etcd's.
        // (this line or the two before it, for commands folded over lines).
        let line_start = text[..at]
            .rmatch_indices('\n')
            .nth(2)
            .map_or(0, |(n, _)| n + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        if !known_flag(name) && !text[line_start..line_end].contains("etcdctl") {
            s.malformed
                .push((format!("--{name}"), Span::new(at, after)));
        }
    }
}

fn scan_env(text: &str, s: &mut Settings) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let mut search = 0;
        while let Some(pos) = line[search..].find("ETCD_") {
            let start = search + pos;
            search = start + 5;
            if start > 0
                && (line.as_bytes()[start - 1].is_ascii_alphanumeric()
                    || line.as_bytes()[start - 1] == b'_'
                    || line.as_bytes()[start - 1] == b'{'
                    || line.as_bytes()[start - 1] == b'$')
            {
                continue;
            }
            let name_len = line[start..]
                .bytes()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                .count();
            let eq = start + name_len;
            if line.as_bytes().get(eq) != Some(&b'=') {
                continue;
            }
            let key = line[start + 5..eq].to_ascii_lowercase().replace('_', "-");
            let rest = &line[eq + 1..];
            let (vs, ve) = match rest.as_bytes().first() {
                Some(q @ (b'"' | b'\'')) => {
                    let close = rest[1..]
                        .find(*q as char)
                        .map_or(rest.trim_end().len(), |c| c + 1);
                    (eq + 2, eq + 1 + close)
                }
                _ => (
                    eq + 1,
                    eq + 1
                        + rest
                            .find(|c: char| c.is_whitespace() || c == '"')
                            .unwrap_or(rest.len()),
                ),
            };
            let ve = ve.max(vs);
            s.settings.push(Setting {
                key,
                value: line[vs..ve].to_string(),
                span: Span::new(offset + vs, offset + ve),
            });
            search = ve.max(search);
        }
        offset += line.len();
    }
}

fn scan_yaml(text: &str, s: &mut Settings) {
    let y = yaml::parse(text);
    for doc in &y.docs {
        if doc.get("initial-cluster").is_none()
            && doc.get("listen-client-urls").is_none()
            && doc.get("data-dir").is_none()
        {
            continue;
        }
        for (k, v) in doc.entries() {
            match &v.value {
                Value::Scalar { text, .. } => s.settings.push(Setting {
                    key: k.text.clone(),
                    value: text.clone(),
                    span: v.span,
                }),
                Value::Map(inner) if k.text.ends_with("transport-security") => {
                    let prefix = if k.text.starts_with("peer") {
                        "peer-"
                    } else {
                        ""
                    };
                    for (ik, iv) in inner {
                        if let Some(t) = iv.str() {
                            s.settings.push(Setting {
                                key: format!("{prefix}{}", ik.text),
                                value: t.to_string(),
                                span: iv.span,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// ETC001.
pub const EVEN_MEMBERS: Rule = Rule {
    code: "ETC001",
    name: "even-initial-cluster",
    severity: Severity::Error,
    summary: "`initial-cluster` lists an even number of members",
    explain: "\
## What it checks
The members in `initial-cluster` (flag, env or config key) when the cluster is created
(`initial-cluster-state` is `new` or unset). A member joining a grown cluster
(`existing`) lists the members at join time and is not checked.

## Why it matters
Quorum is a majority: 2 members tolerate 0 failures and 4 tolerate 1 — no more than 1
and 3 members, with more machines that can fail. A network split can leave both halves
without quorum.

## Example
```
--initial-cluster m1=https://10.0.0.11:2380,m2=https://10.0.0.12:2380
```

## Fix
Use 3 or 5 members.
",
};

/// ETC002.
pub const SINGLE_MEMBER: Rule = Rule {
    code: "ETC002",
    name: "single-member-initial-cluster",
    severity: Severity::Warning,
    summary: "`initial-cluster` lists one member: no redundancy for the cluster state",
    explain: "\
## What it checks
An `initial-cluster` with one member, except in kubeadm's static pod: kubeadm writes the
first stacked member that way and the others join it.

## Why it matters
Losing that machine or its disk loses the cluster's whole state.

## Example
```
ETCD_INITIAL_CLUSTER=\"etcd1=https://10.0.0.11:2380\"
```

## Fix
Run 3 members (or let kubeadm grow the stacked cluster by joining control planes).
",
};

/// ETC003.
pub const PLAINTEXT_URL: Rule = Rule {
    code: "ETC003",
    name: "etcd-plaintext-url",
    severity: Severity::Error,
    summary: "etcd serves clients or peers over http:// on a non-loopback address",
    explain: "\
## What it checks
`http://` URLs in `listen-client-urls`, `advertise-client-urls`, `listen-peer-urls`,
`initial-advertise-peer-urls` and `initial-cluster`, other than loopback
(`127.0.0.1`, `localhost`, `[::1]`). `listen-metrics-urls` is not checked.

## Why it matters
etcd holds every Secret of the cluster. Over http anyone on the network can read and
write it, and peer traffic (the whole data set during a snapshot) crosses the wire in
clear.

## Example
```
--listen-client-urls=http://0.0.0.0:2379
```

## Fix
Serve https with `cert-file`/`key-file`, and `trusted-ca-file` with `client-cert-auth`
(the same for peers).
",
};

/// ETC004.
pub const NO_CLIENT_CERT_AUTH: Rule = Rule {
    code: "ETC004",
    name: "etcd-no-client-cert-auth",
    severity: Severity::Error,
    summary: "etcd serves TLS but does not require client certificates",
    explain: "\
## What it checks
A member with https client (or peer) URLs whose `client-cert-auth` (or
`peer-client-cert-auth`) is not `true`.

## Why it matters
TLS alone encrypts; without client certificate authentication anyone who reaches port
2379 can read every Secret (`etcdctl get / --prefix`), and anyone who reaches 2380 can
join as a peer.

## Example
```
--cert-file=/etc/etcd/server.pem --key-file=/etc/etcd/server-key.pem
# no --client-cert-auth, no --trusted-ca-file
```

## Fix
`--client-cert-auth=true --trusted-ca-file=ca.crt`, `--peer-client-cert-auth=true
--peer-trusted-ca-file=ca.crt`.
",
};

/// ETC005.
pub const UNIT_CONTINUATION_BROKEN: Rule = Rule {
    code: "ETC005",
    name: "unit-continuation-broken",
    severity: Severity::Error,
    summary: "A flag line in a systemd unit is not part of ExecStart (the `\\` continuation is broken)",
    explain: "\
## What it checks
In systemd units: lines that start with `-` (flags) whose previous line does not end
with `\\` — a missing backslash, or anything after it (`\\ # comment`).

## Why it matters
systemd joins lines only when `\\` is the very last character. The flags after the
break are not passed to etcd (systemd logs `Unknown key` and ignores them), so etcd
starts without its TLS or cluster settings.

## Example
```
ExecStart=/usr/local/bin/etcd \\
  --name m1 \\ #first node
  --cert-file=/etc/etcd/server.pem \\
```

## Fix
End every continued line with `\\` and nothing after it; put comments on their own
lines.
",
};

/// ETC006.
pub const MALFORMED_FLAG: Rule = Rule {
    code: "ETC006",
    name: "malformed-etcd-flag",
    severity: Severity::Error,
    summary: "An etcd flag that etcd does not know, or a value glued to the name without `=`",
    explain: "\
## What it checks
Every `--flag` given to etcd: that its name is one of etcd's flags (3.4–3.6) and that it
is followed by `=`, a space or the end of the word.

## Why it matters
etcd exits at start-up on an unknown flag (`unknown flag: --peer-cert-file/etc/…`): the
member never starts.

## Example
```
--peer-cert-file/data/ssl/etcd/server.pem
```

## Fix
`--peer-cert-file=/data/ssl/etcd/server.pem`.
",
};

/// ETC007.
pub const INITIAL_CLUSTER_MISMATCH: Rule = Rule {
    code: "ETC007",
    name: "initial-cluster-mismatch",
    severity: Severity::Error,
    summary: "`initial-cluster` differs between members, or from the topology's etcd members",
    explain: "\
## What it checks
Across the etcd files of one run: every member's `initial-cluster` lists the same
members; with `--topology`, exactly the topology's etcd members (by address).

## Why it matters
Members bootstrapped with different member lists form different clusters or refuse to
start (`member count is unequal`, `couldn't find local name`).

## Example
```
# node 1: m1=…,m2=…,m3=…      # node 2: m1=…,m2=…
```

## Fix
Use one `initial-cluster` on every member.
",
};

/// The `name=url` members of an `initial-cluster` value.
pub fn members(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .filter_map(|m| m.trim().split_once('='))
        .map(|(n, u)| (n.trim().to_string(), u.trim().to_string()))
        .collect()
}

fn creating(s: &Settings) -> bool {
    s.get("initial-cluster-state")
        .is_none_or(|v| v.value != "existing")
}

/// ETC001.
pub fn even_members(s: &Settings, _: &Ctx<'_>, out: &mut Diagnostics) {
    if !creating(s) {
        return;
    }
    let mut seen = Vec::new();
    for ic in s.all("initial-cluster") {
        if ic.value.contains('$') || seen.contains(&ic.value) {
            continue;
        }
        seen.push(ic.value.clone());
        let n = members(&ic.value).len();
        if n >= 2 && n.is_multiple_of(2) {
            out.push(at(&EVEN_MEMBERS, ic.span, format!("{n} etcd members: quorum is {}, so they tolerate {} failure(s), as many as {}", n / 2 + 1, (n - 1) / 2, n - 1)).path("initial-cluster").help("use an odd number of members (3 or 5)"));
        }
    }
}

/// ETC002.
pub fn single_member(s: &Settings, _: &Ctx<'_>, out: &mut Diagnostics) {
    if s.kubeadm_static_pod || !creating(s) {
        return;
    }
    if let Some(ic) = s.get("initial-cluster")
        && !ic.value.contains('$')
        && members(&ic.value).len() == 1
    {
        out.push(
            at(
                &SINGLE_MEMBER,
                ic.span,
                "one etcd member: losing this machine loses the cluster's state",
            )
            .path("initial-cluster")
            .help("run 3 members"),
        );
    }
}

fn loopback(url: &str) -> bool {
    crate::net::url_host(url).is_loopback()
}

/// ETC003.
pub fn plaintext_url(s: &Settings, _: &Ctx<'_>, out: &mut Diagnostics) {
    for key in [
        "listen-client-urls",
        "advertise-client-urls",
        "listen-peer-urls",
        "initial-advertise-peer-urls",
        "initial-cluster",
    ] {
        for set in s.all(key) {
            let urls: Vec<&str> = if key == "initial-cluster" {
                set.value
                    .split(',')
                    .filter_map(|m| m.split_once('=').map(|(_, u)| u))
                    .collect()
            } else {
                set.value.split(',').collect()
            };
            if let Some(u) = urls
                .iter()
                .find(|u| u.trim().starts_with("http://") && !loopback(u.trim()))
            {
                out.push(
                    at(
                        &PLAINTEXT_URL,
                        set.span,
                        format!("`{key}` uses `{}`: etcd traffic in clear text", u.trim()),
                    )
                    .path(key)
                    .help("use https:// with certificates and client-cert-auth"),
                );
                break;
            }
        }
    }
}

/// ETC004.
pub fn no_client_cert_auth(s: &Settings, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let https = |key: &str| s.all(key).any(|v| v.value.contains("https://"));
    // etcd reads `ETCD_CLIENT_CERT_AUTH` from its environment too: a unit with an
    // `EnvironmentFile=` may set it there. When that file is in the run it is read;
    // otherwise a unit that does not set the flag says nothing.
    let env_paths: Vec<&str> = if s.systemd_unit {
        ctx.file
            .text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("EnvironmentFile="))
            .map(|p| p.trim().trim_start_matches('-').trim())
            .collect()
    } else {
        Vec::new()
    };
    let env: Option<Settings> = env_paths
        .iter()
        .find_map(|p| environment_file(ctx, p))
        .map(|f| read(&f.name, &f.text));
    let env_file = !env_paths.is_empty() && env.is_none();
    // An environment file that a unit of the run reads: the unit's flags count too.
    let unit = (!s.systemd_unit)
        .then(|| {
            ctx.index.env_refs().iter().find(|(u, p)| {
                let uctx = Ctx {
                    file: &ctx.files[*u],
                    ..*ctx
                };
                environment_file(&uctx, p).is_some_and(|f| std::ptr::eq(f, ctx.file))
            })
        })
        .flatten()
        .map(|(u, _)| read(&ctx.files[*u].name, &ctx.files[*u].text));
    for (urls, auth, cert) in [
        ("listen-client-urls", "client-cert-auth", "cert-file"),
        (
            "listen-peer-urls",
            "peer-client-cert-auth",
            "peer-cert-file",
        ),
    ] {
        if !https(urls) && s.get(cert).is_none() {
            continue;
        }
        if s.get(urls).is_some_and(|u| u.value.contains('$')) {
            continue;
        }
        // `--client-cert-auth="${ETCD_CLIENT_CERT_AUTH}"`: a value hagen cannot know.
        match s.get(auth) {
            Some(a) if a.value.contains('$') => continue,
            None if env_file => continue,
            None if env.as_ref().is_some_and(|e| e.get(auth).is_some()) => continue,
            None if unit.as_ref().is_some_and(|u| u.get(auth).is_some()) => continue,
            _ => {}
        }
        if !s.is_true(auth) {
            let span = s.get(auth).or(s.get(urls)).map(|x| x.span);
            let Some(span) = span else { continue };
            out.push(at(&NO_CLIENT_CERT_AUTH, span, format!("TLS on `{urls}` without `{auth}=true`: anyone who reaches the port is accepted")).path(auth).help(format!("set `--{auth}=true` with the trusted CA file")));
        }
    }
}

/// The file of the run that a unit's `EnvironmentFile=path` names: by path or base
/// name, or a renamed copy beside the unit that shares the start of its name
/// (`node1-etcd.env` beside `node1-etcd.service`) and sets `ETCD_` variables.
fn environment_file<'a>(ctx: &Ctx<'a>, path: &str) -> Option<&'a crate::source::SourceFile> {
    if files::base(path).is_empty() {
        return None;
    }
    let (dir, unit) = files::split(&ctx.file.name);
    ctx.index.find_path(ctx.files, path).or_else(|| {
        ctx.index
            .in_dir(dir)
            .iter()
            .map(|&i| &ctx.files[i])
            .find(|f| {
                let shared = files::base(&f.name)
                    .bytes()
                    .zip(unit.bytes())
                    .take_while(|(x, y)| x == y)
                    .count();
                !std::ptr::eq(*f, ctx.file)
                    && shared >= 4
                    && f.text.lines().any(|l| l.trim_start().starts_with("ETCD_"))
                    && !f.text.contains("[Service]")
            })
    })
}

/// ETC005.
pub fn unit_continuation_broken(s: &Settings, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    if !s.systemd_unit {
        return;
    }
    let mut prev: Option<(usize, &str)> = None;
    let mut offset = 0;
    // Only `[Service]` holds ExecStart: flag-like lines elsewhere (notes pasted after
    // `[Install]`) are not a broken continuation.
    let mut in_service = !ctx.file.text.contains("[Service]");
    for line in ctx.file.text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let t = body.trim_start();
        if t.starts_with('[') {
            in_service = t.starts_with("[Service]");
        }
        if in_service
            && t.starts_with('-')
            && let Some((pstart, p)) = prev
            && !p.ends_with('\\')
            && !p.trim_start().starts_with('[')
        {
            let tail = p.rfind('\\').unwrap_or(p.len());
            out.push(
                at(&UNIT_CONTINUATION_BROKEN, Span::new(pstart + tail, pstart + p.len()), format!("this line does not end with `\\`, so `{}` and the lines after it are not part of ExecStart", t.split_whitespace().next().unwrap_or(t)))
                    .help("end the line with `\\` and nothing after it"),
            );
            return;
        }
        if !t.is_empty() {
            prev = Some((offset, body));
        }
        offset += line.len();
    }
}

/// ETC006.
pub fn malformed_flag(s: &Settings, _: &Ctx<'_>, out: &mut Diagnostics) {
    for (text, span) in &s.malformed {
        let name = text.trim_start_matches('-');
        let known = FLAGS
            .iter()
            .chain(BOOL_FLAGS)
            .copied()
            .find(|f| name.starts_with(f) && name.len() > f.len());
        let msg = match known {
            Some(f) => format!(
                "`{text}` runs the flag `--{f}` into its value: etcd stops with `unknown flag`"
            ),
            None => format!("`{text}` is not an etcd flag: etcd stops with `unknown flag`"),
        };
        let mut d = at(&MALFORMED_FLAG, *span, msg);
        d = match known {
            Some(f) => d.help(format!("write `--{f}={}`", &name[f.len()..])),
            None => match crate::parse::did_you_mean(
                name,
                &FLAGS.iter().chain(BOOL_FLAGS).copied().collect::<Vec<_>>(),
            ) {
                Some(m) => d.help(format!("did you mean `--{m}`?")),
                None => d.help("see `etcd --help`"),
            },
        };
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form() {
        let s = read(
            "etcd.service",
            "ExecStart=/usr/bin/etcd \\\n  --name m1 \\\n  --client-cert-auth \\\n  --initial-cluster=m1=https://a:2380,m2=https://b:2380\n",
        );
        assert_eq!(s.get("name").unwrap().value, "m1");
        assert!(s.is_true("client-cert-auth"));
        assert_eq!(members(&s.get("initial-cluster").unwrap().value).len(), 2);
        let e = read(
            "etcd.env",
            "ETCD_NAME=\"x\"\nETCD_INITIAL_CLUSTER=\"x=http://a:2380\"\n",
        );
        assert_eq!(e.get("initial-cluster").unwrap().value, "x=http://a:2380");
        let y = read(
            "etcd.conf.yml",
            "name: a\ninitial-cluster: a=https://x:2380\nclient-transport-security:\n  client-cert-auth: true\n",
        );
        assert!(y.is_true("client-cert-auth"));
        let m = read("x.service", "ExecStart=etcd --peer-cert-file/x.pem\n");
        assert_eq!(m.malformed.len(), 1);
    }
}

/// ETC011.
pub const IMAGE_BEHIND_KUBEADM: Rule = Rule {
    code: "ETC011",
    name: "etcd-image-behind-kubernetes",
    severity: Severity::Warning,
    summary: "The etcd image's minor release is older than this Kubernetes release requires",
    explain: "\
## What it checks
An etcd image pinned in a kubeadm ClusterConfiguration (`etcd.local.imageTag`) against
that document's `kubernetesVersion` (else the run's), and the image of kubeadm's etcd
static pod against the run's Kubernetes version (`--kubernetes-version`, the topology's,
or the one the run's kubeadm files agree on). It warns only when the tag's minor line
(3.4, 3.5) is older than the line of kubeadm's minimum etcd for that release
(`MinExternalEtcdVersion`: 3.5 up to 1.33, 3.6 for 1.34), and only for the releases
hagen's table covers (1.28 to 1.36). A patch release below the minimum, a tag from a
variable or a release outside the table says nothing.

## Why it matters
kubeadm pins the etcd its release was tested with; an `imageTag` copied from an older
guide keeps a cluster on an etcd line the API server no longer targets (1.34's kubeadm
refuses an external etcd older than 3.6.4 in preflight), and `kubeadm upgrade` keeps
the pinned tag, so the mismatch survives every upgrade.

## Example
```
kubernetesVersion: v1.34.1
etcd:
  local:
    imageTag: 3.5.21-0
```

## Fix
Drop `imageTag` and let kubeadm choose its etcd (`kubeadm config images list` shows
it), or pin a tag of the release's line.
",
};

/// ETC012.
pub const ETCD_END_OF_LIFE: Rule = Rule {
    code: "ETC012",
    name: "etcd-end-of-life",
    severity: Severity::Info,
    summary: "The etcd image is a release line older than 3.5, or 3.5.0 to 3.5.2",
    explain: "\
## What it checks
The tag of an etcd image (kubeadm's static pod, a compose file or pod manifest, a
ClusterConfiguration's `etcd.local.imageTag`) for a release older than 3.5, or one of
3.5.0 to 3.5.2, whose data-inconsistency bug (fixed in 3.5.3) the etcd project warned
about.

## Why it matters
The etcd project maintains its two newest minor lines; since 3.6 was released those are
3.5 and 3.6. Older lines (3.4, 3.3, and the 3.0–3.2 images of early kubeadm guides) get
no security or data-corruption fixes, and no current kubeadm accepts them. An info:
the file may describe an old cluster on purpose.

## Example
```
image: k8s.gcr.io/etcd:3.3.10
```

## Fix
Upgrade etcd one minor line at a time (3.3 → 3.4 → 3.5), with a snapshot before each
step, then pin a current 3.5 or 3.6 image.
",
};

/// A tag's etcd release line (`3.5.21-0`, `v3.4.27`, `3.5`): major, minor and the tag
/// as written. `None` for a tag that is not a version (`latest`, a variable).
fn tag_line(tag: &str) -> Option<(u32, u32)> {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    let t = t.split(['-', '_', '+']).next()?;
    let mut parts = t.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    if parts.any(|p| p.parse::<u32>().is_err()) {
        return None;
    }
    Some((major, minor))
}

/// One pinned etcd image: the file, the tag's span and text, the Kubernetes version the
/// same document states, and whether it is kubeadm's (static pod or `imageTag`).
pub struct EtcdImage {
    /// The file.
    pub file: usize,
    /// The tag's span.
    pub span: Span,
    /// The tag.
    pub tag: String,
    /// The `kubernetesVersion` of the same ClusterConfiguration.
    pub kubernetes: Option<crate::version::KubeVersion>,
    /// kubeadm runs this etcd (its static pod or its `imageTag`).
    pub kubeadm: bool,
}

/// The `image:` values of a text whose repository is etcd's (`…/etcd:TAG`,
/// `…/etcd-amd64:TAG`): the tag and its span.
fn image_tags(text: &str) -> Vec<(String, Span)> {
    let mut v = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(value) = t.strip_prefix("image:") {
            let value = value.split(" #").next().unwrap_or("").trim_end();
            let trimmed = value.trim_start().trim_matches(['"', '\'']);
            let start = offset + line.len() - t.len()
                + "image:".len()
                + (value.len() - value.trim_start().len())
                + usize::from(value.trim_start().starts_with(['"', '\'']));
            let (repo, tag) = match trimmed.rsplit_once(':') {
                Some((r, tag)) if !tag.contains('/') => (r, tag),
                _ => (trimmed, ""),
            };
            let name = repo.rsplit('/').next().unwrap_or("");
            let arch = ["amd64", "arm64", "arm", "ppc64le", "s390x"];
            let etcd = name == "etcd"
                || name
                    .strip_prefix("etcd-")
                    .is_some_and(|a| arch.contains(&a));
            if etcd && !tag.is_empty() {
                let at = start + repo.len() + 1;
                v.push((tag.to_string(), Span::new(at, at + tag.len())));
            }
        }
        offset += line.len();
    }
    v
}

/// Every pinned etcd image of a run.
pub fn images(run: &super::cross::Run<'_>) -> Vec<EtcdImage> {
    let mut v = Vec::new();
    for (i, p) in run.parsed.iter().enumerate() {
        match p {
            Some(super::Parsed::Kubeadm(y)) => {
                for (_, kind, d) in super::kubeadm::documents(y) {
                    if kind != "ClusterConfiguration" {
                        continue;
                    }
                    let Some(tag) = d.at("etcd.local.imageTag") else {
                        continue;
                    };
                    let Some(text) = tag.str() else { continue };
                    v.push(EtcdImage {
                        file: i,
                        span: tag.span,
                        tag: text.to_string(),
                        kubernetes: d
                            .get("kubernetesVersion")
                            .and_then(yaml::Node::str)
                            .and_then(|t| crate::version::KubeVersion::parse(t).ok()),
                        kubeadm: true,
                    });
                }
            }
            Some(super::Parsed::Etcd(s)) => {
                for (tag, span) in image_tags(&run.files[i].text) {
                    v.push(EtcdImage {
                        file: i,
                        span,
                        tag,
                        kubernetes: None,
                        kubeadm: s.kubeadm_static_pod,
                    });
                }
            }
            _ => {}
        }
    }
    v
}

/// ETC011.
pub fn image_behind_kubeadm(run: &super::cross::Run<'_>, out: &mut Diagnostics) {
    for img in images(run) {
        if !img.kubeadm {
            continue;
        }
        let Some(k) = img.kubernetes.as_ref().or(run.version) else {
            continue;
        };
        // hagen's table covers 1.28 to 1.36; elsewhere the minimum is not known here.
        if k.major != 1 || !(28..=36).contains(&k.minor) {
            continue;
        }
        let Some((major, minor)) = tag_line(&img.tag) else {
            continue;
        };
        let min = k.min_external_etcd();
        if (major, minor) < (min.major, min.minor) {
            let mut d = at(
                &IMAGE_BEHIND_KUBEADM,
                img.span,
                format!(
                    "etcd {} is on the {major}.{minor} line; kubeadm of Kubernetes {k} accepts etcd {min} or newer (its MinExternalEtcdVersion) and runs {} itself",
                    img.tag,
                    k.default_etcd()
                ),
            )
            .help("drop the pinned tag and let kubeadm choose, or pin a tag of the release's line");
            d.file = img.file;
            out.push(d);
        }
    }
}

/// ETC012.
pub fn etcd_end_of_life(run: &super::cross::Run<'_>, out: &mut Diagnostics) {
    for img in images(run) {
        let Some((major, minor)) = tag_line(&img.tag) else {
            continue;
        };
        if major == 3 && minor < 5 || major < 3 {
            let mut d = at(
                &ETCD_END_OF_LIFE,
                img.span,
                format!(
                    "etcd {} is the {major}.{minor} line, older than 3.5: the etcd project maintains only its two newest lines (3.5 and 3.6), so it gets no fixes",
                    img.tag
                ),
            )
            .help("upgrade one minor line at a time, with a snapshot before each step");
            d.file = img.file;
            out.push(d);
        } else if (major, minor) == (3, 5)
            && let Some(patch) = tag_patch(&img.tag)
            && patch <= 2
        {
            let mut d = at(
                &ETCD_END_OF_LIFE,
                img.span,
                format!(
                    "etcd {}: 3.5.0 to 3.5.2 can leave a member's data inconsistent after a crash under load (fixed in 3.5.3); the etcd project advised against them in production",
                    img.tag
                ),
            )
            .help("move to the newest 3.5 release, with a snapshot first");
            d.file = img.file;
            out.push(d);
        }
    }
}

/// The patch number of an image tag (`3.5.1-0` → 1), if it has one.
fn tag_patch(tag: &str) -> Option<u32> {
    let t = tag.trim_start_matches('v');
    let core = t.split(['-', '+']).next()?;
    core.split('.').nth(2)?.parse().ok()
}

#[cfg(test)]
mod image_tests {
    use super::*;

    #[test]
    fn tags_and_images() {
        assert_eq!(tag_line("3.5.21-0"), Some((3, 5)));
        assert_eq!(tag_line("v3.4.27"), Some((3, 4)));
        assert_eq!(tag_line("3.5"), Some((3, 5)));
        assert_eq!(tag_line("latest"), None);
        assert_eq!(tag_patch("3.5.1-0"), Some(1));
        assert_eq!(tag_patch("v3.5.21"), Some(21));
        assert_eq!(tag_patch("3.5"), None);
        assert_eq!(tag_line("${ETCD_TAG}"), None);
        let text = "    image: \"quay.io/coreos/etcd:v3.3.25\"  # x\n  - image: gcr.io/google_containers/etcd-amd64:3.2.18\n    image: registry.k8s.io/kube-apiserver:v1.30.1\n    image: localhost:5000/etcd\n";
        let found = image_tags(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "v3.3.25");
        assert_eq!(&text[found[0].1.start..found[0].1.end], "v3.3.25");
        assert_eq!(&text[found[1].1.start..found[1].1.end], "3.2.18");
    }
}
