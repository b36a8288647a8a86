//! hagen-core: one `topology.yaml` in; diagnostics, a validated plan and (later) every
//! file of a highly available Kubernetes control plane out. No I/O: text in, data out,
//! so the same code runs in the CLI, in tests and in the browser (wasm32).
//!
//! The flow, one model per stage:
//!
//! 1. **Parse** ([`parse::parse`]): text → [`topology::Topology`], every value spanned.
//!    A file that cannot be read gives one diagnostic (TOP000 / TOP001).
//! 2. **Check** ([`rules::topology::run`]): every value is parsed once, with its default,
//!    into [`rules::topology::Ctx`]; every TOP rule reads those facts and the spanned model and
//!    reports *all* problems, each pointing at its value.
//! 3. **Plan** ([`plan::Plan::new`]): only without errors, from the same facts; spans
//!    stripped, nothing parsed again.
//! 4. **Report**: [`diag`] renders the findings as text, JSON or SARIF; [`whatif`]
//!    says what survives the loss of each node, zone and VIP holder.
//!
//! 5. **PKI** ([`pki::generate()`]): plan + existing material ([`pki::Existing`]) +
//!    entropy + the time → every key, certificate and kubeconfig per node, the join
//!    material (bootstrap token, CA hash, certificate key) and a report of what was
//!    generated, kept or re-issued. Randomness only comes in through [`pki::Entropy`].
//!
//! [`check`] runs steps 1–3 in one call.
//!
//! The linter ([`lint::lint`]) is a second entry point over the same [`diag::Rule`]s and
//! [`diag::Diagnostic`]s: existing files (haproxy, keepalived, nginx, kubeadm, etcd,
//! kube-vip, certificates) in, findings out, optionally against a [`plan::Plan`].

#![deny(missing_docs)]

pub mod bundle;
pub mod change;
pub mod config;
pub mod defaults;
pub mod diag;
pub mod diagram;
pub mod import;
pub mod lint;
pub mod net;
pub mod parse;
pub mod pki;
pub mod plan;
pub mod registry;
pub mod render;
pub mod rules;
pub mod schema;
pub mod source;
pub mod starter;
pub mod topology;
pub mod version;
pub mod whatif;
pub mod yaml;
pub mod zip;

use diag::Diagnostics;
use plan::Plan;
use source::SourceFile;
use whatif::Scenario;

/// What [`check`] found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Every finding, sorted by position.
    pub diagnostics: Diagnostics,
    /// The plan, when there is no error.
    pub plan: Option<Plan>,
    /// The what-if table, when the file parsed.
    pub what_if: Option<Vec<Scenario>>,
}

/// Parses and checks a topology; builds its plan if nothing is an error.
pub fn check(source: &SourceFile) -> Checked {
    let topology = match parse::parse(&source.text) {
        Ok(t) => t,
        Err(found) => {
            let mut diagnostics = Diagnostics::new();
            for d in found {
                diagnostics.push(d);
            }
            diagnostics.sort();
            return Checked {
                diagnostics,
                plan: None,
                what_if: None,
            };
        }
    };
    // One parse of every value, read by the rules, the plan and the what-if table.
    let cx = rules::topology::Ctx::new(&topology);
    let diagnostics = rules::topology::run(&cx);
    let plan = if diagnostics.has_errors() {
        None
    } else {
        Plan::new(&cx)
    };
    Checked {
        diagnostics,
        plan,
        what_if: Some(whatif::what_if(&cx)),
    }
}

/// Step 5: the whole bundle of a checked topology: every configuration file, the PKI's
/// files, the join material and a copy of the topology, sealed with its MANIFEST.
pub fn assemble(
    source: &SourceFile,
    plan: &Plan,
    what_if: &[Scenario],
    pki: &pki::Pki,
) -> Result<bundle::Bundle, render::RenderError> {
    let mut out = render::render(&render::Input {
        plan,
        join: &pki.join,
        what_if,
    })?;
    for (path, file) in &pki.files {
        out.insert(path.clone(), file.clone());
    }
    render::preflight::stamp_cert_window(&mut out);
    out.add(bundle::TOPOLOGY, source.text.clone(), bundle::MODE_FILE);
    out.insert(
        bundle::JOIN.to_string(),
        bundle::File {
            bytes: pki::join_file(&pki.join).into_bytes(),
            mode: bundle::MODE_SECRET,
            pki: true,
        },
    );
    out.seal();
    Ok(out)
}

/// Like [`check`], for bytes that may not be UTF-8 text (a binary file given by
/// mistake). Returns the source as it will be shown, and what was found.
pub fn check_bytes(name: &str, bytes: &[u8]) -> (SourceFile, Checked) {
    let binary = |why: String| {
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(parse::not_text(why));
        (
            SourceFile::new(name, ""),
            Checked {
                diagnostics,
                plan: None,
                what_if: None,
            },
        )
    };
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains('\0') => binary("it contains a NUL byte".to_string()),
        Ok(text) => {
            let source = SourceFile::new(name, text);
            let checked = check(&source);
            (source, checked)
        }
        Err(e) => binary(format!(
            "it is not UTF-8: invalid byte at offset {}",
            e.valid_up_to()
        )),
    }
}
