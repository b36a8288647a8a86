//! Reviewing an existing certificate against the plan: does it parse, is its key its
//! own, is it signed by the current CA, and do its validity, subject, SANs and EKUs
//! still match what the table wants.

use super::error::{PkiError, unreadable};
use super::issue::{Ca, DAY_SECS, Want};
use super::keys::Signer;
use super::spec::{Eku, San};
use std::collections::BTreeSet;
use std::net::IpAddr;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The DER of the first `CERTIFICATE` block of a PEM file.
pub(super) fn first_cert(path: &str, bytes: &[u8]) -> Result<Vec<u8>, PkiError> {
    let blocks = pem::parse_many(bytes).map_err(|e| unreadable(path, e))?;
    blocks
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .ok_or_else(|| unreadable(path, "no CERTIFICATE block in it"))
}

// Inlined for the same reason as `keys::load`.
#[inline(always)]
pub(super) fn parse_cert<'a>(path: &str, der: &'a [u8]) -> Result<X509Certificate<'a>, PkiError> {
    if !cfg!(feature = "existing-pki") {
        return Err(unreadable(path, super::keys::NO_EXISTING_PKI));
    }
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|e| unreadable(path, e))
}

pub(super) fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()))
        .unwrap_or_else(|_| unix.to_string())
}

pub(super) fn key_matches(cert: &X509Certificate<'_>, key: &Signer) -> bool {
    cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw()
}

/// Why an existing certificate no longer fits, or `None` if it does.
pub(super) fn review(
    cert: &X509Certificate<'_>,
    want: &Want,
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

pub(super) fn sans_of(cert: &X509Certificate<'_>) -> BTreeSet<San> {
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
