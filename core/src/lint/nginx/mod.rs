//! NGX rules: nginx as the API load balancer (`stream` TCP proxy, or `http` proxying).

pub mod parse;

use super::{Ctx, Kind, at, general, scan};
use crate::diag::Rule;
use crate::diag::{Diagnostics, Severity};
use parse::{Config, Directive};

/// A single-file nginx rule.
pub type CheckFn = fn(&Config, &Ctx<'_>, &mut Diagnostics);

/// Every single-file NGX rule with its check, sorted by code (NGX004 is in
/// [`cross::RULES`](super::cross::RULES)).
pub static RULES: &[(&Rule, CheckFn)] = &[
    (&PROXY_TIMEOUT_CUTS_WATCHES, proxy_timeout_cuts_watches),
    (&STREAM_MODULE_NOT_LOADED, stream_module_not_loaded),
    (&SINGLE_UPSTREAM_SERVER, single_upstream_server),
    (&PROXY_SSL_OFF, proxy_ssl_off),
    (&MODULES_INCLUDED_IN_BLOCK, modules_included_in_block),
];

/// NGX005.
pub const PROXY_SSL_OFF: Rule = Rule {
    code: "NGX005",
    name: "proxy-ssl-settings-without-proxy-ssl",
    severity: Severity::Warning,
    summary: "`proxy_ssl_*` settings in a stream server without `proxy_ssl on`: the upstream link is plain TCP",
    explain: "\
## What it checks
`stream` servers that set `proxy_ssl_certificate`, `proxy_ssl_trusted_certificate`,
`proxy_ssl_verify`… while `proxy_ssl on;` is absent (or commented out) there and in the
`stream` block.

## Why it matters
In a stream proxy the `proxy_ssl_*` settings apply only with `proxy_ssl on`; without it
nginx opens plain TCP to the backends and ignores them silently. The configuration reads
as verified TLS and is not: the backends' certificates are never checked (for a TLS
passthrough of the API, nothing is, and the settings mislead the reader).

## Example
```
server {
    listen 6443;
    # proxy_ssl on;
    proxy_ssl_trusted_certificate /etc/kubernetes/pki/ca.crt;
    proxy_ssl_verify on;
    proxy_pass kube_apiserver;
}
```

## Fix
Add `proxy_ssl on;` (nginx terminates and re-encrypts), or drop the `proxy_ssl_*` lines
for a plain TLS passthrough.
",
};

/// NGX006.
pub const MODULES_INCLUDED_IN_BLOCK: Rule = Rule {
    code: "NGX006",
    name: "modules-included-inside-block",
    severity: Severity::Error,
    summary: "`include modules-enabled/*` inside a block: `load_module` is allowed only at the top",
    explain: "\
## What it checks
An `include` of the module directory (`modules-enabled/*.conf`, `modules/*.conf`)
inside `http`, `stream`, `events` or a `server`.

## Why it matters
Those files hold `load_module` lines, which nginx accepts only in the main context:
`nginx -t` fails with `\"load_module\" directive is not allowed here` and the proxy does
not start (or reload).

## Example
```
http {
    include /etc/nginx/modules-enabled/*.conf;
}
```

## Fix
Move the include to the top of nginx.conf, before `events {}`.
",
};

/// NGX005.
pub fn proxy_ssl_off(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    walk(&cfg.directives, &mut Vec::new(), &mut |d, parents| {
        if !(d.keyword() == "server"
            && d.block.is_some()
            && parents.first().is_some_and(|p| p.keyword() == "stream"))
        {
            return;
        }
        let on = inherited(parents, d, "proxy_ssl").is_some_and(|p| p.arg(1) == Some("on"));
        let settings: Vec<&Directive> = d
            .children()
            .iter()
            .filter(|c| c.keyword().starts_with("proxy_ssl_"))
            .collect();
        if !on && let Some(first) = settings.first() {
            out.push(
                at(&PROXY_SSL_OFF, first.span(), format!("`{}` without `proxy_ssl on`: nginx opens plain TCP to the upstream and ignores the proxy_ssl_* settings", first.keyword()))
                    .help("add `proxy_ssl on;`, or drop the proxy_ssl_* lines for a TLS passthrough"),
            );
        }
    });
}

/// NGX006.
pub fn modules_included_in_block(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    walk(&cfg.directives, &mut Vec::new(), &mut |d, parents| {
        if d.keyword() == "include"
            && !parents.is_empty()
            && d.arg(1).is_some_and(|t| {
                t.contains("modules-enabled") || t.contains("modules/") && t.ends_with(".conf")
            })
        {
            out.push(
                at(&MODULES_INCLUDED_IN_BLOCK, d.span(), format!("`include {}` inside `{}`: the module files hold `load_module`, which nginx allows only at the top", d.arg(1).unwrap_or(""), parents[0].keyword()))
                    .help("move the include to the top of nginx.conf, before `events {}`"),
            );
        }
    });
}

/// Parses and checks one nginx.conf.
pub fn lint(ctx: &Ctx<'_>, out: &mut Diagnostics) -> Option<Config> {
    match parse::parse(&ctx.file.text) {
        Ok(cfg) => {
            super::run_checks(RULES, &cfg, ctx, out);
            walk(&cfg.directives, &mut Vec::new(), &mut |d, _| {
                // mime.types and the like hold no proxy settings.
                if d.keyword() == "include"
                    && d.arg(1)
                        .is_some_and(|t| !t.ends_with(".types") && !t.contains("params"))
                {
                    out.push(general::include(d.span(), d.arg(1).unwrap_or("")));
                }
            });
            Some(cfg)
        }
        Err(e) => {
            out.push(general::unparseable(Kind::Nginx, Some(e.span), e.message));
            None
        }
    }
}

/// NGX001.
pub const PROXY_TIMEOUT_CUTS_WATCHES: Rule = Rule {
    code: "NGX001",
    name: "proxy-timeout-cuts-watches",
    severity: Severity::Warning,
    summary: "An nginx proxy timeout shorter than 5 minutes cuts API watches",
    explain: "\
## What it checks
In `stream` servers, `proxy_timeout` (default 10m); in `http` locations that
`proxy_pass`, `proxy_read_timeout` (default 60s, so a missing one fires too). Values
under 5 minutes fire.

## Why it matters
These are idle timeouts between two reads. A watch on a quiet resource, `kubectl logs
-f`, `exec` or `port-forward` can stay silent for minutes; nginx then closes the
connection and every client reconnects and re-lists, which loads the API server
(the kubelets and controllers hold such watches all the time).

## Example
```
stream {
    server {
        listen 16443;
        proxy_timeout 3s;
        proxy_pass apiserver;
    }
}
```

## Fix
`proxy_timeout 1h;` in stream servers, `proxy_read_timeout 1h; proxy_send_timeout 1h;`
in http locations.
",
};

/// NGX002.
pub const STREAM_MODULE_NOT_LOADED: Rule = Rule {
    code: "NGX002",
    name: "stream-module-not-loaded",
    severity: Severity::Info,
    summary: "A `stream` block without `load_module` of the stream module",
    explain: "\
## What it checks
A main nginx.conf (one with an `events` block) that has a `stream` block but neither
`load_module …ngx_stream_module.so` nor an `include` of `modules-enabled`.

## Why it matters
On Debian, Ubuntu, RHEL and Alpine packages the stream module is dynamic; without
loading it nginx stops with `unknown directive \"stream\"`. Builds with `--with-stream`
compiled in, like the official Docker image and nginx.org's packages, do not need it.
The file does not say which nginx reads it, so this is an info.

## Example
```
events {}
stream { ... }
```

## Fix
`load_module /usr/lib/nginx/modules/ngx_stream_module.so;` at the top (or
`include /etc/nginx/modules-enabled/*.conf;` and install `libnginx-mod-stream`).
",
};

/// NGX003.
pub const SINGLE_UPSTREAM_SERVER: Rule = Rule {
    code: "NGX003",
    name: "single-upstream-server",
    severity: Severity::Warning,
    summary: "An upstream with one server balances nothing",
    explain: "\
## What it checks
`upstream` blocks with exactly one `server`.

## Why it matters
The proxy adds a hop but no redundancy: when that API server is down, so is the
endpoint.

## Example
```
upstream apiserver { server 10.0.0.11:6443; }
```

## Fix
List every control-plane node.
",
};

const WATCH_MS: u64 = 5 * 60 * 1000;

fn walk<'a>(
    ds: &'a [Directive],
    ctx: &mut Vec<&'a Directive>,
    f: &mut dyn FnMut(&'a Directive, &[&'a Directive]),
) {
    for d in ds {
        f(d, ctx);
        if d.block.is_some() {
            ctx.push(d);
            walk(d.children(), ctx, f);
            ctx.pop();
        }
    }
}

/// The value of `name` in force for directive context `parents` + `d` (nginx inherits
/// from outer blocks).
fn inherited<'a>(
    parents: &[&'a Directive],
    d: &'a Directive,
    name: &'a str,
) -> Option<&'a Directive> {
    d.all(name)
        .last()
        .or_else(|| parents.iter().rev().find_map(|p| p.all(name).last()))
}

/// The port of `host:port` (`[v6]:port`, `*:port`, or a bare port as `listen` takes it).
fn port_of(addr: &str) -> Option<u16> {
    let addr = addr.split('/').next().unwrap_or(addr);
    match addr.rsplit_once(':') {
        Some((_, port)) => port.parse().ok(),
        None => addr.parse().ok(),
    }
}

/// The names of the upstreams in front of the API servers: a server on the API
/// server's port (6443), or a name that says so (`kube-apiserver`, `k8s_masters`…).
fn api_upstreams(cfg: &Config) -> Vec<String> {
    let mut v = Vec::new();
    walk(&cfg.directives, &mut Vec::new(), &mut |d, _| {
        if d.keyword() == "upstream"
            && d.block.is_some()
            && let Some(name) = d.arg(1)
            && (super::api_name(name)
                || !super::other_name(name)
                    && d.all("server")
                        .filter_map(|s| s.arg(1))
                        .filter_map(port_of)
                        .any(|p| p == 6443))
        {
            v.push(name.to_string());
        }
    });
    v
}

/// True if a `server`/`location` that proxies to `proxy_pass` (and listens on `listen`)
/// is in front of the API servers: to an API upstream, to port 6443, or listening on
/// an API port. An ingress, dashboard or Grafana proxy is not judged.
fn fronts_api(d: &Directive, parents: &[&Directive], api: &[String]) -> bool {
    let target = d
        .all("proxy_pass")
        .filter_map(|p| p.arg(1))
        .next()
        .unwrap_or("");
    let host = target
        .split_once("://")
        .map_or(target, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("");
    let listens = |s: &Directive| {
        s.all("listen")
            .filter_map(|l| l.arg(1))
            .filter_map(port_of)
            .any(|p| matches!(p, 6443 | 8443 | 16443))
    };
    api.iter().any(|a| a == host)
        || port_of(host) == Some(6443)
        || listens(d)
        || parents
            .iter()
            .any(|p| p.keyword() == "server" && listens(p))
}

/// NGX001.
pub fn proxy_timeout_cuts_watches(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    let mut found = Vec::new();
    let api = api_upstreams(cfg);
    walk(&cfg.directives, &mut Vec::new(), &mut |d, parents| {
        let in_stream = parents.first().is_some_and(|p| p.keyword() == "stream");
        let in_http = parents.first().is_some_and(|p| p.keyword() == "http");
        if !fronts_api(d, parents, &api) {
            return;
        }
        if in_stream
            && d.keyword() == "server"
            && d.block.is_some()
            && d.all("proxy_pass").next().is_some()
            && let Some(t) = inherited(parents, d, "proxy_timeout")
            && let Some(ms) = t.arg(1).and_then(|v| scan::duration_ms(v, 1000))
            && ms < WATCH_MS
        {
            found.push(at(&PROXY_TIMEOUT_CUTS_WATCHES, t.span(), format!("`proxy_timeout {}` closes a stream connection idle for {}: quiet API watches and `kubectl logs -f` are cut", t.arg(1).unwrap_or(""), scan::human_ms(ms))).help("use `proxy_timeout 1h;`"));
        }
        if in_http && d.keyword() == "location" && d.all("proxy_pass").next().is_some() {
            match inherited(parents, d, "proxy_read_timeout") {
                Some(t) => {
                    if let Some(ms) = t.arg(1).and_then(|v| scan::duration_ms(v, 1000))
                        && ms < WATCH_MS
                    {
                        found.push(
                            at(
                                &PROXY_TIMEOUT_CUTS_WATCHES,
                                t.span(),
                                format!(
                                    "`proxy_read_timeout {}` cuts API watches idle for {}",
                                    t.arg(1).unwrap_or(""),
                                    scan::human_ms(ms)
                                ),
                            )
                            .help("use `proxy_read_timeout 1h;`"),
                        );
                    }
                }
                None => {
                    let p = d.all("proxy_pass").next().expect("checked");
                    found.push(at(&PROXY_TIMEOUT_CUTS_WATCHES, p.span(), "no `proxy_read_timeout`: nginx's default of 60s cuts API watches and `kubectl logs -f`").help("add `proxy_read_timeout 1h;`"));
                }
            }
        }
    });
    found.dedup_by(|a, b| a.span == b.span);
    for d in found {
        out.push(d);
    }
}

/// NGX002.
pub fn stream_module_not_loaded(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    let Some(stream) = cfg.all("stream").next() else {
        return;
    };
    if cfg.all("events").next().is_none() {
        return; // a fragment included from the main file
    }
    let loaded = cfg
        .all("load_module")
        .any(|d| d.arg(1).is_some_and(|m| m.contains("stream")))
        || cfg
            .all("include")
            .any(|d| d.arg(1).is_some_and(|m| m.contains("modules")));
    if !loaded {
        out.push(
            at(&STREAM_MODULE_NOT_LOADED, stream.words[0].span, "a `stream` block, but the stream module is never loaded: a distribution's nginx (dynamic modules) stops with `unknown directive \"stream\"`; nginx built with the module is fine")
                .help("add `load_module /usr/lib/nginx/modules/ngx_stream_module.so;` (unless your nginx has it built in)"),
        );
    }
}

/// NGX003.
pub fn single_upstream_server(cfg: &Config, _: &Ctx<'_>, out: &mut Diagnostics) {
    let api = api_upstreams(cfg);
    walk(&cfg.directives, &mut Vec::new(), &mut |d, _| {
        if d.keyword() == "upstream"
            && d.block.is_some()
            && d.arg(1).is_some_and(|n| api.iter().any(|a| a == n))
        {
            let servers: Vec<&Directive> = d.all("server").collect();
            if servers.len() == 1 {
                out.push(
                    at(
                        &SINGLE_UPSTREAM_SERVER,
                        servers[0].span(),
                        format!(
                            "upstream {} has one server: no redundancy behind the proxy",
                            d.arg(1).unwrap_or("?")
                        ),
                    )
                    .help("list every control-plane node"),
                );
            }
        }
    });
}

/// Every `upstream` server address (`host:port`) with its directive.
pub fn upstream_servers(cfg: &Config) -> Vec<(&Directive, String)> {
    let mut v = Vec::new();
    walk(&cfg.directives, &mut Vec::new(), &mut |d, parents| {
        if d.keyword() == "server"
            && d.block.is_none()
            && parents.last().is_some_and(|p| p.keyword() == "upstream")
            && let Some(a) = d.arg(1)
        {
            v.push((d, a.to_string()));
        }
    });
    v
}
