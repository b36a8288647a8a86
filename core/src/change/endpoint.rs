//! Endpoint and load-balancer changes: single node → HA (a new VIP or DNS name in front
//! of the one API server), a new `loadBalancer.type`, a new endpoint name or port.
//!
//! The change is made first, on the nodes the cluster has, so that the node changes that
//! follow (the ordinary plan) start from `adopted` (the old nodes with the new endpoint):
//!
//! 1. the new endpoint comes up beside the old one: the new proxy node by node, the new
//!    VIP's announcer (or its files staged, when it takes over the same VIP), the external
//!    load balancer as instructions;
//! 2. API server certificates that lack the new names are re-issued with the names of
//!    both endpoints (one API server only: its restart is a declared [`Gap`]; with more,
//!    the change is refused and the way round said);
//! 3. every kubeconfig, then the `cluster-info`, `kubeadm-config` and `kube-proxy`
//!    ConfigMaps, move to the new endpoint;
//! 4. a VIP that changes announcer is handed over (the one other declared [`Gap`]: two
//!    announcers of one VIP would flap its ARP entry);
//! 5. what nobody dials any more is retired;
//!
//! and, after the node changes, certificates that still carry the old names get the final
//! bundle's, one API server at a time.

use super::files::FilesError;
use super::{
    Action, Builder, Command, Draft, FileSet, Options, Refusal, State, Step, cmd, has_backends,
    push,
};
use crate::bundle::{Bundle, File, paths};
use crate::pki::spec::apiserver_sans;
use crate::pki::{Entropy, Existing, Pki, generate};
use crate::plan::{Node, Plan};
use crate::topology::{LbType, Role};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// An outage a step cannot avoid, said with its length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// What is unreachable meanwhile.
    pub what: GapKind,
    /// How long, about, in seconds.
    pub seconds: u32,
    /// Why it cannot be avoided.
    pub why: String,
}

/// What a [`Gap`] interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapKind {
    /// The only API server restarts: the API is down.
    ApiServer,
    /// The VIP changes announcer: it answers nowhere meanwhile.
    Vip,
}

/// The proxy in front of the API servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proxy {
    None,
    Haproxy,
    Nginx,
    External,
}

fn proxy(lb: LbType) -> Proxy {
    match lb {
        LbType::HaproxyKeepalived => Proxy::Haproxy,
        LbType::NginxLocal => Proxy::Nginx,
        LbType::External => Proxy::External,
        _ => Proxy::None,
    }
}

/// What announces the VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Announcer {
    None,
    Keepalived,
    KubeVip,
}

fn announcer(lb: LbType) -> Announcer {
    match lb {
        LbType::HaproxyKeepalived | LbType::Keepalived => Announcer::Keepalived,
        LbType::KubeVip => Announcer::KubeVip,
        _ => Announcer::None,
    }
}

fn vip(p: &Plan) -> Option<IpAddr> {
    p.endpoint.vip.map(|v| v.addr)
}

/// The first words of every refusal of this module (the property tests know them).
pub const REFUSED: &str = "endpoint change:";

fn unsupported(what: impl Into<String>, instead: impl Into<String>) -> Refusal {
    Refusal::Unsupported {
        what: format!("{REFUSED} {}", what.into()),
        instead: instead.into(),
    }
}

/// True if `node`'s API server certificate under `old` already names everything the
/// new topology's names.
fn covers(old: &Plan, new: &Plan, node: &Node) -> bool {
    let have = apiserver_sans(old, node);
    apiserver_sans(new, node).iter().all(|s| have.contains(s))
}

/// `new` whose API server certificates also carry the old endpoint's names: the
/// certificate a lone API server gets while clients still dial the old endpoint.
pub fn transition_plan(old: &Plan, new: &Plan) -> Plan {
    let mut p = new.clone();
    let names = [
        old.endpoint.dns.clone(),
        vip(old).map(|v| v.to_string()),
        Some(old.endpoint.host().to_string()),
    ];
    for n in names.into_iter().flatten() {
        push(&mut p.cert_sans, &n);
    }
    p
}

/// `Some(the old nodes with the new endpoint and load balancer)` when the endpoint or the
/// load-balancer type changes and the change can be planned; `None` when neither changes.
pub fn adopted(old: &Plan, new: &Plan, opts: &Options) -> Result<Option<Plan>, Refusal> {
    let lb_o = old.load_balancer.kind;
    let lb_n = new.load_balancer.kind;
    if old.endpoint == new.endpoint && lb_o == lb_n {
        return Ok(None);
    }
    let what = format!(
        "{} ({}) → {} ({})",
        old.endpoint.address(),
        lb_o.as_str(),
        new.endpoint.address(),
        lb_n.as_str()
    );
    if !opts.dead.is_empty() {
        return Err(unsupported(
            format!("{what} together with dead nodes"),
            "plan the dead nodes' removal first with the endpoint you have, run it, then plan the endpoint change from its bundle",
        ));
    }
    let (ao, an) = (announcer(lb_o), announcer(lb_n));
    let (po, pn) = (proxy(lb_o), proxy(lb_n));
    if ao == an && ao != Announcer::None {
        if vip(old) != vip(new) {
            return Err(unsupported(
                format!(
                    "{what}: the running {an:?} would move to another VIP in place, and clients of the old VIP lose it at once"
                ),
                "keep the VIP and change the name clients dial (`dns`), or go through a load-balancer type that announces the new VIP beside the old one",
            ));
        }
        let (a, b) = (&old.load_balancer, &new.load_balancer);
        if a.interface != b.interface
            || a.virtual_router_id != b.virtual_router_id
            || a.auth_pass != b.auth_pass
            || a.kube_vip_image != b.kube_vip_image
        {
            return Err(unsupported(
                format!(
                    "{what} together with new loadBalancer settings (interface, virtualRouterId, authPass, kubeVipImage)"
                ),
                "keep those settings in this change; changing a VRRP router id or password node by node splits the VRRP group (two masters)",
            ));
        }
    }
    if po == pn
        && matches!(po, Proxy::Haproxy | Proxy::Nginx)
        && old.endpoint.port != new.endpoint.port
    {
        return Err(unsupported(
            format!(
                "{what}: the {} proxy would change its port in place",
                lb_n.as_str()
            ),
            "keep the port (change the name or the VIP alone), or move through another load-balancer type",
        ));
    }
    if matches!(
        (po, pn),
        (Proxy::Haproxy, Proxy::Nginx) | (Proxy::Nginx, Proxy::Haproxy)
    ) && old.endpoint.port == new.endpoint.port
    {
        return Err(unsupported(
            format!(
                "{what}: haproxy and nginx would both listen on port {} on the control planes while the clients move",
                new.endpoint.port
            ),
            "give the new endpoint another port: both proxies then run side by side until every client has moved",
        ));
    }
    if old.endpoint.dns.is_some()
        && old.endpoint.dns == new.endpoint.dns
        && (lb_o == LbType::NginxLocal) != (lb_n == LbType::NginxLocal)
    {
        return Err(unsupported(
            format!(
                "{what}: the name {} would change what it resolves to (127.0.0.1 in /etc/hosts for the local proxy, DNS otherwise) on each node at once",
                new.endpoint.dns.clone().unwrap_or_default()
            ),
            "give the new endpoint a name of its own; the old one is retired after every client moved",
        ));
    }
    let cps: Vec<&Node> = old.control_planes().collect();
    let lacking: Vec<&str> = cps
        .iter()
        .filter(|c| !covers(old, new, c))
        .map(|c| c.name.as_str())
        .collect();
    if cps.len() > 1 && !lacking.is_empty() {
        let mut names: Vec<String> = new.endpoint.dns.iter().cloned().collect();
        names.extend(vip(new).map(|v| v.to_string()));
        return Err(unsupported(
            format!(
                "{what}: the API server certificates of {} lack the new endpoint's names; re-issuing them restarts every API server while both endpoints are in use",
                lacking.join(", ")
            ),
            format!(
                "first put {} into the certificates: add {} to apiServer.certSANs, `hagen render --pki-from` the old bundle into a copy, install each control plane's apiserver.crt one at a time (out of the load balancer, restart kube-apiserver, back in, as `hagen plan --renew` does); then plan this change from that bundle with the same certSANs",
                names.join(", "),
                if names.len() > 1 { "them" } else { "it" }
            ),
        ));
    }
    let mut base = old.clone();
    base.endpoint = new.endpoint.clone();
    base.load_balancer = new.load_balancer.clone();
    for n in &mut base.nodes {
        n.interface = match new.nodes.iter().find(|m| m.name == n.name) {
            Some(m) => m.interface.clone(),
            None => n
                .interface
                .clone()
                .or_else(|| new.load_balancer.interface.clone()),
        };
    }
    Ok(Some(base))
}

/// For [`super::check_steps`]: a declared gap only where it cannot be avoided, and an API
/// server restart only declared. `Some((rule, detail))` when broken.
pub(super) fn check_gap(step: &Step, before: &State) -> Option<(&'static str, String)> {
    match &step.gap {
        Some(g) if g.what == GapKind::ApiServer => {
            let only = before.api_servers.len() == 1 && before.api_servers[0] == step.node;
            (!only).then(|| {
                (
                    "an API outage only with one API server",
                    format!(
                        "the step takes {} down while {} serve",
                        step.node,
                        before.api_servers.join(", ")
                    ),
                )
            })
        }
        Some(_) => (step.action != Action::HandOverVip).then(|| {
            (
                "a VIP gap only at its handover",
                format!("{} declares a VIP gap", step.action.name()),
            )
        }),
        None if step.action == Action::HandOverVip => Some((
            "a VIP handover declares its gap",
            "the VIP changes announcer without a declared gap".into(),
        )),
        None => {
            (step.action == Action::ReissueServingCert && step.restarts.is_empty()).then(|| {
                (
                    "an API server restart is declared",
                    format!("{} restarts without a gap or a restart entry", step.node),
                )
            })
        }
    }
}

/// For [`super::check_steps`]: the step retires the old load balancer and clients dial
/// an endpoint without a backend list (a VIP on the API servers themselves) now.
pub(super) fn retires_backend_list(step: &Step) -> bool {
    step.action == Action::RetireLoadBalancer && step.state.lb_backends.is_empty()
}

/// `sed` basic-regex text matching `s` literally.
fn sed_literal(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if matches!(c, '.' | '[' | ']' | '*' | '^' | '$' | '\\' | '#') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

const CA: &str = "/etc/kubernetes/pki/ca.crt";
const APISERVER_OFF: [&str; 3] = [
    "mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/kube-apiserver.yaml.off",
    "sleep 20   # kubelet stops kube-apiserver (its etcd keeps running)",
    "mv /etc/kubernetes/kube-apiserver.yaml.off /etc/kubernetes/manifests/kube-apiserver.yaml",
];
const KUBE_VIP: &str = "/etc/kubernetes/manifests/kube-vip.yaml";
const KUBE_VIP_STAGED: &str = "/etc/kubernetes/kube-vip.yaml";
/// kubelet looks for static pod changes every 20 s; kube-vip's lease is 5 s.
const KUBE_VIP_START_S: u32 = 25;
/// keepalived becomes master after three missed adverts of one second.
const KEEPALIVED_TAKEOVER_S: u32 = 5;
/// kubelet notices the moved manifest (20 s), kube-apiserver starts and answers
/// `/readyz` (20-40 s).
const APISERVER_RESTART_S: u32 = 60;

impl Builder<'_> {
    fn rsync(&self, n: &str, what: &str) -> Command {
        cmd(
            "admin",
            format!(
                "rsync -a steps/$STEP/nodes/{n}/ root@{}:/   # {what}",
                self.node(n).address
            ),
        )
    }

    /// Steps 1-5 of the module documentation, on the nodes the cluster has.
    pub(super) fn change_endpoint(&mut self, old: &Plan) {
        let new = self.new;
        let (lb_o, lb_n) = (old.load_balancer.kind, new.load_balancer.kind);
        let (po, pn) = (proxy(lb_o), proxy(lb_n));
        let (ao, an) = (announcer(lb_o), announcer(lb_n));
        let same_vip = vip(old).is_some() && vip(old) == vip(new);
        let old_ep = old.endpoint.address();
        let new_ep = new.endpoint.address();
        let moved = old_ep != new_ep;
        let cps = self.state.api_servers.clone();
        let lone = cps.len() == 1;
        let reissue = cps.iter().any(|c| !covers(old, new, self.node(c)));
        // -k until the certificates name the new endpoint.
        let probe = |verified: bool| {
            let url = new_ep.url("https") + "/readyz";
            if verified {
                format!("`curl -fsS --cacert {CA} {url}` prints `ok`")
            } else {
                format!(
                    "`curl -fsSk {url}` prints `ok` (-k: the certificate names the new endpoint only after the re-issue step)"
                )
            }
        };

        // 1. The new endpoint, beside the old one.
        if pn != po && matches!(pn, Proxy::Haproxy | Proxy::Nginx) {
            self.state.lb_backends = cps.clone();
            for n in self.lb_file_nodes() {
                self.start_proxy(&n, pn);
            }
        }
        if pn == Proxy::External && (po != Proxy::External || moved) {
            self.state.lb_backends = cps.clone();
            self.external_lb(&probe(!reissue));
        }
        if an == ao && an == Announcer::Keepalived && lb_o != lb_n {
            for c in &cps {
                self.reconfigure_keepalived(c);
            }
        } else if an != Announcer::None && !same_vip {
            self.start_vip(an, &probe(!reissue));
        } else if an != Announcer::None && an != ao {
            self.stage_vip(an);
        }
        // 2. Certificates that name both endpoints.
        if reissue && lone {
            self.transition_cert(&cps[0], old, &probe(true));
        }
        // 3. Every client to the new endpoint.
        if moved {
            let nodes = self.running_nodes();
            for n in nodes {
                self.switch_kubeconfigs(&n, old);
            }
            self.update_configmaps(old);
        }
        // 4. The same VIP, another announcer.
        if same_vip && an != ao && an != Announcer::None {
            self.hand_over(ao, an);
        }
        // 5. What nobody dials now.
        self.retire(old, po, pn, ao, same_vip, moved);
    }

    fn start_proxy(&mut self, n: &str, p: Proxy) {
        let new = self.new;
        let port = new.endpoint.port;
        let mut files = BTreeMap::new();
        files.insert(n.to_string(), FileSet::LbConfig);
        let mut commands = Vec::new();
        let (check_before, check_after);
        if p == Proxy::Haproxy {
            commands.push(self.rsync(n, "/etc/haproxy/haproxy.cfg"));
            commands.push(cmd(
                n,
                "haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl enable --now haproxy",
            ));
            check_before = vec![format!(
                "haproxy is installed on {n}; nothing listens on port {port} (`ss -ltn 'sport = :{port}'` is empty)"
            )];
            check_after = vec![
                format!(
                    "`echo 'show servers state' | socat stdio /run/haproxy/admin.sock` on {n}: every API server ({}) UP (srv_op_state 2)",
                    self.state.lb_backends.join(", ")
                ),
                format!(
                    "`curl -fsSk https://{}/readyz` on {n} prints `ok` (-k: haproxy may forward to another API server, whose certificate names its own address)",
                    self.node(n).at(port)
                ),
            ];
        } else {
            commands.push(self.rsync(n, "/etc/nginx/nginx.conf"));
            commands.push(cmd(n, "nginx -t && systemctl enable --now nginx"));
            if let Some(dns) = &new.endpoint.dns {
                commands.push(cmd(
                    n,
                    format!(
                        "grep -qx '127.0.0.1 {dns}' /etc/hosts || echo '127.0.0.1 {dns}' >> /etc/hosts"
                    ),
                ));
            }
            let mut before = vec![format!(
                "nginx with the stream module is installed on {n}; nothing listens on 127.0.0.1:{port}"
            )];
            if let Some(dns) = &new.endpoint.dns {
                before.push(format!(
                    "nothing on {n} dials {dns} at another port: from this step on the name means 127.0.0.1 there"
                ));
            }
            check_before = before;
            check_after = vec![format!(
                "`curl -fsSk {}/readyz` on {n} prints `ok` (-k until the certificates name the endpoint); `tail /var/log/nginx/error.log` shows no upstream marked down",
                new.endpoint.address().url("https")
            )];
        }
        let what = if p == Proxy::Haproxy {
            "haproxy"
        } else {
            "nginx"
        };
        self.emit(Draft {
            action: Action::StartProxy,
            node: n.to_string(),
            summary: format!(
                "start {what} on {n} beside the old endpoint (backends: {}); nothing dials it yet",
                self.state.lb_backends.join(", ")
            ),
            check_before,
            commands,
            check_after,
            rollback: vec![format!(
                "on {n}: `systemctl disable --now {what}`{}",
                if p == Proxy::Nginx {
                    " and remove the /etc/hosts line"
                } else {
                    ""
                }
            )],
            files,
            restarts: Vec::new(),
        });
    }

    fn external_lb(&mut self, probe: &str) {
        let new = self.new;
        let backends: Vec<String> = self
            .state
            .api_servers
            .iter()
            .map(|c| self.node(c).at(new.bind_port).to_string())
            .collect();
        let mut commands = vec![cmd(
            "admin",
            format!(
                "# on the external load balancer (its console or API): a TCP frontend on port {}, backends {}, each health-checked with HTTPS GET /readyz",
                new.endpoint.port,
                backends.join(" ")
            ),
        )];
        if let Some(dns) = &new.endpoint.dns {
            commands.push(cmd(
                "admin",
                format!("# DNS: {dns} resolves to the load balancer's address"),
            ));
        }
        self.emit(Draft {
            action: Action::ExternalLoadBalancer,
            node: "admin".into(),
            summary: format!(
                "set up the external load balancer for {} beside the old endpoint",
                new.endpoint.address()
            ),
            check_before: vec![format!(
                "every API server answers `curl -fsS --cacert {CA} https://<address>:{}/readyz`",
                new.bind_port
            )],
            commands,
            check_after: vec![
                "the load balancer shows every backend healthy".into(),
                probe.to_string(),
            ],
            rollback: vec!["delete the new frontend (nothing dials it yet)".into()],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn reconfigure_keepalived(&mut self, c: &str) {
        let mut files = BTreeMap::new();
        files.insert(c.to_string(), FileSet::Keepalived);
        self.emit(Draft {
            action: Action::ReconfigureKeepalived,
            node: c.to_string(),
            summary: format!(
                "reload {c}'s keepalived with the new check script (same VIP, same router id, same peers)"
            ),
            check_before: vec!["`ip -br addr` shows the VIP on exactly one control plane".into()],
            commands: vec![
                self.rsync(c, "/etc/keepalived/"),
                cmd(
                    c,
                    "keepalived --config-test -f /etc/keepalived/keepalived.conf && systemctl reload keepalived",
                ),
            ],
            check_after: vec![
                format!(
                    "`/etc/keepalived/check_apiserver.sh; echo $?` on {c} prints 0; `journalctl -u keepalived -n 20`: reloaded, no `Unknown keyword`; the VIP is on one node only"
                ),
            ],
            rollback: vec!["put back the previous /etc/keepalived/ and reload".into()],
            files,
            restarts: Vec::new(),
        });
    }

    fn vip_text(&self) -> String {
        vip(self.new).map(|v| v.to_string()).unwrap_or_default()
    }

    fn start_vip(&mut self, an: Announcer, probe: &str) {
        let cps = self.state.api_servers.clone();
        let vip = self.vip_text();
        let mut files = BTreeMap::new();
        let mut commands = Vec::new();
        for c in &cps {
            if an == Announcer::Keepalived {
                let peers = cps.iter().filter(|p| *p != c).cloned().collect();
                self.state.keepalived_peers.insert(c.clone(), peers);
                files.insert(c.clone(), FileSet::Keepalived);
                commands.push(self.rsync(c, "/etc/keepalived/"));
                commands.push(cmd(
                    c,
                    "keepalived --config-test -f /etc/keepalived/keepalived.conf && systemctl enable --now keepalived",
                ));
            } else {
                files.insert(c.clone(), FileSet::KubeVip);
                commands.push(cmd(
                    c,
                    format!("crictl pull {}", self.new.load_balancer.kube_vip_image),
                ));
                commands.push(self.rsync(c, KUBE_VIP));
            }
        }
        if let Some(dns) = &self.new.endpoint.dns {
            commands.push(cmd(
                "admin",
                format!("# DNS: {dns} resolves to {vip} (a record, or /etc/hosts on every node)"),
            ));
        }
        let what = if an == Announcer::Keepalived {
            "keepalived"
        } else {
            "kube-vip"
        };
        self.emit(Draft {
            action: Action::StartVip,
            node: "all".into(),
            summary: format!(
                "start {what} on {}: the new VIP {vip} comes up beside the old endpoint",
                cps.join(", ")
            ),
            check_before: vec![format!(
                "nothing answers on {vip} (`ping -c1 -W1 {vip}` fails): the address is free"
            )],
            commands,
            check_after: vec![
                format!("`ip -br addr` shows {vip} on exactly one control plane"),
                probe.to_string(),
            ],
            rollback: vec![if an == Announcer::Keepalived {
                "on each: `systemctl disable --now keepalived`".into()
            } else {
                format!("on each: `rm {KUBE_VIP}`")
            }],
            files,
            restarts: Vec::new(),
        });
    }

    fn stage_vip(&mut self, an: Announcer) {
        let cps = self.state.api_servers.clone();
        let mut files = BTreeMap::new();
        let mut commands = Vec::new();
        for c in &cps {
            if an == Announcer::Keepalived {
                files.insert(c.clone(), FileSet::KeepalivedStaged);
                commands.push(self.rsync(c, "/etc/keepalived/ (not started)"));
                commands.push(cmd(
                    c,
                    "keepalived --config-test -f /etc/keepalived/keepalived.conf",
                ));
            } else {
                files.insert(c.clone(), FileSet::KubeVipStaged);
                commands.push(self.rsync(c, &format!("{KUBE_VIP_STAGED}, outside manifests/")));
                commands.push(cmd(
                    c,
                    format!("crictl pull {}", self.new.load_balancer.kube_vip_image),
                ));
            }
        }
        self.emit(Draft {
            action: Action::StageVip,
            node: "all".into(),
            summary: format!(
                "stage the {} files on {} without starting it: the old announcer keeps the VIP",
                if an == Announcer::Keepalived {
                    "keepalived"
                } else {
                    "kube-vip"
                },
                cps.join(", ")
            ),
            check_before: vec!["`ip -br addr` shows the VIP on exactly one control plane".into()],
            commands,
            check_after: vec![if an == Announcer::Keepalived {
                "`systemctl is-active keepalived` prints `inactive` on each; the config test passed".into()
            } else {
                format!("{KUBE_VIP_STAGED} is on each, {KUBE_VIP} on none; `crictl images` lists the image")
            }],
            rollback: vec!["delete the staged files".into()],
            files,
            restarts: Vec::new(),
        });
    }

    fn transition_cert(&mut self, c: &str, old: &Plan, probe: &str) {
        let mut files = BTreeMap::new();
        files.insert(c.to_string(), FileSet::TransitionCert);
        let mut commands = vec![self.rsync(c, "/etc/kubernetes/pki/apiserver.crt (same key)")];
        commands.extend(APISERVER_OFF.iter().map(|r| cmd(c, *r)));
        let old_probe = format!(
            "curl -fsS --cacert {CA} {}/readyz",
            old.endpoint.address().url("https")
        );
        self.emit(Draft {
            action: Action::ReissueServingCert,
            node: c.to_string(),
            summary: format!(
                "re-issue {c}'s API server certificate with the names of both endpoints and restart kube-apiserver: {c} is the only API server, so the API is down meanwhile"
            ),
            check_before: vec![
                format!("the new endpoint answers (previous steps); `{old_probe}` prints `ok`"),
                "a maintenance window: kubectl, controllers and kubelets retry; running pods are not touched".into(),
            ],
            commands,
            check_after: vec![
                format!(
                    "`openssl x509 -noout -ext subjectAltName -in /etc/kubernetes/pki/apiserver.crt` on {c} lists both endpoints' names"
                ),
                probe.to_string(),
                format!("`{old_probe}` prints `ok`: the old endpoint still works"),
            ],
            rollback: vec![
                "put back the previous apiserver.crt (same key) and restart kube-apiserver the same way"
                    .into(),
            ],
            files,
            restarts: Vec::new(),
        });
        self.declare(
            GapKind::ApiServer,
            APISERVER_RESTART_S,
            format!("{c} is the only API server: no other can serve while it restarts"),
        );
    }

    fn declare(&mut self, what: GapKind, seconds: u32, why: String) {
        if let Some(s) = self.steps.last_mut() {
            self.warnings.push(format!(
                "step {} ({}): {} for about {seconds} s: {why}",
                s.number,
                s.id,
                match what {
                    GapKind::ApiServer => "the API is down",
                    GapKind::Vip => "the VIP answers nowhere",
                }
            ));
            s.gap = Some(Gap { what, seconds, why });
        }
    }

    fn switch_kubeconfigs(&mut self, n: &str, old: &Plan) {
        let old_url = old.endpoint.address().url("https");
        let new_url = self.new.endpoint.address().url("https");
        let cp =
            self.node(n).has(Role::ControlPlane) && self.state.api_servers.iter().any(|a| a == n);
        let mut files = BTreeMap::new();
        let mut commands = Vec::new();
        if cp {
            files.insert(n.to_string(), FileSet::Kubeconfigs);
            commands.push(self.rsync(
                n,
                "/etc/kubernetes/*.conf: admin.conf (and super-admin.conf) with the new server; controller-manager.conf and scheduler.conf dial the local API server and stay as they are",
            ));
        }
        commands.push(cmd(
            n,
            format!(
                "sed -i 's#server: {}$#server: {new_url}#' /etc/kubernetes/kubelet.conf && systemctl restart kubelet",
                sed_literal(&old_url)
            ),
        ));
        self.emit(Draft {
            action: Action::SwitchKubeconfigs,
            node: n.to_string(),
            summary: format!("point {n}'s kubeconfigs at {new_url}"),
            check_before: vec![format!(
                "`curl -fsS --cacert {CA} {new_url}/readyz` on {n} prints `ok` (the certificates name the new endpoint)"
            )],
            commands,
            check_after: vec![
                format!(
                    "`grep server: /etc/kubernetes/*.conf` on {n} shows {new_url} in {}",
                    if cp { "admin.conf and kubelet.conf" } else { "kubelet.conf" }
                ),
                format!("`kubectl get node {n}` Ready"),
            ],
            rollback: vec![format!(
                "put back the previous *.conf; `sed` kubelet.conf back to {old_url} and restart kubelet"
            )],
            files,
            restarts: Vec::new(),
        });
    }

    fn update_configmaps(&mut self, old: &Plan) {
        let op = self.operator("");
        let new_ep = self.new.endpoint.address();
        let new_url = new_ep.url("https");
        let old_url = old.endpoint.address().url("https");
        let server = format!("sed -E 's#^( +server:) https://.*$#\\1 {new_url}#'");
        let commands = vec![
            cmd(&op, "export KUBECONFIG=/etc/kubernetes/admin.conf"),
            cmd(
                &op,
                format!(
                    "kubectl -n kube-public get cm cluster-info -o yaml | {server} | kubectl replace -f -"
                ),
            ),
            cmd(
                &op,
                format!(
                    "kubectl -n kube-system get cm kubeadm-config -o yaml | sed -E 's#^( +controlPlaneEndpoint:) .*$#\\1 {}#' | kubectl replace -f -",
                    crate::render::json_string(&new_ep.to_string())
                ),
            ),
            cmd(
                &op,
                format!(
                    "kubectl -n kube-system get cm kube-proxy -o yaml | {server} | kubectl replace -f -"
                ),
            ),
            cmd(
                &op,
                "kubectl -n kube-system rollout restart ds kube-proxy && kubectl -n kube-system rollout status ds kube-proxy",
            ),
        ];
        self.emit(Draft {
            action: Action::UpdateClusterConfigMaps,
            node: op.clone(),
            summary: format!(
                "the cluster-info, kubeadm-config and kube-proxy ConfigMaps name {new_ep}; kube-proxy restarts with it"
            ),
            check_before: vec!["every node's kubeconfigs name the new endpoint (previous steps)".into()],
            commands,
            check_after: vec![
                format!("`kubectl -n kube-public get cm cluster-info -o jsonpath='{{.data.kubeconfig}}' | grep server:` says {new_url}, and the `jws-kubeconfig-*` keys are there again (the controller-manager's bootstrap signer re-signs it; joins check the signature)"),
                format!("`kubectl -n kube-system get cm kubeadm-config -o jsonpath='{{.data.ClusterConfiguration}}' | grep controlPlaneEndpoint` says {new_ep}"),
                format!("`kubectl -n kube-system get cm kube-proxy -o jsonpath='{{.data.kubeconfig\\.conf}}' | grep server:` says {new_url}; every kube-proxy pod restarted and Running"),
            ],
            rollback: vec![format!("the same commands with {old_url} (and its host:port), then restart kube-proxy again")],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn hand_over(&mut self, ao: Announcer, an: Announcer) {
        let cps = self.state.api_servers.clone();
        let vip = self.vip_text();
        let holds = format!("ip -br addr show | grep -qF ' {vip}/'");
        let mut commands = Vec::new();
        let (stop, start, seconds, rollback) = if ao == Announcer::Keepalived {
            (
                "systemctl disable --now keepalived".to_string(),
                format!("mv {KUBE_VIP_STAGED} {KUBE_VIP}"),
                KUBE_VIP_START_S,
                format!(
                    "`mv {KUBE_VIP} {KUBE_VIP_STAGED}` on every control plane, wait until no node has the VIP, `systemctl enable --now keepalived` on every control plane"
                ),
            )
        } else {
            (
                format!("rm -f {KUBE_VIP}"),
                "systemctl enable --now keepalived".to_string(),
                KUBE_VIP_START_S + KEEPALIVED_TAKEOVER_S,
                format!(
                    "`systemctl disable --now keepalived` on every control plane, put back {KUBE_VIP} on each"
                ),
            )
        };
        for c in &cps {
            commands.push(cmd(c, format!("{holds} || {stop}   # the backups first")));
        }
        for c in &cps {
            commands.push(cmd(c, format!("{holds} && {stop}   # then the holder")));
        }
        for c in &cps {
            commands.push(cmd(
                c,
                format!("timeout 60 sh -c \"while {holds}; do sleep 1; done\"   # the VIP is gone everywhere"),
            ));
        }
        for c in &cps {
            commands.push(cmd(c, start.clone()));
        }
        if an == Announcer::Keepalived {
            for c in &cps {
                let peers = cps.iter().filter(|p| *p != c).cloned().collect();
                self.state.keepalived_peers.insert(c.clone(), peers);
            }
        } else {
            self.state.keepalived_peers.clear();
        }
        let name = |a: Announcer| {
            if a == Announcer::Keepalived {
                "keepalived"
            } else {
                "kube-vip"
            }
        };
        self.emit(Draft {
            action: Action::HandOverVip,
            node: "all".into(),
            summary: format!(
                "hand {vip} over from {} to {}: the old announcer stops (backups, then the holder), then the new one starts; two announcers of one VIP would flap its ARP entry",
                name(ao),
                name(an)
            ),
            check_before: vec![
                format!("the new announcer's files are staged on {} (earlier step)", cps.join(", ")),
                "a short window without the VIP is acceptable now (clients retry)".into(),
            ],
            commands,
            check_after: vec![
                format!("`ip -br addr` shows {vip} on exactly one control plane"),
                format!(
                    "`curl -fsS --cacert {CA} {}/readyz` prints `ok`",
                    self.new.endpoint.address().url("https")
                ),
            ],
            rollback: vec![rollback],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
        self.declare(
            GapKind::Vip,
            seconds,
            format!(
                "{vip} moves from {} to {}; they must never announce it together",
                name(ao),
                name(an)
            ),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn retire(
        &mut self,
        old: &Plan,
        po: Proxy,
        pn: Proxy,
        ao: Announcer,
        same_vip: bool,
        moved: bool,
    ) {
        let cps = self.state.api_servers.clone();
        let mut commands = Vec::new();
        let mut what = Vec::new();
        if po == Proxy::Haproxy && pn != Proxy::Haproxy {
            what.push("haproxy");
            for c in &cps {
                commands.push(cmd(c, "systemctl disable --now haproxy"));
            }
        }
        if po == Proxy::Nginx && pn != Proxy::Nginx {
            what.push("the local nginx");
            let nodes = self.running_nodes();
            for n in nodes {
                commands.push(cmd(&n, "systemctl disable --now nginx"));
                if let Some(dns) = &old.endpoint.dns {
                    commands.push(cmd(
                        &n,
                        format!(
                            "sed -i '/^127\\.0\\.0\\.1 {}$/d' /etc/hosts",
                            sed_literal(dns)
                        ),
                    ));
                }
            }
        }
        if po == Proxy::External && (pn != Proxy::External || moved) {
            what.push("the old external load balancer");
            commands.push(cmd(
                "admin",
                format!(
                    "# delete the old external load balancer / DNS record for {} once nothing outside the cluster dials it",
                    old.endpoint.address()
                ),
            ));
        }
        if ao != Announcer::None && !same_vip {
            if ao == Announcer::Keepalived {
                what.push("keepalived (the old VIP)");
                for c in &cps {
                    commands.push(cmd(c, "systemctl disable --now keepalived"));
                }
                self.state.keepalived_peers.clear();
            } else {
                what.push("kube-vip (the old VIP)");
                for c in &cps {
                    commands.push(cmd(c, format!("rm -f {KUBE_VIP}")));
                }
            }
        }
        if commands.is_empty() {
            return;
        }
        if !has_backends(self.new.load_balancer.kind) {
            self.state.lb_backends.clear();
        }
        self.emit(Draft {
            action: Action::RetireLoadBalancer,
            node: "all".into(),
            summary: format!(
                "retire {}: every client dials {} now",
                what.join(", "),
                self.new.endpoint.address()
            ),
            check_before: vec![
                "every kubeconfig and ConfigMap names the new endpoint (earlier steps); clients outside the cluster (CI, people's kubeconfigs) moved too".into(),
                format!(
                    "`curl -fsS --cacert {CA} {}/readyz` prints `ok`",
                    self.new.endpoint.address().url("https")
                ),
            ],
            commands,
            check_after: vec![
                "`kubectl get nodes` through the new endpoint: every node Ready".into(),
                format!("nothing answers on {} any more (unless the new endpoint shares it)", old.endpoint.address()),
            ],
            rollback: vec!["start the old proxy / announcer again with its files from the old bundle".into()],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    /// After the node changes: control planes whose certificate still names the old
    /// endpoint get the final bundle's, one at a time, out of the load balancer.
    pub(super) fn finish_endpoint(&mut self, old: &Plan) {
        let new = self.new;
        let issued = transition_plan(old, new);
        let kept: Vec<String> = old
            .control_planes()
            .filter(|c| new.control_planes().any(|n| n.name == c.name))
            .map(|c| c.name.clone())
            .collect();
        let lone = old.control_planes().count() == 1;
        for c in kept {
            let node = self.node(&c).clone();
            let had = if lone && !covers(old, new, &node) {
                apiserver_sans(&issued, &node)
            } else {
                apiserver_sans(old, &node)
            };
            if had == apiserver_sans(new, &node) {
                continue;
            }
            let only = self.state.api_servers.len() == 1;
            if !only {
                self.lb_step(&c, false);
            }
            let mut files = BTreeMap::new();
            files.insert(c.clone(), FileSet::ServingCert);
            let mut commands = vec![self.rsync(&c, "/etc/kubernetes/pki/apiserver.crt (same key)")];
            commands.extend(APISERVER_OFF.iter().map(|r| cmd(&c, *r)));
            self.emit(Draft {
                action: Action::ReissueServingCert,
                node: c.clone(),
                summary: format!(
                    "install the final bundle's API server certificate on {c} (without the old endpoint's names) and restart kube-apiserver"
                ),
                check_before: vec![
                    format!("nothing dials {} any more", old.endpoint.address()),
                    if only {
                        "a maintenance window".to_string()
                    } else {
                        format!("the load balancer does not send to {c}")
                    },
                ],
                commands,
                check_after: vec![
                    format!(
                        "`openssl x509 -noout -ext subjectAltName -in /etc/kubernetes/pki/apiserver.crt` on {c} lists the new endpoint's names only"
                    ),
                    format!(
                        "`curl -fsS --cacert {CA} https://{}/readyz` prints `ok`",
                        node.at(new.bind_port)
                    ),
                ],
                rollback: vec!["put back the previous apiserver.crt and restart kube-apiserver the same way".into()],
                files,
                restarts: if only { Vec::new() } else { vec![c.clone()] },
            });
            if only {
                self.declare(
                    GapKind::ApiServer,
                    APISERVER_RESTART_S,
                    format!("{c} is the only API server"),
                );
            } else {
                self.lb_step(&c, true);
            }
        }
    }
}

/// The files of this module's [`FileSet`]s, for [`super::files::materialize`].
pub(super) struct StepFiles<'a> {
    old: &'a Plan,
    union: &'a Plan,
    kept: &'a Existing,
    transition: Option<Pki>,
}

impl<'a> StepFiles<'a> {
    /// `union`: the new settings over the nodes of both plans; `kept`: the PKI made for
    /// it, as existing material.
    pub(super) fn new(old: &'a Plan, union: &'a Plan, kept: &'a Existing) -> StepFiles<'a> {
        StepFiles {
            old,
            union,
            kept,
            transition: None,
        }
    }

    /// `node`'s files of `set`, by path relative to its root. `rendered` is the step's
    /// render of the running control planes, `pki` the PKI of the union.
    pub(super) fn files(
        &mut self,
        set: FileSet,
        node: &str,
        rendered: &Bundle,
        pki: &Pki,
        entropy: &mut dyn Entropy,
        now: i64,
    ) -> Result<Vec<(String, File)>, FilesError> {
        let prefix = format!("nodes/{node}/");
        let from_render = |keep: &dyn Fn(&str) -> bool| -> Vec<(String, File)> {
            rendered
                .iter()
                .filter_map(|(p, f)| {
                    let rel = p.strip_prefix(&prefix)?;
                    keep(rel).then(|| (rel.to_string(), f.clone()))
                })
                .collect()
        };
        let kube_vip = KUBE_VIP.trim_start_matches('/');
        let apiserver_crt = format!("{}/apiserver.crt", paths::K8S_PKI);
        let from_pki = |pki: &Pki, keep: &dyn Fn(&str) -> bool| -> Vec<(String, File)> {
            pki.files
                .iter()
                .filter_map(|(p, f)| {
                    let rel = p.strip_prefix(&prefix)?;
                    keep(rel).then(|| (rel.to_string(), f.clone()))
                })
                .collect()
        };
        Ok(match set {
            FileSet::KeepalivedStaged => from_render(&|rel| rel.starts_with("etc/keepalived/")),
            FileSet::KubeVip => from_render(&|rel| rel == kube_vip),
            FileSet::KubeVipStaged => from_render(&|rel| rel == kube_vip)
                .into_iter()
                .map(|(_, f)| (KUBE_VIP_STAGED.trim_start_matches('/').to_string(), f))
                .collect(),
            FileSet::ServingCert => from_pki(pki, &|rel| rel == apiserver_crt),
            FileSet::Kubeconfigs => from_pki(pki, &|rel| {
                rel.strip_prefix("etc/kubernetes/")
                    .is_some_and(|f| f.ends_with(".conf") && !f.contains('/'))
            }),
            FileSet::TransitionCert => {
                if self.transition.is_none() {
                    let plan = transition_plan(self.old, self.union);
                    self.transition = Some(generate(&plan, self.kept, entropy, now)?);
                }
                let t = self.transition.as_ref().expect("made above");
                from_pki(t, &|rel| rel == apiserver_crt)
            }
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Options, check_steps, plan_change, same_cluster};
    use super::*;
    use crate::rules::topology::test_support::topology;

    fn plan(spec: &str, nodes: &[&str]) -> Plan {
        let c = crate::check(&crate::source::SourceFile::new(
            "t.yaml",
            topology(spec, nodes),
        ));
        c.plan.unwrap_or_else(|| panic!("{:#?}", c.diagnostics))
    }

    const M: [&str; 3] = [
        "m1 10.0.0.11 control-plane a",
        "m2 10.0.0.12 control-plane b",
        "m3 10.0.0.13 control-plane c",
    ];
    const SINGLE: &str = "controlPlaneEndpoint:\n  dns: m1.local\nloadBalancer:\n  type: external";
    const KEEPALIVED: &str = "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\nloadBalancer:\n  type: keepalived\n  interface: eth0";
    const KUBE_VIP: &str = "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\nloadBalancer:\n  type: kube-vip\n  interface: eth0";

    fn actions(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| format!("{} {}", s.action.name(), s.node))
            .collect()
    }

    fn position(a: &[String], what: &str) -> usize {
        a.iter()
            .position(|s| s == what)
            .unwrap_or_else(|| panic!("no {what} in {a:?}"))
    }

    #[test]
    fn single_node_to_ha_brings_the_endpoint_up_before_anything_dials_it() {
        let old = plan(SINGLE, &M[..1]);
        let new = plan("", &M);
        let p = plan_change(&old, &new, &Options::default()).unwrap();
        let a = actions(&p.steps);
        let proxy = position(&a, "start-proxy m1");
        let vip = position(&a, "start-vip all");
        let cert = position(&a, "reissue-serving-cert m1");
        let switch = position(&a, "switch-kubeconfigs m1");
        let maps = position(&a, "update-cluster-config-maps m1");
        let learner = position(&a, "add-learner m2");
        assert!(proxy < vip && vip < cert && cert < switch && switch < maps && maps < learner);
        // The lone API server's restart is declared, with its length.
        let g = p.steps[cert].gap.as_ref().expect("a declared gap");
        assert_eq!(g.what, GapKind::ApiServer);
        assert!(g.seconds > 0);
        assert!(p.warnings.iter().any(|w| w.contains("the API is down")));
        // Once HA, m1 drops the old name, out of the load balancer.
        let last = a.len() - 1;
        assert_eq!(
            a[last - 2..],
            [
                "remove-lb-backend m1",
                "reissue-serving-cert m1",
                "add-lb-backend m1"
            ]
        );
        assert!(p.steps[last - 1].gap.is_none());
        assert_eq!(check_steps(&p.initial, &p.steps), Ok(()));
        assert!(same_cluster(&p.steps[last].state, &p.target));
    }

    #[test]
    fn an_api_outage_with_a_second_api_server_is_caught() {
        let old = plan(SINGLE, &M[..1]);
        let p = plan_change(&old, &plan("", &M), &Options::default()).unwrap();
        let mut steps = p.steps.clone();
        let last = steps.len() - 2;
        steps[last].gap = Some(Gap {
            what: GapKind::ApiServer,
            seconds: 60,
            why: "test".into(),
        });
        let v = check_steps(&p.initial, &steps).unwrap_err();
        assert_eq!(v.rule, "an API outage only with one API server");
        // An undeclared restart of the lone API server is caught too.
        let mut steps = p.steps.clone();
        let cert = steps
            .iter()
            .position(|s| s.action == Action::ReissueServingCert)
            .unwrap();
        steps[cert].gap = None;
        let v = check_steps(&p.initial, &steps).unwrap_err();
        assert_eq!(v.rule, "an API server restart is declared");
    }

    #[test]
    fn same_vip_new_announcer_is_handed_over_with_a_declared_gap() {
        let p = plan_change(
            &plan(KEEPALIVED, &M),
            &plan(KUBE_VIP, &M),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(actions(&p.steps), ["stage-vip all", "hand-over-vip all"]);
        let h = &p.steps[1];
        assert_eq!(h.gap.as_ref().map(|g| g.what), Some(GapKind::Vip));
        let mut steps = p.steps.clone();
        steps[1].gap = None;
        let v = check_steps(&p.initial, &steps).unwrap_err();
        assert_eq!(v.rule, "a VIP handover declares its gap");
        assert!(h.state.keepalived_peers.is_empty());
        // The old announcer stops everywhere before the new one starts anywhere.
        let first_start = h
            .commands
            .iter()
            .position(|c| c.run.starts_with("mv "))
            .unwrap();
        assert!(
            h.commands[..first_start]
                .iter()
                .filter(|c| c.run.contains("disable --now keepalived"))
                .count()
                == 6
        );
    }

    #[test]
    fn haproxy_keepalived_to_kube_vip_moves_clients_then_retires_haproxy() {
        let p = plan_change(&plan("", &M), &plan(KUBE_VIP, &M), &Options::default()).unwrap();
        let a = actions(&p.steps);
        assert!(position(&a, "update-cluster-config-maps m1") < position(&a, "hand-over-vip all"));
        let retire = position(&a, "retire-load-balancer all");
        assert_eq!(retire, a.len() - 1);
        assert!(p.steps[retire].state.lb_backends.is_empty());
        assert!(
            p.steps[retire]
                .commands
                .iter()
                .any(|c| c.run == "systemctl disable --now haproxy")
        );
    }

    #[test]
    fn refusals_say_why_and_what_instead() {
        // Three API servers whose certificates lack a new name.
        let named =
            "controlPlaneEndpoint:\n  vip: 10.0.0.100/24\n  dns: api.example.com\n  port: 8443";
        let e = plan_change(&plan("", &M), &plan(named, &M), &Options::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(REFUSED) && e.contains("certSANs"), "{e}");
        // Dead nodes and an endpoint change together.
        let opts = Options {
            dead: vec!["m3".into()],
            ..Options::default()
        };
        let e = plan_change(&plan(KEEPALIVED, &M), &plan(KUBE_VIP, &M), &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dead nodes' removal first"), "{e}");
    }

    #[test]
    fn sed_literal_escapes_regex_and_delimiter() {
        assert_eq!(
            sed_literal("https://[fd00::1]:6443"),
            "https://\\[fd00::1\\]:6443"
        );
        assert_eq!(sed_literal("a.b#c"), "a\\.b\\#c");
    }
}
