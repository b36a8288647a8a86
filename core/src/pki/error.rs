//! The errors of `pki`: [`PkiError`] for a whole run (naming the file), [`KeyError`] for
//! one private key, [`KubeconfigError`] for one kubeconfig.
//!
//! Every message carries its cause in words, because the CLI and the wizard print one
//! line; so no error here also reports it as a `source()` (it would print twice).

use std::fmt;

/// Existing material that cannot be used, or a PKI that cannot be made. Every variant
/// about a file names it: a shared file by its path in the pki directory (`ca.crt`), a
/// per-node file by its bundle path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A certificate (or `sa.pub`) does not parse.
    #[error("{path}: cannot be read: {why}")]
    Unreadable {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A private key file cannot be used.
    #[error("{path}: cannot be read: {why}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        why: KeyError,
    },
    /// A kubeconfig cannot be read.
    #[error("{path}: cannot be read: {why}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What is wrong.
        why: KubeconfigError,
    },
    /// A kubeconfig's embedded client key cannot be used.
    #[error("{path}: cannot be read: client-key-data: {why}")]
    KubeconfigKey {
        /// The kubeconfig.
        path: String,
        /// What is wrong with the key.
        why: KeyError,
    },
    /// A certificate (or `sa.pub`) whose private key is not there.
    #[error(
        "{path}: its private key {key} is missing; add it, or remove the certificate to have a new pair made"
    )]
    MissingKey {
        /// The certificate.
        path: String,
        /// The key that should be beside it.
        key: String,
    },
    /// A CA key without its certificate.
    #[error("{path}: its certificate {cert} is missing; a CA key alone cannot be used")]
    MissingCert {
        /// The key.
        path: String,
        /// The certificate that should be beside it.
        cert: String,
    },
    /// The key is not the certificate's.
    #[error("{key} is not the private key of {cert}")]
    KeyMismatch {
        /// The certificate.
        cert: String,
        /// The key.
        key: String,
    },
    /// A CA file holds a certificate that is not a CA.
    #[error("{path}: is not a CA certificate (basicConstraints CA:TRUE is missing)")]
    NotCa {
        /// The certificate.
        path: String,
    },
    /// A CA has expired: nothing it signs would be trusted.
    #[error(
        "{path}: the CA expired on {not_after}; renew it (kubeadm certs renew cannot) or start a new PKI"
    )]
    ExpiredCa {
        /// The certificate.
        path: String,
        /// When it expired (UTC).
        not_after: String,
    },
    /// Two nodes of an earlier bundle hold different copies of a shared file.
    #[error("{path} differs from {other}; control planes must share one copy")]
    Conflict {
        /// One copy.
        path: String,
        /// The other.
        other: String,
    },
    /// Making a new key failed.
    #[error("cannot make the PKI: {0}")]
    NewKey(KeyError),
    /// RSA keys made elsewhere ([`Options::rsa_keys`](super::Options::rsa_keys)) were
    /// given for an ECDSA PKI.
    #[error("cannot make the PKI: RSA keys were given for an ECDSA PKI")]
    RsaKeysForEcdsa,
    /// RSA keys made elsewhere, but not as many as the PKI makes
    /// ([`new_keys_needed`](super::new_keys_needed)).
    #[error("cannot make the PKI: {given} RSA keys were made for a PKI that needs {needed}")]
    RsaKeyCount {
        /// How many were given.
        given: usize,
        /// How many the PKI needs.
        needed: usize,
    },
    /// An RSA key made elsewhere is not of the plan's size (or not RSA at all).
    #[error("cannot make the PKI: a key made for this RSA-{want} PKI is {}", rsa_name(.got))]
    RsaKeySize {
        /// The plan's modulus size in bits.
        want: usize,
        /// The key's modulus size, `None` if it is not RSA.
        got: Option<usize>,
    },
    /// An RSA PKI without RSA keys given, in a build that cannot make them (the `rsa`
    /// feature is off).
    #[error(
        "cannot make the PKI: this build of hagen makes no RSA keys itself (the `rsa` feature is off) and none were given"
    )]
    NoRsaKeys,
    /// Making a certificate failed (a bug, or a value no certificate can carry).
    #[error("cannot make the PKI: {0}")]
    Crypto(String),
}

fn rsa_name(bits: &Option<usize>) -> String {
    bits.map_or("not RSA".into(), |b| format!("RSA-{b}"))
}

/// A private key that cannot be made, read or used ([`keys`](super::keys)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file is not PEM.
    #[error("not a PEM file: {0}")]
    NotPem(String),
    /// The PEM file holds no private key.
    #[error("no PRIVATE KEY block in it")]
    NoPrivateKey,
    /// The key is encrypted.
    #[error("it is encrypted; decrypt it first (openssl pkey -in KEY -out KEY)")]
    Encrypted,
    /// A `… PRIVATE KEY` block of a kind hagen does not read (the PEM label).
    #[error("`{0}` keys are not supported")]
    Unsupported(String),
    /// An `EC PRIVATE KEY` that is not SEC1 DER.
    #[error("the EC PRIVATE KEY is not valid SEC1 DER")]
    NotSec1,
    /// An EC key whose curve is spelled out rather than named.
    #[error("the EC key names its curve by explicit parameters; hagen needs a named curve")]
    ExplicitCurve,
    /// An EC key that does not say its curve.
    #[error("the EC key does not name its curve")]
    NoCurve,
    /// An EC key other than P-256 written without its public key, which ring needs and
    /// only P-256 keys get back.
    #[error("the EC key lacks its public key")]
    NoPublicKey,
    /// The key parses but cannot sign (a curve or algorithm hagen does not take).
    #[error("the key does not load ({0}); hagen reads RSA and ECDSA P-256/P-384 keys")]
    Rejected(String),
    /// A key just made, or handed in as PKCS#8, does not load.
    #[error("the new key does not load: {0}")]
    NewKeyRejected(String),
    /// Encoding a key as DER failed.
    #[error("cannot encode the key: {0}")]
    Encode(der::Error),
    /// RSA keys asked of a build without the `rsa` feature (the wizard makes them in
    /// its Web Workers instead).
    #[error(
        "this build of hagen makes no RSA keys (the `rsa` feature is off); use the hagen command line or ecdsa-p256"
    )]
    NoRsa,
    /// An RSA key asked for with an ECDSA algorithm.
    #[error("not an RSA algorithm")]
    NotRsa,
    /// Making an RSA key failed (hagen-rsa's message).
    #[error("{0}")]
    Rsa(String),
    /// A key the worker threads did not make (one of them stopped).
    #[error("a key was not made")]
    NotMade,
}

impl From<der::Error> for KeyError {
    fn from(e: der::Error) -> KeyError {
        KeyError::Encode(e)
    }
}

/// A kubeconfig hagen cannot read back ([`kubeconfig::parse`](super::kubeconfig::parse)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KubeconfigError {
    /// The file is not UTF-8.
    #[error("it is not UTF-8")]
    NotUtf8,
    /// The file is not YAML (the parser's message).
    #[error("it is not a kubeconfig: {0}")]
    NotYaml(String),
    /// The file holds no document.
    #[error("it is empty")]
    Empty,
    /// No cluster to read.
    #[error("it names no cluster")]
    NoCluster,
    /// No user to read.
    #[error("it names no user")]
    NoUser,
    /// The cluster has no server URL.
    #[error("its cluster has no server")]
    NoServer,
    /// A credential is not embedded (a path to a file instead, or nothing).
    #[error("it has no embedded {0}")]
    NotEmbedded(&'static str),
    /// An embedded credential is not base64.
    #[error("its {field} is not base64: {why}")]
    NotBase64 {
        /// The field (`client-key-data`).
        field: &'static str,
        /// What is wrong.
        why: base64::DecodeError,
    },
}

pub(super) fn unreadable(path: &str, why: impl fmt::Display) -> PkiError {
    PkiError::Unreadable {
        path: path.to_string(),
        why: why.to_string(),
    }
}

/// A key file at `path` that cannot be used.
pub(super) fn bad_key(path: &str) -> impl FnOnce(KeyError) -> PkiError {
    let path = path.to_string();
    move |why| PkiError::Key { path, why }
}

pub(super) fn crypto(e: impl fmt::Display) -> PkiError {
    PkiError::Crypto(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI prints these; they read as they did when they were strings.
    #[test]
    fn messages_name_the_file_and_the_cause() {
        let key = PkiError::Key {
            path: "nodes/m1/etc/kubernetes/pki/apiserver.key".into(),
            why: KeyError::Encrypted,
        };
        assert_eq!(
            key.to_string(),
            "nodes/m1/etc/kubernetes/pki/apiserver.key: cannot be read: it is encrypted; decrypt it first (openssl pkey -in KEY -out KEY)"
        );
        let kc = PkiError::KubeconfigKey {
            path: "nodes/m1/etc/kubernetes/admin.conf".into(),
            why: KeyError::Unsupported("DSA PRIVATE KEY".into()),
        };
        assert_eq!(
            kc.to_string(),
            "nodes/m1/etc/kubernetes/admin.conf: cannot be read: client-key-data: `DSA PRIVATE KEY` keys are not supported"
        );
        let conf = PkiError::Kubeconfig {
            path: "admin.conf".into(),
            why: KubeconfigError::NotEmbedded("client-key-data"),
        };
        assert_eq!(
            conf.to_string(),
            "admin.conf: cannot be read: it has no embedded client-key-data"
        );
        let size = |got| PkiError::RsaKeySize { want: 3072, got }.to_string();
        assert_eq!(
            size(Some(2048)),
            "cannot make the PKI: a key made for this RSA-3072 PKI is RSA-2048"
        );
        assert_eq!(
            size(None),
            "cannot make the PKI: a key made for this RSA-3072 PKI is not RSA"
        );
    }
}
