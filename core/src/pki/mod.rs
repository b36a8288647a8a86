//! The cluster PKI, made offline: kubeadm's certificates, keys and kubeconfigs for every
//! node, and the join material (bootstrap token, CA hash, certificate key) the kubeadm
//! configurations carry. Randomness comes in through [`Entropy`], the one seam.
//!
//! * [`spec`]: the table: every certificate's CN, O, usages, SANs and holders, and the
//!   kubeconfigs.
//! * [`generate()`]: plan + [`Existing`] material + entropy + the time → [`Pki`]: every
//!   file for the bundle, the [`JoinMaterial`] and a report of what was made, kept or
//!   re-issued.
//! * [`keys`]: key generation and loading (PKCS#8, PKCS#1, SEC1), and why RSA is made
//!   the way it is.

mod generate;
pub mod keys;
pub mod kubeconfig;
pub mod spec;

pub use generate::{
    Existing, Options, Pki, PkiAction, PkiError, PkiEvent, ca_cert_hash, generate, generate_with,
    join_file, new_keys_needed,
};

/// The source of randomness for everything hagen makes itself. The CLI passes the OS
/// generator, the browser its own, tests a seeded one (so goldens stay byte-stable).
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

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

/// A deterministic generator for tests and golden bundles (SplitMix64). Not for keys
/// anyone will use.
#[derive(Debug, Clone)]
pub struct SeededEntropy(u64);

impl SeededEntropy {
    /// A generator that always yields the same stream for the same seed.
    pub fn new(seed: u64) -> Self {
        SeededEntropy(seed)
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
