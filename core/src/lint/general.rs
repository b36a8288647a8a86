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
    summary: "The file is an unrendered template; only its static parts were linted",
    explain: "\
## What it checks
Whether a file still contains template markers (`{{` or `{%`, as in Jinja, Ansible, Helm
or Go templates: kubespray and KubeKey roles, Terraform `templatefile`).

## Why it matters
A template is not what the daemon reads: values are missing and loops are unexpanded.
hagen lints its static parts and treats each `{{ … }}` as an unknown value: a finding is
kept only on a line without template markup, and rules about something missing or
counted (no timeout, one server, no `unicast_peer`) say nothing, since the missing line
may sit in an `{% if %}` and a `{% for %}` writes many servers. The rendered output can
still be wrong where the values go.

## Example
```
backend kube-apiserver
{% for host in groups['kube_control_plane'] %}
    server {{ host }} {{ hostvars[host]['ip'] }}:6443 check verify none
{% endfor %}
```
The `verify none` is on a line with markup, so it is not judged here; lint the output.

## Fix
Render the template (Ansible `--check --diff`, `helm template`, `terraform console`) and
lint the result as well.
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

/// LNT006.
pub const PLACEHOLDER_LEFT: Rule = Rule {
    code: "LNT006",
    name: "placeholder-left",
    severity: Severity::Warning,
    summary: "A placeholder (`<CP_VIP>`, `$vip`) was left in a file that is otherwise rendered",
    explain: "\
## What it checks
Stand-ins from a how-to or a rendering step that never ran, left in a file that has no
template markup otherwise: `<MN03_IP>`-style placeholders in haproxy, keepalived, nginx,
kubeadm and kube-vip files, and `$name` values in kubeadm and kube-vip YAML
(which nothing expands). `${name}` is the syntax of Terraform's `templatefile` and of
envsubst templates: a file with it is a template, its values unknown, and not reported.

## Why it matters
The program reading the file takes the placeholder literally: haproxy refuses
`server cp3 <MN03_IP>:6443`, keepalived drops `virtual_ipaddress { <CP_VIP>/24 }` and
runs without a VIP, kube-vip tries to announce the address `$vip`.

## Example
```
vrrp_instance VI_1 {
    virtual_ipaddress {
        <CP_VIP>/24
    }
}
```

## Fix
Put the real value in (or run the substitution: `envsubst < kube-vip.tpl > kube-vip.yaml`).
Other values hagen reads as unknown, and makes no claim about.
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
    (&PLACEHOLDER_LEFT, reported_by_detect),
];

/// LNT001 is reported by each domain's `lint` when its parser rejects the file
/// ([`unparseable`]); LNT004 by `keepalived::lint` and `nginx::lint` at each `include`
/// of the parsed file ([`include()`]).
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
pub fn template(kind: Kind, span: Span, marker: &str) -> Diagnostic {
    let markers = if marker == "%{" {
        "Terraform `%{ … }` directives"
    } else {
        "`{{`/`{%` markers"
    };
    at(
        &TEMPLATE_NOT_LINTABLE,
        span,
        format!(
            "this {} file is an unrendered template ({markers}); only its static parts were linted",
            kind.as_str()
        ),
    )
    .help("render it and lint the output too")
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

/// LNT006 at each placeholder left in a rendered file of `kind`.
pub fn placeholders_left(kind: Kind, name: &str, text: &str, out: &mut Diagnostics) {
    let yaml = matches!(kind, Kind::Kubeadm | Kind::KubeVip);
    if !yaml && !matches!(kind, Kind::Haproxy | Kind::Keepalived | Kind::Nginx) {
        return;
    }
    // A file named as a template (envsubst's `.tpl`, Jinja's `.j2`) is meant to have them.
    let lower = name.to_ascii_lowercase();
    if [
        ".tpl",
        ".j2",
        ".tmpl",
        ".template",
        ".gotmpl",
        ".in",
        ".erb",
        ".mustache",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
    {
        return;
    }
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let base = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let t = line.trim_start();
        if t.starts_with(['#', '!', ';']) {
            continue;
        }
        let code = line.find(" #").map_or(line, |i| &line[..i]);
        for r in super::placeholders(code) {
            let p = &code[r.clone()];
            let angle = p.starts_with('<');
            // `$name` is nginx's and haproxy's own syntax, and keepalived's `$VAR`;
            // in YAML only a whole value that is a placeholder counts (a `sh -c`
            // line may use shell variables), and `${name}` marks a template
            // (Terraform, envsubst) rather than a value left behind.
            let dollar_value = yaml
                && p.starts_with('$')
                && !p.starts_with("${")
                && t.strip_prefix("- ").is_none()
                && t.split_once(": ")
                    .is_some_and(|(_, v)| v.trim().trim_matches(['\'', '"']) == p);
            if angle || dollar_value {
                let span = Span::new(base + r.start, base + r.end);
                push_placeholder(out, span, p, kind);
            }
        }
        if yaml {
            continue;
        }
        // Stand-ins for addresses: `ipaddress:6443`, `ip_master_01:6443`, `192.168.1.x`;
        // sed's markers (`_VIP_`, `K8SHA_IP1:6443`) where a value goes: after a keyword
        // that takes one, as a block's sole entry, or before a port.
        let words: Vec<&str> = code.split_whitespace().collect();
        let value_keyword = matches!(
            words.first().copied(),
            Some(
                "interface"
                    | "state"
                    | "priority"
                    | "virtual_router_id"
                    | "unicast_src_ip"
                    | "mcast_src_ip"
                    | "auth_pass"
                    | "server"
                    | "bind"
                    | "listen"
            )
        );
        let mut at_word = 0;
        for (n, word) in words.iter().enumerate() {
            let start = at_word + code[at_word..].find(word).unwrap_or(0);
            at_word = start + word.len();
            let w = word.trim_end_matches([';', ',']);
            let host = w.rsplit_once(':').map_or(w, |(h, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    w
                }
            });
            let marker = super::stand_in(host)
                && (host.starts_with('_')
                    || host.len() < w.len()
                    || words.len() == 1
                    || value_keyword && n > 0);
            if stand_in_address(w) || marker {
                let span = Span::new(base + start, base + start + w.len());
                push_placeholder(out, span, w, kind);
            }
        }
    }
}

/// True for a word in an address's place that is a stand-in, not an address: a host
/// with `ipaddr` in it, an `_` (no DNS name has one) before a port or prefix length,
/// or a dotted quad with `x` for numbers.
fn stand_in_address(word: &str) -> bool {
    let (host, tail) = match word.rsplit_once([':', '/']) {
        Some((h, t)) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => (h, true),
        _ => (word, false),
    };
    if host.is_empty() || host.contains("://") || host.starts_with(['/', '$', '%', '@']) {
        return false;
    }
    let lower = host.to_ascii_lowercase();
    let ipaddr = ["ipaddress", "ip_address", "ip-address", "ipaddr"]
        .iter()
        .any(|w| lower == *w || lower.starts_with(w) && tail || lower.ends_with(w) && tail);
    let underscore = tail
        && host.contains('_')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && lower
            .split(['_', '-', '.'])
            .any(|p| p == "ip" || p == "vip" || p.ends_with("ip") && p.len() <= 4);
    let parts: Vec<&str> = host.split('.').collect();
    let x_quad = parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && (p.bytes().all(|b| b.is_ascii_digit())
                    || p.bytes().all(|b| b == b'x' || b == b'X'))
        })
        && parts
            .iter()
            .any(|p| p.bytes().all(|b| b == b'x' || b == b'X'))
        && parts.iter().any(|p| p.bytes().all(|b| b.is_ascii_digit()));
    ipaddr || underscore || x_quad
}

fn push_placeholder(out: &mut Diagnostics, span: Span, p: &str, kind: Kind) {
    {
        {
            out.push(
                at(
                    &PLACEHOLDER_LEFT,
                    span,
                    format!(
                        "`{p}` is a placeholder, not a value: the {} file was not filled in here",
                        kind.as_str()
                    ),
                )
                .help("put the real value in, or run the substitution that fills it"),
            );
        }
    }
}

/// LNT003.
pub fn unknown_kind(name: &str) -> Diagnostic {
    Diagnostic::new(
        &UNKNOWN_FILE_KIND,
        format!("`{name}` is not a file kind hagen lints; skipped"),
    )
}
