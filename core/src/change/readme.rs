//! The plan as a runbook (`PLAN_DIR/README.md`): every step in order with where it runs,
//! the check before, the commands, the check after, the rollback and the state it leaves.

use super::{ChangePlan, State};
use crate::rules::topology::quorum;
use std::fmt::Write;

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "—".to_string()
    } else {
        v.join(", ")
    }
}

/// One line of state: what a reader checks the cluster against.
pub fn state_line(s: &State) -> String {
    let voters = s.etcd_members.len();
    let mut line = format!(
        "etcd voting: {} ({} up, quorum {}); learners: {}; API servers: {}",
        list(&s.etcd_members),
        s.members_up(),
        quorum(voters),
        list(&s.etcd_learners),
        list(&s.api_servers),
    );
    if !s.lb_backends.is_empty() {
        let _ = write!(line, "; LB backends: {}", list(&s.lb_backends));
    }
    if !s.keepalived_peers.is_empty() {
        let running: Vec<String> = s.keepalived_peers.keys().cloned().collect();
        let _ = write!(line, "; keepalived on: {}", list(&running));
    }
    if !s.dead.is_empty() {
        let _ = write!(line, "; dead: {}", list(&s.dead));
    }
    line
}

/// The runbook.
pub fn readme(plan: &ChangePlan, cluster: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Change plan for {cluster}\n");
    let _ = writeln!(
        o,
        "Made by `hagen plan`. Run the steps in order, one at a time: do not start a step\n\
         until its check before holds, and do not go on until its check after does. Every\n\
         step's state was checked: etcd keeps quorum among the members that are up, one\n\
         voting change per step, dead members leave before anyone joins, new members join\n\
         as learners and are promoted, a load balancer sends only to API servers that answer\n\
         `/readyz`, and every keepalived knows a node before it starts keepalived.\n\n\
         Commands run on the node named above them; `admin` is the machine that holds this\n\
         directory (run them from inside it). `hagen-etcdctl` is in every control plane's\n\
         bundle (`/usr/local/bin`), with this cluster's endpoints and certificates.\n"
    );
    let _ = writeln!(o, "Before: {}\n", state_line(&plan.initial));
    let _ = writeln!(o, "After:  {}\n", state_line(&plan.target));
    if plan.rotate_ca {
        let _ = writeln!(o, "{}\n", super::rotate::RUNBOOK_INTRO);
    }
    for w in &plan.warnings {
        let _ = writeln!(o, "**Warning**: {w}\n");
    }
    if plan.steps.is_empty() {
        let _ = writeln!(
            o,
            "Nothing to do: the cluster already matches the new topology."
        );
    }
    let _ = writeln!(o, "## Steps\n");
    for s in &plan.steps {
        let _ = writeln!(o, "{}. [{}](#{}) — {}", s.number, s.id, s.id, s.summary);
    }
    let _ = writeln!(o);
    for s in &plan.steps {
        let _ = writeln!(o, "### {}\n", s.id);
        let _ = writeln!(o, "{}\n", s.summary);
        if let Some(g) = &s.gap {
            let _ = writeln!(
                o,
                "**Expected gap: about {} s** ({}): {}\n",
                g.seconds,
                match g.what {
                    super::endpoint::GapKind::ApiServer => "the API is down",
                    super::endpoint::GapKind::Vip => "the VIP answers nowhere",
                },
                g.why
            );
        }
        if !s.files.is_empty() {
            let nodes: Vec<String> = s.files.keys().cloned().collect();
            let _ = writeln!(
                o,
                "Files: `steps/{}/nodes/<name>/` for {}\n",
                s.id,
                nodes.join(", ")
            );
        }
        let _ = writeln!(o, "**Check before**\n");
        for c in &s.check_before {
            let _ = writeln!(o, "- {c}");
        }
        let _ = writeln!(o, "\n**Run**\n\n```sh");
        let mut on = "";
        for c in &s.commands {
            if c.on != on {
                let _ = writeln!(o, "# on {}", c.on);
                on = &c.on;
            }
            let _ = writeln!(o, "{}", c.run);
        }
        let _ = writeln!(o, "```\n\n**Check after**\n");
        for c in &s.check_after {
            let _ = writeln!(o, "- {c}");
        }
        let _ = writeln!(o, "\n**Rollback**\n");
        for c in &s.rollback {
            let _ = writeln!(o, "- {c}");
        }
        let _ = writeln!(o, "\n**State after**: {}\n", state_line(&s.state));
    }
    let kept = if plan.rotate_ca {
        "the new CAs and every certificate they issued; the service-account keys kept"
    } else {
        "the CA and every key that still fits kept"
    };
    let _ = writeln!(
        o,
        "## When every step is done\n\n`bundle/` is the new topology's bundle ({kept}): keep it as the\n\
         old bundle of the next change."
    );
    o
}
