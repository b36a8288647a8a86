//! `hagen plan --rotate-ca`: the cluster's CAs replaced by new ones in three phases, each
//! run one node at a time (a control plane out of the load balancer while its static
//! pods restart, an external etcd member while the others keep quorum), the way `--renew`
//! installs renewed certificates.
//!
//! What rotates: every CA hagen issues — the cluster CA (`ca`), the front-proxy CA and
//! the etcd CA (stacked, and external etcd's, which hagen issues too). What does not: the
//! service-account key pair (`sa.key`/`sa.pub`) is not a CA; keeping it keeps every
//! ServiceAccount token valid. The bootstrap token is kept as well.
//!
//! 1. **Trust both** ([`Phase::TrustBoth`]): every CA file a component reads (`ca.crt`,
//!    `front-proxy-ca.crt`, `etcd/ca.crt`, external etcd's `ca.crt`, a worker's
//!    `ca.crt`) becomes the bundle old + new; every kubeconfig's
//!    `certificate-authority-data` and every kubelet.conf too; `cluster-info` carries
//!    the bundle. The CA *keys* stay the old ones: kube-controller-manager signs CSRs
//!    with `ca.key`, and because it refuses a bundle as its signing certificate
//!    (kubernetes/kubeadm#1350) its `--cluster-signing-cert-file` points at
//!    `ca-signer.crt` (the certificate of the key in `ca.key`, alone) until phase 3.
//!    Then the workloads that read `kube-root-ca.crt` restart, so they trust both.
//! 2. **Issue from the new** ([`Phase::IssueFromNew`]): the new CA keys go onto the
//!    control planes (`ca-signer.crt` the new certificate), every leaf and kubeconfig
//!    client certificate is issued from the new CAs (with new keys); bundles are
//!    new + old. Once every controller manager signs with the new key, every kubelet
//!    gets a new client certificate by TLS bootstrap (its key never leaves the node).
//! 3. **Drop the old** ([`Phase::DropOld`]): every CA file, kubeconfig and
//!    `cluster-info` names the new CAs alone; the signing flag is back on `ca.crt`.
//!
//! Joins meanwhile carry both CA hashes (`rotation/join.txt`): kubeadm checks every CA
//! of a bundled `cluster-info` against the pins since kubernetes/kubernetes#76500 (the
//! "trailing data after first PEM block" of kubernetes/kubeadm#1399) and accepts any
//! pin since kubernetes/kubernetes#101977 (kubernetes/kubeadm#2471), both older than the
//! oldest Kubernetes hagen renders for.
//!
//! Planning (`Builder::run_rotate`) needs no key; the files (`node_files`,
//! [`plan_files`]) come from the old PKI and the new one, made by `files::materialize`
//! from [`for_rotation`]'s material with the entropy and time the caller passes in.

use super::files::FilesError;
use super::{Action, Builder, ChangePlan, Draft, FileSet, Options, Refusal, Step, cmd};
use crate::bundle::{File, MODE_FILE, MODE_SECRET, paths};
use crate::pki::{Existing, Pki, kubeconfig, spec};
use crate::plan::{Node, Plan};
use crate::rules::topology::quorum;
use crate::topology::Role;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use std::collections::BTreeMap;

/// The phase of a CA rotation a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Every component trusts the old and the new CAs; the old keys still sign.
    TrustBoth,
    /// The new keys sign; every certificate is issued from the new CAs.
    IssueFromNew,
    /// Every component trusts the new CAs alone.
    DropOld,
}

impl Phase {
    /// `phase 1/3, trust both CAs`.
    pub fn title(self) -> &'static str {
        match self {
            Phase::TrustBoth => "phase 1/3, trust both CAs",
            Phase::IssueFromNew => "phase 2/3, issue from the new CAs",
            Phase::DropOld => "phase 3/3, drop the old CAs",
        }
    }

    /// The CA certificates a component trusts in this phase, in file order: the one
    /// whose key signs first (kubeadm reads the first certificate of `ca.crt`).
    pub fn trust(self, old: &[u8], new: &[u8]) -> Vec<u8> {
        match self {
            Phase::TrustBoth => concat(old, new),
            Phase::IssueFromNew => concat(new, old),
            Phase::DropOld => new.to_vec(),
        }
    }
}

fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut v = a.to_vec();
    if !v.ends_with(b"\n") {
        v.push(b'\n');
    }
    v.extend_from_slice(b);
    v
}

/// `--rotate-ca` is a change of its own: not with a topology change, `--dead` or `--renew`.
pub(super) fn refuse_with_other_changes(
    old: &Plan,
    new: &Plan,
    opts: &Options,
) -> Result<(), Refusal> {
    if opts.renew || old != new || !opts.dead.is_empty() {
        return Err(Refusal::Unsupported {
            what: "--rotate-ca together with --renew, --dead or a change of the topology".into(),
            instead: "rotate the CA on its own, with the same topology on both sides: plan and run the other change first, then plan the rotation from its bundle (a rotation issues every certificate again, so --renew is not needed)".into(),
        });
    }
    Ok(())
}

/// The runbook's paragraph on a rotation.
pub const RUNBOOK_INTRO: &str = "**CA rotation** in three phases, each one node at a time (a control plane out of the load balancer while its static pods restart): (1) every CA file, kubeconfig, kubelet.conf and `cluster-info` trusts the old and the new CAs while the old keys still sign (the controller manager signs from `ca-signer.crt`, one certificate, because it refuses a bundle); (2) the new CA keys go onto the control planes and every certificate is issued from the new CAs, then every kubelet gets a new client certificate by TLS bootstrap; (3) every component trusts the new CAs alone. The cluster CA, the front-proxy CA and the etcd CA rotate; the service-account keys do not (every token stays valid). Until the last step, a node joins with both CA hashes: `rotation/join.txt`.";

/// Where the controller manager's signing certificate goes while `ca.crt` is a bundle.
const SIGNER: &str = "/etc/kubernetes/pki/ca-signer.crt";
const KCM: &str = "/etc/kubernetes/manifests.off/kube-controller-manager.yaml";
const CLUSTER_INFO_PATCH: &str = "etc/kubernetes/cluster-info-patch.yaml";
const KUBELET_CONF: &str = "etc/kubernetes/kubelet.conf";
const BOOTSTRAP_CONF: &str = "etc/kubernetes/bootstrap-kubelet.conf";
const CA_CRT: &str = "etc/kubernetes/pki/ca.crt";
const SIGNER_CRT: &str = "etc/kubernetes/pki/ca-signer.crt";

impl Builder<'_> {
    /// `--rotate-ca`: the three phases, one node at a time.
    pub(super) fn run_rotate(&mut self) -> Result<(), Refusal> {
        let cps = self.state.api_servers.clone();
        if cps.len() < 2 {
            return Err(super::only_api_server("rotate the CA"));
        }
        self.members_restart(
            "rotating the CA restarts every etcd member once per phase",
            "rotate in a maintenance window, or grow to 3 etcd members first with `hagen plan`",
        )?;
        let members: Vec<String> = if self.stacked() {
            Vec::new()
        } else {
            self.state.etcd_members.clone()
        };
        let workers = self.state.workers.clone();
        for phase in [Phase::TrustBoth, Phase::IssueFromNew, Phase::DropOld] {
            self.phase = Some(phase);
            for m in &members {
                self.rotate_etcd_member(m, phase);
            }
            for c in &cps {
                self.rotate_control_plane(c, phase);
            }
            if phase == Phase::IssueFromNew {
                self.create_bootstrap_token();
                for n in cps.iter().chain(&workers) {
                    self.rebootstrap_kubelet(n);
                }
            } else {
                for w in &workers {
                    self.rotate_worker(w, phase);
                }
                self.update_cluster_info(phase);
                self.restart_workloads(phase);
            }
        }
        self.phase = None;
        self.warnings.extend([
            "CA rotation: the service-account key pair (sa.key, sa.pub) is kept, so every ServiceAccount token stays valid; the bootstrap token is kept too".to_string(),
            "CA rotation: a node that joins before the last step is done uses `rotation/join.txt` (both CA hashes); do not join or remove a control plane, and do not run `kubeadm upgrade` or `kubeadm certs renew`, until then (kubeadm rewrites the controller manager's signing flag and reads the first certificate of ca.crt)".to_string(),
            "CA rotation: kubeconfigs kept outside the cluster (people's, CI's) need both CAs in certificate-authority-data before phase 2 (the API servers then serve certificates of the new CA) and a client certificate of the new CA before phase 3: `bundle/nodes/<control plane>/etc/kubernetes/admin.conf` is the new admin.conf".to_string(),
            "CA rotation: the kubelets' serving certificates are their own (self-signed, kubeadm's default) and are not touched".to_string(),
        ]);
        Ok(())
    }

    fn step_id(&self, phase: Phase, action: Action, node: &str) -> String {
        self.steps
            .iter()
            .find(|s| s.phase == Some(phase) && s.action == action && s.node == node)
            .map_or_else(|| "?".to_string(), |s| s.id.clone())
    }

    fn before_phase(phase: Phase) -> String {
        match phase {
            Phase::TrustBoth => "the cluster is healthy and every step so far is done".into(),
            Phase::IssueFromNew => "phase 1 is done on every node: `grep -c 'BEGIN CERTIFICATE' /etc/kubernetes/pki/ca.crt` prints 2 everywhere, cluster-info holds both CAs, and the workloads were restarted".into(),
            Phase::DropOld => "phase 2 is done on every node: every kubelet's /var/lib/kubelet/pki/kubelet-client-current.pem and every control plane's certificates verify against the new CA alone (`openssl verify -CAfile /etc/kubernetes/pki/ca-signer.crt …`)".into(),
        }
    }

    fn rotate_etcd_member(&mut self, m: &str, phase: Phase) {
        let node = self.node(m).clone();
        let voters = self.state.etcd_members.len();
        let mut files = BTreeMap::new();
        files.insert(m.to_string(), files_of(phase));
        let count = if phase == Phase::DropOld { 1 } else { 2 };
        let mut check_after = vec![
            format!("`grep -c 'BEGIN CERTIFICATE' /etc/etcd/pki/ca.crt` on {m} prints {count}"),
            "`hagen-etcdctl endpoint health --cluster`: every member healthy".into(),
        ];
        if phase == Phase::IssueFromNew {
            check_after.push(format!("`openssl x509 -in /etc/etcd/pki/ca.crt -out /tmp/etcd-new-ca.crt && openssl verify -CAfile /tmp/etcd-new-ca.crt /etc/etcd/pki/server.crt /etc/etcd/pki/peer.crt` on {m}: OK (the bundle's first certificate is the new etcd CA)"));
        }
        let rollback = match phase {
            Phase::TrustBoth => {
                format!(
                    "put back the old bundle's (`--from`) nodes/{m}/etc/etcd/pki/ca.crt and restart etcd"
                )
            }
            Phase::IssueFromNew => format!(
                "put back the old bundle's (`--from`) nodes/{m}/etc/etcd/pki/ (old certificates and keys), then steps/{}/nodes/{m}/ over it, and restart etcd",
                self.step_id(Phase::TrustBoth, Action::RotateEtcdMember, m)
            ),
            Phase::DropOld => format!(
                "put back steps/{}/nodes/{m}/ (both CAs trusted) and restart etcd",
                self.step_id(Phase::IssueFromNew, Action::RotateEtcdMember, m)
            ),
        };
        self.emit(Draft {
            action: Action::RotateEtcdMember,
            node: m.to_string(),
            summary: format!(
                "{}: etcd member {m} gets {}, and restarts",
                phase.title(),
                match phase {
                    Phase::TrustBoth => "both etcd CAs in ca.crt",
                    Phase::IssueFromNew =>
                        "certificates from the new etcd CA (both CAs still trusted)",
                    Phase::DropOld => "the new etcd CA alone in ca.crt",
                }
            ),
            check_before: vec![
                Self::before_phase(phase),
                self.health_check(),
                format!(
                    "while {m} restarts: {} of {voters} voting members up, quorum {}",
                    voters - 1,
                    quorum(voters)
                ),
            ],
            commands: vec![
                cmd(
                    "admin",
                    format!(
                        "rsync -a steps/$STEP/nodes/{m}/ root@{}:/   # /etc/etcd/pki",
                        node.address
                    ),
                ),
                cmd(m, "systemctl restart etcd"),
            ],
            check_after,
            rollback: vec![rollback],
            files,
            restarts: vec![m.to_string()],
        });
    }

    fn rotate_control_plane(&mut self, c: &str, phase: Phase) {
        self.lb_step(c, false);
        let node = self.node(c).clone();
        let voters = self.state.etcd_members.len();
        let mut files = BTreeMap::new();
        files.insert(c.to_string(), files_of(phase));
        let mut check_before = vec![
            format!("the load balancer does not send to {c}"),
            Self::before_phase(phase),
        ];
        if self.stacked() {
            check_before.push(self.health_check());
            check_before.push(format!(
                "while {c}'s etcd restarts: {} of {voters} voting members up, quorum {}",
                voters - 1,
                quorum(voters)
            ));
        }
        let mut commands = vec![
            cmd(
                "admin",
                format!(
                    "rsync -a steps/$STEP/nodes/{c}/ root@{}:/   # /etc/kubernetes/pki, *.conf",
                    node.address
                ),
            ),
            cmd(
                c,
                "mkdir -p /etc/kubernetes/manifests.off && mv /etc/kubernetes/manifests/*.yaml /etc/kubernetes/manifests.off/",
            ),
        ];
        let to_signer = format!(
            "sed -i 's#cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt#cluster-signing-cert-file={SIGNER}#' {KCM}   # one certificate, not a bundle (kubernetes/kubeadm#1350)"
        );
        let to_ca = format!(
            "sed -i 's#cluster-signing-cert-file={SIGNER}#cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt#' {KCM} && rm -f {SIGNER}"
        );
        match phase {
            Phase::TrustBoth => commands.push(cmd(c, to_signer.clone())),
            Phase::DropOld => commands.push(cmd(c, to_ca)),
            Phase::IssueFromNew => {}
        }
        commands.push(cmd(c, "sleep 20   # kubelet stops the static pods"));
        commands.push(cmd(
            c,
            "mv /etc/kubernetes/manifests.off/*.yaml /etc/kubernetes/manifests/ && systemctl restart kubelet",
        ));
        let readyz = format!(
            "`curl -fsS --cacert /etc/kubernetes/pki/ca.crt https://{}/readyz` prints `ok`",
            node.at(self.new.bind_port)
        );
        let count = |n: u8| {
            format!(
                "`grep -c 'BEGIN CERTIFICATE' /etc/kubernetes/pki/ca.crt /etc/kubernetes/pki/front-proxy-ca.crt /etc/kubernetes/pki/etcd/ca.crt` on {c}: {n} each"
            )
        };
        let check_after = match phase {
            Phase::TrustBoth => vec![
                count(2),
                format!("`grep cluster-signing-cert-file /etc/kubernetes/manifests/kube-controller-manager.yaml` names {SIGNER}; `crictl ps --name kube-controller-manager` shows it running (a bundle as its signing certificate crash-loops it: `expected 1 certificate, found 2`)"),
                readyz,
                "`kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes` works (the old client certificate, both CAs trusted)".into(),
            ],
            Phase::IssueFromNew => vec![
                format!("`openssl verify -CAfile {SIGNER} /etc/kubernetes/pki/apiserver.crt` prints OK: the new cluster CA alone issued it"),
                format!("`openssl x509 -noout -pubkey -in {SIGNER}` equals `openssl pkey -pubout -in /etc/kubernetes/pki/ca.key`: the controller manager signs with the new key"),
                readyz,
                "`kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes` works with the new admin.conf".into(),
            ],
            Phase::DropOld => vec![
                count(1),
                "`grep cluster-signing-cert-file /etc/kubernetes/manifests/kube-controller-manager.yaml` names /etc/kubernetes/pki/ca.crt again".into(),
                readyz,
                "`kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes` works".into(),
            ],
        };
        let rollback = match phase {
            Phase::TrustBoth => format!(
                "put back the old bundle's (`--from`) nodes/{c}/etc/kubernetes/ (its CA files and kubeconfigs name the old CA alone), set the signing flag back to ca.crt (the sed of the step reversed) and restart the static pods the same way"
            ),
            Phase::IssueFromNew => format!(
                "put back the old bundle's (`--from`) nodes/{c}/etc/kubernetes/ (old keys and certificates), then steps/{}/nodes/{c}/ over it (both CAs trusted, the old key signing), and restart the static pods the same way",
                self.step_id(Phase::TrustBoth, Action::RotateControlPlane, c)
            ),
            Phase::DropOld => format!(
                "put back steps/{}/nodes/{c}/ (both CAs trusted), run `{to_signer}` while the manifests are out, and restart the static pods the same way",
                self.step_id(Phase::IssueFromNew, Action::RotateControlPlane, c)
            ),
        };
        self.emit(Draft {
            action: Action::RotateControlPlane,
            node: c.to_string(),
            summary: format!(
                "{}: control plane {c} gets {}; its static pods restart",
                phase.title(),
                match phase {
                    Phase::TrustBoth => "both CAs in every CA file and kubeconfig (the old keys still sign; the controller manager signs from ca-signer.crt)",
                    Phase::IssueFromNew => "the new CA keys and every certificate and kubeconfig from the new CAs (both CAs still trusted)",
                    Phase::DropOld => "the new CAs alone in every CA file and kubeconfig",
                }
            ),
            check_before,
            commands,
            check_after,
            rollback: vec![rollback],
            files,
            restarts: vec![c.to_string()],
        });
        self.lb_step(c, true);
    }

    fn rotate_worker(&mut self, w: &str, phase: Phase) {
        let node = self.node(w).clone();
        let mut files = BTreeMap::new();
        files.insert(w.to_string(), FileSet::CaTrust);
        let mut commands = Vec::new();
        if phase == Phase::TrustBoth {
            commands.push(cmd(
                w,
                "cp -a /etc/kubernetes/pki/ca.crt /etc/kubernetes/pki/ca.crt.before-rotation && cp -a /etc/kubernetes/kubelet.conf /etc/kubernetes/kubelet.conf.before-rotation",
            ));
        }
        commands.push(cmd(
            "admin",
            format!(
                "rsync -a steps/$STEP/nodes/{w}/ root@{}:/   # /etc/kubernetes/pki/ca.crt, kubelet.conf",
                node.address
            ),
        ));
        commands.push(cmd(w, "systemctl restart kubelet"));
        let n = if phase == Phase::DropOld { 1 } else { 2 };
        self.emit(Draft {
            action: Action::RotateWorker,
            node: w.to_string(),
            summary: format!(
                "{}: worker {w}'s kubelet trusts {} (ca.crt, kubelet.conf) and restarts",
                phase.title(),
                if phase == Phase::DropOld {
                    "the new CA alone"
                } else {
                    "both CAs"
                }
            ),
            check_before: vec![Self::before_phase(phase)],
            commands,
            check_after: vec![
                format!("`grep -c 'BEGIN CERTIFICATE' /etc/kubernetes/pki/ca.crt` on {w} prints {n}"),
                format!("`kubectl get node {w}` Ready; `kubectl logs` of a pod on {w} works (the API server reaches its kubelet)"),
            ],
            rollback: vec![if phase == Phase::TrustBoth {
                format!("on {w}: move ca.crt.before-rotation and kubelet.conf.before-rotation back and restart the kubelet")
            } else {
                format!(
                    "put back steps/{}/nodes/{w}/ (both CAs) and restart the kubelet",
                    self.step_id(Phase::TrustBoth, Action::RotateWorker, w)
                )
            }],
            files,
            restarts: Vec::new(),
        });
    }

    fn update_cluster_info(&mut self, phase: Phase) {
        let op = self.operator("");
        let node = self.node(&op).clone();
        let mut files = BTreeMap::new();
        files.insert(op.clone(), FileSet::ClusterInfo);
        let n = if phase == Phase::DropOld { 1 } else { 2 };
        self.emit(Draft {
            action: Action::UpdateClusterInfo,
            node: op.clone(),
            summary: format!(
                "{}: the cluster-info ConfigMap (what joining nodes trust) names {}",
                phase.title(),
                if n == 1 { "the new CA alone" } else { "both CAs" }
            ),
            check_before: vec![if phase == Phase::TrustBoth {
                "every API server trusts both CAs (earlier steps)".to_string()
            } else {
                "every control plane and worker trusts the new CA alone (earlier steps)".to_string()
            }],
            commands: vec![
                cmd(
                    "admin",
                    format!(
                        "rsync -a steps/$STEP/nodes/{op}/ root@{}:/   # /{CLUSTER_INFO_PATCH}",
                        node.address
                    ),
                ),
                cmd(
                    &op,
                    format!("kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-public patch configmap cluster-info --type merge --patch-file /{CLUSTER_INFO_PATCH} && rm /{CLUSTER_INFO_PATCH}"),
                ),
            ],
            check_after: vec![
                format!("`kubectl -n kube-public get configmap cluster-info -o jsonpath='{{.data.kubeconfig}}' | awk '/certificate-authority-data/ {{print $2}}' | base64 -d | grep -c 'BEGIN CERTIFICATE'` prints {n}"),
                "the bootstrap signer re-signed it: the `jws-kubeconfig-<token id>` values changed".into(),
            ],
            rollback: vec![if phase == Phase::TrustBoth {
                "patch it back with the old CA alone (the old bundle's ca.crt, base64, as certificate-authority-data)".to_string()
            } else {
                format!(
                    "apply steps/{}/nodes/{op}/{CLUSTER_INFO_PATCH} again (both CAs)",
                    self.step_id(Phase::TrustBoth, Action::UpdateClusterInfo, &op)
                )
            }],
            files,
            restarts: Vec::new(),
        });
    }

    fn restart_workloads(&mut self, phase: Phase) {
        let op = self.operator("");
        let n = if phase == Phase::DropOld { 1 } else { 2 };
        self.emit(Draft {
            action: Action::RestartWorkloads,
            node: op.clone(),
            summary: format!(
                "{}: restart the workloads that call the API server with their ServiceAccount, so they trust {} (client-go reads the mounted ca.crt once, at start)",
                phase.title(),
                if n == 1 { "the new CA alone" } else { "both CAs before the API servers serve certificates of the new one" }
            ),
            check_before: vec![
                format!("`kubectl -n kube-system get configmap kube-root-ca.crt -o jsonpath='{{.data.ca\\.crt}}' | grep -c 'BEGIN CERTIFICATE'` prints {n}: the controller manager's leader published its --root-ca-file to every namespace (wait a minute and retry)"),
            ],
            commands: vec![
                cmd(&op, "export KUBECONFIG=/etc/kubernetes/admin.conf"),
                cmd(&op, "for ns in $(kubectl get ns -o jsonpath='{.items[*].metadata.name}'); do for kind in daemonset deployment statefulset; do kubectl -n \"$ns\" rollout restart \"$kind\" 2>/dev/null || true; done; done   # kube-proxy, CoreDNS, the CNI, metrics-server, operators…"),
            ],
            check_after: vec![
                "`kubectl get pods -A` shows every pod Running or Completed, restarted after the step began".into(),
                "no `x509: certificate signed by unknown authority` in the logs of kube-proxy, CoreDNS and the CNI; `kubectl get apiservices` all Available (aggregated API servers read the front-proxy CA from extension-apiserver-authentication)".into(),
            ],
            rollback: vec!["none needed: a restart changes nothing but the pods' start time".into()],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn create_bootstrap_token(&mut self) {
        let op = self.operator("");
        let node = self.node(&op).clone();
        self.emit(Draft {
            action: Action::CreateBootstrapToken,
            node: op.clone(),
            summary: format!(
                "{}: create the bundle's bootstrap token again (2 h), for the kubelets' new client certificates",
                Phase::IssueFromNew.title()
            ),
            check_before: vec![
                "every control plane has the new CA keys (earlier steps): the kubelets' CSRs are signed by whichever controller manager leads, and it must sign with the new key".into(),
                format!("`kubeadm token list` on {op} does not list the bundle's token (its id is the part before the dot): if it does, `kubeadm token delete <id>` first, or the create fails with `already exists`"),
            ],
            commands: vec![cmd(
                "admin",
                format!(
                    "ssh root@{} kubeadm token create \"$(sed -n 's/^token: *\"\\(.*\\)\"$/\\1/p' bundle/join.yaml)\" --ttl 2h --description 'hagen plan --rotate-ca'",
                    node.address
                ),
            )],
            check_after: vec![format!(
                "`kubeadm token list` on {op} lists it with usages authentication,signing and group system:bootstrappers:kubeadm:default-node-token"
            )],
            rollback: vec!["`kubeadm token delete <token id>` (it expires in 2 h anyway)".into()],
            files: BTreeMap::new(),
            restarts: Vec::new(),
        });
    }

    fn rebootstrap_kubelet(&mut self, n: &str) {
        let node = self.node(n).clone();
        let mut files = BTreeMap::new();
        files.insert(n.to_string(), FileSet::KubeletBootstrap);
        self.emit(Draft {
            action: Action::RebootstrapKubelet,
            node: n.to_string(),
            summary: format!(
                "{}: {n}'s kubelet gets a client certificate from the new CA by TLS bootstrap (its key stays on the node); the containers keep running",
                Phase::IssueFromNew.title()
            ),
            check_before: vec![
                "the bootstrap token exists (previous steps)".into(),
            ],
            commands: vec![
                cmd(
                    "admin",
                    format!(
                        "rsync -a steps/$STEP/nodes/{n}/ root@{}:/   # /{BOOTSTRAP_CONF}",
                        node.address
                    ),
                ),
                cmd(
                    n,
                    "mv /etc/kubernetes/kubelet.conf /etc/kubernetes/kubelet.conf.old-ca && mv /var/lib/kubelet/pki/kubelet-client-current.pem /var/lib/kubelet/pki/kubelet-client-old-ca.pem && systemctl restart kubelet",
                ),
                cmd(n, "sleep 20   # the kubelet's CSR is approved and signed"),
                cmd(
                    n,
                    format!("awk '/certificate-authority-data/ {{print $2}}' /{BOOTSTRAP_CONF} | base64 -d | openssl x509 > /tmp/new-ca.crt && openssl verify -CAfile /tmp/new-ca.crt /var/lib/kubelet/pki/kubelet-client-current.pem && rm /{BOOTSTRAP_CONF}   # the bundle's first certificate is the new CA; the file holds the token"),
                ),
            ],
            check_after: vec![
                format!("`kubectl get csr` lists an Approved,Issued CSR of system:node:{n}; `kubectl get node {n}` Ready"),
                "the `openssl verify` of the step printed OK".into(),
            ],
            rollback: vec![format!(
                "on {n}: move kubelet.conf.old-ca and kubelet-client-old-ca.pem back, remove /{BOOTSTRAP_CONF}, restart the kubelet"
            )],
            files,
            restarts: Vec::new(),
        });
    }
}

fn files_of(phase: Phase) -> FileSet {
    if phase == Phase::IssueFromNew {
        FileSet::CaReissued
    } else {
        FileSet::CaTrust
    }
}

/// The material a rotation keeps from the old bundle: the service-account key pair and
/// the join token. The CAs, every leaf and every key are made anew.
pub fn for_rotation(existing: &Existing) -> Existing {
    let mut e = existing.clone();
    e.shared
        .retain(|path, _| path == spec::SA_KEY || path == spec::SA_PUB);
    e.per_node.clear();
    e
}

/// One CA's certificate before and after the rotation.
struct CaPair {
    name: &'static str,
    old: Vec<u8>,
    new: Vec<u8>,
}

fn ca_pairs(old: &Pki, new: &Pki, plan: &Plan) -> Result<Vec<CaPair>, FilesError> {
    let cp = plan
        .control_planes()
        .next()
        .ok_or_else(|| FilesError::Rotation("no control plane".into()))?;
    let get = |pki: &Pki, name: &str| {
        let path = format!("{}/{}/{name}.crt", paths::node(&cp.name), paths::K8S_PKI);
        pki.files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, f)| f.bytes.clone())
            .ok_or_else(|| FilesError::Rotation(format!("{path} is missing")))
    };
    spec::CERTS
        .iter()
        .filter(|row| row.is_ca)
        .map(|row| {
            Ok(CaPair {
                name: row.name,
                old: get(old, row.name)?,
                new: get(new, row.name)?,
            })
        })
        .collect()
}

fn kubernetes(cas: &[CaPair]) -> Result<&CaPair, FilesError> {
    cas.iter()
        .find(|c| c.name == spec::KUBERNETES_CA)
        .ok_or_else(|| FilesError::Rotation("no kubernetes CA".into()))
}

fn runs_kubelet(n: &Node) -> bool {
    n.has(Role::ControlPlane) || n.has(Role::Worker)
}

/// The server a node's kubelet talks to.
fn kubelet_server(plan: &Plan, n: &Node) -> String {
    if n.has(Role::ControlPlane) && plan.version.kubelet_local_mode() {
        n.at(plan.bind_port).url("https")
    } else {
        plan.endpoint.address().url("https")
    }
}

/// kubelet.conf as the kubelet writes it after TLS bootstrap: the client certificate on
/// disk (`kubelet-client-current.pem`, rotated by the kubelet), the CA data given.
fn kubelet_conf(server: &str, ca: &[u8]) -> File {
    let text = format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: default-cluster\ncontexts:\n- context:\n    cluster: default-cluster\n    namespace: default\n    user: default-auth\n  name: default-context\ncurrent-context: default-context\nkind: Config\npreferences: {{}}\nusers:\n- name: default-auth\n  user:\n    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n",
        STANDARD.encode(ca)
    );
    secret(text)
}

/// bootstrap-kubelet.conf as kubeadm writes it: the bootstrap token as the user.
fn bootstrap_conf(cluster: &str, server: &str, ca: &[u8], token: &str) -> File {
    let user = "tls-bootstrap-token-user";
    let text = format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: {cluster}\ncontexts:\n- context:\n    cluster: {cluster}\n    user: {user}\n  name: {user}@{cluster}\ncurrent-context: {user}@{cluster}\nkind: Config\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n    token: {token}\n",
        STANDARD.encode(ca)
    );
    secret(text)
}

/// The merge patch of the `cluster-info` ConfigMap: its kubeconfig as kubeadm writes it.
/// The bootstrap signer adds the `jws-kubeconfig-*` signatures again.
fn cluster_info_patch(server: &str, ca: &[u8]) -> File {
    let text = format!(
        "data:\n  kubeconfig: |\n    apiVersion: v1\n    clusters:\n    - cluster:\n        certificate-authority-data: {}\n        server: {server}\n      name: \"\"\n    contexts: null\n    current-context: \"\"\n    kind: Config\n    preferences: {{}}\n    users: null\n",
        STANDARD.encode(ca)
    );
    File {
        bytes: text.into_bytes(),
        mode: MODE_FILE,
        pki: true,
    }
}

fn secret(text: String) -> File {
    File {
        bytes: text.into_bytes(),
        mode: MODE_SECRET,
        pki: true,
    }
}

fn with_ca(path: &str, f: &File, ca: &[u8]) -> Result<File, FilesError> {
    let mut parts =
        kubeconfig::parse(&f.bytes).map_err(|e| FilesError::Rotation(format!("{path}: {e}")))?;
    parts.ca_pem = ca.to_vec();
    Ok(File {
        bytes: kubeconfig::render(&parts).into_bytes(),
        ..f.clone()
    })
}

/// The files `node` gets at `step` (a rotation step), by path relative to the node's
/// root. `old` is the old bundle's PKI, `new` the final bundle's, over `plan`'s nodes.
/// Workers get CA certificates only, never a key; CA keys go to control planes alone.
pub(super) fn node_files(
    old: &Pki,
    new: &Pki,
    plan: &Plan,
    step: &Step,
    name: &str,
    set: FileSet,
) -> Result<Vec<(String, File)>, FilesError> {
    let phase = step
        .phase
        .ok_or_else(|| FilesError::Rotation(format!("step {} has no phase", step.id)))?;
    let node = plan
        .nodes
        .iter()
        .find(|n| n.name == name)
        .ok_or_else(|| FilesError::Rotation(format!("no node {name}")))?;
    let cas = ca_pairs(old, new, plan)?;
    let k = kubernetes(&cas)?;
    let cp = node.has(Role::ControlPlane);
    let prefix = format!("{}/", paths::node(name));
    let mut out = Vec::new();
    match set {
        FileSet::CaTrust | FileSet::CaReissued => {
            let src = if phase == Phase::TrustBoth { old } else { new };
            let mut has_ca = false;
            for (path, f) in &src.files {
                let Some(rel) = path.strip_prefix(&prefix) else {
                    continue;
                };
                if let Some(pair) = cas.iter().find(|c| f.bytes == c.old || f.bytes == c.new) {
                    has_ca |= rel == CA_CRT;
                    let bytes = phase.trust(&pair.old, &pair.new);
                    out.push((rel.to_string(), File { bytes, ..f.clone() }));
                } else if rel.ends_with(".conf") {
                    out.push((
                        rel.to_string(),
                        with_ca(path, f, &phase.trust(&k.old, &k.new))?,
                    ));
                } else if set == FileSet::CaReissued {
                    out.push((rel.to_string(), f.clone()));
                }
            }
            if cp && phase != Phase::DropOld {
                let signer = if phase == Phase::TrustBoth {
                    &k.old
                } else {
                    &k.new
                };
                out.push((
                    SIGNER_CRT.to_string(),
                    File {
                        bytes: signer.clone(),
                        mode: MODE_FILE,
                        pki: true,
                    },
                ));
            }
            if set == FileSet::CaTrust && runs_kubelet(node) {
                let ca = phase.trust(&k.old, &k.new);
                if !has_ca {
                    // A worker's ca.crt, written by `kubeadm join` from cluster-info.
                    out.push((
                        CA_CRT.to_string(),
                        File {
                            bytes: ca.clone(),
                            mode: MODE_FILE,
                            pki: true,
                        },
                    ));
                }
                out.push((
                    KUBELET_CONF.to_string(),
                    kubelet_conf(&kubelet_server(plan, node), &ca),
                ));
            }
        }
        FileSet::KubeletBootstrap => out.push((
            BOOTSTRAP_CONF.to_string(),
            bootstrap_conf(
                &plan.cluster_name,
                &kubelet_server(plan, node),
                &phase.trust(&k.old, &k.new),
                &new.join.token,
            ),
        )),
        FileSet::ClusterInfo => out.push((
            CLUSTER_INFO_PATCH.to_string(),
            cluster_info_patch(
                &plan.endpoint.address().url("https"),
                &phase.trust(&k.old, &k.new),
            ),
        )),
        other => {
            return Err(FilesError::Rotation(format!(
                "{other:?} files are not a rotation's"
            )));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The plan directory's own files of a rotation: `rotation/join.txt`, how a node joins
/// while the rotation runs (both CA hashes pinned).
pub fn plan_files(change: &ChangePlan, old: &Pki, new: &Pki, plan: &Plan) -> Vec<(String, File)> {
    if !change.rotate_ca {
        return Vec::new();
    }
    let (o, n) = (&old.join.ca_cert_hash, &new.join.ca_cert_hash);
    let text = format!(
        "# Joining a node while the CA rotates (hagen plan --rotate-ca): pin both CAs.\n\
         # kubeadm accepts the cluster if any CA in cluster-info matches any pin.\n\
         old: {o}\n\
         new: {n}\n\
         \n\
         kubeadm join {} --token {} --discovery-token-ca-cert-hash {o} --discovery-token-ca-cert-hash {n}\n\
         \n\
         # or, in a JoinConfiguration:\n\
         #   discovery:\n\
         #     bootstrapToken:\n\
         #       caCertHashes: [\"{o}\", \"{n}\"]\n\
         # After the last step, bundle/ (the new CA's hash alone) is right again.\n",
        plan.endpoint.address(),
        new.join.token,
    );
    vec![("rotation/join.txt".to_string(), secret(text))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_phase_trusts_its_cas_signing_one_first() {
        let (old, new) = (b"OLD\n".as_slice(), b"NEW".as_slice());
        assert_eq!(Phase::TrustBoth.trust(old, new), b"OLD\nNEW");
        assert_eq!(Phase::IssueFromNew.trust(old, new), b"NEW\nOLD\n");
        assert_eq!(Phase::DropOld.trust(old, new), b"NEW");
    }

    #[test]
    fn a_rotation_keeps_only_the_service_account_pair_and_the_token() {
        let mut e = Existing::none();
        for f in [
            "ca.crt",
            "ca.key",
            "etcd/ca.key",
            "front-proxy-ca.crt",
            "sa.key",
            "sa.pub",
        ] {
            e.shared.insert(f.into(), f.as_bytes().to_vec());
        }
        e.per_node
            .entry("m1".into())
            .or_default()
            .insert("etc/kubernetes/pki/apiserver.key".into(), b"k".to_vec());
        e.join = Some(("t".into(), "k".into()));
        let r = for_rotation(&e);
        assert_eq!(r.shared.keys().collect::<Vec<_>>(), ["sa.key", "sa.pub"]);
        assert!(r.per_node.is_empty());
        assert_eq!(r.join, e.join);
    }
}
