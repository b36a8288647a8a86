//! Step 4: plan → bundle. One module and one template per artifact; each module declares
//! its files (template, path, mode, which nodes) and builds its own small context from the
//! plan (so a template cannot read what it does not declare, and strict undefined catches
//! typos). This module owns the one loop that renders them all, the template environment
//! and the helpers the artifacts share.

/// A [`Template`] for `templates/<name>.j2`, compiled in, so a name and its file cannot
/// disagree. Defined before the artifact modules so that they can use it.
macro_rules! template {
    ($name:literal) => {
        $crate::render::Template {
            name: $name,
            source: include_str!(concat!("../../templates/", $name, ".j2")),
        }
    };
}

mod diagram;
mod etcd;
mod haproxy;
mod keepalived;
mod kernel;
mod kube_vip;
mod kubeadm;
mod nginx;
pub mod preflight;
mod runbook;
mod tools;

use crate::bundle::Bundle;
use crate::pki::JoinMaterial;
use crate::plan::{Node, Plan};
use crate::topology::Role;
use crate::whatif::Scenario;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::fmt;

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

/// Every artifact's files, in rendering order. Adding an artifact: a module with its
/// `FILES`, a template, and a line here; the template environment comes from this list.
static ARTIFACTS: &[&[FileSpec]] = &[
    kubeadm::FILES,
    haproxy::FILES,
    keepalived::FILES,
    nginx::FILES,
    kube_vip::FILES,
    etcd::FILES,
    kernel::FILES,
    preflight::FILES,
    tools::FILES,
    runbook::FILES,
    diagram::FILES,
];

/// A template compiled in (made by `template!`).
struct Template {
    /// Its name, which errors quote: its file under `templates/` without `.j2`.
    name: &'static str,
    /// Its text.
    source: &'static str,
}

/// One file an artifact writes: plain data, so that every artifact goes through the same
/// loop ([`render_file`]) and adding one needs no code but its context.
struct FileSpec {
    /// The template it is rendered from.
    template: Template,
    /// Its path on the node (`etc/haproxy/haproxy.cfg`), or in the bundle for
    /// [`On::Bundle`].
    path: &'static str,
    /// Its unix mode.
    mode: u32,
    /// Whether the plan has this file at all (its load balancer type, its etcd layout).
    applies: fn(&Plan) -> bool,
    /// Where it goes and what it is rendered from.
    on: On,
}

/// Where a [`FileSpec`] goes.
enum On {
    /// To `nodes/<name>/<path>` on each node `nodes` selects.
    Nodes {
        /// The nodes that get it.
        nodes: fn(&Plan) -> Vec<&Node>,
        /// What the file is, for its `banner` (`{node}` stands for the node's name). The
        /// loop adds it, so every node file has one and no context repeats it.
        banner: &'static str,
        /// The template's context on one node; `None` leaves the node without the file
        /// (the plan lacks what the file needs, which validation already excludes).
        context: fn(&Input<'_>, &Node) -> Option<Value>,
    },
    /// Once, to `<path>` at the top of the bundle.
    Bundle {
        /// The template's context; `None` writes nothing.
        context: fn(&Input<'_>) -> Option<Value>,
    },
}

/// Renders every configuration file of the plan (the PKI files are added by the caller).
pub fn render(input: &Input<'_>) -> Result<Bundle, RenderError> {
    let env = environment()?;
    let mut bundle = Bundle::new();
    for file in files() {
        render_file(file, input, &env, &mut bundle)?;
    }
    Ok(bundle)
}

/// Every file spec of every artifact, in order.
fn files() -> impl Iterator<Item = &'static FileSpec> {
    ARTIFACTS.iter().flat_map(|files| files.iter())
}

/// Renders one file spec: on each node it selects, or once for the bundle.
fn render_file(
    file: &FileSpec,
    input: &Input<'_>,
    env: &Environment<'static>,
    out: &mut Bundle,
) -> Result<(), RenderError> {
    let plan = input.plan;
    if !(file.applies)(plan) {
        return Ok(());
    }
    match &file.on {
        On::Nodes {
            nodes,
            banner: what,
            context,
        } => {
            for node in nodes(plan) {
                let Some(ctx) = context(input, node) else {
                    continue;
                };
                let what = what.replace("{node}", &node.name);
                let ctx = minijinja::context! { banner => banner(plan, &what), ..ctx };
                let text = render_template(env, file.template.name, ctx)?;
                out.add(
                    format!("nodes/{}/{}", node.name, file.path),
                    text,
                    file.mode,
                );
            }
        }
        On::Bundle { context } => {
            if let Some(ctx) = context(input) {
                let text = render_template(env, file.template.name, ctx)?;
                out.add(file.path, text, file.mode);
            }
        }
    }
    Ok(())
}

/// For [`FileSpec::applies`]: every plan has the file.
fn always(_: &Plan) -> bool {
    true
}

/// For [`On::Nodes`]: every control plane.
fn control_planes(plan: &Plan) -> Vec<&Node> {
    plan.control_planes().collect()
}

/// For [`On::Nodes`]: every node kubeadm sets up, control planes and workers (not
/// external etcd hosts).
fn kubeadm_nodes(plan: &Plan) -> Vec<&Node> {
    plan.nodes
        .iter()
        .filter(|n| n.has(Role::ControlPlane) || n.has(Role::Worker))
        .collect()
}

/// For [`On::Nodes`]: every etcd member (control planes when stacked).
fn etcd_members(plan: &Plan) -> Vec<&Node> {
    plan.etcd_members().collect()
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
    env.add_filter("sh", sh_quote);
    for file in files() {
        let Template { name, source } = file.template;
        env.add_template(name, source)
            .map_err(|e| error(name, &e))?;
    }
    Ok(env)
}

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

/// A value as one single-quoted POSIX shell word: nothing in it is expanded.
fn sh_quote(value: minijinja::Value) -> String {
    let text = value.to_string();
    format!("'{}'", text.replace('\'', "'\\''"))
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

/// A module's context struct as the value a template reads.
fn to_value(ctx: impl Serialize) -> Value {
    Value::from(Serde(ctx))
}

/// Renders one template with a context.
fn render_template(
    env: &Environment<'static>,
    name: &str,
    ctx: Value,
) -> Result<String, RenderError> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| error(name, &e))
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
    use super::test_support::{text, with_input};
    use super::*;
    use crate::rules::topology::test_support::{THREE_CP, topology};

    fn node_name(_: &Input<'_>, node: &Node) -> Option<Value> {
        #[derive(Serialize)]
        struct Ctx<'a> {
            name: &'a str,
        }
        Some(to_value(Ctx { name: &node.name }))
    }

    fn spec(name: &'static str, source: &'static str) -> FileSpec {
        FileSpec {
            template: Template { name, source },
            path: "etc/t",
            mode: 0o644,
            applies: always,
            on: On::Nodes {
                nodes: control_planes,
                banner: "t on {node}",
                context: node_name,
            },
        }
    }

    /// The loop's banner joins a module's context without loosening strict undefined: a
    /// name that neither declares still fails the render.
    #[test]
    fn node_files_get_the_banner_and_nothing_undeclared() {
        let ok = spec("ok", "# {{ banner }}\n{{ name }}\n");
        let typo = spec("typo", "# {{ banner }}\n{{ nmae }}\n");
        with_input(&topology("", &THREE_CP), |input| {
            let mut env = environment().unwrap();
            for t in [&ok.template, &typo.template] {
                env.add_template(t.name, t.source).unwrap();
            }
            let mut out = Bundle::new();
            render_file(&ok, input, &env, &mut out).unwrap();
            let cp2 = text(&out, "nodes/cp2/etc/t");
            assert!(cp2.starts_with("# t on cp2 for cluster ") && cp2.ends_with("\ncp2\n"));
            let err = render_file(&typo, input, &env, &mut out).unwrap_err();
            assert_eq!(err.template, "typo");
            assert!(err.message.contains("undefined"), "{}", err.message);
        });
    }

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
        with_input(text, |input| render(input).expect("renders"))
    }

    /// Calls `f` with the input of a topology text, with fixed join material.
    pub fn with_input<T>(text: &str, f: impl FnOnce(&Input<'_>) -> T) -> T {
        let checked = crate::check(&SourceFile::new("t.yaml", text));
        let plan = checked.plan.expect("valid topology");
        let join = JoinMaterial {
            token: "abcdef.0123456789abcdef".into(),
            ca_cert_hash: format!("sha256:{}", "ab".repeat(32)),
            certificate_key: "cd".repeat(32),
        };
        f(&Input {
            plan: &plan,
            join: &join,
            what_if: &checked.what_if.unwrap_or_default(),
        })
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
