//! [`PkiError`]: why existing material cannot be used, naming the file.

use std::fmt;

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

pub(super) fn unreadable(path: &str, why: impl fmt::Display) -> PkiError {
    PkiError::Unreadable {
        path: path.to_string(),
        why: why.to_string(),
    }
}

pub(super) fn crypto(e: impl fmt::Display) -> PkiError {
    PkiError::Crypto(e.to_string())
}
