//! LNT rules: what happened to a file as a whole (could not be parsed, a template, not a
//! kind hagen lints).

use super::{Ctx, Kind, at};
use crate::diag::Rule;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::source::Span;

/// LNT001.
pub const UNPARSEABLE_FILE: Rule = Rule {
    code: "LNT001",
    name: "unparseable-file",
    severity: Severity::Error,
    summary: "The file could not be parsed, so no other rule checked it",
    explain: "\
## What it checks
That each file hagen recognises (by name or content) can be parsed: balanced braces in
keepalived and nginx files, valid YAML in kubeadm and etcd files, PEM blocks that decode
to X.509 certificates.

## Why it matters
The daemon itself would refuse the file (haproxy, nginx and keepalived stop at the first
syntax error; kubeadm rejects invalid YAML), and no other rule can say anything about a
file that does not parse.

## Example
```yaml
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
  controlPlaneEndpoint: lb:6443   # indented under a scalar
```

## Fix
Fix the syntax at the position given; `yamllint`, `nginx -t` or `keepalived -t` give the
daemon's own view.
",
};

/// LNT002.
pub const TEMPLATE_NOT_LINTABLE: Rule = Rule {
    code: "LNT002",
    name: "template-not-lintable",
    severity: Severity::Info,
    summary: "The file is an unrendered template; lint the rendered output instead",
    explain: "\
## What it checks
Whether a file still contains template markers (`{{` or `{%`, as in Jinja, Helm or Go
templates).

## Why it matters
A template is not what the daemon reads: values are missing and loops are unexpanded, so
findings on it would be noise. hagen says so instead of guessing.

## Example
```
server {{ host }} {{ ip }}:6443 check
```

## Fix
Render the template (Ansible `--check --diff`, `helm template`, …) and lint the result.
",
};

/// LNT003.
pub const UNKNOWN_FILE_KIND: Rule = Rule {
    code: "LNT003",
    name: "unknown-file-kind",
    severity: Severity::Info,
    summary: "The file is not a kind hagen lints and was skipped",
    explain: "\
## What it checks
Each file's kind, from its name and its content: haproxy, keepalived, check script,
nginx, kubeadm, etcd, kube-vip, certificate or kubeconfig.

## Why it matters
When walking a directory, other files are skipped; the info makes that visible so a
misnamed config is not silently ignored.

## Example
A `README.md`, or a haproxy static pod manifest (a Pod that mounts haproxy.cfg).

## Fix
Nothing to fix. Name the file after what it is (`haproxy.cfg`, `keepalived.conf`) if
hagen should lint it.
",
};

/// LNT004.
pub const INCLUDE_NOT_FOLLOWED: Rule = Rule {
    code: "LNT004",
    name: "include-not-followed",
    severity: Severity::Info,
    summary: "An `include` whose files hagen does not read unless they are linted too",
    explain: "\
## What it checks
`include` directives in keepalived.conf and nginx.conf.

## Why it matters
hagen lints the files it is given and does not open others (the core does no I/O), so
settings in included files are invisible to the rules of this file: a `stream` block or
a `vrrp_instance` there is checked only if that file is linted as well.

## Example
```
include /etc/nginx/conf.d/*.conf;
```

## Fix
Lint the included files or their directory in the same run
(`hagen lint /etc/nginx /etc/keepalived`).
",
};

/// LNT005.
pub const NOT_UTF8: Rule = Rule {
    code: "LNT005",
    name: "invalid-text-encoding",
    severity: Severity::Info,
    summary: "The file is not valid UTF-8; it was linted with the bad bytes replaced",
    explain: "\
## What it checks
Whether a file's bytes are UTF-8. A file that is not (a comment saved in Latin-1 or
Windows-1252, such as `é` as the single byte 0xE9) is decoded with U+FFFD in place of each
bad byte, linted as usual, and reported once.

## Why it matters
The daemons read bytes and do not care about a comment's encoding, so the configuration
is still in force and must be checked. Without this, such a file would be read as empty
and called clean. The info also explains odd `�` characters in excerpts.

## Example
```
# r\u{e9}seau de production   <- saved as Latin-1: 0x72 0xE9 0x73 ...
global
    maxconn 4000
```

## Fix
Convert the file to UTF-8 (`iconv -f latin1 -t utf-8 haproxy.cfg`), or ignore the info.
",
};

/// An LNT rule's check; none has work of its own (see [`RULES`]).
pub type CheckFn = fn(&Ctx<'_>, &mut Diagnostics);

/// Every LNT rule, sorted by code. They are about how a file was read, so they are
/// reported while it is detected or parsed and pair with no-ops.
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&UNPARSEABLE_FILE, reported_by_parser),
    (&TEMPLATE_NOT_LINTABLE, reported_by_detect),
    (&UNKNOWN_FILE_KIND, reported_by_detect),
    (&INCLUDE_NOT_FOLLOWED, reported_by_parser),
    (&NOT_UTF8, reported_by_detect),
];

/// LNT001 is reported by each domain's `lint` when its parser rejects the file
/// ([`unparseable`]); LNT004 by `keepalived::lint` and `nginx::lint` at each `include`
/// of the parsed file ([`include`]).
pub fn reported_by_parser(_: &Ctx<'_>, _: &mut Diagnostics) {}

/// LNT002, LNT003 and LNT005 are reported before parsing, when the file is found to be a
/// template ([`template`]), of no kind hagen lints ([`unknown_kind`]) or not UTF-8
/// ([`lossy`]).
pub fn reported_by_detect(_: &Ctx<'_>, _: &mut Diagnostics) {}

/// LNT004 at the include directive.
pub fn include(span: Span, target: &str) -> Diagnostic {
    at(
        &INCLUDE_NOT_FOLLOWED,
        span,
        format!(
            "`include {target}` is not followed; lint those files in the same run to check them"
        ),
    )
}

/// LNT001 at a position.
pub fn unparseable(kind: Kind, span: Option<Span>, why: impl AsRef<str>) -> Diagnostic {
    let mut d = Diagnostic::new(
        &UNPARSEABLE_FILE,
        format!("cannot parse this {} file: {}", kind.as_str(), why.as_ref()),
    );
    d.span = span;
    d
}

/// LNT002.
pub fn template(kind: Kind, span: Span) -> Diagnostic {
    at(
        &TEMPLATE_NOT_LINTABLE,
        span,
        format!(
            "this {} file is an unrendered template (`{{{{`/`{{%` markers); not linted",
            kind.as_str()
        ),
    )
    .help("render it and lint the output")
}

/// LNT005 at the first replaced byte.
pub fn lossy(text: &str) -> Diagnostic {
    let mut d = Diagnostic::new(
        &NOT_UTF8,
        "this file is not valid UTF-8; bytes that are not were replaced by U+FFFD and the rest was linted",
    )
    .help("convert it to UTF-8 (iconv -f latin1 -t utf-8)");
    d.span = text
        .find('\u{fffd}')
        .map(|i| Span::new(i, i + '\u{fffd}'.len_utf8()));
    d
}

/// LNT003.
pub fn unknown_kind(name: &str) -> Diagnostic {
    Diagnostic::new(
        &UNKNOWN_FILE_KIND,
        format!("`{name}` is not a file kind hagen lints; skipped"),
    )
}
