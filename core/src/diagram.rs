//! The topology as a picture: an SVG drawn from the validated plan and its what-if table.
//! Zones are columns (one column when no zone is set), each node a box with its name,
//! address, roles and proxies; the endpoint (VIP and its holder, DNS name or external load
//! balancer) sits on top with the etcd members and their quorum. Given a loss (a row of
//! the what-if table) the lost nodes are greyed and the picture says where the VIP goes
//! and whether etcd keeps quorum.
//!
//! One drawing for the wizard (which makes the nodes, zones and the VIP holder buttons:
//! they carry `role="button"`, `tabindex` and `data-loss`/`data-name`) and for the
//! bundle's `diagram.svg`. Only presentation attributes, no `<style>`: the wizard's
//! Content-Security-Policy refuses inline styles, and its stylesheet adds hover and focus.
//! Text is never cut: boxes are sized from the longest line and long values wrap.

use crate::plan::{Node, Plan};
use crate::rules::topology::{quorum, tolerated_failures};
use crate::topology::{EtcdType, LbType, Role};
use crate::whatif::{Loss, Scenario};
use std::fmt::Write;

/// A loss picked in the diagram or the what-if table: the row with this `loss` and `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// What is lost.
    pub loss: Loss,
    /// The node or zone name (the VIP holder's node name for [`Loss::VipHolder`]).
    pub name: String,
}

impl Selection {
    /// The selection of a what-if row.
    pub fn of(row: &Scenario) -> Selection {
        Selection {
            loss: row.loss,
            name: row.name.clone(),
        }
    }

    /// True if `row` is the selected one.
    pub fn is(&self, row: &Scenario) -> bool {
        row.loss == self.loss && row.name == self.name
    }

    /// The `data-loss` spelling of [`Selection::loss`].
    pub fn loss_str(&self) -> &'static str {
        loss_str(self.loss)
    }

    /// Parses the `data-loss` / `data-name` pair of a diagram button.
    pub fn parse(loss: &str, name: &str) -> Option<Selection> {
        let loss = match loss {
            "node" => Loss::Node,
            "zone" => Loss::Zone,
            "vip-holder" => Loss::VipHolder,
            _ => return None,
        };
        Some(Selection {
            loss,
            name: name.to_string(),
        })
    }
}

fn loss_str(loss: Loss) -> &'static str {
    match loss {
        Loss::Node => "node",
        Loss::Zone => "zone",
        Loss::VipHolder => "vip-holder",
    }
}

// Geometry, in SVG user units (pixels at scale 1). Widths are estimated generously from
// character counts (13 px text is at most 8 px a character on average).
const FONT: u32 = 13;
const CHAR_W: u32 = 8;
const LINE: u32 = 17;
const PAD: u32 = 10;
const GAP: u32 = 14;
const MARGIN: u32 = 12;
/// Longest line in a node box before it wraps.
const BOX_CHARS: usize = 26;
/// The narrowest drawing: the top band's lines fit without many breaks.
const MIN_WIDTH: u32 = 580;

const FG: &str = "#1b1f24";
const MUTED: &str = "#57606a";
const LINE_COLOR: &str = "#8c959f";
const ACCENT: &str = "#0969da";
const OK: &str = "#1a7f37";
const ERR: &str = "#b42318";
const LOST_FILL: &str = "#eaeef2";

/// The diagram of `plan`; with `lost`, as it stands after that loss of `what_if`.
pub fn svg(plan: &Plan, what_if: &[Scenario], lost: Option<&Selection>) -> String {
    let row = lost.and_then(|s| what_if.iter().find(|r| s.is(r)));
    let gone = |n: &Node| row.is_some_and(|r| r.nodes_lost.contains(&n.name));
    let lb = plan.load_balancer.kind;
    let members: Vec<&Node> = plan.etcd_members().collect();
    let is_member = |n: &Node| members.iter().any(|m| m.name == n.name);
    let holder = lb
        .holds_vip()
        .then(|| plan.control_planes().next())
        .flatten();
    // Where the VIP is now: its holder, or after a loss the first control plane left
    // (as the what-if table says), unless the endpoint is down.
    let vip_on = match row {
        None => holder,
        Some(r) if lb.holds_vip() && r.endpoint_ok => plan.control_planes().find(|n| !gone(n)),
        Some(_) => None,
    };
    let has_vip_holder_row = what_if.iter().any(|r| r.loss == Loss::VipHolder);

    // Columns: the zones in the what-if table's order (sorted), then the nodes without one.
    let mut zones: Vec<Option<&str>> = plan.nodes.iter().map(|n| n.zone.as_deref()).collect();
    zones.sort_unstable_by(|a, b| match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(a), Some(b)) => a.cmp(b),
    });
    zones.dedup();

    // Each node's lines, then the column width from the longest one.
    let boxes: Vec<(&Node, Vec<(String, Kind)>)> = plan
        .nodes
        .iter()
        .map(|n| {
            (
                n,
                node_lines(plan, n, is_member(n), vip_on == Some(n), gone(n)),
            )
        })
        .collect();
    let longest = boxes
        .iter()
        .flat_map(|(_, lines)| lines.iter().map(|(t, _)| t.chars().count()))
        .chain(zones.iter().map(|z| zone_title(*z).chars().count() + 2))
        .max()
        .unwrap_or(0);
    let col_w = (longest as u32 * CHAR_W + 2 * PAD).max(170);
    let columns = zones.len().max(1) as u32;
    // Wide enough for the top band's lines: narrow columns grow to fill it.
    let col_w = col_w.max((MIN_WIDTH - 2 * MARGIN - (columns - 1) * GAP) / columns);
    let width = 2 * MARGIN + columns * col_w + (columns - 1) * GAP;
    let text_chars = ((width - 2 * MARGIN - 2 * PAD) / CHAR_W) as usize;

    // The top band: endpoint, etcd quorum, and the loss being shown.
    let wrap_all = |lines: Vec<String>| -> Vec<String> {
        lines.iter().flat_map(|l| wrap(l, text_chars)).collect()
    };
    let endpoint = wrap_all(endpoint_text(plan, holder, row.map(|_| vip_on)));
    let summary = wrap(&etcd_text(members.len(), row), text_chars);
    let loss_lines = row.map(|r| wrap_all(loss_text(r))).unwrap_or_default();

    let mut out = String::new();
    let mut y = MARGIN;
    let mut body = String::new();

    // Endpoint box: the VIP holder's button when the table has that row.
    let ep_h = PAD + (endpoint.len() as u32) * LINE + PAD / 2;
    let vip_lost = row.is_some_and(|r| r.loss == Loss::VipHolder);
    let ep_button = match (has_vip_holder_row, holder) {
        (true, Some(h)) => Some(button(
            "dg-vip",
            Loss::VipHolder,
            &h.name,
            &format!("VIP holder {}: lose it", h.name),
            lost.is_some_and(|s| s.loss == Loss::VipHolder),
        )),
        _ => None,
    };
    if let Some(open) = &ep_button {
        body.push_str(open);
    }
    let _ = write!(
        body,
        r#"<rect class="box" x="{MARGIN}" y="{y}" width="{}" height="{ep_h}" rx="6" fill="{}" stroke="{ACCENT}" stroke-width="{}"/>"#,
        width - 2 * MARGIN,
        if row.is_some_and(|r| !r.endpoint_ok) {
            LOST_FILL
        } else {
            "#ddf4ff"
        },
        if vip_lost { 3 } else { 1 }
    );
    text_lines(&mut body, MARGIN + PAD, y + PAD, &endpoint, FG, true);
    if ep_button.is_some() {
        body.push_str("</g>");
    }
    y += ep_h + 6;
    let etcd_ok = row.is_none_or(|r| r.etcd_ok);
    text_lines(
        &mut body,
        MARGIN,
        y,
        &summary,
        if etcd_ok { FG } else { ERR },
        false,
    );
    // One dot per etcd member, filled while it is up.
    y += summary.len() as u32 * LINE;
    let mut x = MARGIN + 6;
    for m in &members {
        let up = !gone(m);
        let _ = write!(
            body,
            r#"<circle cx="{x}" cy="{}" r="5" fill="{}" stroke="{OK}"><title>etcd member {}{}</title></circle>"#,
            y + 7,
            if up { OK } else { "#ffffff" },
            esc(&m.name),
            if up { "" } else { " (lost)" }
        );
        x += 14;
    }
    y += 18;
    if !loss_lines.is_empty() {
        let survives = row.is_some_and(|r| r.survives);
        text_lines(
            &mut body,
            MARGIN,
            y,
            &loss_lines,
            if survives { OK } else { ERR },
            true,
        );
        y += loss_lines.len() as u32 * LINE + 4;
    }
    y += 4;

    // The columns.
    let top = y;
    let mut bottom = top;
    for (c, zone) in zones.iter().enumerate() {
        let x = MARGIN + c as u32 * (col_w + GAP);
        let mut y = top;
        let zone_lost =
            zone.is_some_and(|z| lost.is_some_and(|s| s.loss == Loss::Zone && s.name == z));
        let in_zone: Vec<&(&Node, Vec<(String, Kind)>)> = boxes
            .iter()
            .filter(|(n, _)| n.zone.as_deref() == *zone)
            .collect();
        let zone_members = in_zone.iter().filter(|(n, _)| is_member(n)).count();
        let head = match zone {
            Some(z) => format!(
                "{} · etcd {zone_members} of {}",
                zone_title(Some(z)),
                members.len()
            ),
            None => zone_title(None),
        };
        let head = wrap(&head, ((col_w - 2 * PAD) / CHAR_W) as usize);
        let head_h = PAD / 2 + head.len() as u32 * LINE + PAD / 2;
        let zone_button = zone
            .filter(|z| what_if.iter().any(|r| r.loss == Loss::Zone && r.name == *z))
            .map(|z| {
                button(
                    &format!("dg-zone-{c}"),
                    Loss::Zone,
                    z,
                    &format!(
                        "zone {z}, {} nodes, {zone_members} etcd members: lose it",
                        in_zone.len()
                    ),
                    zone_lost,
                )
            });
        if let Some(open) = &zone_button {
            body.push_str(open);
        }
        let _ = write!(
            body,
            r##"<rect class="box" x="{x}" y="{y}" width="{col_w}" height="{head_h}" rx="4" fill="{}" stroke="{LINE_COLOR}" stroke-width="{}"/>"##,
            if zone_lost { LOST_FILL } else { "#f6f8fa" },
            if zone_lost { 3 } else { 1 }
        );
        text_lines(
            &mut body,
            x + PAD,
            y + PAD / 2,
            &head,
            if zone_lost { MUTED } else { FG },
            true,
        );
        if zone_button.is_some() {
            body.push_str("</g>");
        }
        y += head_h + 8;
        for (n, lines) in in_zone {
            let i = plan
                .nodes
                .iter()
                .position(|m| m.name == n.name)
                .unwrap_or(0);
            let down = gone(n);
            let h = PAD + lines.len() as u32 * LINE + PAD / 2;
            let selected = lost.is_some_and(|s| s.loss == Loss::Node && s.name == n.name);
            body.push_str(&button(
                &format!("dg-node-{i}"),
                Loss::Node,
                &n.name,
                &format!(
                    "{}: lose it",
                    lines
                        .iter()
                        .map(|(t, _)| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                selected,
            ));
            let stroke = if n.has(Role::ControlPlane) {
                ACCENT
            } else {
                LINE_COLOR
            };
            let _ = write!(
                body,
                r#"<rect class="box" x="{x}" y="{y}" width="{col_w}" height="{h}" rx="6" fill="{}" stroke="{}" stroke-width="{}"{}/>"#,
                if down { LOST_FILL } else { "#ffffff" },
                if down { LINE_COLOR } else { stroke },
                if selected { 3 } else { 1 },
                if down {
                    r#" stroke-dasharray="5 3""#
                } else {
                    ""
                }
            );
            let mut ty = y + PAD;
            for (t, kind) in lines {
                let (fill, weight, family) = match kind {
                    _ if down => (MUTED, "normal", ""),
                    Kind::Name => (FG, "bold", ""),
                    Kind::Address => (FG, "normal", r#" font-family="ui-monospace, monospace""#),
                    Kind::Roles => (MUTED, "normal", ""),
                    Kind::Etcd => (OK, "bold", ""),
                    Kind::Vip => (ACCENT, "bold", ""),
                    Kind::Lost => (ERR, "bold", ""),
                };
                let _ = write!(
                    body,
                    r#"<text x="{}" y="{}" font-weight="{weight}" fill="{fill}"{family}{}>{}</text>"#,
                    x + PAD,
                    ty + FONT,
                    if down && *kind == Kind::Name {
                        r#" text-decoration="line-through""#
                    } else {
                        ""
                    },
                    esc(t)
                );
                ty += LINE;
            }
            body.push_str("</g>");
            y += h + 8;
        }
        bottom = bottom.max(y);
    }
    let height = bottom + MARGIN - 8;
    let title = format!(
        "Topology of cluster {}: {} nodes in {}, {} etcd members (quorum {})",
        plan.cluster_name,
        plan.nodes.len(),
        match zones.iter().flatten().count() {
            0 => "no zones".to_string(),
            1 => "1 zone".to_string(),
            z => format!("{z} zones"),
        },
        members.len(),
        quorum(members.len())
    );
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="group" aria-label="{}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="{FONT}" data-etcd-members="{}" data-etcd-quorum="{}" data-columns="{columns}">"#,
        esc(&title),
        members.len(),
        quorum(members.len())
    );
    let _ = write!(out, "<title>{}</title>", esc(&title));
    let _ = write!(
        out,
        r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

/// What a line of a node box says, for its color.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Address,
    Roles,
    Etcd,
    Vip,
    Lost,
}

fn node_lines(plan: &Plan, n: &Node, member: bool, vip: bool, down: bool) -> Vec<(String, Kind)> {
    let mut lines = Vec::new();
    let mut push = |text: &str, kind: Kind| {
        for l in wrap(text, BOX_CHARS) {
            lines.push((l, kind));
        }
    };
    push(&n.name, Kind::Name);
    push(&n.address.to_string(), Kind::Address);
    let mut roles = Vec::new();
    if n.has(Role::ControlPlane) {
        roles.push("control plane");
    }
    if n.has(Role::Worker) {
        roles.push("worker");
    }
    if !roles.is_empty() {
        push(&roles.join(" · "), Kind::Roles);
    }
    if member {
        push("etcd member", Kind::Etcd);
    } else if n.has(Role::Etcd) {
        push("etcd (not a member)", Kind::Roles);
    }
    let proxy = match plan.load_balancer.kind {
        LbType::HaproxyKeepalived if n.has(Role::ControlPlane) => Some("haproxy + keepalived"),
        LbType::Keepalived if n.has(Role::ControlPlane) => Some("keepalived"),
        LbType::KubeVip if n.has(Role::ControlPlane) => Some("kube-vip"),
        LbType::NginxLocal if n.has(Role::ControlPlane) || n.has(Role::Worker) => {
            Some("nginx (local API proxy)")
        }
        _ => None,
    };
    if let Some(p) = proxy {
        push(p, Kind::Roles);
    }
    if vip {
        push("holds the VIP", Kind::Vip);
    }
    if down {
        push("lost", Kind::Lost);
    }
    lines
}

fn zone_title(zone: Option<&str>) -> String {
    match zone {
        Some(z) => format!("zone {z}"),
        None => "no zone".to_string(),
    }
}

/// `after` is where the VIP is after a loss (`Some(None)`: nowhere), `None` without one.
fn endpoint_text(plan: &Plan, holder: Option<&Node>, after: Option<Option<&Node>>) -> Vec<String> {
    let ep = &plan.endpoint;
    let lb = plan.load_balancer.kind;
    let how = match lb {
        LbType::HaproxyKeepalived => "haproxy + keepalived",
        LbType::Keepalived => "keepalived",
        LbType::KubeVip => "kube-vip",
        LbType::NginxLocal => "nginx on every node",
        LbType::External => "external load balancer",
    };
    let mut lines = vec![format!("Endpoint {} ({how})", ep.address())];
    if let Some(vip) = &ep.vip {
        let holder = holder.filter(|_| lb.holds_vip());
        lines.push(match (holder, after) {
            (Some(h), Some(Some(now))) if now.name != h.name => {
                format!("VIP {} moved from {} to {}", vip.addr, h.name, now.name)
            }
            (Some(h), Some(None)) => format!("VIP {} lost (it was on {})", vip.addr, h.name),
            (Some(h), _) => format!("VIP {} on {}", vip.addr, h.name),
            (None, _) => format!("VIP {}", vip.addr),
        });
    }
    match lb {
        LbType::NginxLocal => lines.push("each node's nginx forwards to every API server".into()),
        LbType::External => {
            lines.push("it forwards to every API server (not managed by hagen)".into())
        }
        _ => {}
    }
    if plan.etcd == EtcdType::External {
        lines.push("etcd runs on its own nodes (external)".into());
    }
    lines
}

fn etcd_text(members: usize, row: Option<&Scenario>) -> String {
    match row {
        None => format!(
            "etcd: {members} members, quorum {}: survives the loss of {}",
            quorum(members),
            tolerated_failures(members)
        ),
        Some(r) => format!(
            "etcd: {} of {} members left, quorum {}: {}",
            r.etcd_left,
            r.etcd_members,
            r.etcd_quorum,
            if r.etcd_ok { "kept" } else { "LOST" }
        ),
    }
}

fn loss_text(r: &Scenario) -> Vec<String> {
    let what = match r.loss {
        Loss::Node => format!("node {}", r.name),
        Loss::Zone => format!("zone {} ({})", r.name, r.nodes_lost.join(", ")),
        Loss::VipHolder => format!("the VIP holder {}", r.name),
    };
    vec![
        format!("If we lose {what}:"),
        format!("{}; API servers left: {}.", r.note, r.api_servers_left),
        if r.survives {
            "The control plane survives.".to_string()
        } else {
            "The control plane does NOT survive.".to_string()
        },
    ]
}

/// The opening `<g>` of a button.
fn button(id: &str, loss: Loss, name: &str, label: &str, pressed: bool) -> String {
    format!(
        r#"<g id="{id}" class="dg-target" role="button" tabindex="0" aria-pressed="{pressed}" aria-label="{}" data-loss="{}" data-name="{}">"#,
        esc(label),
        loss_str(loss),
        esc(name)
    )
}

fn text_lines(out: &mut String, x: u32, y: u32, lines: &[String], fill: &str, bold: bool) {
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="{x}" y="{}" fill="{fill}"{}>{}</text>"#,
            y + FONT + i as u32 * LINE,
            if bold { r#" font-weight="bold""# } else { "" },
            esc(l)
        );
    }
}

/// Splits `text` into lines of at most `max` characters, at spaces where it can.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(8);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        let len = line.chars().count();
        if len > 0 && len + 1 + word.len() > max {
            lines.push(std::mem::take(&mut line));
        }
        while word.len() > max {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..max).collect());
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.extend(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Text escaped for XML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::topology::test_support::{THREE_CP, topology};
    use crate::source::SourceFile;

    fn draw(spec: &str, nodes: &[&str], lost: Option<Selection>) -> String {
        let c = crate::check(&SourceFile::new("t", topology(spec, nodes)));
        let plan = c.plan.expect("valid");
        svg(&plan, &c.what_if.unwrap_or_default(), lost.as_ref())
    }

    #[test]
    fn three_zones_three_columns_and_the_vip_holder() {
        let s = draw(
            "",
            &[
                "a1 10.0.0.11 control-plane a",
                "b1 10.0.0.12 control-plane b",
                "c1 10.0.0.13 control-plane c",
            ],
            None,
        );
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.contains(r#"data-columns="3""#) && s.contains(r#"data-etcd-quorum="2""#));
        for id in ["dg-node-0", "dg-node-2", "dg-zone-0", "dg-zone-2", "dg-vip"] {
            assert!(s.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert_eq!(s.matches(">holds the VIP<").count(), 1);
        assert!(s.contains(">VIP 10.0.0.100 on a1<"), "{s}");
    }

    #[test]
    fn losing_the_vip_holder_moves_it_and_losing_a_zone_greys_it() {
        let nodes = [
            "a1 10.0.0.11 control-plane a",
            "a2 10.0.0.12 control-plane a",
            "b1 10.0.0.13 control-plane b",
            "b2 10.0.0.14 control-plane b",
            "c1 10.0.0.15 control-plane c",
        ];
        let s = draw("", &nodes, Selection::parse("vip-holder", "a1"));
        assert!(s.contains("VIP moves to a2"), "{s}");
        assert!(s.contains(">VIP 10.0.0.100 moved from a1 to a2<"), "{s}");
        assert!(s.contains("etcd: 4 of 5 members left, quorum 3: kept"));
        assert!(s.contains(
            r#"id="dg-vip" class="dg-target" role="button" tabindex="0" aria-pressed="true""#
        ));
        let s = draw("", &nodes, Selection::parse("zone", "a"));
        assert!(
            s.contains("etcd: 3 of 5 members left, quorum 3: kept"),
            "{s}"
        );
        assert!(s.contains("VIP moves to b1"));
        assert_eq!(s.matches(">lost<").count(), 2);
        assert_eq!(s.matches(">holds the VIP<").count(), 1);
    }

    #[test]
    fn a_row_without_quorum_says_so() {
        let c = crate::check(&SourceFile::new("t", topology("", &THREE_CP)));
        let mut rows = c.what_if.unwrap();
        let row = rows.iter_mut().find(|r| r.name == "cp2").unwrap();
        (row.etcd_left, row.etcd_ok, row.survives) = (1, false, false);
        let s = svg(
            &c.plan.unwrap(),
            &rows,
            Selection::parse("node", "cp2").as_ref(),
        );
        assert!(
            s.contains("etcd: 1 of 3 members left, quorum 2: LOST"),
            "{s}"
        );
        assert!(s.contains("The control plane does NOT survive."));
    }

    #[test]
    fn no_zones_one_column_and_long_values_wrap() {
        let s = draw("", &THREE_CP, None);
        assert!(s.contains(r#"data-columns="1""#) && s.contains(">no zone<"));
        assert!(!s.contains("dg-zone-"));
        assert_eq!(wrap("abcdefghij", 8), ["abcdefgh", "ij"]);
        assert_eq!(wrap("one two three", 8), ["one two", "three"]);
        assert_eq!(esc("a<&\"'>"), "a&lt;&amp;&quot;&apos;&gt;");
    }
}
