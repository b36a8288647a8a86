//! Issuing: CAs (loaded or made), the service-account key pair, leaf certificates, and
//! the certificate parameters every one of them is made with.

use super::Entropy;
use super::error::{PkiError, bad_key, crypto, unreadable};
use super::generate::{PkiAction, Run, bundle_path};
use super::keys::{self, Key, Signer};
use super::review::{date, first_cert, key_matches, parse_cert, review};
use super::spec::{self, CertSpec, Eku, San, Usage};
use super::walk::Pair;
use crate::bundle::{MODE_FILE, MODE_SECRET};
use crate::plan::{Node, Plan};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use x509_parser::prelude::FromDer;

/// Backdating of every new certificate, as kubeadm does, so a node whose clock is a
/// little behind still accepts it.
const BACKDATE_SECS: i64 = 5 * 60;
/// Seconds in a day, for validity periods.
pub(super) const DAY_SECS: i64 = 24 * 60 * 60;

/// A CA ready to sign.
pub(super) struct Ca {
    /// The DER of its certificate (the first one in the file).
    pub(super) der: Vec<u8>,
    /// The certificate file as written.
    pub(super) cert_file: Vec<u8>,
    /// The key file as written.
    pub(super) key_file: Vec<u8>,
    pub(super) issuer: Issuer<'static, Signer>,
}

/// What a certificate must look like.
pub(super) struct Want {
    pub(super) cn: String,
    pub(super) org: Option<&'static str>,
    pub(super) sans: Vec<San>,
    pub(super) usages: &'static [Usage],
    pub(super) ekus: &'static [Eku],
    pub(super) is_ca: bool,
}

impl Want {
    /// The leaf of `row` on `node`.
    pub(super) fn leaf(row: &CertSpec, plan: &Plan, node: &Node) -> Want {
        Want {
            cn: row.cn.for_node(node),
            org: (row.org)(&plan.version),
            sans: row.sans_on(plan, node),
            usages: row.usages,
            ekus: row.ekus,
            is_ca: false,
        }
    }

    /// The CA of `row`: made once, the same on every node.
    fn ca(row: &CertSpec, plan: &Plan) -> Result<Want, PkiError> {
        let (cn, sans) = row
            .fixed_subject()
            .ok_or_else(|| crypto(format!("the CA {} would differ per node", row.name)))?;
        Ok(Want {
            cn: cn.to_string(),
            org: (row.org)(&plan.version),
            sans,
            usages: row.usages,
            ekus: row.ekus,
            is_ca: true,
        })
    }
}

/// `sha256:<hex>` of a certificate's SubjectPublicKeyInfo, as `kubeadm join
/// --discovery-token-ca-cert-hash` wants it.
pub fn ca_cert_hash(cert_der: &[u8]) -> Result<String, PkiError> {
    let spki = subject_public_key_info(cert_der)
        .map_err(|e| PkiError::Crypto(format!("the CA does not parse: {e}")))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
    Ok(format!("sha256:{}", hex(digest.as_ref())))
}

/// The TBSCertificate's fields from serialNumber on (the optional `[0] version` skipped):
/// serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, …. Walked
/// with `der` alone, so what the bundle needs of a new certificate (its CA hash, its
/// validity) needs no X.509 parser (the wizard links none).
fn tbs_fields(cert_der: &[u8]) -> der::Result<Vec<der::asn1::AnyRef<'_>>> {
    use der::asn1::AnyRef;
    use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
    let cert = AnyRef::from_der(cert_der)?;
    let mut fields = SliceReader::new(cert.value())?;
    let tbs: AnyRef<'_> = fields.decode()?;
    let mut tbs = SliceReader::new(tbs.value())?;
    let version = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    let mut out = Vec::new();
    while !tbs.is_finished() {
        let field: AnyRef<'_> = tbs.decode()?;
        if !(out.is_empty() && field.tag() == version) {
            out.push(field);
        }
    }
    Ok(out)
}

/// The DER of a certificate's SubjectPublicKeyInfo.
fn subject_public_key_info(cert_der: &[u8]) -> der::Result<Vec<u8>> {
    use der::Encode;
    let fields = tbs_fields(cert_der)?;
    let spki = fields.get(5).ok_or(der::ErrorKind::Incomplete {
        expected_len: der::Length::ONE,
        actual_len: der::Length::ZERO,
    })?;
    spki.to_der()
}

/// A certificate's notBefore and notAfter, in seconds since the Unix epoch.
pub fn validity(cert_der: &[u8]) -> Option<(i64, i64)> {
    use der::asn1::{GeneralizedTime, UtcTime};
    use der::{Tag, Tagged};
    let fields = tbs_fields(cert_der).ok()?;
    let validity = fields.get(3)?;
    let mut times = der::SliceReader::new(validity.value()).ok()?;
    let mut seconds = || -> Option<i64> {
        use der::Reader;
        let time: der::asn1::AnyRef<'_> = times.decode().ok()?;
        let since_epoch = match time.tag() {
            Tag::UtcTime => UtcTime::try_from(time).ok()?.to_unix_duration(),
            Tag::GeneralizedTime => GeneralizedTime::try_from(time).ok()?.to_unix_duration(),
            _ => return None,
        };
        i64::try_from(since_epoch.as_secs()).ok()
    };
    Some((seconds()?, seconds()?))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The CA of `row`: loaded from what was `found` of it, or made.
pub(super) fn load_or_make_ca(
    run: &mut Run<'_, '_>,
    row: &CertSpec,
    found: Pair<'_>,
) -> Result<Ca, PkiError> {
    let crt_path = format!("{}.crt", row.name);
    let key_path = format!("{}.key", row.name);
    match found {
        Pair::Both { crt, key: key_file } => {
            let der = first_cert(&crt_path, crt)?;
            let cert = parse_cert(&crt_path, &der)?;
            if !cert.is_ca() {
                return Err(PkiError::NotCa { path: crt_path });
            }
            let not_after = cert.validity().not_after.timestamp();
            if not_after <= run.now {
                return Err(PkiError::ExpiredCa {
                    path: crt_path,
                    not_after: date(not_after),
                });
            }
            let key = keys::load(key_file).map_err(bad_key(&key_path))?;
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
                cert_file: crt.to_vec(),
                key_file: key.pem,
                issuer,
            })
        }
        Pair::CrtOnly => Err(PkiError::MissingKey {
            path: crt_path,
            key: key_path,
        }),
        Pair::KeyOnly(_) => Err(PkiError::MissingCert {
            path: key_path,
            cert: crt_path,
        }),
        Pair::New => {
            let key = run.rand.new_key()?;
            let want = Want::ca(row, run.plan)?;
            let days = run.plan.ca_validity_days;
            let params = params(&want, run.now, days, &mut run.rand)?;
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
pub(super) type Outcome = (PkiAction, &'static str);

/// The service-account key pair, from what was `found` of it (`sa.pub` as the
/// certificate): (sa.key bytes, sa.pub bytes, what happened).
pub(super) fn service_account(
    run: &mut Run<'_, '_>,
    found: Pair<'_>,
) -> Result<(Vec<u8>, Vec<u8>, Outcome), PkiError> {
    let (key_path, pub_path) = (spec::SA_KEY, spec::SA_PUB);
    let (key_file, public) = match found {
        Pair::Both { crt, key } => (key, Some(crt)),
        Pair::KeyOnly(key) => (key, None),
        Pair::CrtOnly => {
            return Err(PkiError::MissingKey {
                path: pub_path.to_string(),
                key: key_path.to_string(),
            });
        }
        Pair::New => {
            let key = run.rand.new_key()?;
            let public = keys::pem_encode("PUBLIC KEY", &key.pair.subject_public_key_info());
            return Ok((
                key.pem,
                public.into_bytes(),
                (PkiAction::Generated, "new key pair"),
            ));
        }
    };
    let key = keys::load(key_file).map_err(bad_key(key_path))?;
    let Some(pub_file) = public else {
        let derived = keys::pem_encode("PUBLIC KEY", &key.pair.subject_public_key_info());
        return Ok((
            key.pem,
            derived.into_bytes(),
            (PkiAction::Kept, "loaded; sa.pub derived from it"),
        ));
    };
    let der = pem::parse(pub_file).map_err(|e| unreadable(pub_path, e))?;
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der.contents())
        .map_err(|e| unreadable(pub_path, e))?;
    if spki.subject_public_key.data.as_ref() != key.pair.public_key_raw() {
        return Err(PkiError::KeyMismatch {
            cert: pub_path.to_string(),
            key: key_path.to_string(),
        });
    }
    Ok((
        key.pem,
        pub_file.to_vec(),
        (PkiAction::Kept, "loaded from the existing PKI"),
    ))
}

pub(super) fn params(
    want: &Want,
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

/// A leaf certificate for `key`, issued by `ca` now for the plan's leaf lifetime, as PEM.
pub(super) fn issue(
    run: &mut Run<'_, '_>,
    want: &Want,
    key: &Signer,
    ca: &Ca,
) -> Result<Vec<u8>, PkiError> {
    let params = params(want, run.now, run.plan.cert_validity_days, &mut run.rand)?;
    let cert = params.signed_by(key, &ca.issuer).map_err(crypto)?;
    Ok(cert.pem().replace("\r\n", "\n").into_bytes())
}

/// The leaf certificate and key at `rel` on `node`, from what was `found` of them: kept,
/// re-issued for the existing key, or new.
pub(super) fn leaf(
    run: &mut Run<'_, '_>,
    node: &Node,
    rel: &str,
    found: Pair<'_>,
    ca: &Ca,
    want: &Want,
) -> Result<(), PkiError> {
    let crt_path = bundle_path(node, &format!("{rel}.crt"));
    let key_path = bundle_path(node, &format!("{rel}.key"));
    match found {
        Pair::Both { crt, key: key_file } => {
            let key = keys::load(key_file).map_err(bad_key(&key_path))?;
            let der = first_cert(&crt_path, crt)?;
            let cert = parse_cert(&crt_path, &der)?;
            if !key_matches(&cert, &key.pair) {
                return Err(PkiError::KeyMismatch {
                    cert: crt_path,
                    key: key_path,
                });
            }
            match review(&cert, want, ca, run.now, run.plan.cert_validity_days) {
                None => run.out.add(
                    crt_path,
                    crt,
                    MODE_FILE,
                    (PkiAction::Kept, "matches the plan"),
                ),
                Some(why) => {
                    let pem = issue(run, want, &key.pair, ca)?;
                    let action = (PkiAction::Reissued, why.as_str());
                    run.out.add(crt_path, &pem, MODE_FILE, action);
                }
            }
            run.out.add(
                key_path,
                &key.pem,
                MODE_SECRET,
                (PkiAction::Kept, "existing key"),
            );
        }
        Pair::CrtOnly => {
            return Err(PkiError::MissingKey {
                path: crt_path,
                key: key_path,
            });
        }
        Pair::KeyOnly(key_file) => {
            let key = keys::load(key_file).map_err(bad_key(&key_path))?;
            let pem = issue(run, want, &key.pair, ca)?;
            run.out.add(
                crt_path,
                &pem,
                MODE_FILE,
                (PkiAction::Generated, "issued for the existing key"),
            );
            run.out.add(
                key_path,
                &key.pem,
                MODE_SECRET,
                (PkiAction::Kept, "existing key"),
            );
        }
        Pair::New => {
            let key: Key = run.rand.new_key()?;
            let pem = issue(run, want, &key.pair, ca)?;
            run.out
                .add(crt_path, &pem, MODE_FILE, (PkiAction::Generated, "new"));
            run.out.add(
                key_path,
                &key.pem,
                MODE_SECRET,
                (PkiAction::Generated, "new"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::topology::test_support::{THREE_CP, topology};

    /// The SubjectPublicKeyInfo the join hash is taken of is the one an X.509 parser
    /// finds, for an ECDSA and an RSA CA.
    #[test]
    fn spki_walk_agrees_with_x509_parser() {
        for extra in ["", "pki:\n  keyAlgorithm: rsa-2048"] {
            let c = crate::check(&crate::source::SourceFile::new(
                "t",
                topology(extra, &THREE_CP),
            ));
            let plan = c.plan.unwrap();
            let mut rng = crate::pki::SeededEntropy::new(7);
            let none = crate::pki::Existing::none();
            let pki = crate::pki::generate(&plan, &none, &mut rng, 1_700_000_000).unwrap();
            let (_, ca) = pki
                .files
                .iter()
                .find(|(p, _)| p == "nodes/cp1/etc/kubernetes/pki/ca.crt")
                .unwrap();
            let pem = &ca.bytes;
            let der = pem::parse(pem).unwrap().into_contents();
            let (_, cert) = x509_parser::prelude::X509Certificate::from_der(&der).unwrap();
            assert_eq!(
                subject_public_key_info(&der).unwrap(),
                cert.public_key().raw
            );
            let v = cert.validity();
            assert_eq!(
                validity(&der),
                Some((v.not_before.timestamp(), v.not_after.timestamp()))
            );
            // A leaf too (issued a day before `now`, another lifetime than the CA's).
            let (_, leaf) = pki
                .files
                .iter()
                .find(|(p, _)| p == "nodes/cp1/etc/kubernetes/pki/apiserver.crt")
                .unwrap();
            let der = pem::parse(&leaf.bytes).unwrap().into_contents();
            let (_, cert) = x509_parser::prelude::X509Certificate::from_der(&der).unwrap();
            let v = cert.validity();
            assert_eq!(
                validity(&der),
                Some((v.not_before.timestamp(), v.not_after.timestamp()))
            );
            assert_eq!(validity(b"not a certificate"), None);
        }
    }
}
