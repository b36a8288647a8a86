//! [`Existing`]: the PKI material an earlier render or a running cluster already has,
//! sorted into the files control planes share and each node's own.

use super::error::PkiError;
use super::{join, spec};
use crate::bundle::paths;
use std::collections::BTreeMap;

/// PKI material that already exists and must be reused.
///
/// * `shared`: the files every control plane shares (see [`spec::shared_files`]), keyed by
///   their path relative to kubeadm's certificatesDir: `ca.crt`, `ca.key`,
///   `front-proxy-ca.crt`, `etcd/ca.key`, `sa.key`, `sa.pub`. Absent files are made.
/// * `per_node`: everything that differs per node, keyed by node name, then by the path
///   relative to that node's root as it appears in the bundle without `nodes/<name>/`:
///   `etc/kubernetes/pki/apiserver.crt`, `etc/kubernetes/admin.conf`,
///   `etc/etcd/pki/server.key`. Unknown paths are ignored.
///
/// [`Existing::from_pki_dir`] builds it from a copy of one node's `/etc/kubernetes/pki`;
/// [`Existing::from_bundle`] from the files of an earlier render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Existing {
    /// Shared files, by path relative to the pki directory.
    pub shared: BTreeMap<String, Vec<u8>>,
    /// Per-node files, by node name, then path relative to the node's root.
    pub per_node: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// The bootstrap token and certificate key of an earlier render, kept so that the
    /// kubeadm files come out the same.
    pub join: Option<(String, String)>,
}

impl Existing {
    /// Nothing exists: everything is generated.
    pub fn none() -> Existing {
        Existing::default()
    }

    /// From a copy of `node`'s `/etc/kubernetes/pki` (`hagen render --pki-from DIR`):
    /// `files` maps each path relative to DIR (`etcd/ca.crt`) to its bytes. The shared
    /// files become [`Existing::shared`]; the rest (that node's own leaves) belong to
    /// `node`, usually the control plane the directory was copied from.
    pub fn from_pki_dir(files: BTreeMap<String, Vec<u8>>, node: &str) -> Existing {
        let mut existing = Existing::default();
        for (path, bytes) in files {
            if spec::is_shared(&path) {
                existing.shared.insert(path, bytes);
            } else {
                existing
                    .per_node
                    .entry(node.to_string())
                    .or_default()
                    .insert(format!("{}/{path}", paths::K8S_PKI), bytes);
            }
        }
        existing
    }

    /// From the files of an earlier render (bundle paths such as
    /// `nodes/k8s-m1/etc/kubernetes/pki/ca.crt`, and `pki/etcd/ca.key` at the top). Other
    /// files outside `nodes/` are ignored. The
    /// shared files must be the same on every node that has them.
    pub fn from_bundle<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Existing, PkiError> {
        let mut existing = Existing::default();
        let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
        let pki_prefix = format!("{}/", paths::K8S_PKI);
        for (path, bytes) in files {
            if path == crate::bundle::JOIN {
                existing.join = join::parse_join(bytes);
                continue;
            }
            if let Some(name) = path
                .strip_prefix(paths::BUNDLE_PKI)
                .and_then(|p| p.strip_prefix('/'))
                .filter(|name| spec::is_shared(name))
            {
                existing.shared.insert(name.to_string(), bytes.to_vec());
                first_seen.insert(name.to_string(), path.to_string());
                continue;
            }
            let Some(rest) = path.strip_prefix("nodes/") else {
                continue;
            };
            let Some((node, rel)) = rest.split_once('/') else {
                continue;
            };
            match rel.strip_prefix(&pki_prefix) {
                Some(name) if spec::is_shared(name) => {
                    if let Some(before) = existing.shared.get(name) {
                        if before.as_slice() != bytes {
                            return Err(PkiError::Conflict {
                                path: path.to_string(),
                                other: first_seen.get(name).cloned().unwrap_or_default(),
                            });
                        }
                    } else {
                        existing.shared.insert(name.to_string(), bytes.to_vec());
                        first_seen.insert(name.to_string(), path.to_string());
                    }
                }
                _ => {
                    existing
                        .per_node
                        .entry(node.to_string())
                        .or_default()
                        .insert(rel.to_string(), bytes.to_vec());
                }
            }
        }
        Ok(existing)
    }

    pub(super) fn node_file(&self, node: &str, rel: &str) -> Option<&[u8]> {
        self.per_node
            .get(node)
            .and_then(|files| files.get(rel))
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pki_dir_splits_shared_and_own_files() {
        let mut files = BTreeMap::new();
        files.insert("ca.crt".to_string(), b"a".to_vec());
        files.insert("etcd/ca.key".to_string(), b"b".to_vec());
        files.insert("apiserver.crt".to_string(), b"c".to_vec());
        let e = Existing::from_pki_dir(files, "m1");
        assert_eq!(
            e.shared.keys().collect::<Vec<_>>(),
            ["ca.crt", "etcd/ca.key"]
        );
        assert_eq!(
            e.node_file("m1", "etc/kubernetes/pki/apiserver.crt"),
            Some(&b"c"[..])
        );
    }
}
