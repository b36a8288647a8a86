//! Making the PKI of a plan, or keeping an existing one: CAs first, then the service
//! account key pair, then each node's leaves and kubeconfigs, then the join material.
//!
//! The rule for existing material (kubeadm.md §6, made stricter where kubeadm only
//! warns): CAs and the service-account keys are loaded and never regenerated; a leaf is
//! kept byte for byte while it still matches the plan, and otherwise re-issued *with its
//! existing key*, so no private key that exists is ever replaced. Input that cannot be
//! right (a certificate without its key, a key that is not the certificate's, a CA that
//! is not a CA or has expired) is an error naming the file.

use super::keys::{self, Key, Signer};
use super::kubeconfig::{self, Parts};
use super::spec::{self, CERTS, CertSpec, Eku, KUBECONFIGS, San, Usage};
use super::{Entropy, JoinMaterial, bootstrap_token, certificate_key};
use crate::bundle::{File, MODE_FILE, MODE_SECRET, paths};
use crate::plan::{Node, Plan};
use crate::topology::Role;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Backdating of every new certificate, as kubeadm does, so a node whose clock is a
/// little behind still accepts it.
const BACKDATE_SECS: i64 = 5 * 60;
const DAY_SECS: i64 = 24 * 60 * 60;

/// PKI material that already exists and must be reused.
///
/// * `shared`: the files every control plane shares (see [`spec::SHARED`]), keyed by
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
            if spec::SHARED.contains(&path.as_str()) {
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
    /// `nodes/k8s-m1/etc/kubernetes/pki/ca.crt`). Files outside `nodes/` are ignored. The
    /// shared files must be the same on every node that has them.
    pub fn from_bundle<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Existing, PkiError> {
        let mut existing = Existing::default();
        let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
        let pki_prefix = format!("{}/", paths::K8S_PKI);
        for (path, bytes) in files {
            if path == crate::bundle::JOIN {
                existing.join = parse_join(bytes);
                continue;
            }
            let Some(rest) = path.strip_prefix("nodes/") else {
                continue;
            };
            let Some((node, rel)) = rest.split_once('/') else {
                continue;
            };
            match rel.strip_prefix(&pki_prefix) {
                Some(name) if spec::SHARED.contains(&name) => {
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

    fn node_file(&self, node: &str, rel: &str) -> Option<&[u8]> {
        self.per_node
            .get(node)
            .and_then(|files| files.get(rel))
            .map(Vec::as_slice)
    }
}

/// The text of [`crate::bundle::JOIN`].
pub fn join_file(join: &JoinMaterial) -> String {
    format!(
        "# hagen join material of this bundle: kept on re-render so the kubeadm files stay the same.\n# Secret: anyone with the token can join a node to the cluster while it is valid.\ntoken: \"{}\"\ncertificateKey: \"{}\"\n",
        join.token, join.certificate_key
    )
}

/// Reads [`join_file`]'s text back; `None` unless both values are there and well formed.
fn parse_join(bytes: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    let token = value("token:")?;
    let key = value("certificateKey:")?;
    let token_ok = token.len() == 23
        && token.bytes().enumerate().all(|(i, b)| {
            if i == 6 {
                b == b'.'
            } else {
                b.is_ascii_lowercase() || b.is_ascii_digit()
            }
        });
    let key_ok = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
    (token_ok && key_ok).then_some((token, key))
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PkiAction {
    /// Made new.
    Generated,
    /// Taken from [`Existing`] byte for byte.
    Kept,
    /// A new certificate (or kubeconfig) for an existing key: the old one no longer
    /// matched the plan.
    Reissued,
}

impl fmt::Display for PkiAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PkiAction::Generated => "generated",
            PkiAction::Kept => "kept",
            PkiAction::Reissued => "re-issued",
        })
    }
}

/// One line of the PKI report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiEvent {
    /// The bundle path (`nodes/k8s-m1/etc/kubernetes/pki/apiserver.crt`).
    pub path: String,
    /// What happened.
    pub action: PkiAction,
    /// Why, in words (`SANs lack IP:192.168.2.250`).
    pub reason: String,
}

/// Existing material that cannot be used. Every variant names the file: a shared file by
/// its path in the pki directory (`ca.crt`), a per-node file by its bundle path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkiError {
    /// The file does not parse.
    Unreadable {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A certificate (or `sa.pub`) whose private key is not there.
    MissingKey {
        /// The certificate.
        path: String,
        /// The key that should be beside it.
        key: String,
    },
    /// A CA key without its certificate.
    MissingCert {
        /// The key.
        path: String,
        /// The certificate that should be beside it.
        cert: String,
    },
    /// The key is not the certificate's.
    KeyMismatch {
        /// The certificate.
        cert: String,
        /// The key.
        key: String,
    },
    /// A CA file holds a certificate that is not a CA.
    NotCa {
        /// The certificate.
        path: String,
    },
    /// A CA has expired: nothing it signs would be trusted.
    ExpiredCa {
        /// The certificate.
        path: String,
        /// When it expired (UTC).
        not_after: String,
    },
    /// Two nodes of an earlier bundle hold different copies of a shared file.
    Conflict {
        /// One copy.
        path: String,
        /// The other.
        other: String,
    },
    /// Making a key or certificate failed (a bug, or a value no certificate can carry).
    Crypto(String),
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PkiError::Unreadable { path, why } => write!(f, "{path}: cannot be read: {why}"),
            PkiError::MissingKey { path, key } => write!(
                f,
                "{path}: its private key {key} is missing; add it, or remove the certificate to have a new pair made"
            ),
            PkiError::MissingCert { path, cert } => write!(
                f,
                "{path}: its certificate {cert} is missing; a CA key alone cannot be used"
            ),
            PkiError::KeyMismatch { cert, key } => {
                write!(f, "{key} is not the private key of {cert}")
            }
            PkiError::NotCa { path } => write!(
                f,
                "{path}: is not a CA certificate (basicConstraints CA:TRUE is missing)"
            ),
            PkiError::ExpiredCa { path, not_after } => write!(
                f,
                "{path}: the CA expired on {not_after}; renew it (kubeadm certs renew cannot) or start a new PKI"
            ),
            PkiError::Conflict { path, other } => write!(
                f,
                "{path} differs from {other}; control planes must share one copy"
            ),
            PkiError::Crypto(why) => write!(f, "cannot make the PKI: {why}"),
        }
    }
}

impl std::error::Error for PkiError {}

/// The PKI of a plan: every file, the join material and what was done.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Every file, by bundle path (`nodes/<name>/etc/...`), sorted; all `pki: true`.
    pub files: Vec<(String, File)>,
    /// The bootstrap token, CA hash and certificate key for the kubeadm configurations.
    pub join: JoinMaterial,
    /// One event per file.
    pub report: Vec<PkiEvent>,
}

/// A CA ready to sign.
struct Ca {
    /// The DER of its certificate (the first one in the file).
    der: Vec<u8>,
    /// The certificate file as written.
    cert_file: Vec<u8>,
    /// The key file as written.
    key_file: Vec<u8>,
    issuer: Issuer<'static, Signer>,
}

/// What a certificate must look like.
struct Want<'a> {
    cn: String,
    org: Option<&'static str>,
    sans: Vec<San>,
    usages: &'a [Usage],
    ekus: &'a [Eku],
    is_ca: bool,
}

/// Makes (or keeps) the whole PKI of `plan`. `now` is the current time in Unix seconds:
/// core has no clock, and tests pin it.
///
/// Natively, RSA keys are made on every core ([`generate_with`] says how many and reports
/// progress); the files only depend on the entropy stream, never on the thread count.
pub fn generate(
    plan: &Plan,
    existing: &Existing,
    entropy: &mut dyn Entropy,
    now: i64,
) -> Result<Pki, PkiError> {
    generate_with(plan, existing, entropy, now, &Options::default())
}

/// How [`generate_with`] makes RSA keys (ECDSA keys take microseconds and are made in
/// line).
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// Threads for RSA key generation; 0 means one per available core. The browser
    /// build always uses one.
    pub threads: usize,
    /// Called after each new RSA key with `(done, total)`, from the worker threads.
    pub progress: Option<keys::Progress<'a>>,
    /// RSA keys made elsewhere (the wizard makes them in Web Workers), PKCS#8 DER: one per
    /// new key, [`new_keys_needed`] of them, taken in order. Nothing is made here then.
    pub rsa_keys: Option<&'a [Vec<u8>]>,
}

impl Options<'_> {
    /// The number of threads to use.
    pub fn threads(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
        #[cfg(target_arch = "wasm32")]
        {
            1
        }
    }
}

/// [`generate`] with [`Options`].
///
/// RSA keys are made before anything is signed: the number of new keys is known from the
/// plan and `existing`, one 32-byte seed per key is drawn from `entropy` in a fixed
/// order, and the keys are made from their seeds in parallel ([`keys::generate_many`]).
/// The CAs, leaves and kubeconfigs then take them in that order, so the same entropy
/// stream gives the same files with one thread or many.
pub fn generate_with(
    plan: &Plan,
    existing: &Existing,
    entropy: &mut dyn Entropy,
    now: i64,
    options: &Options<'_>,
) -> Result<Pki, PkiError> {
    let mut out = Out::default();
    // Join material first, so it does not shift when the PKI's shape changes; an earlier
    // render's is kept (the draw still happens, so the rest of the stream is the same).
    let mut token = bootstrap_token(entropy);
    let mut cert_key = certificate_key(entropy);
    if let Some((t, k)) = &existing.join {
        token = t.clone();
        cert_key = k.clone();
    }

    let mut entropy = Rand::new(plan, existing, entropy, options)?;
    let entropy = &mut entropy;

    let control_planes: Vec<&Node> = plan.control_planes().collect();
    let mut cas: BTreeMap<&'static str, Ca> = BTreeMap::new();
    for row in CERTS.iter().filter(|r| r.is_ca) {
        let ca = load_or_make_ca(plan, row, existing, entropy, now)?;
        let action = if existing.shared.contains_key(&format!("{}.crt", row.name)) {
            (PkiAction::Kept, "loaded from the existing PKI")
        } else {
            (PkiAction::Generated, "new CA")
        };
        for node in &plan.nodes {
            let Some((rel, with_key)) = row.place(plan, node) else {
                continue;
            };
            let base = bundle_path(node, &rel);
            out.add(format!("{base}.crt"), &ca.cert_file, MODE_FILE, action);
            if with_key {
                out.add(format!("{base}.key"), &ca.key_file, MODE_SECRET, action);
            }
        }
        cas.insert(row.name, ca);
    }

    let (sa_key, sa_pub, sa_action) = service_account(existing, entropy)?;
    for node in &control_planes {
        let base = bundle_path(node, paths::K8S_PKI);
        out.add(
            format!("{base}/{}", spec::SA_KEY),
            &sa_key,
            MODE_SECRET,
            sa_action,
        );
        out.add(
            format!("{base}/{}", spec::SA_PUB),
            &sa_pub,
            MODE_FILE,
            sa_action,
        );
    }

    for node in &plan.nodes {
        for row in CERTS.iter().filter(|r| !r.is_ca) {
            let Some((rel, _)) = row.place(plan, node) else {
                continue;
            };
            let ca = row
                .signer
                .and_then(|s| cas.get(s))
                .ok_or_else(|| PkiError::Crypto(format!("{} has no signer", row.name)))?;
            let want = Want {
                cn: row.cn.for_node(node),
                org: (row.org)(&plan.version),
                sans: (row.sans)(plan, node),
                usages: row.usages,
                ekus: row.ekus,
                is_ca: false,
            };
            leaf(
                plan, existing, entropy, now, node, &rel, ca, &want, &mut out,
            )?;
        }
        if node.has(Role::ControlPlane) {
            let first = control_planes.first().is_some_and(|f| f.name == node.name);
            for kc in KUBECONFIGS {
                if !(kc.since)(&plan.version) || (kc.first_only && !first) {
                    continue;
                }
                let ca = cas
                    .get(spec::KUBERNETES_CA)
                    .ok_or_else(|| PkiError::Crypto("no kubernetes CA".into()))?;
                kubeconfig_file(plan, existing, entropy, now, node, kc, ca, &mut out)?;
            }
        }
    }

    let ca = cas
        .get(spec::KUBERNETES_CA)
        .ok_or_else(|| PkiError::Crypto("no kubernetes CA".into()))?;
    let join = JoinMaterial {
        token,
        ca_cert_hash: ca_cert_hash(&ca.der)?,
        certificate_key: cert_key,
    };
    debug_assert_eq!(
        (entropy.made, entropy.ready.len()),
        (entropy.expected, 0),
        "new_keys_needed disagrees with the keys generate took"
    );
    out.files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Pki {
        files: out.files,
        join,
        report: out.report,
    })
}

/// The entropy of one [`generate_with`] run, and the RSA keys made ahead of time.
struct Rand<'e> {
    entropy: &'e mut dyn Entropy,
    alg: crate::topology::KeyAlgorithm,
    /// Keys made ahead, taken in order.
    ready: std::collections::VecDeque<Key>,
    /// How many new keys [`new_keys_needed`] said this run makes, and how many it took:
    /// debug builds check they agree (if the count fell short, the missing RSA keys are
    /// made in line from seeds drawn then: slower, still deterministic).
    expected: usize,
    made: usize,
}

impl<'e> Rand<'e> {
    fn new(
        plan: &Plan,
        existing: &Existing,
        entropy: &'e mut dyn Entropy,
        options: &Options<'_>,
    ) -> Result<Rand<'e>, PkiError> {
        let expected = new_keys_needed(plan, existing);
        let mut ready = std::collections::VecDeque::new();
        let bits = keys::rsa_bits(plan.key_algorithm);
        if let Some(made) = options.rsa_keys {
            let bits = bits.ok_or_else(|| crypto("RSA keys were given for an ECDSA PKI"))?;
            if made.len() != expected {
                return Err(crypto(format!(
                    "{} RSA keys were made for a PKI that needs {expected}",
                    made.len()
                )));
            }
            for der in made {
                let key = keys::from_pkcs8_der(der).map_err(crypto)?;
                let got = keys::rsa_modulus_bits(&key);
                if got != Some(bits) {
                    return Err(crypto(format!(
                        "a key made for this RSA-{bits} PKI is {}",
                        got.map_or("not RSA".into(), |b| format!("RSA-{b}"))
                    )));
                }
                ready.push_back(key);
            }
        } else if bits.is_some() {
            ready.extend(rsa_keys_from_seeds(plan, entropy, expected, options)?);
        }
        Ok(Rand {
            entropy,
            alg: plan.key_algorithm,
            ready,
            expected,
            made: 0,
        })
    }

    /// The next new private key.
    fn new_key(&mut self) -> Result<Key, PkiError> {
        self.made += 1;
        if let Some(key) = self.ready.pop_front() {
            return Ok(key);
        }
        keys::generate(self.alg, self.entropy).map_err(crypto)
    }
}

impl Entropy for Rand<'_> {
    fn fill(&mut self, buf: &mut [u8]) {
        self.entropy.fill(buf);
    }
}

/// The `expected` RSA keys of a run, from seeds drawn in order, on [`Options::threads`].
#[cfg(feature = "rsa")]
fn rsa_keys_from_seeds(
    plan: &Plan,
    entropy: &mut dyn Entropy,
    expected: usize,
    options: &Options<'_>,
) -> Result<Vec<Key>, PkiError> {
    let seeds: Vec<[u8; 32]> = (0..expected)
        .map(|_| {
            let mut seed = [0u8; 32];
            entropy.fill(&mut seed);
            seed
        })
        .collect();
    keys::generate_many(
        plan.key_algorithm,
        &seeds,
        options.threads(),
        options.progress,
    )
    .map_err(crypto)
}

/// Without the `rsa` feature keys come from [`Options::rsa_keys`] or not at all.
#[cfg(not(feature = "rsa"))]
fn rsa_keys_from_seeds(
    _plan: &Plan,
    _entropy: &mut dyn Entropy,
    _expected: usize,
    _options: &Options<'_>,
) -> Result<Vec<Key>, PkiError> {
    Err(crypto(
        "this build of hagen makes no RSA keys itself (the `rsa` feature is off) and none were given",
    ))
}

/// How many new keys [`generate_with`] will make for `plan` given `existing`: the same
/// walk, counting only the places where neither the file nor its key exists.
pub fn new_keys_needed(plan: &Plan, existing: &Existing) -> usize {
    let mut n = 0;
    for row in CERTS.iter().filter(|r| r.is_ca) {
        let has = |ext: &str| existing.shared.contains_key(&format!("{}.{ext}", row.name));
        n += usize::from(!has("crt") && !has("key"));
    }
    n += usize::from(
        !existing.shared.contains_key(spec::SA_KEY) && !existing.shared.contains_key(spec::SA_PUB),
    );
    let first = plan.control_planes().next().map(|n| n.name.as_str());
    for node in &plan.nodes {
        for row in CERTS.iter().filter(|r| !r.is_ca) {
            if let Some((rel, _)) = row.place(plan, node) {
                let has = |ext: &str| existing.node_file(&node.name, &format!("{rel}.{ext}"));
                n += usize::from(has("crt").is_none() && has("key").is_none());
            }
        }
        if node.has(Role::ControlPlane) {
            for kc in KUBECONFIGS {
                if !(kc.since)(&plan.version) || (kc.first_only && first != Some(&node.name)) {
                    continue;
                }
                let rel = format!("etc/kubernetes/{}", kc.file);
                n += usize::from(existing.node_file(&node.name, &rel).is_none());
            }
        }
    }
    n
}

/// `sha256:<hex>` of a certificate's SubjectPublicKeyInfo, as `kubeadm join
/// --discovery-token-ca-cert-hash` wants it.
pub fn ca_cert_hash(cert_der: &[u8]) -> Result<String, PkiError> {
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| PkiError::Crypto(format!("the CA does not parse: {e}")))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.public_key().raw);
    Ok(format!("sha256:{}", hex(digest.as_ref())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Default)]
struct Out {
    files: Vec<(String, File)>,
    report: Vec<PkiEvent>,
}

impl Out {
    fn add(&mut self, path: String, bytes: &[u8], mode: u32, (action, why): (PkiAction, &str)) {
        self.report.push(PkiEvent {
            path: path.clone(),
            action,
            reason: why.to_string(),
        });
        self.files.push((
            path,
            File {
                bytes: bytes.to_vec(),
                mode,
                pki: true,
            },
        ));
    }
}

fn bundle_path(node: &Node, rel: &str) -> String {
    format!("{}/{rel}", paths::node(&node.name))
}

fn unreadable(path: &str, why: impl fmt::Display) -> PkiError {
    PkiError::Unreadable {
        path: path.to_string(),
        why: why.to_string(),
    }
}

fn crypto(e: impl fmt::Display) -> PkiError {
    PkiError::Crypto(e.to_string())
}

/// The DER of the first `CERTIFICATE` block of a PEM file.
fn first_cert(path: &str, bytes: &[u8]) -> Result<Vec<u8>, PkiError> {
    let blocks = pem::parse_many(bytes).map_err(|e| unreadable(path, e))?;
    blocks
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .ok_or_else(|| unreadable(path, "no CERTIFICATE block in it"))
}

fn parse_cert<'a>(path: &str, der: &'a [u8]) -> Result<X509Certificate<'a>, PkiError> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|e| unreadable(path, e))
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()))
        .unwrap_or_else(|_| unix.to_string())
}

fn key_matches(cert: &X509Certificate<'_>, key: &Signer) -> bool {
    cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw()
}

fn load_or_make_ca(
    plan: &Plan,
    row: &CertSpec,
    existing: &Existing,
    entropy: &mut Rand<'_>,
    now: i64,
) -> Result<Ca, PkiError> {
    let crt_path = format!("{}.crt", row.name);
    let key_path = format!("{}.key", row.name);
    match (
        existing.shared.get(&crt_path),
        existing.shared.get(&key_path),
    ) {
        (Some(crt), Some(key_file)) => {
            let der = first_cert(&crt_path, crt)?;
            let cert = parse_cert(&crt_path, &der)?;
            if !cert.is_ca() {
                return Err(PkiError::NotCa { path: crt_path });
            }
            let not_after = cert.validity().not_after.timestamp();
            if not_after <= now {
                return Err(PkiError::ExpiredCa {
                    path: crt_path,
                    not_after: date(not_after),
                });
            }
            let key = keys::load(key_file).map_err(|e| unreadable(&key_path, e))?;
            if !key_matches(&cert, &key.pair) {
                return Err(PkiError::KeyMismatch {
                    cert: crt_path,
                    key: key_path,
                });
            }
            let issuer = Issuer::from_ca_cert_der(&der.as_slice().into(), key.pair)
                .map_err(|e| unreadable(&crt_path, e))?;
            Ok(Ca {
                der,
                cert_file: crt.clone(),
                key_file: key.pem,
                issuer,
            })
        }
        (Some(_), None) => Err(PkiError::MissingKey {
            path: crt_path,
            key: key_path,
        }),
        (None, Some(_)) => Err(PkiError::MissingCert {
            path: key_path,
            cert: crt_path,
        }),
        (None, None) => {
            let key = entropy.new_key()?;
            let want = Want {
                cn: match row.cn {
                    spec::Cn::Fixed(cn) => cn.to_string(),
                    spec::Cn::NodeName => row.name.to_string(),
                },
                org: (row.org)(&plan.version),
                sans: match row.cn {
                    spec::Cn::Fixed(cn) => vec![San::Dns(cn.to_string())],
                    spec::Cn::NodeName => Vec::new(),
                },
                usages: row.usages,
                ekus: row.ekus,
                is_ca: true,
            };
            let params = params(&want, now, plan.ca_validity_days, entropy)?;
            let cert = params.self_signed(&key.pair).map_err(crypto)?;
            let der = cert.der().to_vec();
            let issuer = Issuer::new(params, key.pair);
            Ok(Ca {
                cert_file: keys::pem_encode("CERTIFICATE", &der).into_bytes(),
                der,
                key_file: key.pem,
                issuer,
            })
        }
    }
}

/// What happened to a file, and why.
type Outcome = (PkiAction, &'static str);

/// The service-account key pair: (sa.key bytes, sa.pub bytes, what happened).
fn service_account(
    existing: &Existing,
    entropy: &mut Rand<'_>,
) -> Result<(Vec<u8>, Vec<u8>, Outcome), PkiError> {
    let (key_path, pub_path) = (spec::SA_KEY, spec::SA_PUB);
    match (existing.shared.get(key_path), existing.shared.get(pub_path)) {
        (Some(key_file), public) => {
            let key = keys::load(key_file).map_err(|e| unreadable(key_path, e))?;
            let derived = keys::pem_encode("PUBLIC KEY", &key.pair.subject_public_key_info());
            match public {
                None => Ok((
                    key.pem,
                    derived.into_bytes(),
                    (PkiAction::Kept, "loaded; sa.pub derived from it"),
                )),
                Some(pub_file) => {
                    let der = pem::parse(pub_file).map_err(|e| unreadable(pub_path, e))?;
                    let (_, spki) =
                        x509_parser::x509::SubjectPublicKeyInfo::from_der(der.contents())
                            .map_err(|e| unreadable(pub_path, e))?;
                    if spki.subject_public_key.data.as_ref() != key.pair.public_key_raw() {
                        return Err(PkiError::KeyMismatch {
                            cert: pub_path.to_string(),
                            key: key_path.to_string(),
                        });
                    }
                    Ok((
                        key.pem,
                        pub_file.clone(),
                        (PkiAction::Kept, "loaded from the existing PKI"),
                    ))
                }
            }
        }
        (None, Some(_)) => Err(PkiError::MissingKey {
            path: pub_path.to_string(),
            key: key_path.to_string(),
        }),
        (None, None) => {
            let key = entropy.new_key()?;
            let public = keys::pem_encode("PUBLIC KEY", &key.pair.subject_public_key_info());
            Ok((
                key.pem,
                public.into_bytes(),
                (PkiAction::Generated, "new key pair"),
            ))
        }
    }
}

fn params(
    want: &Want<'_>,
    now: i64,
    days: u32,
    entropy: &mut dyn Entropy,
) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    // Go (and so kubeadm) writes O before CN.
    if let Some(org) = want.org {
        dn.push(DnType::OrganizationName, org);
    }
    dn.push(DnType::CommonName, want.cn.as_str());
    p.distinguished_name = dn;
    p.subject_alt_names = want
        .sans
        .iter()
        .map(|s| match s {
            San::Dns(name) => name
                .as_str()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|e| PkiError::Crypto(format!("SAN `{name}`: {e}"))),
            San::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_, _>>()?;
    p.key_usages = want
        .usages
        .iter()
        .map(|u| match u {
            Usage::DigitalSignature => KeyUsagePurpose::DigitalSignature,
            Usage::KeyEncipherment => KeyUsagePurpose::KeyEncipherment,
            Usage::CertSign => KeyUsagePurpose::KeyCertSign,
        })
        .collect();
    p.extended_key_usages = want
        .ekus
        .iter()
        .map(|e| match e {
            Eku::ServerAuth => ExtendedKeyUsagePurpose::ServerAuth,
            Eku::ClientAuth => ExtendedKeyUsagePurpose::ClientAuth,
        })
        .collect();
    p.is_ca = if want.is_ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    p.use_authority_key_identifier_extension = !want.is_ca;
    // A random positive serial, as kubeadm's; the top bit clear keeps it positive and the
    // next one set keeps its length fixed.
    let mut serial = [0u8; 16];
    entropy.fill(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x40;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    let at = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).map_err(crypto);
    p.not_before = at(now - BACKDATE_SECS)?;
    p.not_after = at(now + i64::from(days) * DAY_SECS)?;
    Ok(p)
}

/// Why an existing certificate no longer fits, or `None` if it does.
fn review(
    cert: &X509Certificate<'_>,
    want: &Want<'_>,
    ca: &Ca,
    now: i64,
    days: u32,
) -> Option<String> {
    let Ok((_, ca_cert)) = X509Certificate::from_der(&ca.der) else {
        return Some("the CA does not parse".into());
    };
    if cert.issuer().as_raw() != ca_cert.subject().as_raw()
        || cert.verify_signature(Some(ca_cert.public_key())).is_err()
    {
        return Some("not signed by the current CA".into());
    }
    let validity = cert.validity();
    let (nb, na) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    if na <= now {
        return Some(format!("expired on {}", date(na)));
    }
    if nb > now {
        return Some(format!("not valid before {}", date(nb)));
    }
    // Kept while it does not outlive what the plan allows; a longer plan does not force
    // a re-issue (renewal will pick it up).
    if na > now + (i64::from(days) + 1) * DAY_SECS {
        return Some(format!(
            "valid until {}, beyond the plan's {days} days",
            date(na)
        ));
    }
    let cn: Vec<&str> = cert
        .subject()
        .iter_common_name()
        .filter_map(|a| a.as_str().ok())
        .collect();
    let org: Vec<&str> = cert
        .subject()
        .iter_organization()
        .filter_map(|a| a.as_str().ok())
        .collect();
    let want_org: Vec<&str> = want.org.into_iter().collect();
    if cn != [want.cn.as_str()] || org != want_org {
        return Some(format!(
            "subject is CN={} O={}, the plan wants CN={} O={}",
            cn.join("+"),
            org.join("+"),
            want.cn,
            want_org.join("+")
        ));
    }
    let have: BTreeSet<San> = sans_of(cert);
    let wanted: BTreeSet<San> = want.sans.iter().cloned().collect();
    if have != wanted {
        let list = |s: Vec<&San>| {
            s.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let lack = list(wanted.difference(&have).collect());
        let extra = list(have.difference(&wanted).collect());
        return Some(match (lack.is_empty(), extra.is_empty()) {
            (false, true) => format!("SANs lack {lack}"),
            (true, false) => format!("SANs have {extra}, which the plan no longer has"),
            _ => format!("SANs lack {lack} and have {extra}"),
        });
    }
    let eku = cert.extended_key_usage().ok().flatten().map(|e| e.value);
    let (server, client) = eku.map_or((false, false), |e| (e.server_auth, e.client_auth));
    if server != want.ekus.contains(&Eku::ServerAuth)
        || client != want.ekus.contains(&Eku::ClientAuth)
    {
        return Some("extended key usage differs from the plan".into());
    }
    None
}

fn sans_of(cert: &X509Certificate<'_>) -> BTreeSet<San> {
    let mut out = BTreeSet::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => {
                    out.insert(San::Dns(d.to_string()));
                }
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        out.insert(San::Ip(ip));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A certificate issued for `key` by `ca`, as PEM.
fn issue(
    want: &Want<'_>,
    key: &Signer,
    ca: &Ca,
    now: i64,
    days: u32,
    entropy: &mut dyn Entropy,
) -> Result<Vec<u8>, PkiError> {
    let params = params(want, now, days, entropy)?;
    let cert = params.signed_by(key, &ca.issuer).map_err(crypto)?;
    Ok(cert.pem().replace("\r\n", "\n").into_bytes())
}

#[allow(clippy::too_many_arguments)]
fn leaf(
    plan: &Plan,
    existing: &Existing,
    entropy: &mut Rand<'_>,
    now: i64,
    node: &Node,
    rel: &str,
    ca: &Ca,
    want: &Want<'_>,
    out: &mut Out,
) -> Result<(), PkiError> {
    let (rel_crt, rel_key) = (format!("{rel}.crt"), format!("{rel}.key"));
    let (crt_path, key_path) = (bundle_path(node, &rel_crt), bundle_path(node, &rel_key));
    let days = plan.cert_validity_days;
    let found = (
        existing.node_file(&node.name, &rel_crt),
        existing.node_file(&node.name, &rel_key),
    );
    match found {
        (Some(crt), Some(key_file)) => {
            let key = keys::load(key_file).map_err(|e| unreadable(&key_path, e))?;
            let der = first_cert(&crt_path, crt)?;
            let cert = parse_cert(&crt_path, &der)?;
            if !key_matches(&cert, &key.pair) {
                return Err(PkiError::KeyMismatch {
                    cert: crt_path,
                    key: key_path,
                });
            }
            match review(&cert, want, ca, now, days) {
                None => out.add(
                    crt_path,
                    crt,
                    MODE_FILE,
                    (PkiAction::Kept, "matches the plan"),
                ),
                Some(why) => {
                    let pem = issue(want, &key.pair, ca, now, days, entropy)?;
                    out.add(crt_path, &pem, MODE_FILE, (PkiAction::Reissued, &why));
                }
            }
            out.add(
                key_path,
                &key.pem,
                MODE_SECRET,
                (PkiAction::Kept, "existing key"),
            );
        }
        (Some(_), None) => {
            return Err(PkiError::MissingKey {
                path: crt_path,
                key: key_path,
            });
        }
        (None, Some(key_file)) => {
            let key = keys::load(key_file).map_err(|e| unreadable(&key_path, e))?;
            let pem = issue(want, &key.pair, ca, now, days, entropy)?;
            out.add(
                crt_path,
                &pem,
                MODE_FILE,
                (PkiAction::Generated, "issued for the existing key"),
            );
            out.add(
                key_path,
                &key.pem,
                MODE_SECRET,
                (PkiAction::Kept, "existing key"),
            );
        }
        (None, None) => {
            let key: Key = entropy.new_key()?;
            let pem = issue(want, &key.pair, ca, now, days, entropy)?;
            out.add(crt_path, &pem, MODE_FILE, (PkiAction::Generated, "new"));
            out.add(
                key_path,
                &key.pem,
                MODE_SECRET,
                (PkiAction::Generated, "new"),
            );
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn kubeconfig_file(
    plan: &Plan,
    existing: &Existing,
    entropy: &mut Rand<'_>,
    now: i64,
    node: &Node,
    kc: &spec::KubeconfigSpec,
    ca: &Ca,
    out: &mut Out,
) -> Result<(), PkiError> {
    let rel = format!("etc/kubernetes/{}", kc.file);
    let path = bundle_path(node, &rel);
    let days = plan.cert_validity_days;
    let want = Want {
        cn: kc.cn.to_string(),
        org: (kc.org)(&plan.version),
        sans: Vec::new(),
        usages: &[Usage::DigitalSignature, Usage::KeyEncipherment],
        ekus: &[Eku::ClientAuth],
        is_ca: false,
    };
    let fresh = Parts {
        cluster: plan.cluster_name.clone(),
        server: kc.server_url(plan, node),
        user: kc.cn.to_string(),
        ca_pem: ca.cert_file.clone(),
        cert_pem: Vec::new(),
        key_pem: Vec::new(),
    };
    let Some(bytes) = existing.node_file(&node.name, &rel) else {
        let key = entropy.new_key()?;
        let cert_pem = issue(&want, &key.pair, ca, now, days, entropy)?;
        let text = kubeconfig::render(&Parts {
            cert_pem,
            key_pem: key.pem,
            ..fresh
        });
        out.add(
            path,
            text.as_bytes(),
            MODE_SECRET,
            (PkiAction::Generated, "new"),
        );
        return Ok(());
    };
    let old = kubeconfig::parse(bytes).map_err(|e| unreadable(&path, e))?;
    let key =
        keys::load(&old.key_pem).map_err(|e| unreadable(&path, format!("client-key-data: {e}")))?;
    let der = first_cert(&path, &old.cert_pem)?;
    let cert = parse_cert(&path, &der)?;
    if !key_matches(&cert, &key.pair) {
        return Err(PkiError::KeyMismatch {
            cert: format!("{path} (client-certificate-data)"),
            key: format!("{path} (client-key-data)"),
        });
    }
    let same_ca = first_cert(&path, &old.ca_pem).is_ok_and(|d| d == ca.der);
    let why = if !same_ca {
        Some("embeds a different CA".to_string())
    } else if old.server != fresh.server {
        Some(format!(
            "server is {}, the plan says {}",
            old.server, fresh.server
        ))
    } else if old.cluster != fresh.cluster || old.user != fresh.user {
        Some(format!(
            "names cluster {} and user {}, the plan says {} and {}",
            old.cluster, old.user, fresh.cluster, fresh.user
        ))
    } else {
        review(&cert, &want, ca, now, days)
    };
    match why {
        None => out.add(
            path,
            bytes,
            MODE_SECRET,
            (PkiAction::Kept, "matches the plan"),
        ),
        Some(why) => {
            let cert_pem = issue(&want, &key.pair, ca, now, days, entropy)?;
            let text = kubeconfig::render(&Parts {
                cert_pem,
                key_pem: key.pem,
                ..fresh
            });
            let why = format!("{why}; its key is kept");
            out.add(
                path,
                text.as_bytes(),
                MODE_SECRET,
                (PkiAction::Reissued, &why),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::SeededEntropy;
    use crate::source::SourceFile;
    use crate::topology::KeyAlgorithm;

    const NOW: i64 = 1_800_000_000;

    fn plan(extra_san: &str, minor: u32) -> Plan {
        let yaml = format!(
            "apiVersion: hagen/v1alpha1\nkind: Topology\nmetadata:\n  name: t\nspec:\n  kubernetesVersion: v1.{minor}.1\n  controlPlaneEndpoint:\n    vip: 10.0.0.100/24\n    dns: api.t.local\n    port: 8443\n  apiServer:\n    certSANs: [api-extra{extra_san}]\n  loadBalancer:\n    type: haproxy-keepalived\n    interface: eth0\n  nodes:\n    - {{name: m1, address: 10.0.0.11, roles: [control-plane]}}\n    - {{name: m2, address: 10.0.0.12, roles: [control-plane]}}\n    - {{name: m3, address: 10.0.0.13, roles: [control-plane]}}\n    - {{name: w1, address: 10.0.0.21, roles: [worker]}}\n"
        );
        let checked = crate::check(&SourceFile::new("t.yaml", yaml));
        checked
            .plan
            .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
    }

    pub(super) fn plan31() -> Plan {
        plan("", 31)
    }

    fn fresh(p: &Plan) -> Pki {
        generate(p, &Existing::none(), &mut SeededEntropy::new(1), NOW).unwrap()
    }

    fn as_existing(pki: &Pki) -> Existing {
        Existing::from_bundle(
            pki.files
                .iter()
                .map(|(p, f)| (p.as_str(), f.bytes.as_slice())),
        )
        .unwrap()
    }

    /// Keys made elsewhere (the wizard's workers) are taken in order, and a wrong count,
    /// size or algorithm is refused rather than signed.
    #[cfg(feature = "rsa")]
    #[test]
    fn rsa_keys_made_elsewhere_are_used_in_order() {
        let mut p = plan31();
        p.key_algorithm = KeyAlgorithm::Rsa2048;
        let n = new_keys_needed(&p, &Existing::none());
        let a = keys::rsa_der_from_seed(KeyAlgorithm::Rsa2048, [1; 32]).unwrap();
        let b = keys::rsa_der_from_seed(KeyAlgorithm::Rsa2048, [2; 32]).unwrap();
        let made: Vec<Vec<u8>> = (0..n).map(|i| [&a, &b][i % 2].clone()).collect();
        let with = |keys: &[Vec<u8>], p: &Plan| {
            let options = Options {
                rsa_keys: Some(keys),
                ..Options::default()
            };
            generate_with(
                p,
                &Existing::none(),
                &mut SeededEntropy::new(1),
                NOW,
                &options,
            )
        };
        let pki = with(&made, &p).unwrap();
        let file = |path: &str| &pki.files.iter().find(|(p, _)| p == path).unwrap().1.bytes;
        let pem = |der: &[u8]| keys::pem_encode("PRIVATE KEY", der).into_bytes();
        assert_eq!(file("nodes/m1/etc/kubernetes/pki/ca.key"), &pem(&a));
        assert_eq!(
            file("nodes/m1/etc/kubernetes/pki/front-proxy-ca.key"),
            &pem(&b)
        );
        assert_eq!(file("nodes/m1/etc/kubernetes/pki/etcd/ca.key"), &pem(&a));

        let short = with(&made[1..], &p).err().unwrap().to_string();
        assert!(
            short.contains(&format!(
                "{} RSA keys were made for a PKI that needs {n}",
                n - 1
            )),
            "{short}"
        );
        p.key_algorithm = KeyAlgorithm::Rsa3072;
        let small = with(&made, &p).err().unwrap().to_string();
        assert!(small.contains("RSA-3072 PKI is RSA-2048"), "{small}");
        p.key_algorithm = KeyAlgorithm::EcdsaP256;
        let ecdsa = with(&made, &p).err().unwrap().to_string();
        assert!(ecdsa.contains("given for an ECDSA PKI"), "{ecdsa}");
    }

    #[test]
    fn placement_modes_and_join_material() {
        let pki = fresh(&plan("", 31));
        let paths: Vec<&str> = pki.files.iter().map(|(p, _)| p.as_str()).collect();
        let unique: BTreeSet<&str> = paths.iter().copied().collect();
        assert_eq!(unique.len(), paths.len(), "a path is written twice");
        assert_eq!(pki.report.len(), pki.files.len());
        assert!(
            !paths.iter().any(|p| p.starts_with("nodes/w1/")),
            "worker got PKI files"
        );
        for (path, file) in &pki.files {
            assert!(file.pki, "{path}");
            let secret = path.ends_with(".key") || path.ends_with(".conf");
            assert_eq!(
                file.mode,
                if secret { MODE_SECRET } else { MODE_FILE },
                "{path}"
            );
        }
        for m in ["m1", "m2", "m3"] {
            for f in [
                "ca.key",
                "front-proxy-ca.key",
                "etcd/ca.key",
                "sa.key",
                "sa.pub",
                "apiserver.crt",
                "etcd/peer.key",
                "apiserver-etcd-client.crt",
            ] {
                assert!(
                    unique.contains(format!("nodes/{m}/etc/kubernetes/pki/{f}").as_str()),
                    "{m} lacks {f}"
                );
            }
            assert!(!unique.contains(format!("nodes/{m}/etc/kubernetes/kubelet.conf").as_str()));
        }
        assert!(unique.contains("nodes/m1/etc/kubernetes/super-admin.conf"));
        assert!(!unique.contains("nodes/m2/etc/kubernetes/super-admin.conf"));
        let same = |a: &str, b: &str| {
            let get = |p: &str| {
                pki.files
                    .iter()
                    .find(|(q, _)| q == p)
                    .map(|(_, f)| f.bytes.clone())
            };
            get(a) == get(b)
        };
        assert!(same(
            "nodes/m1/etc/kubernetes/pki/ca.key",
            "nodes/m3/etc/kubernetes/pki/ca.key"
        ));
        assert!(!same(
            "nodes/m1/etc/kubernetes/pki/apiserver.key",
            "nodes/m2/etc/kubernetes/pki/apiserver.key"
        ));
        let hash = &pki.join.ca_cert_hash;
        assert!(hash.starts_with("sha256:") && hash.len() == 71, "{hash}");
        assert!(
            hash[7..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(pki.join.token.len(), 23);
        assert!(pki.report.iter().all(|e| e.action == PkiAction::Generated));
        // Before 1.29 there is no super-admin.conf.
        let old = fresh(&plan("", 28));
        assert!(
            !old.files
                .iter()
                .any(|(p, _)| p.ends_with("super-admin.conf"))
        );
    }

    #[test]
    fn rerender_keeps_everything_and_a_new_san_reissues_only_apiserver() {
        let p = plan("", 31);
        let first = fresh(&p);
        let existing = as_existing(&first);
        let again = generate(&p, &existing, &mut SeededEntropy::new(2), NOW + 3600).unwrap();
        assert_eq!(again.files, first.files);
        assert!(
            again.report.iter().all(|e| e.action == PkiAction::Kept),
            "{:?}",
            again.report
        );
        assert_eq!(again.join.ca_cert_hash, first.join.ca_cert_hash);

        let wider = plan(", 10.0.0.200", 31);
        let third = generate(&wider, &existing, &mut SeededEntropy::new(3), NOW + 3600).unwrap();
        let reissued: Vec<&PkiEvent> = third
            .report
            .iter()
            .filter(|e| e.action != PkiAction::Kept)
            .collect();
        let paths: Vec<&str> = reissued.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "nodes/m1/etc/kubernetes/pki/apiserver.crt",
                "nodes/m2/etc/kubernetes/pki/apiserver.crt",
                "nodes/m3/etc/kubernetes/pki/apiserver.crt"
            ]
        );
        assert!(
            reissued
                .iter()
                .all(|e| e.action == PkiAction::Reissued && e.reason == "SANs lack IP:10.0.0.200"),
            "{reissued:?}"
        );
        // The re-issued certificate carries the new SAN and still uses the old key.
        let (_, f) = third
            .files
            .iter()
            .find(|(p, _)| p == "nodes/m2/etc/kubernetes/pki/apiserver.crt")
            .unwrap();
        let der = first_cert("x", &f.bytes).unwrap();
        let cert = parse_cert("x", &der).unwrap();
        assert!(sans_of(&cert).contains(&San::Ip("10.0.0.200".parse().unwrap())));
        let key = existing
            .node_file("m2", "etc/kubernetes/pki/apiserver.key")
            .unwrap();
        assert!(key_matches(&cert, &keys::load(key).unwrap().pair));
    }

    #[test]
    fn version_change_reissues_the_changed_subjects() {
        let first = fresh(&plan("", 28));
        let later = generate(
            &plan("", 29),
            &as_existing(&first),
            &mut SeededEntropy::new(2),
            NOW,
        )
        .unwrap();
        let mut changed: Vec<String> = later
            .report
            .iter()
            .filter(|e| e.action == PkiAction::Reissued && e.path.starts_with("nodes/m1/"))
            .map(|e| e.path.trim_start_matches("nodes/m1/").to_string())
            .collect();
        changed.sort();
        assert_eq!(
            changed,
            [
                "etc/kubernetes/admin.conf",
                "etc/kubernetes/pki/apiserver-etcd-client.crt",
                "etc/kubernetes/pki/apiserver-kubelet-client.crt",
                "etc/kubernetes/pki/etcd/healthcheck-client.crt",
            ]
        );
        // super-admin.conf appears with 1.29 on the first control plane only.
        assert!(
            later
                .report
                .iter()
                .any(|e| e.path == "nodes/m1/etc/kubernetes/super-admin.conf"
                    && e.action == PkiAction::Generated)
        );
    }

    #[test]
    fn bad_existing_material_names_the_file() {
        let p = plan("", 31);
        let first = fresh(&p);
        let good = as_existing(&first);
        let run = |e: &Existing| generate(&p, e, &mut SeededEntropy::new(5), NOW).unwrap_err();

        let mut e = good.clone();
        e.shared.remove("ca.key");
        assert_eq!(
            run(&e),
            PkiError::MissingKey {
                path: "ca.crt".into(),
                key: "ca.key".into()
            }
        );

        let mut e = good.clone();
        let other = e.shared["front-proxy-ca.key"].clone();
        e.shared.insert("ca.key".into(), other);
        assert_eq!(
            run(&e),
            PkiError::KeyMismatch {
                cert: "ca.crt".into(),
                key: "ca.key".into()
            }
        );

        // A leaf in the CA's place is not a CA.
        let mut e = good.clone();
        let leaf = |f: &str| e.per_node["m1"][&format!("etc/kubernetes/pki/{f}")].clone();
        let (crt, key) = (leaf("apiserver.crt"), leaf("apiserver.key"));
        e.shared.insert("ca.crt".into(), crt);
        e.shared.insert("ca.key".into(), key);
        assert_eq!(
            run(&e),
            PkiError::NotCa {
                path: "ca.crt".into()
            }
        );

        let expired =
            generate(&p, &good, &mut SeededEntropy::new(5), NOW + 3651 * DAY_SECS).unwrap_err();
        assert!(
            matches!(&expired, PkiError::ExpiredCa { path, .. } if path == "ca.crt"),
            "{expired}"
        );

        let mut e = good.clone();
        e.per_node
            .get_mut("m2")
            .unwrap()
            .remove("etc/kubernetes/pki/etcd/peer.key");
        let err = run(&e);
        assert_eq!(
            err.to_string().split(':').next(),
            Some("nodes/m2/etc/kubernetes/pki/etcd/peer.crt")
        );

        let mut e = good.clone();
        let m2 = e.per_node.get_mut("m2").unwrap();
        let k = m2["etc/kubernetes/pki/apiserver.key"].clone();
        m2.insert("etc/kubernetes/pki/front-proxy-client.key".into(), k);
        assert!(
            matches!(run(&e), PkiError::KeyMismatch { cert, .. } if cert == "nodes/m2/etc/kubernetes/pki/front-proxy-client.crt")
        );

        let mut e = good.clone();
        e.per_node
            .get_mut("m3")
            .unwrap()
            .insert("etc/kubernetes/admin.conf".into(), b"nope: [".to_vec());
        assert!(
            matches!(run(&e), PkiError::Unreadable { path, .. } if path == "nodes/m3/etc/kubernetes/admin.conf")
        );

        let mut files: Vec<(String, Vec<u8>)> = first
            .files
            .iter()
            .map(|(p, f)| (p.clone(), f.bytes.clone()))
            .collect();
        for (path, bytes) in &mut files {
            if path == "nodes/m3/etc/kubernetes/pki/sa.pub" {
                bytes.push(b'\n');
            }
        }
        let conflict = Existing::from_bundle(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())))
            .unwrap_err();
        assert!(matches!(conflict, PkiError::Conflict { .. }), "{conflict}");
    }

    #[test]
    fn a_lone_key_gets_a_certificate_and_is_never_replaced() {
        let p = plan("", 31);
        let first = fresh(&p);
        let mut e = as_existing(&first);
        e.per_node
            .get_mut("m1")
            .unwrap()
            .remove("etc/kubernetes/pki/apiserver.crt");
        let out = generate(&p, &e, &mut SeededEntropy::new(5), NOW).unwrap();
        let ev = |path: &str| out.report.iter().find(|x| x.path == path).unwrap().action;
        assert_eq!(
            ev("nodes/m1/etc/kubernetes/pki/apiserver.crt"),
            PkiAction::Generated
        );
        assert_eq!(
            ev("nodes/m1/etc/kubernetes/pki/apiserver.key"),
            PkiAction::Kept
        );
    }

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

#[cfg(test)]
mod determinism {
    use super::tests::plan31;
    use super::*;
    use crate::pki::SeededEntropy;

    /// The same seed and time give the same bytes: golden bundles can hold a PKI.
    #[test]
    fn a_seed_gives_byte_identical_files() {
        let p = plan31();
        let a = generate(
            &p,
            &Existing::none(),
            &mut SeededEntropy::new(8),
            1_800_000_000,
        )
        .unwrap();
        let b = generate(
            &p,
            &Existing::none(),
            &mut SeededEntropy::new(8),
            1_800_000_000,
        )
        .unwrap();
        let c = generate(
            &p,
            &Existing::none(),
            &mut SeededEntropy::new(9),
            1_800_000_000,
        )
        .unwrap();
        assert_eq!(a.files, b.files);
        assert_eq!(a.join, b.join);
        assert_ne!(a.files, c.files);
    }
}
