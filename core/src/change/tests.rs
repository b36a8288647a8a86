use super::*;
use crate::rules::topology::test_support::topology;

fn plan(spec: &str, nodes: &[&str]) -> Plan {
    let text = topology(spec, nodes);
    let c = crate::check(&crate::source::SourceFile::new("t.yaml", text));
    c.plan.unwrap_or_else(|| panic!("{:#?}", c.diagnostics))
}

const M: [&str; 5] = [
    "m1 10.0.0.11 control-plane a",
    "m2 10.0.0.12 control-plane b",
    "m3 10.0.0.13 control-plane c",
    "m4 10.0.0.14 control-plane a",
    "m5 10.0.0.15 control-plane b",
];

fn actions(p: &ChangePlan) -> Vec<String> {
    p.steps
        .iter()
        .map(|s| format!("{} {}", s.action.name(), s.node))
        .collect()
}

#[test]
fn three_to_five_adds_learners_then_promotes() {
    let p = plan_change(&plan("", &M[..3]), &plan("", &M), &Options::default()).unwrap();
    assert_eq!(
        actions(&p)[..5],
        [
            "update-keepalived-peers m4",
            "add-learner m4",
            "join-control-plane m4",
            "promote-learner m4",
            "add-lb-backend m4"
        ]
    );
    assert!(same_cluster(&p.steps.last().unwrap().state, &p.target));
}

#[test]
fn dead_member_is_removed_before_the_replacement_joins() {
    let old = plan("", &M[..3]);
    let new = plan("", &[M[0], M[1], "m4 10.0.0.14 control-plane c"]);
    let opts = Options {
        dead: vec!["m3".into()],
        ..Options::default()
    };
    let p = plan_change(&old, &new, &opts).unwrap();
    let a = actions(&p);
    let removed = a.iter().position(|s| s == "remove-dead-member m3").unwrap();
    let added = a.iter().position(|s| s == "add-learner m4").unwrap();
    assert!(removed < added, "{a:?}");
    assert_eq!(a[0], "remove-lb-backend m3");
}

#[test]
fn two_of_three_dead_is_refused_with_the_arithmetic() {
    let old = plan("", &M[..3]);
    let opts = Options {
        dead: vec!["m2".into(), "m3".into()],
        ..Options::default()
    };
    let e = plan_change(&old, &old, &opts).unwrap_err().to_string();
    assert!(e.contains("2 of 3 etcd members are dead"), "{e}");
    assert!(
        e.contains("need 2 for quorum") && e.contains("snapshot"),
        "{e}"
    );
}

#[test]
fn shrinking_below_three_is_refused() {
    let e = plan_change(&plan("", &M[..3]), &plan("", &M[..1]), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("add before remove"), "{e}");
}

#[test]
fn address_change_in_place_is_refused() {
    let new = plan("", &[M[0], M[1], "m3 10.0.0.23 control-plane c"]);
    let e = plan_change(&plan("", &M[..3]), &new, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("--dead m3"), "{e}");
}

#[test]
fn the_checker_catches_a_backend_added_with_its_api_server() {
    let p = plan_change(&plan("", &M[..3]), &plan("", &M), &Options::default()).unwrap();
    let mut steps = p.steps.clone();
    let join = steps
        .iter()
        .position(|s| s.action == Action::JoinControlPlane)
        .unwrap();
    steps[join].state.lb_backends.push("m4".into());
    let v = check_steps(&p.initial, &steps).unwrap_err();
    assert_eq!(v.rule, "LB backend added only after /readyz");
}

#[test]
fn renewal_restarts_one_member_at_a_time_out_of_the_lb() {
    let p3 = plan("", &M[..3]);
    let opts = Options {
        renew: true,
        ..Options::default()
    };
    let p = plan_change(&p3, &p3, &opts).unwrap();
    assert!(p.renew);
    let a = actions(&p);
    assert_eq!(
        a[..3],
        [
            "remove-lb-backend m1",
            "renew-control-plane m1",
            "add-lb-backend m1"
        ]
    );
    // Two members restarting in one step would leave 1 of 3 up.
    let mut steps = p.steps.clone();
    steps[1].restarts.push("m2".into());
    let v = check_steps(&p.initial, &steps).unwrap_err();
    assert_eq!(v.rule, "quorum while a member restarts");
    // Renewing together with a node change is refused.
    let e = plan_change(&p3, &plan("", &M), &opts).unwrap_err();
    assert!(matches!(e, Refusal::Unsupported { .. }), "{e}");
}

#[test]
fn the_checker_catches_a_dead_member_left_while_a_learner_is_added() {
    let old = plan("", &M[..3]);
    let new = plan("", &[M[0], M[1], "m4 10.0.0.14 control-plane c"]);
    let opts = Options {
        dead: vec!["m3".into()],
        ..Options::default()
    };
    let p = plan_change(&old, &new, &opts).unwrap();
    // Drop the removal of the dead member: the learner is then added beside it.
    let mut steps: Vec<Step> = p
        .steps
        .iter()
        .filter(|s| s.action != Action::RemoveDeadMember)
        .cloned()
        .collect();
    for s in &mut steps {
        if !s.state.etcd_members.contains(&"m3".to_string()) {
            s.state.etcd_members.insert(0, "m3".into());
            s.state.dead.push("m3".into());
        }
    }
    let v = check_steps(&p.initial, &steps).unwrap_err();
    assert!(
        v.rule == "dead members are removed before anyone is added" || v.rule == "quorum",
        "{v}"
    );
}
