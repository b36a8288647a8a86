//! The bundle: every file hagen writes, in memory, keyed by its `/`-separated path
//! relative to the output directory (`nodes/k8s-m1/etc/haproxy/haproxy.cfg`). Sorted, so
//! output is deterministic. The CLI writes it; the web wizard zips it.

use std::collections::BTreeMap;

/// The name of the manifest file at the top of a bundle.
pub const MANIFEST: &str = "MANIFEST";
/// The copy of the topology a bundle was made from, at its top.
pub const TOPOLOGY: &str = "topology.yaml";
/// The join material (bootstrap token, certificate key) at the top of a bundle, kept so
/// a re-render writes the same kubeadm files. Secret, like a key.
pub const JOIN: &str = "join.yaml";

/// Mode of a private key: owner read/write only.
pub const MODE_SECRET: u32 = 0o600;
/// Mode of an ordinary file.
pub const MODE_FILE: u32 = 0o644;
/// Mode of a script.
pub const MODE_EXEC: u32 = 0o755;
/// Mode of a directory that holds private keys.
pub const MODE_SECRET_DIR: u32 = 0o700;
/// Mode of an ordinary directory.
pub const MODE_DIR: u32 = 0o755;

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Its content.
    pub bytes: Vec<u8>,
    /// Its unix mode (0o644, 0o600, 0o755).
    pub mode: u32,
    /// Made by the PKI step (keys, certificates, kubeconfigs): new bytes on every fresh
    /// generation, so golden tests check these by structure, not by content.
    pub pki: bool,
}

/// Every file of a render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    files: BTreeMap<String, File>,
}

impl Bundle {
    /// An empty bundle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a rendered file.
    pub fn add(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>, mode: u32) {
        self.insert(
            path.into(),
            File {
                bytes: bytes.into(),
                mode,
                pki: false,
            },
        );
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: String, file: File) {
        self.files.insert(path, file);
    }

    /// The file at `path`.
    pub fn get(&self, path: &str) -> Option<&File> {
        self.files.get(path)
    }

    /// Every file, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &File)> {
        self.files.iter()
    }

    /// How many files there are.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The `MANIFEST` text: one line per file, `MODE PATH`, sorted by path. It lets a
    /// reader (or `hagen render` itself, on the next run) recognise a hagen bundle and
    /// check modes without a filesystem that keeps them (a zip, a git checkout).
    pub fn manifest(&self) -> String {
        let mut out = String::from("# hagen bundle manifest: mode path\n");
        for (path, file) in &self.files {
            if path != MANIFEST {
                out.push_str(&format!("{:04o} {path}\n", file.mode));
            }
        }
        out
    }

    /// Adds (or refreshes) the `MANIFEST` file.
    pub fn seal(&mut self) {
        let manifest = self.manifest();
        self.add(MANIFEST, manifest, MODE_FILE);
    }

    /// The mode a directory of the bundle should have: 0700 when it directly holds a
    /// private key file (`*.key`), else 0755. Every other directory stays 0755 because
    /// an install that copies directory attributes (`rsync -a nodes/NAME/ /`, which the
    /// runbook warns against) would apply these modes to the node's own `/` and `/etc`.
    pub fn dir_mode(&self, dir: &str) -> u32 {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        let holds_secret = self.files.iter().any(|(p, f)| {
            p.ends_with(".key")
                && f.mode == MODE_SECRET
                && p.strip_prefix(&prefix)
                    .is_some_and(|rest| !rest.contains('/'))
        });
        if holds_secret {
            MODE_SECRET_DIR
        } else {
            MODE_DIR
        }
    }
}

/// Where things live on a node (paths without the leading `/`, as in the bundle).
pub mod paths {
    /// kubeadm's certificatesDir.
    pub const K8S_PKI: &str = "etc/kubernetes/pki";
    /// The PKI of an external etcd member.
    pub const ETCD_PKI: &str = "etc/etcd/pki";
    /// At the top of the bundle, never on a node: a CA key no node needs (the etcd CA's
    /// with external etcd), kept for re-rendering, under its name in kubeadm's
    /// certificatesDir (`pki/etcd/ca.key`).
    pub const BUNDLE_PKI: &str = "pki";
    /// The bundle folder of a node.
    pub fn node(name: &str) -> String {
        format!("nodes/{name}")
    }
}
