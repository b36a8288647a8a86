//! `hagen validate`.

use crate::args::{Format, ValidateArgs};
use crate::exit;
use hagen_core::diag::{json, sarif, text};
use hagen_core::{registry, whatif};
use serde_json::{Map, json as j};

pub fn run(args: &ValidateArgs) -> u8 {
    let bytes = match super::read(&args.topology) {
        Ok(b) => b,
        Err(message) => {
            eprintln!("hagen: {message}");
            return exit::FAILURE;
        }
    };
    let name = args.topology.display().to_string();
    let (source, checked) = hagen_core::check_bytes(&name, &bytes);
    let files = [source];
    let output = match args.format {
        Format::Human => {
            let style = text::Style {
                color: super::use_color(args.color),
            };
            let mut out = String::new();
            if let Some(plan) = &checked.plan {
                out.push_str(&format!(
                    "{name}: cluster `{}`, Kubernetes {} (kubeadm API {}), {} control planes, {} etcd members, {} on {}\n\n",
                    plan.cluster_name,
                    plan.version,
                    plan.kubeadm_api.api_version(),
                    plan.control_planes().count(),
                    plan.etcd_members().count(),
                    plan.load_balancer.kind.as_str(),
                    plan.endpoint.address(),
                ));
            }
            for d in &checked.diagnostics {
                out.push_str(&text::render_diagnostic(&files, d, style));
                out.push('\n');
            }
            if let Some(rows) = checked.what_if.as_ref().filter(|r| !r.is_empty()) {
                out.push_str("what if we lose...\n");
                out.push_str(&whatif::table(rows));
                out.push('\n');
            }
            let errors = checked.diagnostics.count(hagen_core::diag::Severity::Error);
            let warnings = checked
                .diagnostics
                .count(hagen_core::diag::Severity::Warning);
            out.push_str(&text::summary(errors, warnings));
            out.push('\n');
            out
        }
        Format::Json => {
            let mut extra = Map::new();
            extra.insert("file".into(), j!(name));
            extra.insert("valid".into(), j!(!checked.diagnostics.has_errors()));
            if let Some(plan) = &checked.plan {
                extra.insert("kubernetesVersion".into(), j!(plan.version.to_string()));
                extra.insert(
                    "kubeadmApiVersion".into(),
                    j!(plan.kubeadm_api.api_version()),
                );
            }
            extra.insert("whatIf".into(), j!(checked.what_if));
            pretty(&json::report(&files, &checked.diagnostics, extra))
        }
        Format::Sarif => pretty(&sarif::report(
            &files,
            &checked.diagnostics,
            registry::all(),
        )),
    };
    print!("{output}");
    if checked.diagnostics.has_errors() {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
