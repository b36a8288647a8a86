//! Making the PKI of a plan, or keeping an existing one: the steps of the walk
//! (`walk.rs`: CAs first, then the service account key pair, then each node's leaves and
//! kubeconfigs) carried out in order, then the join material.
//!
//! The rule for existing material (kubeadm.md §6, made stricter where kubeadm only
//! warns): CAs and the service-account keys are loaded and never regenerated; a leaf is
//! kept byte for byte while it still matches the plan, and otherwise re-issued *with its
//! existing key*, so no private key that exists is ever replaced. Input that cannot be
//! right (a certificate without its key, a key that is not the certificate's, a CA that
//! is not a CA or has expired) is an error naming the file.

use super::entropy::{Options, Rand};
use super::error::PkiError;
use super::existing::Existing;
use super::issue::{Ca, Want, ca_cert_hash, leaf, load_or_make_ca, service_account};
use super::kubeconfig::kubeconfig_file;
use super::spec;
use super::walk::{Pair, Step, walk};
use super::{Entropy, JoinMaterial, bootstrap_token, certificate_key};
use crate::bundle::{File, MODE_FILE, MODE_SECRET, paths};
use crate::plan::{Node, Plan};
use std::collections::BTreeMap;
use std::fmt;

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

/// [`generate`] with [`Options`].
///
/// RSA keys are made before anything is signed: the walk of the table over the plan and
/// `existing` says how many keys are new, one 32-byte seed per key is drawn from
/// `entropy` in a fixed order, and the keys are made from their seeds in parallel
/// ([`keys::generate_many`](super::keys::generate_many)). The CAs, leaves and kubeconfigs
/// then take them in that order, so the same entropy stream gives the same files with
/// one thread or many.
pub fn generate_with(
    plan: &Plan,
    existing: &Existing,
    entropy: &mut dyn Entropy,
    now: i64,
    options: &Options<'_>,
) -> Result<Pki, PkiError> {
    // Join material first, so it does not shift when the PKI's shape changes; an earlier
    // render's is kept (the draw still happens, so the rest of the stream is the same).
    let mut token = bootstrap_token(entropy);
    let mut cert_key = certificate_key(entropy);
    if let Some((t, k)) = &existing.join {
        token = t.clone();
        cert_key = k.clone();
    }

    let steps = walk(plan, existing);
    let new_keys = steps.iter().filter(|s| s.new_key()).count();
    let mut run = Run {
        plan,
        now,
        rand: Rand::new(plan, new_keys, entropy, options)?,
        out: Out::default(),
    };
    let mut cas: BTreeMap<&'static str, Ca> = BTreeMap::new();
    for step in steps {
        match step {
            Step::Ca { row, found, places } => {
                let ca = load_or_make_ca(&mut run, row, found)?;
                let action = match found {
                    Pair::New => (PkiAction::Generated, "new CA"),
                    _ => (PkiAction::Kept, "loaded from the existing PKI"),
                };
                if !places.iter().any(|p| p.with_key) {
                    let path = format!("{}/{}.key", paths::BUNDLE_PKI, row.name);
                    run.out.add(path, &ca.key_file, MODE_SECRET, action);
                }
                for place in places {
                    let base = bundle_path(place.node, &place.rel);
                    run.out
                        .add(format!("{base}.crt"), &ca.cert_file, MODE_FILE, action);
                    if place.with_key {
                        run.out
                            .add(format!("{base}.key"), &ca.key_file, MODE_SECRET, action);
                    }
                }
                cas.insert(row.name, ca);
            }
            Step::ServiceAccount { found, nodes } => {
                let (sa_key, sa_pub, action) = service_account(&mut run, found)?;
                for node in nodes {
                    let base = bundle_path(node, paths::K8S_PKI);
                    let (key_path, pub_path) = (
                        format!("{base}/{}", spec::SA_KEY),
                        format!("{base}/{}", spec::SA_PUB),
                    );
                    run.out.add(key_path, &sa_key, MODE_SECRET, action);
                    run.out.add(pub_path, &sa_pub, MODE_FILE, action);
                }
            }
            Step::Leaf {
                node,
                row,
                rel,
                found,
            } => {
                let ca = row
                    .signer
                    .and_then(|s| cas.get(s))
                    .ok_or_else(|| PkiError::Crypto(format!("{} has no signer", row.name)))?;
                let want = Want::leaf(row, plan, node);
                leaf(&mut run, node, &rel, found, ca, &want)?;
            }
            Step::Kubeconfig {
                node,
                kc,
                rel,
                found,
            } => {
                let ca = kubernetes_ca(&cas)?;
                kubeconfig_file(&mut run, node, kc, &rel, found, ca)?;
            }
        }
    }

    let join = JoinMaterial {
        token,
        ca_cert_hash: ca_cert_hash(&kubernetes_ca(&cas)?.der)?,
        certificate_key: cert_key,
    };
    let mut out = run.out;
    out.files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Pki {
        files: out.files,
        join,
        report: out.report,
    })
}

fn kubernetes_ca<'c>(cas: &'c BTreeMap<&'static str, Ca>) -> Result<&'c Ca, PkiError> {
    cas.get(spec::KUBERNETES_CA)
        .ok_or_else(|| PkiError::Crypto("no kubernetes CA".into()))
}

/// How many new keys [`generate_with`] makes for `plan` given `existing`: one for each
/// step of the walk of which nothing exists yet. The wizard makes that many RSA keys
/// ahead and passes them in [`Options::rsa_keys`].
pub fn new_keys_needed(plan: &Plan, existing: &Existing) -> usize {
    walk(plan, existing).iter().filter(|s| s.new_key()).count()
}

/// What every step of one run works with.
pub(super) struct Run<'p, 'e> {
    /// The plan.
    pub plan: &'p Plan,
    /// The time, Unix seconds.
    pub now: i64,
    /// The run's entropy and new keys.
    pub rand: Rand<'e>,
    /// The files made so far.
    pub out: Out,
}

#[derive(Default)]
pub(super) struct Out {
    files: Vec<(String, File)>,
    report: Vec<PkiEvent>,
}

impl Out {
    pub(super) fn add(
        &mut self,
        path: String,
        bytes: &[u8],
        mode: u32,
        (action, why): (PkiAction, &str),
    ) {
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

pub(super) fn bundle_path(node: &Node, rel: &str) -> String {
    format!("{}/{rel}", paths::node(&node.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{MODE_FILE, MODE_SECRET};
    use crate::pki::SeededEntropy;
    use crate::pki::issue::DAY_SECS;
    use crate::pki::keys;
    use crate::pki::review::{first_cert, key_matches, parse_cert, sans_of};
    use crate::pki::spec::San;
    use crate::source::SourceFile;
    use crate::topology::KeyAlgorithm;
    use std::collections::BTreeSet;

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
            matches!(run(&e), PkiError::Kubeconfig { path, .. } if path == "nodes/m3/etc/kubernetes/admin.conf")
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

    /// The count the wizard makes RSA keys by is the walk's: every key of a fresh PKI,
    /// none on a re-render, one where a pair was removed.
    #[test]
    fn new_keys_are_counted_from_the_walk() {
        let p = plan31();
        // 3 CAs, the service-account pair, 7 leaves and 3 kubeconfigs on each of 3
        // control planes, and super-admin.conf on the first.
        assert_eq!(
            new_keys_needed(&p, &Existing::none()),
            3 + 1 + 3 * (7 + 3) + 1
        );
        let mut e = as_existing(&fresh(&p));
        assert_eq!(new_keys_needed(&p, &e), 0);
        let m2 = e.per_node.get_mut("m2").unwrap();
        m2.remove("etc/kubernetes/pki/etcd/peer.crt");
        m2.remove("etc/kubernetes/pki/etcd/peer.key");
        m2.remove("etc/kubernetes/pki/apiserver.crt");
        assert_eq!(new_keys_needed(&p, &e), 1);
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
