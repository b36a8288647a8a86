//! Step 4: plan → bundle. One module and one template per artifact; each module builds
//! its own small context from the plan (so a template cannot read what it does not
//! declare, and strict undefined catches typos) and adds its files to the bundle.

mod etcd;
mod haproxy;
mod keepalived;
mod kube_vip;
mod kubeadm;
mod nginx;
mod runbook;
mod tools;

use crate::bundle::Bundle;
use crate::pki::JoinMaterial;
use crate::plan::{Node, Plan};
use crate::whatif::Scenario;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// Rendering failed. Only a bug in a template can cause this: the plan was validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    /// The template that failed.
    pub template: String,
    /// minijinja's account of it, with the line.
    pub message: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template {}: {}", self.template, self.message)
    }
}

impl std::error::Error for RenderError {}

/// What every renderer gets.
pub struct Input<'a> {
    /// The validated plan.
    pub plan: &'a Plan,
    /// Join token, CA hash and certificate key.
    pub join: &'a JoinMaterial,
    /// The what-if table, for the runbook.
    pub what_if: &'a [Scenario],
}

type RenderFn = fn(&Input<'_>, &Environment<'static>, &mut Bundle) -> Result<(), RenderError>;

/// Every artifact family, in output order.
static ARTIFACTS: &[(&str, RenderFn)] = &[
    ("kubeadm", kubeadm::render),
    ("haproxy", haproxy::render),
    ("keepalived", keepalived::render),
    ("nginx", nginx::render),
    ("kube-vip", kube_vip::render),
    ("etcd", etcd::render),
    ("tools", tools::render),
    ("runbook", runbook::render),
];

/// Renders every configuration file of the plan (the PKI files are added by the caller).
pub fn render(input: &Input<'_>) -> Result<Bundle, RenderError> {
    let env = environment()?;
    let mut bundle = Bundle::new();
    for (_, render) in ARTIFACTS {
        render(input, &env, &mut bundle)?;
    }
    Ok(bundle)
}

fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| error("syntax", &e))?;
    env.set_syntax(syntax);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Our own two filters instead of minijinja's `builtins`: it keeps the wizard's wasm
    // about 80 KB (gzip) smaller.
    env.add_filter("tojson", tojson);
    env.add_filter("join", join);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| error(name, &e))?;
    }
    Ok(env)
}

static TEMPLATES: &[(&str, &str)] = &[
    (
        "kubeadm-config.yaml",
        include_str!("../../templates/kubeadm-config.yaml.j2"),
    ),
    (
        "haproxy.cfg",
        include_str!("../../templates/haproxy.cfg.j2"),
    ),
    (
        "keepalived.conf",
        include_str!("../../templates/keepalived.conf.j2"),
    ),
    (
        "check_apiserver.sh",
        include_str!("../../templates/check_apiserver.sh.j2"),
    ),
    ("nginx.conf", include_str!("../../templates/nginx.conf.j2")),
    (
        "kube-vip.yaml",
        include_str!("../../templates/kube-vip.yaml.j2"),
    ),
    (
        "etcd.conf.yml",
        include_str!("../../templates/etcd.conf.yml.j2"),
    ),
    (
        "etcd.service",
        include_str!("../../templates/etcd.service.j2"),
    ),
    (
        "hagen-etcdctl",
        include_str!("../../templates/hagen-etcdctl.j2"),
    ),
    ("README.md", include_str!("../../templates/README.md.j2")),
];

/// A value as JSON, which YAML reads as the same scalar: strings come out quoted and
/// escaped, so a value can never be taken for a number, a boolean or YAML syntax.
fn tojson(value: minijinja::Value) -> Result<String, minijinja::Error> {
    match value.as_str() {
        Some(s) => Ok(json_string(s)),
        None if value.is_number() || value.kind() == minijinja::value::ValueKind::Bool => {
            Ok(value.to_string())
        }
        None => Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!(
                "tojson takes a string, number or boolean, not {}",
                value.kind()
            ),
        )),
    }
}

/// `text` as a JSON string literal (also a YAML double-quoted scalar).
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The items of a sequence joined by `sep`.
fn join(value: minijinja::Value, sep: String) -> Result<String, minijinja::Error> {
    let items = value.try_iter()?;
    Ok(items.map(|v| v.to_string()).collect::<Vec<_>>().join(&sep))
}

fn error(template: &str, e: &minijinja::Error) -> RenderError {
    let mut message = e.to_string();
    if let Some(line) = e.line() {
        message = format!("line {line}: {message}");
    }
    RenderError {
        template: template.to_string(),
        message,
    }
}

/// Renders one template with a context.
fn render_template<C: Serialize>(
    env: &Environment<'static>,
    name: &str,
    ctx: &C,
) -> Result<String, RenderError> {
    env.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(ctx)))
        .map_err(|e| error(name, &e))
}

/// The bundle path of a file on a node.
fn node_path(node: &Node, path: &str) -> String {
    format!("nodes/{}/{}", node.name, path)
}

/// `host:port`, with IPv6 hosts in brackets.
pub fn host_port(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => format!("[{host}]:{port}"),
        _ => format!("{host}:{port}"),
    }
}

/// An address as it goes into a URL or `addr:port` (IPv6 in brackets).
pub fn url_host(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V6(a) => format!("[{a}]"),
        IpAddr::V4(a) => a.to_string(),
    }
}

/// The header line every generated file starts with (in its own comment syntax).
fn banner(plan: &Plan, what: &str) -> String {
    format!(
        "{what} for cluster {}, generated by hagen {} from topology.yaml; re-render instead of editing",
        plan.cluster_name,
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_string_matches_serde_json() {
        for s in [
            "plain",
            "quote \" here",
            "back\\slash",
            "line\nbreak\ttab",
            "\u{1}ctl",
            "ünï",
        ] {
            assert_eq!(
                super::json_string(s),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::source::SourceFile;

    /// Renders a topology text with fixed join material.
    pub fn render_text(text: &str) -> Bundle {
        let checked = crate::check(&SourceFile::new("t.yaml", text));
        let plan = checked.plan.expect("valid topology");
        let join = JoinMaterial {
            token: "abcdef.0123456789abcdef".into(),
            ca_cert_hash: format!("sha256:{}", "ab".repeat(32)),
            certificate_key: "cd".repeat(32),
        };
        render(&Input {
            plan: &plan,
            join: &join,
            what_if: &checked.what_if.unwrap_or_default(),
        })
        .expect("renders")
    }

    /// One rendered file as text.
    pub fn text(bundle: &Bundle, path: &str) -> String {
        let f = bundle.get(path).unwrap_or_else(|| {
            panic!(
                "no {path}; have {:?}",
                bundle.iter().map(|(p, _)| p).collect::<Vec<_>>()
            )
        });
        String::from_utf8(f.bytes.clone()).unwrap()
    }
}
