//! The join material (bootstrap token, certificate key; the CA hash comes with the CA)
//! and the bundle file that keeps it across re-renders.

use super::Entropy;

/// What the kubeadm configurations need to join nodes, known before the cluster exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinMaterial {
    /// Bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`.
    pub token: String,
    /// `sha256:<hex>` of the cluster CA's SubjectPublicKeyInfo.
    pub ca_cert_hash: String,
    /// 64 hex characters: the AES-256 key for `kubeadm init --upload-certs`.
    pub certificate_key: String,
}

/// Makes a bootstrap token in kubeadm's format.
pub fn bootstrap_token(entropy: &mut dyn Entropy) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(23);
    let mut buf = [0u8; 1];
    while out.len() < 23 {
        if out.len() == 6 {
            out.push('.');
            continue;
        }
        entropy.fill(&mut buf);
        // 252 = 7 * 36: reject the tail so every character is equally likely.
        if buf[0] < 252 {
            out.push(ALPHABET[usize::from(buf[0] % 36)] as char);
        }
    }
    out
}

/// Makes a certificate key for `--upload-certs`: 32 random bytes as hex.
pub fn certificate_key(entropy: &mut dyn Entropy) -> String {
    let mut key = [0u8; 32];
    entropy.fill(&mut key);
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text of [`crate::bundle::JOIN`].
pub fn join_file(join: &JoinMaterial) -> String {
    format!(
        "# hagen join material of this bundle: kept on re-render so the kubeadm files stay the same.\n# Secret: anyone with the token can join a node to the cluster while it is valid.\ntoken: \"{}\"\ncertificateKey: \"{}\"\n",
        join.token, join.certificate_key
    )
}

/// Reads [`join_file`]'s text back; `None` unless both values are there and well formed.
pub(super) fn parse_join(bytes: &[u8]) -> Option<(String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::SeededEntropy;

    #[test]
    fn token_and_key_formats() {
        let mut e = SeededEntropy::new(7);
        let t = bootstrap_token(&mut e);
        assert_eq!(t.len(), 23);
        let (id, secret) = t.split_once('.').unwrap();
        assert_eq!((id.len(), secret.len()), (6, 16));
        assert!(
            t.bytes()
                .all(|b| b == b'.' || b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        let k = certificate_key(&mut e);
        assert_eq!(k.len(), 64);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(
            bootstrap_token(&mut SeededEntropy::new(1)),
            bootstrap_token(&mut SeededEntropy::new(2))
        );
        assert_eq!(
            bootstrap_token(&mut SeededEntropy::new(3)),
            bootstrap_token(&mut SeededEntropy::new(3))
        );
    }
}
