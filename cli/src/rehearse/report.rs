//! The rehearsal's output: a table of predicted vs observed, JSON, or JUnit XML.

use super::RehearseFormat;
use super::drill::{Results, ScenarioResult, View};
use serde_json::json;

pub fn render(r: &Results, format: RehearseFormat) -> String {
    match format {
        RehearseFormat::Human => human(r),
        RehearseFormat::Json => {
            let v = json!({
                "bundle": r.bundle,
                "loadBalancer": r.load_balancer,
                "etcd": r.etcd,
                "seconds": (r.seconds * 10.0).round() / 10.0,
                "agree": r.scenarios.iter().all(|s| s.agree),
                "scenarios": r.scenarios.iter().map(ScenarioResult::to_json).collect::<Vec<_>>(),
                "notRehearsed": r.not_rehearsed,
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into())
            )
        }
        RehearseFormat::Junit => junit(r),
    }
}

fn short(v: &View) -> String {
    let mut parts = Vec::new();
    if let Some(h) = &v.vip_holder {
        parts.push(format!(
            "VIP {}",
            if h.is_empty() { "nobody" } else { h.as_str() }
        ));
    }
    parts.push(format!(
        "readyz {}",
        if v.endpoint_ready { "ok" } else { "FAIL" }
    ));
    parts.push(format!(
        "etcd write {}",
        if v.etcd_write { "ok" } else { "FAIL" }
    ));
    if let Some(w) = v.isolated_etcd_write {
        parts.push(format!("cut-off etcd {}", if w { "ok" } else { "FAIL" }));
    }
    parts.join(", ")
}

fn human(r: &Results) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "scenario".into(),
        "predicted".into(),
        "observed".into(),
        "recovery (configs)".into(),
        "agrees".into(),
    ]];
    for s in &r.scenarios {
        rows.push([
            s.name.clone(),
            short(&s.predicted),
            short(&s.observed),
            format!(
                "{} ({:.0} s)",
                s.recovery_seconds
                    .map_or("-".to_string(), |t| format!("{t:.1} s")),
                s.expected_seconds
            ),
            if s.agree { "yes".into() } else { "NO".into() },
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = format!(
        "rehearsal of {} ({}, {} etcd) in {:.0} s\n\n",
        r.bundle, r.load_balancer, r.etcd, r.seconds
    );
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let bad: Vec<&ScenarioResult> = r.scenarios.iter().filter(|s| !s.agree).collect();
    out.push('\n');
    if bad.is_empty() {
        out.push_str("every scenario agrees with the what-if table\n");
    }
    for s in bad {
        out.push_str(&format!("DISAGREES {}: {}: {}\n", s.name, s.what, s.why));
    }
    out.push_str("not rehearsed:\n");
    for n in &r.not_rehearsed {
        out.push_str(&format!("  - {n}\n"));
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit(r: &Results) -> String {
    let failures = r.scenarios.iter().filter(|s| !s.agree).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"hagen \
         rehearse\" tests=\"{}\" failures=\"{failures}\" time=\"{:.1}\">\n",
        r.scenarios.len(),
        r.seconds
    );
    for s in &r.scenarios {
        out.push_str(&format!(
            "  <testcase classname=\"rehearse\" name=\"{}\" time=\"{:.1}\">\n",
            xml(&s.name),
            s.recovery_seconds.unwrap_or(0.0)
        ));
        if !s.agree {
            out.push_str(&format!(
                "    <failure message=\"{}\">predicted: {}\nobserved: {}</failure>\n",
                xml(&s.why),
                xml(&short(&s.predicted)),
                xml(&short(&s.observed))
            ));
        }
        out.push_str(&format!(
            "    <system-out>{}: predicted {}; observed {}</system-out>\n  </testcase>\n",
            xml(&s.what),
            xml(&short(&s.predicted)),
            xml(&short(&s.observed))
        ));
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}
