//! HAP rules: haproxy in front of the API servers.

pub mod parse;

use super::{Ctx, at, scan};
use crate::diag::Rule;
use crate::diag::{Diagnostics, Severity};
use crate::source::Span;
use parse::{Config, Section};

/// A single-file haproxy rule.
pub type CheckFn = fn(&Config, &Ctx<'_>, &mut Diagnostics);

/// Every single-file HAP rule with its check, sorted by code (HAP009 is in
/// [`cross::RULES`](super::cross::RULES)).
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&HTTPCHK_OVERRIDDEN, httpchk_overridden),
    (&TCP_ONLY_CHECK, tcp_only_check),
    (&VERIFY_NONE, verify_none),
    (&STATS_WEAK_CREDENTIALS, stats_weak_credentials),
    (&TIMEOUT_MISSING_OR_SHORT, timeout_missing_or_short),
    (&MISSING_FINAL_NEWLINE, missing_final_newline),
    (&BACKEND_WITHOUT_SERVERS, backend_without_servers),
    (&SINGLE_BACKEND_SERVER, single_backend_server),
    (&NOT_CONFIGURATION, not_configuration),
    (&INSECURE_PORT, insecure_port),
];

/// Parses and checks one haproxy.cfg.
pub fn lint(ctx: &Ctx<'_>, out: &mut Diagnostics) -> Option<Config> {
    let cfg = parse::parse(&ctx.file.text);
    super::run_checks(RULES, &cfg, ctx, out);
    Some(cfg)
}

/// Idle timeouts below this cut API watches and `kubectl logs -f` / `exec` sessions.
pub const WATCH_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// HAP001.
pub const HTTPCHK_OVERRIDDEN: Rule = Rule {
    code: "HAP001",
    name: "httpchk-overridden-by-ssl-hello-chk",
    severity: Severity::Warning,
    summary: "`option ssl-hello-chk` replaces `option httpchk`, so /healthz is never requested",
    explain: "\
## What it checks
A backend (or listen section, or the defaults it inherits) that sets both `option
httpchk` and `option ssl-hello-chk`.

## Why it matters
They select the health-check type, and only one can be in force: haproxy keeps the last
one. The old kubeadm snippet put `ssl-hello-chk` after `httpchk GET /healthz`, so the
check only completes a TLS hello and never asks the API server whether it is healthy.
An API server that accepts TLS but returns 500 (etcd lost) stays in rotation.

## Example
```
backend kube-apiserver
    option httpchk GET /healthz
    option ssl-hello-chk
```

## Fix
Drop `option ssl-hello-chk` and check over TLS: `option httpchk`, `http-check connect
ssl`, `http-check send meth GET uri /readyz`, `http-check expect status 200`, and
`check-ssl verify required ca-file /etc/kubernetes/pki/ca.crt` on the servers.
",
};

/// HAP002.
pub const TCP_ONLY_CHECK: Rule = Rule {
    code: "HAP002",
    name: "tcp-only-health-check",
    severity: Severity::Warning,
    summary: "The API servers are checked only by a TCP connect (or not at all)",
    explain: "\
## What it checks
Backends with servers whose health check is a bare TCP connect (`check` with no
`option httpchk`, or `option tcp-check` with no `tcp-check send`/`expect`), a TLS hello
only (`option ssl-hello-chk`), or no `check` at all. In a template, only when the whole
configuration (its `defaults` too) is there and its markup is values and loops: an
`{% if %}` or an included part may hold the check options.

## Why it matters
An API server keeps its port open while it is not ready: during start-up, when it has
lost etcd, while shutting down. A connect check keeps sending it clients, who get
errors. Only an HTTPS request to `/readyz` (or `/healthz`) sees that.

## Example
```
backend kube-apiserver
    mode tcp
    server m1 10.0.0.11:6443 check
```

## Fix
```
    option httpchk
    http-check connect ssl
    http-check send meth GET uri /readyz
    http-check expect status 200
    default-server check-ssl verify required ca-file /etc/kubernetes/pki/ca.crt
```
",
};

/// HAP003.
pub const VERIFY_NONE: Rule = Rule {
    code: "HAP003",
    name: "tls-verify-none",
    severity: Severity::Warning,
    summary: "`verify none` accepts any certificate from the API servers",
    explain: "\
## What it checks
`verify none` on `server` or `default-server` lines.

## Why it matters
The health check (or the re-encrypted connection) then trusts any certificate: anyone
who can answer on the server address passes as a healthy API server. The cluster CA
is on every control-plane node, so verifying costs nothing.

## Example
```
server m1 10.0.0.11:6443 check check-ssl verify none
```

## Fix
`verify required ca-file /etc/kubernetes/pki/ca.crt` (and `verifyhost <node name>` if
the certificate's SANs hold names rather than addresses). Suppress with
`# hagen:ignore HAP003` where the CA is genuinely unavailable.
",
};

/// HAP004.
pub const STATS_WEAK_CREDENTIALS: Rule = Rule {
    code: "HAP004",
    name: "stats-page-weak-credentials",
    severity: Severity::Warning,
    summary: "A stats page with default credentials (error) or none (warning)",
    explain: "\
## What it checks
Sections that enable the stats page (`stats enable` or `stats uri`) and either set a
well-known credential (`stats auth admin:admin`, `admin:password`, …) — an error — or
no `stats auth` at all — a warning.

## Why it matters
With `stats admin if TRUE` or the runtime API, the stats page can disable servers, and
without credentials it shows every backend address to anyone on the network. Default
credentials are the first thing a scanner tries.

## Example
```
listen stats
    bind *:9000
    stats enable
    stats uri /stats
    stats auth admin:admin
```

## Fix
Drop the page and use the local socket (`stats socket /run/haproxy/admin.sock mode 600
level admin`), or bind it to 127.0.0.1 with a strong, unique `stats auth`.
",
};

/// HAP005.
pub const TIMEOUT_MISSING_OR_SHORT: Rule = Rule {
    code: "HAP005",
    name: "timeouts-missing-or-short",
    severity: Severity::Warning,
    summary: "`timeout client`/`server`/`connect` missing, or idle timeouts that cut API watches",
    explain: "\
## What it checks
For every frontend, backend and listen section (with what it inherits from
`defaults`): that `timeout connect`, `timeout client` and `timeout server` are set, and
that the idle timeouts (`client`, `server`, or `tunnel` when set) are at least 5 minutes.

## Why it matters
Without them haproxy warns and never times connections out, so dead clients pile up
until `maxconn`. Too short, and haproxy cuts every quiet watch, `kubectl logs -f`,
`exec` and `port-forward` session: the API server itself ends watches after 30–60
minutes, so the proxy should not do it sooner.

## Example
```
defaults
    timeout connect 5s
    timeout client 35s
    timeout server 35s
```

## Fix
```
    timeout connect 5s
    timeout client 1h
    timeout server 1h
```
",
};

/// HAP006.
pub const MISSING_FINAL_NEWLINE: Rule = Rule {
    code: "HAP006",
    name: "missing-final-newline",
    severity: Severity::Error,
    summary: "The last line has no newline; haproxy 2.6 and later refuse the file",
    explain: "\
## What it checks
That haproxy.cfg ends with a newline.

## Why it matters
Since 2.6 haproxy treats a last line without a line feed as a truncated file and stops
with `Missing LF on last line, file might have been truncated`. Editors and templating
tools that strip the final newline produce exactly that.

## Example
A file whose last byte is the `k` of `server m3 10.0.0.13:6443 check`.

## Fix
Add a newline at the end (`echo >> haproxy.cfg`).
",
};

/// HAP007.
pub const BACKEND_WITHOUT_SERVERS: Rule = Rule {
    code: "HAP007",
    name: "backend-without-servers",
    severity: Severity::Error,
    summary: "A backend that a frontend uses has no server lines",
    explain: "\
## What it checks
Backends (and listen sections) with no `server` line (and no `server-template`).

## Why it matters
Every request to it fails with 503: clients of the API see the load balancer but never
an API server.

## Example
```
frontend api
    bind *:8443
    default_backend api
backend api
    balance roundrobin
```

## Fix
Add one `server` line per control-plane node.
",
};

/// HAP008.
pub const SINGLE_BACKEND_SERVER: Rule = Rule {
    code: "HAP008",
    name: "single-backend-server",
    severity: Severity::Warning,
    summary: "A backend with one server balances nothing",
    explain: "\
## What it checks
Backends (and listen sections) with exactly one `server` line.

## Why it matters
The load balancer then adds a hop but no redundancy: when that API server is down, so is
the endpoint.

## Example
```
backend api
    server m1 10.0.0.11:6443 check
```

## Fix
List every control-plane node. For a single control plane, point clients at it directly.
",
};

/// HAP010.
pub const NOT_CONFIGURATION: Rule = Rule {
    code: "HAP010",
    name: "not-haproxy-configuration",
    severity: Severity::Error,
    summary: "A line that is not haproxy configuration (a shell command, prose, a heredoc end)",
    explain: "\
## What it checks
Lines of haproxy.cfg whose first word is a shell command (`sudo`, `cat`, `systemctl`,
`vi`…), a heredoc terminator (`EOF`), a Markdown fence, or a sentence (a capitalised
word, several words, ending with `:` or `.`): what is left when a config is copied out
of a guide together with the text around it.

## Why it matters
haproxy stops at the first unknown keyword (`unknown keyword 'sudo' in 'global'
section`) and does not start; the configuration around it, however good, never runs.

## Example
```
sudo vi /etc/haproxy/haproxy.cfg
global
    log /dev/log local0
```

## Fix
Remove the line (or make it a `#` comment).
",
};

/// HAP012.
pub const BIND_COLLIDES_WITH_APISERVER: Rule = Rule {
    code: "HAP012",
    name: "bind-collides-with-apiserver",
    severity: Severity::Warning,
    summary: "haproxy on the control planes binds the API server's own port on every address",
    explain: "\
## What it checks
A frontend that binds a wildcard address (`*:6443`, `:6443`, `0.0.0.0:6443`) on the same
port as its API servers, when the run shows that haproxy runs on those control planes:
a server is the `unicast_src_ip` of a keepalived.conf linted with it.

## Why it matters
kube-apiserver binds port 6443 on every address of the node; haproxy on the same node
cannot bind it too. Whichever starts second fails (`cannot bind socket`), usually
haproxy after a reboot, and the VIP then points at a node with no load balancer.

## Example
```
frontend kube-apiserver
    bind *:6443
backend kube-apiserver
    server m1 10.0.0.11:6443 check   # m1 runs this haproxy and keepalived
```

## Fix
Bind another port (`bind *:8443`, and `controlPlaneEndpoint: <VIP>:8443`), or bind only
the VIP with `net.ipv4.ip_nonlocal_bind=1` and the apiserver's `--bind-address` set to
the node's own address.
",
};

/// HAP013.
pub const BIND_NOT_THE_VIP: Rule = Rule {
    code: "HAP013",
    name: "bind-address-not-the-vip",
    severity: Severity::Warning,
    summary: "An API frontend binds an address that is neither the VIP nor this node's",
    explain: "\
## What it checks
The `bind` addresses of the API frontends against the keepalived.conf in the same
directory: each must be a VIP it serves, the node's own `unicast_src_ip`, a wildcard or
loopback. In a directory of several setups named with a common prefix
(`site-a__haproxy.cfg`, `site-a__keepalived.conf`), the keepalived files whose names
share most of the haproxy file's.

## Why it matters
haproxy listens on an address that nothing sends traffic to (an old VIP, a typo, the
other cluster's VIP): clients of the VIP get connection refused, or haproxy does not start
because the address is not on the host.

## Example
```
bind 10.0.0.110:8443      # keepalived serves 10.0.0.100
```

## Fix
Bind the VIP keepalived serves (with `net.ipv4.ip_nonlocal_bind=1`) or `*:<port>`.
",
};

/// HAP011.
pub const INSECURE_PORT: Rule = Rule {
    code: "HAP011",
    name: "apiserver-insecure-port",
    severity: Severity::Error,
    summary: "An API backend on port 8080, the API server's insecure port (removed in 1.20)",
    explain: "\
## What it checks
`server` lines on port 8080 in a backend that fronts the API servers (by its name or a
frontend on the API port).

## Why it matters
8080 was kube-apiserver's unauthenticated, unencrypted port: every request on it was
cluster-admin. It is gone since Kubernetes 1.20, so today the backend is dead; on an old
cluster it publishes full control to anyone who reaches the load balancer.

## Example
```
backend kube-apiserver
    server m1 10.0.0.11:8080 check
```

## Fix
Send to port 6443 (TLS passthrough) and check `/readyz` over TLS.
",
};

fn proxies(cfg: &Config) -> impl Iterator<Item = (usize, &Section)> {
    cfg.sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_proxy())
}

/// The proxies in front of the API servers: the rules about API health checks, watch
/// timeouts and redundancy judge only these, never an ingress, dashboard or Grafana
/// backend in the same file (its checks and timeouts are its own business).
fn api_proxies<'a>(cfg: &'a Config, ctx: &Ctx<'_>) -> impl Iterator<Item = (usize, &'a Section)> {
    let api = api_scope(cfg, ctx);
    proxies(cfg).filter(move |(i, _)| api[*i])
}

/// For each section, whether it is a proxy in front of the API servers. A backend is
/// when a server uses the API server's port (6443, or the topology's), when its name
/// says so (`apiserver`, `kube-api`, `k8s`, `master`, `control-plane`…), or when a
/// frontend on the API port sends to it; a frontend is when it binds the API port, says
/// so by name, or sends to such a backend. Anything else (80/443 ingress, 3000 Grafana,
/// NodePorts, a name of its own) is out of scope: no claim about it.
pub fn api_scope(cfg: &Config, ctx: &Ctx<'_>) -> Vec<bool> {
    let ports: Vec<u16> = match ctx.options.topology.as_ref() {
        Some(plan) => vec![plan.bind_port, plan.endpoint.port, 6443],
        None => vec![6443],
    };
    let port_of = |addr: &str| -> Option<u16> {
        let (host, port) = addr.rsplit_once(':')?;
        (!host.is_empty() || addr.starts_with(':') || addr.starts_with('*'))
            .then(|| port.parse().ok())
            .flatten()
    };
    let mut api: Vec<bool> = cfg
        .sections
        .iter()
        .map(|s| {
            if !s.is_proxy() {
                return false;
            }
            let named = s.name.as_deref().is_some_and(super::api_name);
            let served = s
                .find(&["server"])
                .filter_map(|d| d.arg(2))
                .filter_map(port_of)
                .any(|p| ports.contains(&p));
            let bound = s
                .find(&["bind"])
                .filter_map(|d| d.arg(1))
                .filter_map(port_of)
                .any(|p| ports.contains(&p) || p == 8443 || p == 16443);
            named || served || bound
        })
        .collect();
    // A frontend on the API port sends to API backends; a frontend that sends to an API
    // backend is in front of the API servers.
    for (i, s) in cfg.sections.iter().enumerate() {
        if s.kind != "frontend" {
            continue;
        }
        let targets: Vec<&str> = s
            .directives
            .iter()
            .filter(|d| matches!(d.keyword(), "default_backend" | "use_backend"))
            .filter_map(|d| d.arg(1))
            .collect();
        let target_api = cfg.sections.iter().enumerate().any(|(j, b)| {
            api[j] && b.kind == "backend" && b.name.as_deref().is_some_and(|n| targets.contains(&n))
        });
        if api[i] {
            for (j, b) in cfg.sections.iter().enumerate() {
                if b.kind == "backend"
                    && b.name.as_deref().is_some_and(|n| targets.contains(&n))
                    && !b.name.as_deref().is_some_and(super::other_name)
                {
                    api[j] = true;
                }
            }
        } else if target_api {
            api[i] = true;
        }
    }
    api
}

fn has_servers(s: &Section) -> bool {
    s.directives
        .iter()
        .any(|d| matches!(d.keyword(), "server" | "server-template"))
}

/// HAP001.
pub fn httpchk_overridden(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for (i, s) in proxies(cfg) {
        if s.kind == "frontend" {
            continue;
        }
        let mut options: Vec<&parse::Directive> = cfg
            .defaults_for(i)
            .into_iter()
            .chain([s])
            .flat_map(|sec| sec.find(&["option"]))
            .filter(|d| matches!(d.arg(1), Some("httpchk" | "ssl-hello-chk")))
            .collect();
        if options.is_empty() {
            continue;
        }
        let last = options.pop().expect("not empty");
        if last.arg(1) == Some("ssl-hello-chk")
            && let Some(http) = options.iter().rev().find(|d| d.arg(1) == Some("httpchk"))
        {
            out.push(
                at(
                    &HTTPCHK_OVERRIDDEN,
                    last.words_span(),
                    format!(
                        "in {}: `option ssl-hello-chk` comes after `option httpchk` and replaces it; the check never sends an HTTP request",
                        s.label()
                    ),
                )
                .label(http.words_span(), "this HTTP check is not in force")
                .path(s.label())
                .help("remove `option ssl-hello-chk`; check /readyz over TLS with `http-check connect ssl`"),
            );
        }
    }
}

/// HAP002.
pub fn tcp_only_check(cfg: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    for (i, s) in api_proxies(cfg, ctx) {
        if s.kind == "frontend" || !has_servers(s) {
            continue;
        }
        let scope: Vec<&Section> = cfg.defaults_for(i).into_iter().chain([s]).collect();
        let last_type = scope
            .iter()
            .flat_map(|sec| sec.find(&["option"]))
            .filter(|d| {
                matches!(
                    d.arg(1),
                    Some(
                        "httpchk"
                            | "ssl-hello-chk"
                            | "tcp-check"
                            | "mysql-check"
                            | "pgsql-check"
                            | "redis-check"
                            | "smtpchk"
                            | "ldap-check"
                    )
                )
            })
            .last();
        let servers: Vec<&parse::Directive> = s.find(&["server"]).collect();
        let checked = servers
            .iter()
            .any(|d| d.words.iter().any(|w| w.text == "check"))
            || scope
                .iter()
                .flat_map(|sec| sec.find(&["default-server"]))
                .any(|d| d.words.iter().any(|w| w.text == "check"));
        let Some(first) = servers.first() else {
            continue;
        };
        let why = if !checked {
            Some(format!(
                "the servers of {} have no `check`: haproxy never health-checks them and keeps sending clients to a dead server",
                s.label()
            ))
        } else {
            match last_type.and_then(|d| d.arg(1)) {
                None => Some(format!(
                    "{} checks its servers with a TCP connect only; a server that is up but not ready (an API server without etcd) stays in rotation",
                    s.label()
                )),
                Some("ssl-hello-chk") => Some(format!(
                    "{} checks its servers with a TLS hello only (`option ssl-hello-chk`); /readyz is never asked",
                    s.label()
                )),
                Some("tcp-check") => {
                    let sends = s
                        .find(&["tcp-check"])
                        .any(|d| matches!(d.arg(1), Some("send" | "send-binary" | "expect")));
                    (!sends).then(|| format!("{} uses `option tcp-check` without `tcp-check send`/`expect`: a TCP connect only", s.label()))
                }
                _ => None,
            }
        };
        if let Some(why) = why {
            let span = last_type.map_or(first.words_span(), |d| d.words_span());
            out.push(
                at(&TCP_ONLY_CHECK, span, why)
                    .path(s.label())
                    .help("check over TLS: `option httpchk` + `http-check connect ssl` + `http-check send meth GET uri /readyz`"),
            );
        }
    }
}

/// HAP003.
pub fn verify_none(cfg: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let api = api_scope(cfg, ctx);
    let any_api = api.iter().any(|a| *a);
    for (i, s) in cfg.sections.iter().enumerate() {
        if !(api[i] || s.kind == "defaults" && any_api) {
            continue;
        }
        for d in &s.directives {
            if !matches!(d.keyword(), "server" | "default-server") {
                continue;
            }
            for pair in d.words.windows(2) {
                if pair[0].text == "verify" && pair[1].text == "none" {
                    out.push(
                        at(
                            &VERIFY_NONE,
                            scan_span(&pair[0], &pair[1]),
                            format!("`verify none` on a `{}` line in {}: any certificate is accepted from the API server", d.keyword(), s.label()),
                        )
                        .path(s.label())
                        .help("use `verify required ca-file /etc/kubernetes/pki/ca.crt`"),
                    );
                }
            }
        }
    }
}

fn scan_span(a: &scan::Word, b: &scan::Word) -> crate::source::Span {
    crate::source::Span::new(a.span.start, b.span.end)
}

const DEFAULT_CREDENTIALS: &[&str] = &[
    "admin:admin",
    "admin:password",
    "admin:haproxy",
    "haproxy:haproxy",
    "admin:123456",
    "root:root",
    "root:password",
    "user:password",
    "admin:",
];

/// HAP004.
pub fn stats_weak_credentials(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for (i, s) in cfg.sections.iter().enumerate() {
        if !s.is_proxy() {
            continue;
        }
        let scope: Vec<&Section> = cfg.defaults_for(i).into_iter().chain([s]).collect();
        let enable = scope
            .iter()
            .flat_map(|sec| sec.find(&["stats"]))
            .find(|d| matches!(d.arg(1), Some("enable" | "uri")));
        let Some(enable) = enable else { continue };
        // Only sections that serve HTTP can show the page.
        if s.kind == "backend" {
            continue;
        }
        let auths: Vec<&parse::Directive> = scope
            .iter()
            .flat_map(|sec| sec.find(&["stats", "auth"]))
            .collect();
        let weak = auths.iter().find(|d| {
            d.arg(2).is_some_and(|c| {
                DEFAULT_CREDENTIALS.contains(&c.to_ascii_lowercase().as_str())
                    || c.split_once(':').is_some_and(|(u, p)| u == p)
            })
        });
        if let Some(weak) = weak {
            out.push(
                at(
                    &STATS_WEAK_CREDENTIALS,
                    weak.words[2].span,
                    format!(
                        "the stats page of {} uses the well-known credential `{}`",
                        s.label(),
                        weak.arg(2).unwrap_or("")
                    ),
                )
                .severity(Severity::Error)
                .path(s.label())
                .help(
                    "use the local stats socket instead, or a unique password and a 127.0.0.1 bind",
                ),
            );
        } else if auths.is_empty() && !only_localhost(s) {
            out.push(
                at(
                    &STATS_WEAK_CREDENTIALS,
                    enable.words_span(),
                    format!("the stats page of {} has no `stats auth`: anyone who reaches it sees every backend", s.label()),
                )
                .path(s.label())
                .help("add `stats auth <user>:<strong password>` or bind the page to 127.0.0.1"),
            );
        }
    }
}

fn only_localhost(s: &Section) -> bool {
    let binds: Vec<&parse::Directive> = s.find(&["bind"]).collect();
    !binds.is_empty()
        && binds.iter().all(|d| {
            d.arg(1).is_some_and(|a| {
                a.starts_with("127.")
                    || a.starts_with("localhost")
                    || a.starts_with("[::1]")
                    || a.starts_with("::1")
                    || a.starts_with("unix@")
                    || a.starts_with('/')
            })
        })
}

/// HAP005.
pub fn timeout_missing_or_short(cfg: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    for (i, s) in api_proxies(cfg, ctx) {
        let scope: Vec<&Section> = cfg.defaults_for(i).into_iter().chain([s]).collect();
        let get = |name: &str| {
            scope
                .iter()
                .flat_map(|sec| sec.find(&["timeout"]))
                .filter(|d| {
                    d.arg(1) == Some(name)
                        || name == "client" && d.arg(1) == Some("clitimeout")
                        || name == "server" && d.arg(1) == Some("srvtimeout")
                        || name == "connect" && d.arg(1) == Some("contimeout")
                })
                .last()
        };
        let tunnel = get("tunnel").and_then(|d| d.arg(2).and_then(|v| scan::duration_ms(v, 1)));
        let mut needed: Vec<&str> = vec!["connect"];
        if s.kind != "backend" {
            needed.push("client");
        }
        if s.kind != "frontend" {
            needed.push("server");
        }
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|n| get(n).is_none())
            .collect();
        // A fragment (no `global`, no `defaults`) is pasted into a file whose defaults
        // it does not show: a missing timeout there cannot be told.
        let whole = cfg
            .sections
            .iter()
            .any(|x| matches!(x.kind.as_str(), "global" | "defaults"));
        if !missing.is_empty() && whole {
            out.push(
                at(
                    &TIMEOUT_MISSING_OR_SHORT,
                    s.span,
                    format!(
                        "{} has no `timeout {}` (nor do its defaults): connections never time out",
                        s.label(),
                        missing.join("`, `timeout ")
                    ),
                )
                .path(s.label())
                .help("set `timeout connect 5s`, `timeout client 1h`, `timeout server 1h` in `defaults`"),
            );
        }
        if tunnel.is_some_and(|t| t >= WATCH_TIMEOUT_MS) {
            continue;
        }
        for name in ["client", "server"] {
            if !needed.contains(&name) {
                continue;
            }
            let Some(d) = get(name) else { continue };
            let Some(ms) = d.arg(2).and_then(|v| scan::duration_ms(v, 1)) else {
                continue;
            };
            // A directive inherited from defaults is reported once, on the defaults line,
            // by the first proxy that uses it.
            if ms < WATCH_TIMEOUT_MS
                && !out
                    .iter()
                    .any(|x| x.rule.code == "HAP005" && x.span == Some(d.words_span()))
            {
                out.push(
                    at(
                        &TIMEOUT_MISSING_OR_SHORT,
                        d.words_span(),
                        format!(
                            "`timeout {name} {}` cuts idle API watches and `kubectl logs -f`/`exec` sessions after {}; use at least {}",
                            d.arg(2).unwrap_or(""),
                            scan::human_ms(ms),
                            scan::human_ms(WATCH_TIMEOUT_MS)
                        ),
                    )
                    .path(s.label())
                    .help("set `timeout client 1h` and `timeout server 1h` (or `timeout tunnel 1h`)"),
                );
            }
        }
    }
}

/// HAP006.
pub fn missing_final_newline(_: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    let text = &ctx.file.text;
    if !text.is_empty() && !text.ends_with('\n') {
        let start = text.rfind('\n').map_or(0, |i| i + 1);
        out.push(
            at(
                &MISSING_FINAL_NEWLINE,
                crate::source::Span::new(start, text.len()),
                "the last line has no newline; haproxy 2.6+ stops with \"Missing LF on last line\"",
            )
            .help("add a newline at the end of the file"),
        );
    }
}

/// HAP007.
pub fn backend_without_servers(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    for s in cfg
        .sections
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "backend" | "listen"))
    {
        // A listen section used only for the stats page needs no servers.
        if s.kind == "listen" && s.find(&["stats"]).next().is_some() {
            continue;
        }
        if !has_servers(s) {
            out.push(
                at(
                    &BACKEND_WITHOUT_SERVERS,
                    s.span,
                    format!(
                        "{} has no `server` line: every connection to it fails",
                        s.label()
                    ),
                )
                .path(s.label())
                .help("add one `server <name> <address>:6443 check` line per control-plane node"),
            );
        }
    }
}

/// HAP008.
pub fn single_backend_server(cfg: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    for (_, s) in
        api_proxies(cfg, ctx).filter(|(_, s)| matches!(s.kind.as_str(), "backend" | "listen"))
    {
        let servers: Vec<&parse::Directive> = s.find(&["server"]).collect();
        if servers.len() == 1 && s.find(&["server-template"]).next().is_none() {
            out.push(
                at(
                    &SINGLE_BACKEND_SERVER,
                    servers[0].words_span(),
                    format!(
                        "{} has one server: no redundancy behind the load balancer",
                        s.label()
                    ),
                )
                .path(s.label())
                .help("list every control-plane node"),
            );
        }
    }
}

/// HAP010.
pub fn not_configuration(_: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    for line in scan::lines(&ctx.file.text, &['#'], true, true) {
        let Some(first) = line.words.first() else {
            continue;
        };
        let w = first.text.as_str();
        let n = line.words.len();
        let last = &line.words[n - 1].text;
        let shell = scan::SHELL_WORDS.contains(&w) && !(w == "haproxy" && n == 1)
            || w.starts_with("```")
            || w.starts_with("<<")
            || scan::markup(w);
        let prose = n >= 4
            && w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && w.chars().skip(1).all(|c| c.is_ascii_lowercase())
            && (last.ends_with(':') || last.ends_with('.'));
        if shell || prose {
            out.push(
                at(&NOT_CONFIGURATION, Span::new(line.words[0].span.start, line.words[n - 1].span.end), format!("`{w}` starts a line that is not haproxy configuration: haproxy stops with `unknown keyword '{w}'`"))
                    .help("remove the line or make it a `#` comment"),
            );
        }
    }
}

/// HAP011.
pub fn insecure_port(cfg: &Config, ctx: &Ctx<'_>, out: &mut Diagnostics) {
    // `api` alone may be an application's API on 8080: only a Kubernetes name says so.
    let kube = |s: &Section| {
        s.name.as_deref().is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            ["kube", "k8s", "apiserver", "master", "control"]
                .iter()
                .any(|w| n.contains(w))
        })
    };
    for (_, s) in api_proxies(cfg, ctx).filter(|(_, s)| kube(s)) {
        for d in s.find(&["server"]) {
            if let Some(addr) = d.arg(2)
                && addr.rsplit_once(':').is_some_and(|(_, p)| p == "8080")
            {
                out.push(
                    at(&INSECURE_PORT, d.words[2].span, format!("{} sends to `{addr}`, the API server's insecure port: gone since 1.20, and on older clusters unauthenticated cluster-admin", s.label()))
                        .path(s.label())
                        .help("send to port 6443 and check /readyz over TLS"),
                );
            }
        }
    }
}

/// The wildcard `bind` lines of the API frontends, with their port, and the hosts of
/// the API servers they send to on that port (for HAP012 in the cross-file rules).
pub fn wildcard_binds<'a>(
    cfg: &'a Config,
    ctx_ports: &[u16],
) -> Vec<(&'a parse::Directive, u16, Vec<String>)> {
    let servers: Vec<(String, u16)> = cfg
        .sections
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "backend" | "listen"))
        .flat_map(|s| s.find(&["server"]))
        .filter_map(|d| {
            let (h, p) = d.arg(2)?.rsplit_once(':')?;
            Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?))
        })
        .collect();
    let mut v = Vec::new();
    for s in cfg
        .sections
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "frontend" | "listen"))
    {
        for d in s.find(&["bind"]) {
            let Some(addr) = d.arg(1) else { continue };
            let Some((host, port)) = addr.rsplit_once(':') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            let wildcard = matches!(host, "" | "*" | "0.0.0.0" | "::" | "[::]");
            if !wildcard || !ctx_ports.contains(&port) {
                continue;
            }
            let hosts: Vec<String> = servers
                .iter()
                .filter(|(_, p)| *p == port)
                .map(|(h, _)| h.clone())
                .collect();
            if !hosts.is_empty() {
                v.push((d, port, hosts));
            }
        }
    }
    v
}

/// The specific (not wildcard, not loopback) bind addresses of the API frontends.
pub fn specific_binds<'a>(
    cfg: &'a Config,
    ctx_api: &[bool],
) -> Vec<(&'a parse::Directive, String)> {
    let mut v = Vec::new();
    for (i, s) in cfg.sections.iter().enumerate() {
        if !ctx_api.get(i).copied().unwrap_or(false)
            || !matches!(s.kind.as_str(), "frontend" | "listen")
        {
            continue;
        }
        for d in s.find(&["bind"]) {
            let Some(addr) = d.arg(1) else { continue };
            let Some((host, _)) = addr.rsplit_once(':') else {
                continue;
            };
            let host = host.trim_matches(['[', ']']);
            let Ok(ip) = host.parse::<std::net::IpAddr>() else {
                continue;
            };
            if !ip.is_unspecified() && !ip.is_loopback() {
                v.push((d, host.to_string()));
            }
        }
    }
    v
}

/// The `address:port` of every `server` line in backends and listen sections.
pub fn backend_servers(cfg: &Config) -> Vec<(&parse::Directive, String)> {
    cfg.sections
        .iter()
        .filter(|s| {
            matches!(s.kind.as_str(), "backend" | "listen") && s.find(&["stats"]).next().is_none()
        })
        .flat_map(|s| s.find(&["server"]))
        .filter_map(|d| d.arg(2).map(|a| (d, a.to_string())))
        .collect()
}
