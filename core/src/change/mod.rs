//! Day-2 changes (`hagen plan`): the old topology's plan, the new one and the nodes
//! known dead in; ordered steps out, each with its commands, the checks around it, its
//! rollback and the state it leaves (voting etcd members, learners, API servers serving,
//! load-balancer backends, keepalived peer lists). Pure: no I/O, no clock.
//!
//! * [`plan_change`] orders the steps, or refuses a change it cannot make safely
//!   ([`Refusal`], with the quorum arithmetic and what to do instead).
//! * [`check_steps`] is the safety checker, run on every plan before it is returned (and
//!   by the property tests): quorum among the members up after every step (the what-if
//!   engine's [`quorum`]), one voting change per step, dead members removed before anyone
//!   is added, new voters only by promoting a learner, LB backends only serving API
//!   servers, keepalived peer lists that know every running node.
//! * [`endpoint`] plans a new endpoint or load-balancer type (single node → HA) before the
//!   node changes; the outages it cannot avoid are declared on their step ([`Step::gap`])
//!   and checked by [`check_steps`] too.
//! * [`files`] renders the files of every step and the final bundle with the existing
//!   renderer, the PKI kept from the old bundle.
//! * [`readme`] writes the plan as a runbook.
//! * [`rotate`] plans and makes the files of a CA rotation (`--rotate-ca`).

pub mod endpoint;
pub mod files;
pub mod readme;
pub mod rotate;

pub use rotate::Phase;

use crate::plan::{Node, Plan};
use crate::rules::topology::{quorum, tolerated_failures};
use crate::topology::{EtcdType, LbType, Role};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the operator asked for beside the two topologies.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Nodes of the old topology that are dead (powered off, disk gone).
    pub dead: Vec<String>,
    /// `--rotate-ca`.
    pub rotate_ca: bool,
    /// `--renew`.
    pub renew: bool,
}

/// Why a change is not planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Planning it would leave a state without quorum or break another safety rule.
    #[error("unsafe: {reason}\n  instead: {instead}")]
    Unsafe {
        /// What goes wrong, with the arithmetic.
        reason: String,
        /// What to do instead.
        instead: String,
    },
    /// A change `hagen plan` does not plan (yet).
    #[error("not supported: {what}\n  instead: {instead}")]
    Unsupported {
        /// The change.
        what: String,
        /// What to do instead.
        instead: String,
    },
    /// A request that names something that does not exist (`--dead` of an unknown node).
    #[error("{0}")]
    Usage(String),
}

/// The cluster as a step leaves it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Voting etcd members.
    pub etcd_members: Vec<String>,
    /// etcd learners (non-voting).
    pub etcd_learners: Vec<String>,
    /// Nodes known dead and not yet removed (voting members among them count as down).
    pub dead: Vec<String>,
    /// API servers serving.
    pub api_servers: Vec<String>,
    /// API servers the load balancer sends to (empty where the LB has no backend list).
    pub lb_backends: Vec<String>,
    /// For every node running keepalived, the peers its configuration lists.
    pub keepalived_peers: BTreeMap<String, Vec<String>>,
    /// Workers joined.
    pub workers: Vec<String>,
}

impl State {
    /// The voting members that are up.
    pub fn members_up(&self) -> usize {
        self.etcd_members
            .iter()
            .filter(|m| !self.dead.contains(m))
            .count()
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Take an API server out of the load balancer's backends (reload, never restart).
    RemoveLbBackend,
    /// `etcdctl member remove` of a member that is dead.
    RemoveDeadMember,
    /// Rewrite and reload keepalived on the running nodes with a new peer list.
    UpdateKeepalivedPeers,
    /// Delete a dead node's Node object.
    DeleteNode,
    /// `etcdctl member add --learner`.
    AddLearner,
    /// Install and join a new control plane (`kubeadm join --control-plane`).
    JoinControlPlane,
    /// Start a new external etcd member (as a learner).
    StartEtcdMember,
    /// `etcdctl member promote`.
    PromoteLearner,
    /// Put an API server that answers `/readyz` into the load balancer's backends.
    AddLbBackend,
    /// Install and join a worker.
    JoinWorker,
    /// Drain, delete and reset a worker.
    RemoveWorker,
    /// `etcdctl member remove` of a healthy member, then reset its node.
    RemoveMember,
    /// Stop and reset a control plane whose etcd is elsewhere (external etcd).
    RemoveControlPlane,
    /// Regenerate an API server's static pod (new `--etcd-servers`): it restarts.
    RestartApiServer,
    /// Install a control plane's renewed certificates and restart its static pods.
    RenewControlPlane,
    /// Install an external etcd member's renewed certificates and restart it.
    RenewEtcdMember,
    /// Install the final bundle's load-balancer and keepalived files where the steps
    /// left them in another order (the new topology orders the nodes differently).
    Converge,
    /// Endpoint change: start the new proxy (haproxy, nginx) beside the old endpoint.
    StartProxy,
    /// Endpoint change: set up the new external load balancer (instructions).
    ExternalLoadBalancer,
    /// Endpoint change: start the announcer of a new VIP (keepalived, kube-vip).
    StartVip,
    /// Endpoint change: stage the new VIP announcer's files without starting it.
    StageVip,
    /// Endpoint change: rewrite and reload keepalived (same VIP, new check).
    ReconfigureKeepalived,
    /// Install an API server certificate with new SANs and restart kube-apiserver.
    ReissueServingCert,
    /// Endpoint change: point a node's kubeconfigs at the new endpoint.
    SwitchKubeconfigs,
    /// Endpoint change: the `cluster-info`, `kubeadm-config` and `kube-proxy` ConfigMaps.
    UpdateClusterConfigMaps,
    /// Endpoint change: the old VIP announcer stops, the new one takes the same VIP.
    HandOverVip,
    /// Endpoint change: stop the old proxy / announcer / external LB nobody dials now.
    RetireLoadBalancer,
    /// CA rotation: an external etcd member's CA files (and, in the second phase, its
    /// certificates); it restarts.
    RotateEtcdMember,
    /// CA rotation: a control plane's CA files, kubeconfigs (and, in the second phase,
    /// CA keys and leaves); its static pods restart.
    RotateControlPlane,
    /// CA rotation: a worker's ca.crt and kubelet.conf; its kubelet restarts.
    RotateWorker,
    /// CA rotation: the `cluster-info` ConfigMap's CA data (what joining nodes trust).
    UpdateClusterInfo,
    /// CA rotation: restart the workloads that read `kube-root-ca.crt`.
    RestartWorkloads,
    /// CA rotation: the bootstrap token the kubelets get their new client certificates with.
    CreateBootstrapToken,
    /// CA rotation: a kubelet gets a client certificate from the new CA (TLS bootstrap).
    RebootstrapKubelet,
}

impl Action {
    /// The kebab-case name (`add-learner`).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One command and where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// A node name, or `admin` (the machine holding the plan directory and kubectl).
    pub on: String,
    /// Shell text.
    pub run: String,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// 1-based.
    pub number: usize,
    /// `NN-action-node`: the directory under `steps/`.
    pub id: String,
    /// What it does.
    pub action: Action,
    /// The node it is about.
    pub node: String,
    /// One line for people.
    pub summary: String,
    /// What must be true before it starts.
    pub check_before: Vec<String>,
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// What proves it worked.
    pub check_after: Vec<String>,
    /// How to undo it.
    pub rollback: Vec<String>,
    /// The nodes that get files in `steps/<id>/nodes/`, and which.
    pub files: BTreeMap<String, FileSet>,
    /// Nodes whose API server or etcd member restarts inside the step: an API server
    /// must not be an LB backend before it, an etcd member is down meanwhile.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restarts: Vec<String>,
    /// An outage the step cannot avoid, declared ([`endpoint::Gap`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<endpoint::Gap>,
    /// The CA rotation phase the step belongs to (`--rotate-ca` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The state after the step.
    #[serde(flatten)]
    pub state: State,
}

/// Which files a node gets at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileSet {
    /// haproxy.cfg / nginx.conf with the step's backends.
    LbConfig,
    /// keepalived.conf and its check script with the step's peers.
    Keepalived,
    /// The node's whole overlay (a joining node).
    Overlay,
    /// kubeadm-config.yaml (its `etcd.external.endpoints`).
    KubeadmConfig,
    /// The node's renewed certificates and kubeconfigs (`--renew`).
    Renewed,
    /// The final bundle's haproxy / nginx / keepalived files.
    Final,
    /// keepalived.conf and its check script listing every running control plane, for a
    /// keepalived that is not started yet.
    KeepalivedStaged,
    /// The kube-vip static pod manifest.
    KubeVip,
    /// The kube-vip manifest outside `manifests/` (`etc/kubernetes/kube-vip.yaml`).
    KubeVipStaged,
    /// apiserver.crt with the SANs of both endpoints.
    TransitionCert,
    /// The final bundle's apiserver.crt.
    ServingCert,
    /// The node's kubeconfigs (`etc/kubernetes/*.conf`) for the new endpoint.
    Kubeconfigs,
    /// CA rotation, first and last phase: the node's CA files (both CAs, then the new
    /// one alone), kubeconfigs and kubelet.conf.
    CaTrust,
    /// CA rotation, second phase: the node's certificates from the new CAs (with the new
    /// CA keys on control planes), both CAs still trusted.
    CaReissued,
    /// CA rotation: `bootstrap-kubelet.conf` (bootstrap token, both CAs).
    KubeletBootstrap,
    /// CA rotation: the `cluster-info` ConfigMap patch.
    ClusterInfo,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePlan {
    /// Format version of plan.json.
    pub version: u32,
    /// The state before the first step.
    pub initial: State,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The state the new topology describes (equal to the last step's).
    pub target: State,
    /// Things the operator must know (no failure tolerated meanwhile, …).
    pub warnings: Vec<String>,
    /// A certificate renewal (`--renew`): the final bundle re-issues every leaf.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub renew: bool,
    /// A CA rotation (`--rotate-ca`): the final bundle has new CAs and new leaves.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rotate_ca: bool,
}

/// True if the load balancer keeps a list of API servers to forward to.
pub fn has_backends(lb: LbType) -> bool {
    matches!(
        lb,
        LbType::HaproxyKeepalived | LbType::NginxLocal | LbType::External
    )
}

/// True if keepalived runs on the control planes with unicast peers.
pub fn has_keepalived(lb: LbType) -> bool {
    matches!(lb, LbType::HaproxyKeepalived | LbType::Keepalived)
}

fn names<'a>(nodes: impl Iterator<Item = &'a Node>) -> Vec<String> {
    nodes.map(|n| n.name.clone()).collect()
}

fn workers(plan: &Plan) -> Vec<String> {
    names(
        plan.nodes
            .iter()
            .filter(|n| n.has(Role::Worker) && !n.has(Role::ControlPlane)),
    )
}

/// The state a plan describes when every node is up.
pub fn state_of(plan: &Plan) -> State {
    let cps = names(plan.control_planes());
    let mut keepalived_peers = BTreeMap::new();
    if has_keepalived(plan.load_balancer.kind) {
        for c in &cps {
            keepalived_peers.insert(c.clone(), cps.iter().filter(|p| *p != c).cloned().collect());
        }
    }
    State {
        etcd_members: names(plan.etcd_members()),
        etcd_learners: Vec::new(),
        dead: Vec::new(),
        api_servers: cps.clone(),
        lb_backends: if has_backends(plan.load_balancer.kind) {
            cps
        } else {
            Vec::new()
        },
        keepalived_peers,
        workers: workers(plan),
    }
}

/// Two states are the same cluster (list order aside).
pub fn same_cluster(a: &State, b: &State) -> bool {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let peers = |s: &State| -> BTreeMap<String, Vec<String>> {
        s.keepalived_peers
            .iter()
            .map(|(k, v)| (k.clone(), sorted(v)))
            .collect()
    };
    sorted(&a.etcd_members) == sorted(&b.etcd_members)
        && sorted(&a.etcd_learners) == sorted(&b.etcd_learners)
        && sorted(&a.dead) == sorted(&b.dead)
        && sorted(&a.api_servers) == sorted(&b.api_servers)
        && sorted(&a.lb_backends) == sorted(&b.lb_backends)
        && peers(a) == peers(b)
        && sorted(&a.workers) == sorted(&b.workers)
}

/// A safety rule a sequence of steps breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {step} ({action} {node}): {rule}: {detail}")]
pub struct Violation {
    /// The step's number.
    pub step: usize,
    /// Its action.
    pub action: String,
    /// Its node.
    pub node: String,
    /// The rule.
    pub rule: &'static str,
    /// The numbers.
    pub detail: String,
}

/// Checks every state of `steps`, starting from `initial`: the safety properties of the
/// module documentation. Returns the first violation.
pub fn check_steps(initial: &State, steps: &[Step]) -> Result<(), Violation> {
    let mut before = initial;
    for step in steps {
        let after = &step.state;
        let fail = |rule: &'static str, detail: String| Violation {
            step: step.number,
            action: step.action.name(),
            node: step.node.clone(),
            rule,
            detail,
        };
        let voters = after.etcd_members.len();
        let up = after.members_up();
        if voters == 0 || up < quorum(voters) {
            return Err(fail(
                "quorum",
                format!(
                    "{up} of {voters} voting members up, quorum needs {}",
                    quorum(voters)
                ),
            ));
        }
        let down_during = before
            .etcd_members
            .iter()
            .filter(|m| step.restarts.contains(m) && !before.dead.contains(m))
            .count();
        if down_during > 0 {
            let voters = before.etcd_members.len();
            let up = before.members_up() - down_during;
            if down_during > 1 || up < quorum(voters) {
                return Err(fail(
                    "quorum while a member restarts",
                    format!(
                        "{up} of {voters} voting members up during the restart, quorum needs {}",
                        quorum(voters)
                    ),
                ));
            }
        }
        let gained: Vec<&String> = after
            .etcd_members
            .iter()
            .filter(|m| !before.etcd_members.contains(m))
            .collect();
        let lost = before
            .etcd_members
            .iter()
            .filter(|m| !after.etcd_members.contains(m))
            .count();
        if gained.len() + lost > 1 {
            return Err(fail(
                "one voting change per step",
                format!("{} added and {lost} removed", gained.len()),
            ));
        }
        for g in &gained {
            if !before.etcd_learners.contains(g) {
                return Err(fail(
                    "voters come from learners",
                    format!("{g} became a voter without being a learner first"),
                ));
            }
        }
        let new_learner = after
            .etcd_learners
            .iter()
            .any(|l| !before.etcd_learners.contains(l));
        let dead_voters: Vec<&String> = before
            .etcd_members
            .iter()
            .filter(|m| before.dead.contains(m))
            .collect();
        if (new_learner || !gained.is_empty()) && !dead_voters.is_empty() {
            return Err(fail(
                "dead members are removed before anyone is added",
                format!("{dead_voters:?} still voting while a member is added"),
            ));
        }
        for b in &after.lb_backends {
            if !after.api_servers.contains(b) && !after.dead.contains(b) {
                return Err(fail(
                    "LB backends are serving API servers",
                    format!("{b} is a backend but its API server is not serving"),
                ));
            }
            if !before.lb_backends.contains(b) && !before.api_servers.contains(b) {
                return Err(fail(
                    "LB backend added only after /readyz",
                    format!("{b} became a backend in the step its API server started"),
                ));
            }
        }
        if let Some(v) = endpoint::check_gap(step, before) {
            return Err(fail(v.0, v.1));
        }
        let serving = |s: &State| s.lb_backends.iter().any(|b| !s.dead.contains(b));
        if serving(before) && !serving(after) && !endpoint::retires_backend_list(step) {
            return Err(fail(
                "the load balancer keeps a backend",
                "the step takes the last serving API server out of the load balancer".into(),
            ));
        }
        for a in &before.api_servers {
            let stops = !after.api_servers.contains(a) || step.restarts.contains(a);
            if stops && before.lb_backends.contains(a) {
                return Err(fail(
                    "LB backend removed before its API server stops",
                    format!("{a} stops while the load balancer still sends to it"),
                ));
            }
        }
        for (n, peers) in &after.keepalived_peers {
            for m in after.keepalived_peers.keys() {
                if m != n && !peers.contains(m) {
                    return Err(fail(
                        "keepalived peers know every running node",
                        format!("{n}'s peer list lacks {m}, which runs keepalived"),
                    ));
                }
            }
            if !before.keepalived_peers.contains_key(n) {
                for (o, theirs) in &before.keepalived_peers {
                    if !theirs.contains(n) {
                        return Err(fail(
                            "keepalived peers learn a node before it starts",
                            format!("{n} started keepalived before {o} listed it"),
                        ));
                    }
                }
            }
        }
        before = after;
    }
    Ok(())
}

/// The nodes of both plans: the old ones in their order (the new definition where a name
/// is in both), then the new ones.
pub fn union_nodes(old: &Plan, new: &Plan) -> Vec<Node> {
    let mut out: Vec<Node> = old
        .nodes
        .iter()
        .map(|n| {
            new.nodes
                .iter()
                .find(|m| m.name == n.name)
                .unwrap_or(n)
                .clone()
        })
        .collect();
    for n in &new.nodes {
        if !out.iter().any(|o| o.name == n.name) {
            out.push(n.clone());
        }
    }
    out
}

fn settings_differ(old: &Plan, new: &Plan) -> Vec<&'static str> {
    let mut d = Vec::new();
    let mut check = |differ: bool, what: &'static str| {
        if differ {
            d.push(what);
        }
    };
    check(old.cluster_name != new.cluster_name, "metadata.name");
    check(old.version != new.version, "kubernetesVersion");
    check(
        old.load_balancer.kind != new.load_balancer.kind,
        "loadBalancer.type",
    );
    check(old.endpoint != new.endpoint, "controlPlaneEndpoint");
    check(old.bind_port != new.bind_port, "apiServer.bindPort");
    check(old.cert_sans != new.cert_sans, "apiServer.certSANs");
    check(
        old.load_balancer.virtual_router_id != new.load_balancer.virtual_router_id
            || old.load_balancer.auth_pass != new.load_balancer.auth_pass
            || old.load_balancer.interface != new.load_balancer.interface
            || old.load_balancer.kube_vip_image != new.load_balancer.kube_vip_image,
        "loadBalancer settings",
    );
    check(old.etcd != new.etcd, "etcd.type");
    check(
        old.pod_subnet != new.pod_subnet
            || old.service_subnets != new.service_subnets
            || old.dns_domain != new.dns_domain,
        "networking",
    );
    check(
        old.key_algorithm != new.key_algorithm
            || old.cert_validity_days != new.cert_validity_days
            || old.ca_validity_days != new.ca_validity_days,
        "pki",
    );
    d
}

fn instead_for(fields: &[&str]) -> &'static str {
    // The endpoint and the load-balancer type are planned (`endpoint`), never listed here.
    let field = ["etcd.type"]
        .into_iter()
        .find(|f| fields.contains(f))
        .unwrap_or("");
    match field {
        "etcd.type" => {
            "moving between stacked and external etcd is a migration (snapshot, restore): not planned"
        }
        _ => {
            "keep these settings equal in both topologies and plan node changes alone; make the other change with `hagen render` into a copy of the bundle"
        }
    }
}

/// Plans the change from `old` to `new`, or refuses it.
pub fn plan_change(old: &Plan, new: &Plan, opts: &Options) -> Result<ChangePlan, Refusal> {
    if opts.rotate_ca {
        rotate::refuse_with_other_changes(old, new, opts)?;
    }
    if opts.renew && (old != new || !opts.dead.is_empty()) {
        return Err(Refusal::Unsupported {
            what: "--renew together with a change of the topology or --dead".into(),
            instead: "plan the node change first, run it, then plan the renewal from its bundle with the same topology on both sides".into(),
        });
    }
    for d in &opts.dead {
        if !old.nodes.iter().any(|n| &n.name == d) {
            return Err(Refusal::Usage(format!(
                "--dead {d}: the old topology has no node named `{d}`"
            )));
        }
    }
    // An endpoint or load-balancer change is made first, on the old nodes: after it, the
    // cluster is `base` (the old nodes with the new endpoint), planned on from there.
    let adopted = endpoint::adopted(old, new, opts)?;
    let base = adopted.as_ref().unwrap_or(old);
    let differ = settings_differ(base, new);
    if !differ.is_empty() {
        return Err(Refusal::Unsupported {
            what: format!(
                "the topologies differ in {} (hagen plan plans node changes: add, remove, replace, dead members)",
                differ.join(", ")
            ),
            instead: instead_for(&differ).into(),
        });
    }
    let is_dead = |n: &str| opts.dead.iter().any(|d| d == n);
    for n in &new.nodes {
        if let Some(o) = old.nodes.iter().find(|o| o.name == n.name)
            && (o.address != n.address || o.roles != n.roles)
            && !is_dead(&n.name)
        {
            return Err(Refusal::Unsupported {
                what: format!(
                    "node {} changes its {} in place",
                    n.name,
                    if o.roles != n.roles {
                        "roles"
                    } else {
                        "address"
                    }
                ),
                instead: format!(
                    "give the new machine a new name (it is added, then {} removed), or, if {} is dead, pass --dead {}",
                    n.name, n.name, n.name
                ),
            });
        }
    }

    let initial = {
        let mut s = state_of(old);
        s.dead = opts.dead.clone();
        s.api_servers.retain(|a| !is_dead(a));
        s.keepalived_peers.retain(|k, _| !is_dead(k));
        s
    };
    let target = state_of(new);

    // The arithmetic first: without quorum nothing can be changed online.
    let voters = initial.etcd_members.len();
    let up = initial.members_up();
    if up < quorum(voters) {
        let dead_members: Vec<&String> =
            initial.etcd_members.iter().filter(|m| is_dead(m)).collect();
        return Err(Refusal::Unsafe {
            reason: format!(
                "{} of {voters} etcd members are dead ({}): {up} left, and {voters} members need {} for quorum, so etcd accepts no write and no `member remove`; no online change can fix it",
                dead_members.len(),
                dead_members
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                quorum(voters)
            ),
            instead: "restore from a snapshot: stop etcd everywhere, `etcdutl snapshot restore` the latest snapshot on one survivor with itself alone in --initial-cluster, start it (quorum 1 of 1), then write that single-member topology as the old one and plan the growth with `hagen plan`".into(),
        });
    }
    let healthy_removed = old
        .etcd_members()
        .any(|m| !is_dead(&m.name) && !new.etcd_members().any(|n| n.name == m.name && n == m));
    let final_voters = target.etcd_members.len();
    if healthy_removed && final_voters < 3 && final_voters < voters {
        return Err(Refusal::Unsafe {
            reason: format!(
                "the new topology ends with {final_voters} etcd member(s), removing healthy ones from {voters}: {final_voters} member(s) need {} for quorum and tolerate {} failure(s), so one more loss stops the cluster",
                quorum(final_voters),
                tolerated_failures(final_voters)
            ),
            instead: "keep at least 3 members: to replace a member, add the new one first (learner, promote), then remove the old one (add before remove); to go down to one node on purpose, take a snapshot and restore it on that node".into(),
        });
    }

    let mut b = Builder {
        old: base,
        new,
        union: union_nodes(base, new),
        state: initial.clone(),
        steps: Vec::new(),
        warnings: Vec::new(),
        phase: None,
    };
    if opts.rotate_ca {
        b.run_rotate()?;
    } else if opts.renew {
        b.run_renew()?;
    } else {
        if adopted.is_some() {
            b.change_endpoint(old);
        }
        b.run(opts)?;
        if adopted.is_some() {
            b.finish_endpoint(old);
        }
        b.converge();
    }
    let steps = b.steps;
    let warnings = b.warnings;
    if let Err(v) = check_steps(&initial, &steps) {
        return Err(Refusal::Unsafe {
            reason: format!("the only order hagen knows breaks a safety rule: {v}"),
            instead: "split the change into smaller ones (one node at a time) and plan each".into(),
        });
    }
    let last = steps.last().map_or(&initial, |s| &s.state);
    if !same_cluster(last, &target) {
        return Err(Refusal::Unsupported {
            what: "the steps hagen can make do not reach the new topology".into(),
            instead: "split the change into smaller ones".into(),
        });
    }
    Ok(ChangePlan {
        version: 1,
        initial,
        steps,
        target,
        warnings,
        renew: opts.renew,
        rotate_ca: opts.rotate_ca,
    })
}

struct Builder<'p> {
    old: &'p Plan,
    new: &'p Plan,
    union: Vec<Node>,
    state: State,
    steps: Vec<Step>,
    warnings: Vec<String>,
    /// The CA rotation phase the steps emitted now belong to.
    phase: Option<Phase>,
}

/// A step before it is numbered.
struct Draft {
    action: Action,
    node: String,
    summary: String,
    check_before: Vec<String>,
    commands: Vec<Command>,
    check_after: Vec<String>,
    rollback: Vec<String>,
    files: BTreeMap<String, FileSet>,
    restarts: Vec<String>,
}

/// The refusal for a change that restarts the only API server.
fn only_api_server(to: &str) -> Refusal {
    Refusal::Unsafe {
        reason: format!(
            "to {to}, the only API server restarts: the API is down meanwhile, and the load balancer has no other backend"
        ),
        instead: "add a second control plane first (plan it alone), then this change".into(),
    }
}

/// etcd's `--strict-reconfig-check` (on by default) refuses a member change until every
/// voting member has been connected for 5 s; the real-etcd test meets it.
const STRICT_RECONFIG: &str = "every voting member has been up and connected for at least 5 s (etcd's strict reconfiguration check answers `etcdserver: unhealthy cluster` otherwise: wait and run the command again)";

fn cmd(on: &str, run: impl Into<String>) -> Command {
    Command {
        on: on.to_string(),
        run: run.into(),
    }
}

fn member_id(name: &str) -> String {
    format!("$(hagen-etcdctl member list | awk -F', ' '$3 == \"{name}\" {{print $1}}')")
}

fn remove(v: &mut Vec<String>, name: &str) {
    v.retain(|x| x != name);
}

fn push(v: &mut Vec<String>, name: &str) {
    if !v.iter().any(|x| x == name) {
        v.push(name.to_string());
    }
}

impl Builder<'_> {
    fn node(&self, name: &str) -> &Node {
        self.union
            .iter()
            .find(|n| n.name == name)
            .expect("a node of the union")
    }

    fn lb(&self) -> LbType {
        self.new.load_balancer.kind
    }

    fn stacked(&self) -> bool {
        self.new.etcd == EtcdType::Stacked
    }

    fn emit(&mut self, d: Draft) {
        let number = self.steps.len() + 1;
        let id = format!("{number:02}-{}-{}", d.action.name(), d.node);
        let commands = d
            .commands
            .into_iter()
            .map(|c| Command {
                on: c.on,
                run: c.run.replace("steps/$STEP/", &format!("steps/{id}/")),
            })
            .collect();
        self.steps.push(Step {
            number,
            id,
            action: d.action,
            node: d.node,
            summary: d.summary,
            check_before: d.check_before,
            commands,
            check_after: d.check_after,
            rollback: d.rollback,
            files: d.files,
            restarts: d.restarts,
            gap: None,
            phase: self.phase,
            state: self.state.clone(),
        });
    }

    /// A healthy control plane to run etcdctl and kubectl on (not `but`).
    fn operator(&self, but: &str) -> String {
        self.state
            .api_servers
            .iter()
            .find(|a| *a != but && self.node(a).has(Role::ControlPlane))
            .cloned()
            .unwrap_or_else(|| "admin".to_string())
    }

    /// An etcd member that is up, to run etcdctl on (stacked: a control plane;
    /// external: an etcd node).
    fn etcd_runner(&self, but: &str) -> String {
        if self.stacked() {
            return self.operator(but);
        }
        self.state
            .etcd_members
            .iter()
            .find(|m| *m != but && !self.state.dead.contains(m))
            .cloned()
            .unwrap_or_else(|| "admin".to_string())
    }

    fn health_check(&self) -> String {
        let voters = self.state.etcd_members.len();
        format!(
            "`hagen-etcdctl endpoint health --cluster` on {}: every member but the dead ones healthy; {} of {voters} voting members up, quorum {}",
            self.etcd_runner(""),
            self.state.members_up(),
            quorum(voters)
        )
    }

    /// Nodes that read an LB backend list from a file.
    fn lb_file_nodes(&self) -> Vec<String> {
        let running = |n: &Node| {
            self.state.api_servers.contains(&n.name) || self.state.workers.contains(&n.name)
        };
        match self.lb() {
            LbType::HaproxyKeepalived => self.state.api_servers.clone(),
            LbType::NginxLocal => self
                .union
                .iter()
                .filter(|n| running(n))
                .map(|n| n.name.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    fn lb_reload(&self, files: &mut BTreeMap<String, FileSet>, cmds: &mut Vec<Command>) {
        let (file, check, service) = match self.lb() {
            LbType::HaproxyKeepalived => (
                "/etc/haproxy/haproxy.cfg",
                "haproxy -c -f /etc/haproxy/haproxy.cfg",
                "haproxy",
            ),
            LbType::NginxLocal => ("/etc/nginx/nginx.conf", "nginx -t", "nginx"),
            _ => return,
        };
        for n in self.lb_file_nodes() {
            files.insert(n.clone(), FileSet::LbConfig);
            cmds.push(cmd(
                "admin",
                format!(
                    "rsync -a steps/$STEP/nodes/{n}/ root@{}:/   # {file}",
                    self.node(&n).address
                ),
            ));
            cmds.push(cmd(
                &n,
                format!("{check} && systemctl reload {service}   # reload, never restart"),
            ));
        }
    }

    fn lb_step(&mut self, name: &str, add: bool) {
        if !has_backends(self.lb()) {
            return;
        }
        if add == self.state.lb_backends.iter().any(|b| b == name) {
            return;
        }
        if add {
            push(&mut self.state.lb_backends, name);
        } else {
            remove(&mut self.state.lb_backends, name);
        }
        let addr = self.node(name).at(self.new.bind_port);
        let mut files = BTreeMap::new();
        let mut commands = Vec::new();
        if self.lb() == LbType::External {
            commands.push(cmd(
                "admin",
                format!(
                    "{} {addr} {} the external load balancer's pool (its own console or API)",
                    if add { "add" } else { "remove" },
                    if add { "to" } else { "from" }
                ),
            ));
        } else {
            self.lb_reload(&mut files, &mut commands);
        }
        let readyz = format!("curl -fsS --cacert /etc/kubernetes/pki/ca.crt https://{addr}/readyz");
        let backends = self.state.lb_backends.join(", ");
        let (action, summary, before, after, rollback) = if add {
            (
                Action::AddLbBackend,
                format!("put {name}'s API server into the load balancer (backends: {backends})"),
                vec![format!("`{readyz}` prints `ok` (from any control plane)")],
                vec![format!(
                    "the load balancer lists {name} as UP (haproxy: `echo 'show servers state' | socat stdio /run/haproxy/admin.sock`, or its stats page); `kubectl get --raw /readyz` through the endpoint answers `ok`"
                )],
                vec![format!(
                    "put back the previous step's {} and reload",
                    self.lb_file_name()
                )],
            )
        } else {
            (
                Action::RemoveLbBackend,
                format!(
                    "take {name} out of the load balancer before its API server stops (backends: {backends})"
                ),
                vec![format!(
                    "the remaining backends ({backends}) answer /readyz: `curl -fsS --cacert /etc/kubernetes/pki/ca.crt https://<each>:{}/readyz`",
                    self.new.bind_port
                )],
                vec![format!(
                    "the load balancer no longer lists {name}; `kubectl get --raw /readyz` through the endpoint answers `ok`"
                )],
                vec![format!(
                    "put back the previous {} and reload",
                    self.lb_file_name()
                )],
            )
        };
        self.emit(Draft {
            action,
            node: name.to_string(),
            summary,
            check_before: before,
            commands,
            check_after: after,
            rollback,
            files,
            restarts: Vec::new(),
        });
    }

    fn lb_file_name(&self) -> &'static str {
        match self.lb() {
            LbType::NginxLocal => "nginx.conf",
            LbType::External => "pool",
            _ => "haproxy.cfg",
        }
    }

    /// Rewrites every running keepalived's peer list to the running nodes plus `extra`.
    fn peers_step(&mut self, name: &str, adding: bool) {
        if !has_keepalived(self.lb()) || self.state.keepalived_peers.is_empty() {
            return;
        }
        let running: Vec<String> = self.state.keepalived_peers.keys().cloned().collect();
        let mut set: Vec<String> = running.clone();
        if adding {
            push(&mut set, name);
        } else {
            remove(&mut set, name);
        }
        let mut files = BTreeMap::new();
        let mut commands = Vec::new();
        for n in &running {
            if n == name {
                continue;
            }
            let peers: Vec<String> = set.iter().filter(|p| *p != n).cloned().collect();
            self.state.keepalived_peers.insert(n.clone(), peers);
            files.insert(n.clone(), FileSet::Keepalived);
            commands.push(cmd(
                "admin",
                format!(
                    "rsync -a steps/$STEP/nodes/{n}/ root@{}:/   # /etc/keepalived/",
                    self.node(n).address
                ),
            ));
            commands.push(cmd(
                n,
                "keepalived --config-test -f /etc/keepalived/keepalived.conf && systemctl reload keepalived",
            ));
        }
        if files.is_empty() {
            return;
        }
        self.emit(Draft {
            action: Action::UpdateKeepalivedPeers,
            node: name.to_string(),
            summary: if adding {
                format!("every running keepalived learns {name} before it starts keepalived")
            } else {
                format!("every running keepalived forgets {name}")
            },
            check_before: vec![
                "`ip -br addr` shows the VIP on exactly one control plane".into(),
            ],
            commands,
            check_after: vec![
                "`journalctl -u keepalived -n 20` on each: reloaded, no `Unknown keyword`; the VIP is still on one node only".into(),
            ],
            rollback: vec!["put back the previous keepalived.conf and reload".into()],
            files,
            restarts: Vec::new(),
        });
    }

    fn remove_dead(&mut self, name: &str) {
        let node = self.node(name).clone();
        let cp = self
            .old
            .nodes
            .iter()
            .any(|n| n.name == name && n.has(Role::ControlPlane));
        if cp {
            self.lb_step(name, false);
        }
        if self.state.etcd_members.iter().any(|m| m == name) {
            let runner = self.etcd_runner(name);
            let voters = self.state.etcd_members.len();
            let up = self.state.members_up();
            let check_before = vec![
                self.health_check(),
                format!(
                    "after the removal: {} voting members, {up} up, quorum {} — removing a dead member never lowers the members up, and adding first would raise the quorum to {} with {up} up",
                    voters - 1,
                    quorum(voters - 1),
                    quorum(voters + 1)
                ),
                format!(
                    "{name} is really down: it must never come back with its old data (wipe /var/lib/etcd on it if it does)"
                ),
            ];
            remove(&mut self.state.etcd_members, name);
            remove(&mut self.state.dead, name);
            self.emit(Draft {
                action: Action::RemoveDeadMember,
                node: name.to_string(),
                summary: format!(
                    "remove dead member {name} from etcd first (members {voters} → {})",
                    voters - 1
                ),
                check_before,
                commands: vec![
                    cmd(&runner, "hagen-etcdctl member list -w table"),
                    cmd(&runner, format!("hagen-etcdctl member remove {}", member_id(name))),
                ],
                check_after: vec![format!(
                    "`hagen-etcdctl member list` no longer shows {name}; `hagen-etcdctl endpoint health --cluster` all healthy"
                )],
                rollback: vec![format!(
                    "none needed: {name} was dead; if it was removed by mistake, wipe its /var/lib/etcd and add it back as a learner (`member add {name} --peer-urls={} --learner`)",
                    node.etcd_peer_url()
                )],
                files: BTreeMap::new(),
                restarts: Vec::new(),
            });
        }
        if cp {
            self.peers_step(name, false);
        }
        let op = self.operator(name);
        let was_worker = self.state.workers.iter().any(|w| w == name);
        remove(&mut self.state.dead, name);
        remove(&mut self.state.workers, name);
        if !cp && !was_worker {
            // An external etcd host has no Node object.
            return;
        }
        self.emit(Draft {
            action: Action::DeleteNode,
            node: name.to_string(),
            summary: format!("delete dead node {name}'s Node object"),
            check_before: vec![format!("`kubectl get node {name}` shows NotReady")],
            commands: vec![cmd(
                &op,
                format!("kubectl delete node {name} --kubeconfig /etc/kubernetes/admin.conf"),
            )],
            check_after: vec![format!(
                "`kubectl get nodes` does not list {name}; its pods are rescheduled"
            )],
            rollback: vec![format!(
                "none: the machine is gone; a {} with the same name joins again from a clean disk",
                if was_worker { "worker" } else { "node" }
            )],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn add_learner(&mut self, name: &str) {
        let node = self.node(name).clone();
        let runner = self.etcd_runner(name);
        let check_before = vec![
            self.health_check(),
            "no member is dead or unstarted (`hagen-etcdctl member list`: every member `started`)"
                .into(),
            STRICT_RECONFIG.into(),
        ];
        push(&mut self.state.etcd_learners, name);
        self.emit(Draft {
            action: Action::AddLearner,
            node: name.to_string(),
            summary: format!(
                "add {name} to etcd as a learner: it does not vote, so the quorum stays {}",
                quorum(self.state.etcd_members.len())
            ),
            check_before,
            commands: vec![cmd(
                &runner,
                format!(
                    "hagen-etcdctl member add {name} --peer-urls={} --learner",
                    node.etcd_peer_url()
                ),
            )],
            check_after: vec![format!(
                "`hagen-etcdctl member list` shows {name} `unstarted`, IS LEARNER true"
            )],
            rollback: vec![format!("hagen-etcdctl member remove {}", member_id(name))],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn promote(&mut self, name: &str) {
        let runner = self.etcd_runner(name);
        let voters = self.state.etcd_members.len();
        let check_before = vec![
            format!(
                "`hagen-etcdctl endpoint status --cluster -w table`: {name}'s RAFT INDEX has caught up with the leader's (etcd refuses to promote a learner that is behind: kubernetes/kubeadm#2997; wait and retry)"
            ),
            self.health_check(),
        ];
        remove(&mut self.state.etcd_learners, name);
        push(&mut self.state.etcd_members, name);
        self.emit(Draft {
            action: Action::PromoteLearner,
            node: name.to_string(),
            summary: format!(
                "promote learner {name} to a voting member (members {voters} → {}, quorum {} → {})",
                voters + 1,
                quorum(voters),
                quorum(voters + 1)
            ),
            check_before,
            commands: vec![cmd(
                &runner,
                format!("hagen-etcdctl member promote {}", member_id(name)),
            )],
            check_after: vec![
                format!("`hagen-etcdctl member list` shows {name} started, IS LEARNER false"),
                "`hagen-etcdctl endpoint health --cluster`: every member healthy".into(),
            ],
            rollback: vec![format!(
                "demotion does not exist: remove it (`hagen-etcdctl member remove {}`), then reset the node",
                member_id(name)
            )],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn join_control_plane(&mut self, name: &str) {
        let node = self.node(name).clone();
        let stacked = self.stacked();
        if has_keepalived(self.lb()) {
            self.peers_step(name, true);
        }
        if stacked {
            self.add_learner(name);
        }
        let mut check_before = vec![format!(
            "{name} is installed (container runtime, kubelet, kubeadm {}) and reaches the endpoint {}",
            self.new.version,
            self.new.endpoint.address()
        )];
        if stacked {
            check_before.push(format!(
                "`hagen-etcdctl member list` shows {name} as an unstarted learner"
            ));
        }
        if has_keepalived(self.lb()) {
            check_before.push(format!(
                "every running keepalived lists {} in unicast_peer (previous step)",
                node.address
            ));
        }
        push(&mut self.state.api_servers, name);
        if has_keepalived(self.lb()) {
            let peers: Vec<String> = self
                .state
                .keepalived_peers
                .keys()
                .filter(|k| *k != name)
                .cloned()
                .collect();
            self.state.keepalived_peers.insert(name.to_string(), peers);
        }
        let mut files = BTreeMap::new();
        files.insert(name.to_string(), FileSet::Overlay);
        let mut commands = vec![cmd(
            "admin",
            format!("rsync -a steps/$STEP/nodes/{name}/ root@{}:/", node.address),
        )];
        commands.push(cmd(
            name,
            "kubeadm join --config /etc/kubernetes/kubeadm-config.yaml",
        ));
        match self.lb() {
            LbType::HaproxyKeepalived => {
                commands.push(cmd(name, "systemctl enable --now haproxy keepalived"));
            }
            LbType::Keepalived => commands.push(cmd(name, "systemctl enable --now keepalived")),
            LbType::NginxLocal => commands.push(cmd(name, "systemctl enable --now nginx")),
            _ => {}
        }
        let mut check_after = vec![
            format!(
                "`curl -fsS --cacert /etc/kubernetes/pki/ca.crt https://{}/readyz` prints `ok`",
                node.at(self.new.bind_port)
            ),
            format!("`kubectl get node {name}` Ready"),
        ];
        if stacked {
            check_after.push(format!(
                "`hagen-etcdctl member list` shows {name} started (still a learner unless kubeadm's EtcdLearnerMode promoted it already: then the next step only checks)"
            ));
        }
        self.emit(Draft {
            action: Action::JoinControlPlane,
            node: name.to_string(),
            summary: format!(
                "join {name} as a control plane{}; it is not a load-balancer backend yet",
                if stacked {
                    " (its etcd starts as the learner)"
                } else {
                    ""
                }
            ),
            check_before,
            commands,
            check_after,
            rollback: vec![
                format!("on {name}: `kubeadm reset -f`"),
                if stacked {
                    format!(
                        "on a control plane: `hagen-etcdctl member remove {}`",
                        member_id(name)
                    )
                } else {
                    "nothing in etcd to undo".to_string()
                },
                format!("`kubectl delete node {name}`"),
            ],
            files,
            restarts: Vec::new(),
        });
        if stacked {
            self.promote(name);
        }
        self.lb_step(name, true);
    }

    fn start_etcd_member(&mut self, name: &str) {
        let node = self.node(name).clone();
        self.add_learner(name);
        let mut files = BTreeMap::new();
        files.insert(name.to_string(), FileSet::Overlay);
        self.emit(Draft {
            action: Action::StartEtcdMember,
            node: name.to_string(),
            summary: format!("start etcd on {name}: it joins the existing cluster as the learner"),
            check_before: vec![
                format!("`hagen-etcdctl member list` shows {name} as an unstarted learner"),
                format!("{name} has etcd installed and an empty /var/lib/etcd"),
            ],
            commands: vec![
                cmd(
                    "admin",
                    format!("rsync -a steps/$STEP/nodes/{name}/ root@{}:/", node.address),
                ),
                cmd(name, "systemctl daemon-reload && systemctl enable --now etcd"),
            ],
            check_after: vec![format!(
                "`hagen-etcdctl member list` shows {name} started, IS LEARNER true; `journalctl -u etcd` shows no `x509` error"
            )],
            rollback: vec![
                format!("on {name}: `systemctl disable --now etcd && rm -rf /var/lib/etcd`"),
                format!("`hagen-etcdctl member remove {}`", member_id(name)),
            ],
            files,
            restarts: Vec::new(),
        });
        self.promote(name);
    }

    fn join_worker(&mut self, name: &str) {
        let node = self.node(name).clone();
        push(&mut self.state.workers, name);
        let mut files = BTreeMap::new();
        files.insert(name.to_string(), FileSet::Overlay);
        let mut commands = vec![cmd(
            "admin",
            format!("rsync -a steps/$STEP/nodes/{name}/ root@{}:/", node.address),
        )];
        if self.lb() == LbType::NginxLocal {
            commands.push(cmd(name, "systemctl enable --now nginx"));
        }
        commands.push(cmd(
            name,
            "kubeadm join --config /etc/kubernetes/kubeadm-config.yaml",
        ));
        self.emit(Draft {
            action: Action::JoinWorker,
            node: name.to_string(),
            summary: format!("join worker {name}"),
            check_before: vec![format!(
                "{name} is installed (container runtime, kubelet, kubeadm {}) and reaches {}",
                self.new.version,
                self.new.endpoint.address()
            )],
            commands,
            check_after: vec![format!("`kubectl get node {name}` Ready")],
            rollback: vec![
                format!("on {name}: `kubeadm reset -f`"),
                format!("`kubectl delete node {name}`"),
            ],
            files,
            restarts: Vec::new(),
        });
    }

    fn remove_worker(&mut self, name: &str) {
        let op = self.operator(name);
        remove(&mut self.state.workers, name);
        let mut commands = vec![
            cmd(
                &op,
                format!("kubectl drain {name} --ignore-daemonsets --delete-emptydir-data"),
            ),
            cmd(&op, format!("kubectl delete node {name}")),
            cmd(name, "kubeadm reset -f"),
        ];
        if self.lb() == LbType::NginxLocal {
            commands.push(cmd(name, "systemctl disable --now nginx"));
        }
        self.emit(Draft {
            action: Action::RemoveWorker,
            node: name.to_string(),
            summary: format!("drain and remove worker {name}"),
            check_before: vec![format!(
                "the other workers have room for {name}'s pods (PodDisruptionBudgets allow the drain)"
            )],
            commands,
            check_after: vec![format!("`kubectl get nodes` does not list {name}")],
            rollback: vec![format!(
                "join it again with its files from the old bundle (`kubeadm join --config /etc/kubernetes/kubeadm-config.yaml`)"
            )],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn remove_control_plane(&mut self, name: &str) {
        let stacked = self.stacked();
        self.lb_step(name, false);
        let op = self.operator(name);
        let runner = self.etcd_runner(name);
        let voters = self.state.etcd_members.len();
        let mut check_before = vec![format!(
            "the load balancer no longer sends to {name} (previous step)"
        )];
        let mut commands = vec![cmd(
            &op,
            format!("kubectl drain {name} --ignore-daemonsets --delete-emptydir-data"),
        )];
        if stacked {
            check_before.push(self.health_check());
            check_before.push(format!(
                "after the removal: {} voting members, all up, quorum {}",
                voters - 1,
                quorum(voters - 1)
            ));
            check_before.push(STRICT_RECONFIG.into());
            check_before.push(format!(
                "{name} is not the etcd leader (`hagen-etcdctl endpoint status --cluster -w table`); if it is: `hagen-etcdctl move-leader <id of another member>`"
            ));
            commands.push(cmd(
                &runner,
                format!("hagen-etcdctl member remove {}", member_id(name)),
            ));
            remove(&mut self.state.etcd_members, name);
        }
        commands.push(cmd(name, "kubeadm reset -f"));
        match self.lb() {
            LbType::HaproxyKeepalived => {
                commands.push(cmd(name, "systemctl disable --now keepalived haproxy"));
            }
            LbType::Keepalived => commands.push(cmd(name, "systemctl disable --now keepalived")),
            LbType::NginxLocal => commands.push(cmd(name, "systemctl disable --now nginx")),
            _ => {}
        }
        commands.push(cmd(&op, format!("kubectl delete node {name}")));
        remove(&mut self.state.api_servers, name);
        self.state.keepalived_peers.remove(name);
        let mut check_after = vec![format!("`kubectl get nodes` does not list {name}")];
        if stacked {
            check_after.push(format!(
                "`hagen-etcdctl member list` does not show {name}; `hagen-etcdctl endpoint health --cluster` all healthy"
            ));
        }
        self.emit(Draft {
            action: if stacked {
                Action::RemoveMember
            } else {
                Action::RemoveControlPlane
            },
            node: name.to_string(),
            summary: if stacked {
                format!(
                    "remove {name}'s etcd member (members {voters} → {}) and reset it (`kubeadm reset` alone often leaves the member: kubernetes/kubernetes#81071)",
                    voters - 1
                )
            } else {
                format!("stop and reset control plane {name}")
            },
            check_before,
            commands,
            check_after,
            rollback: vec![format!(
                "{name} joins again as a new control plane (learner, promote, backend) from the old bundle's files"
            )],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
        self.peers_step(name, false);
    }

    fn remove_etcd_member(&mut self, name: &str) {
        let runner = self.etcd_runner(name);
        let voters = self.state.etcd_members.len();
        let check_before = vec![
            self.health_check(),
            format!(
                "after the removal: {} voting members, all up, quorum {}",
                voters - 1,
                quorum(voters - 1)
            ),
            "every API server's --etcd-servers lists the remaining members only (earlier steps)"
                .into(),
            STRICT_RECONFIG.into(),
        ];
        remove(&mut self.state.etcd_members, name);
        self.emit(Draft {
            action: Action::RemoveMember,
            node: name.to_string(),
            summary: format!("remove etcd member {name} (members {voters} → {})", voters - 1),
            check_before,
            commands: vec![
                cmd(&runner, format!("hagen-etcdctl member remove {}", member_id(name))),
                cmd(name, "systemctl disable --now etcd && mv /var/lib/etcd /var/lib/etcd.removed"),
            ],
            check_after: vec![format!(
                "`hagen-etcdctl member list` does not show {name}; `endpoint health --cluster` all healthy"
            )],
            rollback: vec![format!(
                "add it back as a new learner from a clean data directory, then promote"
            )],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    /// External etcd: every kept API server gets the new `--etcd-servers`, one at a time,
    /// out of the load balancer while it restarts.
    fn repoint_api_server(&mut self, name: &str) {
        self.lb_step(name, false);
        let node = self.node(name).clone();
        let mut files = BTreeMap::new();
        files.insert(name.to_string(), FileSet::KubeadmConfig);
        let op = self.operator(name);
        let endpoints: Vec<String> = self
            .new
            .etcd_members()
            .map(|m| m.etcd_client_url())
            .collect();
        self.emit(Draft {
            action: Action::RestartApiServer,
            node: name.to_string(),
            summary: format!("point {name}'s API server at the new etcd members"),
            check_before: vec![format!("the load balancer does not send to {name}")],
            commands: vec![
                cmd(&op, format!("kubectl -n kube-system edit configmap kubeadm-config   # etcd.external.endpoints: {}", endpoints.join(","))),
                cmd(
                    "admin",
                    format!("rsync -a steps/$STEP/nodes/{name}/ root@{}:/", node.address),
                ),
                cmd(name, "kubeadm upgrade node phase control-plane"),
            ],
            check_after: vec![format!(
                "`grep etcd-servers /etc/kubernetes/manifests/kube-apiserver.yaml` on {name} lists {}; /readyz answers `ok`",
                endpoints.join(",")
            )],
            rollback: vec!["put back the previous kube-apiserver.yaml (kubeadm keeps it in /etc/kubernetes/tmp)".into()],
            files,
            restarts: vec![name.to_string()],
        });
        self.lb_step(name, true);
    }

    /// The nodes of both topologies that run now: API servers and workers.
    fn running_nodes(&self) -> Vec<String> {
        self.union
            .iter()
            .filter(|n| {
                self.state.api_servers.contains(&n.name) || self.state.workers.contains(&n.name)
            })
            .map(|n| n.name.clone())
            .collect()
    }

    /// The refusal of a change that restarts every etcd member in turn (`doing` says
    /// how often) when fewer than 3 vote: one restarting member takes the quorum away.
    fn members_restart(&self, doing: &str, instead: &str) -> Result<(), Refusal> {
        let voters = self.state.etcd_members.len();
        if voters >= 3 {
            return Ok(());
        }
        Err(Refusal::Unsafe {
            reason: format!(
                "{doing}; with {voters} member(s) the quorum is {} and one restarting member takes it away",
                quorum(voters)
            ),
            instead: instead.into(),
        })
    }

    /// `--renew`: one node at a time, each out of the load balancer while its static
    /// pods restart; a stacked member is down meanwhile, so quorum must hold without it.
    fn run_renew(&mut self) -> Result<(), Refusal> {
        self.members_restart(
            "renewing restarts every etcd member in turn",
            "renew in a maintenance window (`kubeadm certs renew all`, then restart the static pods), or grow to 3 members first with `hagen plan`",
        )?;
        let voters = self.state.etcd_members.len();
        if !self.stacked() {
            let members = self.state.etcd_members.clone();
            for m in members {
                let node = self.node(&m).clone();
                let mut files = BTreeMap::new();
                files.insert(m.clone(), FileSet::Renewed);
                self.emit(Draft {
                    action: Action::RenewEtcdMember,
                    node: m.clone(),
                    summary: format!("renew etcd member {m}'s certificates and restart it (kubeadm does not track external etcd's: kubernetes/kubeadm#1992)"),
                    check_before: vec![
                        self.health_check(),
                        format!(
                            "while {m} restarts: {} of {voters} voting members up, quorum {}",
                            voters - 1,
                            quorum(voters)
                        ),
                    ],
                    commands: vec![
                        cmd("admin", format!("rsync -a steps/$STEP/nodes/{m}/ root@{}:/   # /etc/etcd/pki", node.address)),
                        cmd(&m, "systemctl restart etcd"),
                    ],
                    check_after: vec![
                        format!("`openssl x509 -noout -enddate -in /etc/etcd/pki/server.crt` on {m} shows the new date"),
                        "`hagen-etcdctl endpoint health --cluster`: every member healthy".into(),
                    ],
                    rollback: vec!["put back the previous /etc/etcd/pki (same keys, same CA) and restart etcd".into()],
                    files,
                    restarts: vec![m.clone()],
                });
            }
        }
        let cps = self.state.api_servers.clone();
        if cps.len() < 2 {
            return Err(only_api_server("renew its certificates"));
        }
        for c in cps {
            self.lb_step(&c, false);
            let node = self.node(&c).clone();
            let mut files = BTreeMap::new();
            files.insert(c.clone(), FileSet::Renewed);
            let mut check_before = vec![format!("the load balancer does not send to {c}")];
            if self.stacked() {
                check_before.push(self.health_check());
                check_before.push(format!(
                    "while {c}'s etcd restarts: {} of {voters} voting members up, quorum {}",
                    voters - 1,
                    quorum(voters)
                ));
            }
            self.emit(Draft {
                action: Action::RenewControlPlane,
                node: c.clone(),
                summary: format!("install {c}'s renewed certificates and kubeconfigs (super-admin.conf too, where it is), restart its static pods"),
                check_before,
                commands: vec![
                    cmd("admin", format!("rsync -a steps/$STEP/nodes/{c}/ root@{}:/   # /etc/kubernetes/pki, *.conf", node.address)),
                    cmd(&c, "mkdir -p /etc/kubernetes/manifests.off && mv /etc/kubernetes/manifests/*.yaml /etc/kubernetes/manifests.off/"),
                    cmd(&c, "sleep 20   # kubelet stops the static pods"),
                    cmd(&c, "mv /etc/kubernetes/manifests.off/*.yaml /etc/kubernetes/manifests/"),
                ],
                check_after: vec![
                    format!("`kubeadm certs check-expiration` on {c} shows the new dates"),
                    format!(
                        "`curl -fsS --cacert /etc/kubernetes/pki/ca.crt https://{}/readyz` prints `ok`",
                        node.at(self.new.bind_port)
                    ),
                    "`kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes` works with the renewed admin.conf".into(),
                ],
                rollback: vec!["put back the previous pki/ and *.conf (same keys, same CA) and restart the static pods the same way".into()],
                files,
                restarts: vec![c.clone()],
            });
            self.lb_step(&c, true);
        }
        self.warnings.push("kubelet.conf is not renewed here: the kubelet rotates its own client certificate (check `kubeadm certs check-expiration` and /var/lib/kubelet/pki on every node)".into());
        Ok(())
    }

    /// The steps render the nodes in the order of both topologies (old ones first, so a
    /// new keepalived joins with the lowest priority); where the new topology orders its
    /// control planes otherwise, one last step installs the final bundle's files.
    fn converge(&mut self) {
        let lb = self.lb();
        if !has_backends(lb) && !has_keepalived(lb) || lb == LbType::External {
            return;
        }
        let final_cps = names(self.new.control_planes());
        let union_cps: Vec<String> = self
            .union
            .iter()
            .filter(|n| final_cps.contains(&n.name))
            .map(|n| n.name.clone())
            .collect();
        if union_cps == final_cps {
            return;
        }
        let mut targets: Vec<String> = self.lb_file_nodes();
        for k in self.state.keepalived_peers.keys() {
            push(&mut targets, k);
        }
        let mut files = BTreeMap::new();
        let mut commands = Vec::new();
        for n in &targets {
            files.insert(n.clone(), FileSet::Final);
            commands.push(cmd(
                "admin",
                format!(
                    "rsync -a steps/$STEP/nodes/{n}/ root@{}:/",
                    self.node(n).address
                ),
            ));
            let mut reload = Vec::new();
            if self.state.keepalived_peers.contains_key(n) {
                reload.push(
                    "keepalived --config-test -f /etc/keepalived/keepalived.conf && systemctl reload keepalived",
                );
            }
            match lb {
                LbType::HaproxyKeepalived => reload
                    .push("haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload haproxy"),
                LbType::NginxLocal => reload.push("nginx -t && systemctl reload nginx"),
                _ => {}
            }
            for r in reload {
                commands.push(cmd(n, r));
            }
        }
        self.emit(Draft {
            action: Action::Converge,
            node: "all".into(),
            summary: format!(
                "install the final bundle's load-balancer files: the new topology orders the control planes {} (the steps used {}); keepalived priorities follow that order",
                final_cps.join(", "),
                union_cps.join(", ")
            ),
            check_before: vec!["every earlier step's check after holds".into()],
            commands,
            check_after: vec![
                "the VIP is on exactly one node (`ip -br addr`), the one the new topology lists first once it is up; `kubectl get --raw /readyz` through the endpoint answers `ok`".into(),
                "`hagen lint --topology bundle/topology.yaml` over the nodes' /etc finds nothing".into(),
            ],
            rollback: vec!["put back the previous step's files and reload".into()],
            files,
            restarts: Vec::new(),
        });
    }

    fn run(&mut self, opts: &Options) -> Result<(), Refusal> {
        let old = self.old;
        let new = self.new;
        let is_dead = |n: &str| opts.dead.iter().any(|d| d == n);
        let in_new = |n: &Node| new.nodes.iter().any(|m| m == n);
        let in_old = |n: &Node| !is_dead(&n.name) && old.nodes.iter().any(|m| m == n);
        // 1. The dead, first: their members lower nothing but the quorum's margin.
        for n in &old.nodes {
            if is_dead(&n.name) {
                self.remove_dead(&n.name);
            }
        }
        let added: Vec<Node> = new.nodes.iter().filter(|n| !in_old(n)).cloned().collect();
        let removed: Vec<Node> = old
            .nodes
            .iter()
            .filter(|n| !is_dead(&n.name) && !in_new(n))
            .cloned()
            .collect();
        if self.state.etcd_members.len() == 1
            && added.iter().any(|n| new.etcd_members().any(|m| m == n))
        {
            self.warnings.push("etcd grows from one member: while it has two, neither may fail (quorum 2 of 2); go on to the third without a pause".into());
        }
        // 2. Additions before removals: external etcd members, control planes, workers.
        if !self.stacked() {
            for n in added.iter().filter(|n| n.has(Role::Etcd)) {
                self.start_etcd_member(&n.name);
            }
        }
        for n in added.iter().filter(|n| n.has(Role::ControlPlane)) {
            self.join_control_plane(&n.name);
        }
        for n in added
            .iter()
            .filter(|n| !n.has(Role::ControlPlane) && n.has(Role::Worker))
        {
            self.join_worker(&n.name);
        }
        let etcd_changed = names(old.etcd_members()) != names(new.etcd_members());
        if !self.stacked() && etcd_changed {
            let kept: Vec<String> = old
                .control_planes()
                .filter(|c| in_new(c) && !is_dead(&c.name))
                .map(|c| c.name.clone())
                .collect();
            if kept.len() == 1 && self.state.api_servers.len() == 1 {
                return Err(only_api_server("point it at the new etcd members"));
            }
            for c in kept {
                self.repoint_api_server(&c);
            }
        }
        // 3. Removals.
        for n in removed
            .iter()
            .filter(|n| !n.has(Role::ControlPlane) && n.has(Role::Worker))
        {
            self.remove_worker(&n.name);
        }
        for n in removed.iter().filter(|n| n.has(Role::ControlPlane)) {
            self.remove_control_plane(&n.name);
        }
        if !self.stacked() {
            for n in removed.iter().filter(|n| n.has(Role::Etcd)) {
                self.remove_etcd_member(&n.name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
