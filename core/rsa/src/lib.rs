//! RSA private keys made from a 32-byte seed alone.
//!
//! The seed keys a ChaCha20 generator that feeds the `rsa` crate's prime search. That is
//! what lets hagen make many keys in parallel (threads in the CLI, Web Workers in the
//! wizard) and still get the same keys for the same entropy stream: the seeds are drawn
//! from one stream in a fixed order; the searches, which each consume a different amount
//! of randomness, no longer share it.
//!
//! With a uniformly random seed (the OS or the browser's generator) ChaCha20 is a
//! cryptographic generator, so a key is as unpredictable as one drawn from the OS
//! directly: 2048-bit RSA is worth about 112 bits, the seed holds 256.
//!
//! This crate is kept apart from hagen-core so that the wizard's key worker compiles only
//! this and the `rsa` crate, not the whole core.

use rand_core::SeedableRng;
use rsa::pkcs8::EncodePrivateKey;

/// The RSA sizes hagen makes.
pub const SIZES: [usize; 3] = [2048, 3072, 4096];

/// The PKCS#8 DER of a new RSA key of `bits` (one of [`SIZES`]), made from `seed`.
pub fn pkcs8_from_seed(bits: usize, seed: [u8; 32]) -> Result<Vec<u8>, String> {
    if !SIZES.contains(&bits) {
        return Err(format!(
            "RSA-{bits} is not a size hagen makes (2048, 3072 or 4096)"
        ));
    }
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    let key = rsa::RsaPrivateKey::new(&mut rng, bits)
        .map_err(|e| format!("cannot make an RSA-{bits} key: {e}"))?;
    Ok(key
        .to_pkcs8_der()
        .map_err(|e| format!("cannot encode an RSA key: {e}"))?
        .as_bytes()
        .to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;

    #[test]
    fn a_seed_gives_one_key_and_another_seed_another() {
        let a = pkcs8_from_seed(2048, [7; 32]).unwrap();
        assert_eq!(a, pkcs8_from_seed(2048, [7; 32]).unwrap());
        assert_ne!(a, pkcs8_from_seed(2048, [8; 32]).unwrap());
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&a).unwrap();
        assert_eq!(key.size() * 8, 2048);
        key.validate().unwrap();
    }

    #[test]
    fn odd_sizes_are_refused() {
        assert!(
            pkcs8_from_seed(1024, [0; 32])
                .unwrap_err()
                .contains("2048, 3072 or 4096")
        );
    }
}
