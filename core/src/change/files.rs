//! The files of a change plan: for every step, what each node it touches needs (rendered
//! by the bundle's own renderer from the step's intermediate node set), and the final
//! bundle. The PKI is made once, for every node of both topologies, from the old bundle's
//! material, so a new node's keys are the same in its step and in the final bundle, and
//! the CA and every key that still fits are kept.

use super::{ChangePlan, FileSet, State, union_nodes};
use crate::bundle::{Bundle, File};
use crate::pki::{Entropy, Existing, Pki, PkiError, PkiEvent, generate};
use crate::plan::{Node, Plan};
use crate::render::{Input, RenderError, render};
use crate::source::SourceFile;
use crate::topology::Role;
use crate::whatif::Scenario;
use std::collections::BTreeMap;

/// What [`materialize`] makes.
#[derive(Debug, Clone)]
pub struct Materialized {
    /// Per step id, the files under `steps/<id>/` (`nodes/<name>/etc/...`).
    pub steps: BTreeMap<String, Vec<(String, File)>>,
    /// Files of the plan directory itself (`rotation/join.txt` of a CA rotation).
    pub plan_files: Vec<(String, File)>,
    /// The final bundle, sealed.
    pub bundle: Bundle,
    /// What happened to every PKI file, over the nodes of both topologies.
    pub report: Vec<PkiEvent>,
}

/// Why the files could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// The old bundle's PKI cannot be reused.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A template failed (a bug).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The CA would change, which a node change never asks for.
    #[error("the cluster CA would change ({0}); hagen plan keeps it unless --rotate-ca")]
    CaChanged(String),
    /// A CA rotation's files could not be made (a bug).
    #[error("CA rotation: {0}")]
    Rotation(String),
}

const LB_FILES: &[&str] = &["etc/haproxy/haproxy.cfg", "etc/nginx/nginx.conf"];
const KEEPALIVED_DIR: &str = "etc/keepalived/";
const KUBEADM_CONFIG: &str = "etc/kubernetes/kubeadm-config.yaml";
const ETCD_CONF: &str = "etc/etcd/etcd.conf.yml";

/// Renders every step's files and the final bundle.
#[allow(clippy::too_many_arguments)]
pub fn materialize(
    change: &ChangePlan,
    old: &Plan,
    new: &Plan,
    new_source: &SourceFile,
    what_if: &[Scenario],
    existing: &Existing,
    entropy: &mut dyn Entropy,
    now: i64,
) -> Result<Materialized, FilesError> {
    let union = Plan {
        nodes: union_nodes(old, new),
        ..new.clone()
    };
    let renewal;
    let existing = if change.renew {
        renewal = for_renewal(existing);
        &renewal
    } else {
        existing
    };
    let pki_all = generate(&union, existing, entropy, now)?;
    let mut kept = Existing::from_bundle(
        pki_all
            .files
            .iter()
            .map(|(p, f)| (p.as_str(), f.bytes.as_slice())),
    )?;
    kept.join = Some((
        pki_all.join.token.clone(),
        pki_all.join.certificate_key.clone(),
    ));
    if change.rotate_ca {
        kept = super::rotate::for_rotation(&kept);
    }
    let pki_final = generate(new, &kept, entropy, now)?;
    if !change.rotate_ca
        && let Some(before) = existing.shared.get("ca.crt")
    {
        let after = pki_final
            .files
            .iter()
            .find(|(p, _)| p.ends_with("/etc/kubernetes/pki/ca.crt"))
            .map(|(_, f)| &f.bytes);
        if after.is_some_and(|a| a != before) {
            return Err(FilesError::CaChanged(
                "the final bundle's ca.crt differs from the old bundle's".into(),
            ));
        }
    }
    let bundle = crate::assemble(new_source, new, what_if, &pki_final)?;

    let r = Renderer {
        base: new,
        union: &union.nodes,
        pki: &pki_all,
    };
    let mut endpoint_files = super::endpoint::StepFiles::new(old, &union, &kept);
    let mut steps = BTreeMap::new();
    for step in &change.steps {
        if step.files.is_empty() {
            continue;
        }
        let mut out = Vec::new();
        for (node, set) in &step.files {
            let prefix = format!("nodes/{node}/");
            let mut put = |rel: &str, file: File| out.push((format!("{prefix}{rel}"), file));
            match set {
                FileSet::LbConfig => {
                    for (rel, f) in r.lb_files(&step.state, node)? {
                        put(&rel, f);
                    }
                }
                FileSet::Keepalived => {
                    let mut set: Vec<String> = step
                        .state
                        .keepalived_peers
                        .get(node)
                        .cloned()
                        .unwrap_or_default();
                    set.push(node.clone());
                    let b = r.render_with(|n| set.contains(&n.name), |_| true)?;
                    for (path, f) in b.iter() {
                        if let Some(rel) = path.strip_prefix(&prefix)
                            && rel.starts_with(KEEPALIVED_DIR)
                        {
                            put(rel, f.clone());
                        }
                    }
                }
                FileSet::Renewed => {
                    for (path, f) in &pki_all.files {
                        if let Some(rel) = path.strip_prefix(&prefix) {
                            put(rel, f.clone());
                        }
                    }
                }
                FileSet::CaTrust
                | FileSet::CaReissued
                | FileSet::KubeletBootstrap
                | FileSet::ClusterInfo => {
                    for (rel, f) in
                        super::rotate::node_files(&pki_all, &pki_final, &union, step, node, *set)?
                    {
                        put(&rel, f);
                    }
                }
                FileSet::Final => {
                    for (path, f) in bundle.iter() {
                        if let Some(rel) = path.strip_prefix(&prefix)
                            && (LB_FILES.contains(&rel) || rel.starts_with(KEEPALIVED_DIR))
                        {
                            put(rel, f.clone());
                        }
                    }
                }
                FileSet::KubeadmConfig => {
                    if let Some(f) = bundle.get(&format!("{prefix}{KUBEADM_CONFIG}")) {
                        put(KUBEADM_CONFIG, f.clone());
                    }
                }
                FileSet::KeepalivedStaged
                | FileSet::KubeVip
                | FileSet::KubeVipStaged
                | FileSet::TransitionCert
                | FileSet::ServingCert
                | FileSet::Kubeconfigs => {
                    let b =
                        r.render_with(|n| step.state.api_servers.contains(&n.name), |_| true)?;
                    for (rel, f) in endpoint_files.files(*set, node, &b, &pki_all, entropy, now)? {
                        put(&rel, f);
                    }
                }
                FileSet::Overlay => {
                    let s = &step.state;
                    let in_cluster = |n: &Node| {
                        n.name == *node
                            || s.api_servers.contains(&n.name)
                            || s.workers.contains(&n.name)
                            || s.etcd_members.contains(&n.name)
                            || s.etcd_learners.contains(&n.name)
                    };
                    let b = r.render_with(in_cluster, |_| true)?;
                    let lb = r.lb_files(s, node)?;
                    for (path, f) in b.iter() {
                        let Some(rel) = path.strip_prefix(&prefix) else {
                            continue;
                        };
                        if LB_FILES.contains(&rel) {
                            continue;
                        }
                        let mut f = f.clone();
                        if rel == ETCD_CONF {
                            // Joining a cluster that exists: etcd checks that its
                            // initial-cluster equals the membership it finds.
                            let text = String::from_utf8_lossy(&f.bytes)
                                .replace(
                                    "initial-cluster-state: new",
                                    "initial-cluster-state: existing",
                                )
                                .replace(
                                    "# Every member from the start: the cluster forms once all are up, nobody runs\n# `etcdctl member add` by hand.",
                                    "# Joins the running cluster (hagen plan): added as a learner first, so\n# initial-cluster is exactly the membership it finds.",
                                );
                            f.bytes = text.into_bytes();
                        }
                        put(rel, f);
                    }
                    // The node's own render says whether it runs the proxy (an
                    // external etcd host runs none).
                    for (rel, f) in lb {
                        if b.get(&format!("{prefix}{rel}")).is_some() {
                            put(&rel, f);
                        }
                    }
                    for (path, f) in &pki_all.files {
                        if let Some(rel) = path.strip_prefix(&prefix) {
                            put(rel, f.clone());
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        steps.insert(step.id.clone(), out);
    }
    Ok(Materialized {
        plan_files: super::rotate::plan_files(change, &pki_all, &pki_final, new),
        steps,
        bundle,
        // A rotation's news is the new PKI; otherwise the kept one over both topologies.
        report: if change.rotate_ca {
            pki_final.report.clone()
        } else {
            pki_all.report
        },
    })
}

/// The material a renewal keeps: the CAs, `sa.*` and every leaf's key; the leaf
/// certificates and the kubeconfigs are left out, so they are issued again (with the
/// same keys, from the same CAs).
pub fn for_renewal(existing: &Existing) -> Existing {
    let mut e = existing.clone();
    for files in e.per_node.values_mut() {
        files.retain(|path, _| !path.ends_with(".crt") && !path.ends_with(".conf"));
    }
    e
}

struct Renderer<'a> {
    base: &'a Plan,
    union: &'a [Node],
    pki: &'a Pki,
}

impl Renderer<'_> {
    /// Renders the nodes `keep` selects; a control plane `cp` rejects loses the role.
    fn render_with(
        &self,
        keep: impl Fn(&Node) -> bool,
        cp: impl Fn(&Node) -> bool,
    ) -> Result<Bundle, RenderError> {
        let nodes = self
            .union
            .iter()
            .filter(|n| keep(n))
            .map(|n| {
                let mut n = n.clone();
                if !cp(&n) {
                    n.roles.retain(|r| *r != Role::ControlPlane);
                    if n.roles.is_empty() {
                        n.roles.push(Role::Worker);
                    }
                }
                n
            })
            .collect();
        let plan = Plan {
            nodes,
            ..self.base.clone()
        };
        render(&Input {
            plan: &plan,
            join: &self.pki.join,
            what_if: &[],
        })
    }

    /// haproxy.cfg / nginx.conf for `node` with exactly the state's backends, by path
    /// relative to a node's root. `node` need not be a backend (a joining control plane,
    /// a worker's nginx): the file is the same on every node but for the node named in
    /// its banner line.
    fn lb_files(&self, s: &State, node: &str) -> Result<Vec<(String, File)>, RenderError> {
        if s.lb_backends.is_empty() {
            return Ok(Vec::new());
        }
        let b = self.render_with(
            |n| s.lb_backends.contains(&n.name),
            |n| s.lb_backends.contains(&n.name),
        )?;
        let source = if s.lb_backends.iter().any(|b| b == node) {
            node
        } else {
            s.lb_backends[0].as_str()
        };
        let prefix = format!("nodes/{source}/");
        Ok(b.iter()
            .filter_map(|(p, f)| {
                let rel = p.strip_prefix(&prefix)?;
                if !LB_FILES.contains(&rel) {
                    return None;
                }
                let mut f = f.clone();
                if source != node {
                    let text = String::from_utf8_lossy(&f.bytes);
                    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
                    let first = first.replace(&format!(" on {source} "), &format!(" on {node} "));
                    f.bytes = format!("{first}\n{rest}").into_bytes();
                }
                Some((rel.to_string(), f))
            })
            .collect())
    }
}
