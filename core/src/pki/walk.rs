//! The one walk of the table ([`spec`]) over a plan: every step of a PKI
//! run in the order it is done (the CAs, the service-account pair, then each node's
//! leaves and kubeconfigs), each with what already exists of it. Counting the new keys
//! ([`new_keys_needed`](super::new_keys_needed)) and making the PKI both read this list,
//! so they cannot disagree.
//!
//! Whether an existing certificate is kept or re-issued is not decided here: that needs
//! its CA, which may be made in the same run.

use super::existing::Existing;
use super::spec::{self, CERTS, CertSpec, KUBECONFIGS, KubeconfigSpec};
use crate::plan::{Node, Plan};
use crate::topology::Role;

/// What exists of a certificate (or `sa.pub`) and its private key.
#[derive(Clone, Copy)]
pub(super) enum Pair<'e> {
    /// Neither: a new key is made, and a certificate for it.
    New,
    /// Both.
    Both {
        /// The certificate file.
        crt: &'e [u8],
        /// The key file.
        key: &'e [u8],
    },
    /// The certificate alone.
    CrtOnly,
    /// The key alone.
    KeyOnly(&'e [u8]),
}

impl<'e> Pair<'e> {
    fn of(crt: Option<&'e [u8]>, key: Option<&'e [u8]>) -> Pair<'e> {
        match (crt, key) {
            (None, None) => Pair::New,
            (Some(crt), Some(key)) => Pair::Both { crt, key },
            (Some(_), None) => Pair::CrtOnly,
            (None, Some(key)) => Pair::KeyOnly(key),
        }
    }
}

/// Where a CA's files go on one node.
pub(super) struct Place<'p> {
    /// The node.
    pub node: &'p Node,
    /// The path relative to the node's root, without `.crt`/`.key`.
    pub rel: String,
    /// False where only the certificate goes (the etcd CA on external etcd members).
    pub with_key: bool,
}

/// One step of a PKI run.
pub(super) enum Step<'p, 'e> {
    /// A CA, loaded or made once, then copied to every place.
    Ca {
        /// Its row.
        row: &'static CertSpec,
        /// Its files in [`Existing::shared`].
        found: Pair<'e>,
        /// Where it goes.
        places: Vec<Place<'p>>,
    },
    /// `sa.key` and `sa.pub`, on every control plane.
    ServiceAccount {
        /// `sa.pub` (as the certificate) and `sa.key`.
        found: Pair<'e>,
        /// The control planes.
        nodes: Vec<&'p Node>,
    },
    /// A leaf certificate and its key on one node.
    Leaf {
        /// The node.
        node: &'p Node,
        /// Its row.
        row: &'static CertSpec,
        /// The path relative to the node's root, without `.crt`/`.key`.
        rel: String,
        /// Its files on that node.
        found: Pair<'e>,
    },
    /// A kubeconfig, with its client key inside, on one control plane.
    Kubeconfig {
        /// The node.
        node: &'p Node,
        /// Its row.
        kc: &'static KubeconfigSpec,
        /// The path relative to the node's root.
        rel: String,
        /// The existing file.
        found: Option<&'e [u8]>,
    },
}

impl Step<'_, '_> {
    /// Whether this step makes a new private key: nothing of it exists.
    pub(super) fn new_key(&self) -> bool {
        match self {
            Step::Ca { found, .. }
            | Step::ServiceAccount { found, .. }
            | Step::Leaf { found, .. } => {
                matches!(found, Pair::New)
            }
            Step::Kubeconfig { found, .. } => found.is_none(),
        }
    }
}

/// Every step of making `plan`'s PKI given `existing`, in order.
pub(super) fn walk<'p, 'e>(plan: &'p Plan, existing: &'e Existing) -> Vec<Step<'p, 'e>> {
    let shared = |name: &str| existing.shared.get(name).map(Vec::as_slice);
    let mut steps = Vec::new();
    for row in CERTS.iter().filter(|r| r.is_ca) {
        let places = plan
            .nodes
            .iter()
            .filter_map(|node| {
                let (rel, with_key) = row.place(plan, node)?;
                Some(Place {
                    node,
                    rel,
                    with_key,
                })
            })
            .collect();
        steps.push(Step::Ca {
            row,
            found: Pair::of(
                shared(&format!("{}.crt", row.name)),
                shared(&format!("{}.key", row.name)),
            ),
            places,
        });
    }
    let control_planes: Vec<&Node> = plan.control_planes().collect();
    steps.push(Step::ServiceAccount {
        found: Pair::of(shared(spec::SA_PUB), shared(spec::SA_KEY)),
        nodes: control_planes.clone(),
    });
    let first = control_planes.first().map(|n| n.name.as_str());
    for node in &plan.nodes {
        for row in CERTS.iter().filter(|r| !r.is_ca) {
            let Some((rel, _)) = row.place(plan, node) else {
                continue;
            };
            let file = |ext: &str| existing.node_file(&node.name, &format!("{rel}.{ext}"));
            let found = Pair::of(file("crt"), file("key"));
            steps.push(Step::Leaf {
                node,
                row,
                rel,
                found,
            });
        }
        if !node.has(Role::ControlPlane) {
            continue;
        }
        for kc in KUBECONFIGS {
            if !(kc.since)(&plan.version) || (kc.first_only && first != Some(&node.name)) {
                continue;
            }
            let rel = kc.path();
            let found = existing.node_file(&node.name, &rel);
            steps.push(Step::Kubeconfig {
                node,
                kc,
                rel,
                found,
            });
        }
    }
    steps
}
