//! Private keys: made from [`Entropy`], loaded from whatever kubeadm or openssl wrote.
//!
//! # Why these backends
//!
//! Signing goes through rcgen with *ring*, the one backend that builds both natively and
//! for `wasm32-unknown-unknown` (aws-lc-rs does not compile for wasm32). ring cannot make
//! keys from a caller's randomness (it always uses the OS generator) and cannot make RSA
//! keys at all, so keys are made by RustCrypto and handed to ring as PKCS#8:
//!
//! * **ECDSA P-256** (the default) with `p256`: a scalar drawn from [`Entropy`], so a
//!   seeded generator gives the same keys every time. Fast everywhere.
//! * **RSA 2048/3072/4096** with the `rsa` crate, also from [`Entropy`], in the CLI *and*
//!   in the browser (slow there, about a second per 2048-bit key; usable for one cluster).
//!   The alternative, aws-lc-rs, is faster natively but cannot reach wasm32 and cannot be
//!   fed our entropy, so the CLI and the browser would disagree and tests could not be
//!   seeded. RUSTSEC-2023-0071 (Marvin) is a timing side channel in the `rsa` crate's
//!   *private-key operations* (decryption, signing) observed by an attacker who can time
//!   many of them. hagen uses the crate only to *generate* keys, once, offline; every
//!   signature is made by ring, whose RSA is constant-time. `cargo audit` will still list
//!   the advisory; ignore it with this reason.
//!
//! ECDSA P-256 signatures are made by `p256` with RFC 6979 deterministic nonces, so a
//! seeded generator gives byte-identical certificates too (golden bundles stay stable);
//! RSA PKCS#1 v1.5 signatures are deterministic by construction and stay with ring. Only a
//! loaded P-384 key signs through ring with ring's own random nonce.
//!
//! A key is loaded by its PKCS#8 algorithm straight into the one backend that signs with
//! it, not through rcgen's `KeyPair` (which tries Ed25519, P-256, P-384 and RSA in turn):
//! that keeps ring's Ed25519 and ECDSA P-256 code and tables, which hagen never signs
//! with, out of the wizard's wasm.
//!
//! ring imports PKCS#8 only; kubeadm writes PKCS#1 `RSA PRIVATE KEY` and SEC1 `EC PRIVATE
//! KEY` files. [`pkcs1_to_pkcs8`] and [`sec1_to_pkcs8`] wrap those, through the `pkcs1`,
//! `sec1` and `pkcs8` crates that `rsa` and `p256` are built on.

use super::Entropy;
use super::entropy::EntropyRng;
use super::error::KeyError;
use crate::topology::KeyAlgorithm;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use p256::pkcs8::AssociatedOid;
use pkcs8::{AlgorithmIdentifierRef, PrivateKeyInfo};
use rcgen::{
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, PublicKeyData,
    SignatureAlgorithm, SigningKey,
};
use sec1::EcPrivateKey;

/// A key hagen made or loaded: the signer and the exact bytes of its file.
pub struct Key {
    /// The key, ready to sign.
    pub pair: Signer,
    /// The PEM file as written (or as found, for a loaded key).
    pub pem: Vec<u8>,
}

/// A private key that rcgen can sign with: P-256 through `p256` (deterministic
/// signatures), P-384 and RSA through ring.
pub struct Signer {
    backend: Backend,
    /// The raw public key: the BIT STRING of its SubjectPublicKeyInfo.
    public: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

enum Backend {
    P256(p256::ecdsa::SigningKey),
    Ecdsa(ring::signature::EcdsaKeyPair),
    Rsa(ring::signature::RsaKeyPair),
}

/// rsaEncryption, and the curve beside P-256 that hagen loads (id-ecPublicKey is below).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const P384_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

impl Signer {
    /// From PKCS#8 DER: P-256, P-384 or RSA (signed with SHA-256).
    fn from_pkcs8(der: &[u8]) -> Result<Signer, String> {
        let info = PrivateKeyInfo::from_der(der).map_err(|e| format!("not a PKCS#8 key: {e}"))?;
        let oid = info.algorithm.oid;
        let curve = info
            .algorithm
            .parameters_oid()
            .ok()
            .filter(|_| oid == EC_PUBLIC_KEY);
        let unusable = |e: &dyn std::fmt::Display| format!("the key cannot be used: {e}");
        if oid == RSA_ENCRYPTION {
            return Signer::from_rsa_pkcs8(der).map_err(|e| unusable(&e));
        }
        if curve == Some(p256::NistP256::OID) {
            use p256::pkcs8::DecodePrivateKey;
            let key = p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| unusable(&e))?;
            let public = key
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec();
            // The public key written beside the private one must be its own (ring checked
            // this when it loaded every key).
            let sec1 = EcPrivateKey::from_der(info.private_key).map_err(|e| unusable(&e))?;
            if sec1.public_key.is_some_and(|p| p != public.as_slice()) {
                return Err("the public key in the file is not the private key's".into());
            }
            return Ok(Signer {
                backend: Backend::P256(key),
                public,
                alg: &PKCS_ECDSA_P256_SHA256,
            });
        }
        // Only a found key can be P-384 (hagen makes P-256 or RSA keys).
        if cfg!(feature = "existing-pki") && curve == Some(P384_CURVE) {
            let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                der,
                &ring::rand::SystemRandom::new(),
            )
            .map_err(|e| unusable(&e))?;
            return Ok(Signer {
                public: ring::signature::KeyPair::public_key(&pair)
                    .as_ref()
                    .to_vec(),
                backend: Backend::Ecdsa(pair),
                alg: &PKCS_ECDSA_P384_SHA384,
            });
        }
        Err(match curve {
            Some(c) => format!("unsupported elliptic curve {c} (hagen signs with P-256 or P-384)"),
            None => format!("unsupported key algorithm {oid} (hagen signs with ECDSA or RSA)"),
        })
    }

    /// From the PKCS#8 DER of an RSA key. ring reads the PKCS#8 envelope itself and
    /// refuses any other algorithm, so keys known to be RSA (made here or by the wizard's
    /// workers) skip the generic decoding above: the wizard's wasm then carries no
    /// PKCS#8/SEC1 decoder at all (about 6 KB gzip).
    fn from_rsa_pkcs8(der: &[u8]) -> Result<Signer, ring::error::KeyRejected> {
        let pair = ring::signature::RsaKeyPair::from_pkcs8(der)?;
        Ok(Signer {
            public: pair.public().as_ref().to_vec(),
            backend: Backend::Rsa(pair),
            alg: &PKCS_RSA_SHA256,
        })
    }

    /// The raw public key (the BIT STRING of its SubjectPublicKeyInfo).
    pub fn public_key_raw(&self) -> &[u8] {
        &self.public
    }
}

impl PublicKeyData for Signer {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

impl SigningKey for Signer {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match &self.backend {
            Backend::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = key.sign(msg);
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Backend::Ecdsa(pair) => pair
                .sign(&ring::rand::SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| rcgen::Error::RingUnspecified),
            Backend::Rsa(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    msg,
                    &mut sig,
                )
                .map_err(|_| rcgen::Error::RingUnspecified)?;
                Ok(sig)
            }
        }
    }
}

/// Makes a new private key of `alg` from `entropy`; written as PKCS#8 `PRIVATE KEY`,
/// which every Kubernetes component and etcd reads.
pub fn generate(alg: KeyAlgorithm, entropy: &mut dyn Entropy) -> Result<Key, KeyError> {
    let mut rng = EntropyRng(entropy);
    match alg {
        KeyAlgorithm::EcdsaP256 => {
            // The public point is computed once, here; going through `to_pkcs8_der` and
            // `Signer::from_pkcs8` computed it three times (a scalar multiplication each,
            // most of a P-256 PKI's time).
            let secret = p256::SecretKey::random(&mut rng);
            let signing = p256::ecdsa::SigningKey::from(&secret);
            let point = signing.verifying_key().to_encoded_point(false);
            let der = p256_pkcs8(&secret.to_bytes(), point.as_bytes())?;
            Ok(Key {
                pair: Signer {
                    backend: Backend::P256(signing),
                    public: point.as_bytes().to_vec(),
                    alg: &PKCS_ECDSA_P256_SHA256,
                },
                pem: pem_encode("PRIVATE KEY", &der).into_bytes(),
            })
        }
        #[cfg(not(feature = "rsa"))]
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
            Err(KeyError::NoRsa)
        }
        #[cfg(feature = "rsa")]
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
            // Through a seed, as [`generate_many`] does: one key made here is the same as
            // one made there from the same 32 bytes.
            let mut seed = [0u8; 32];
            rng.0.fill(&mut seed);
            from_rsa_pkcs8_der(&rsa_der_from_seed(alg, seed)?)
        }
    }
}

/// A new RSA key as PKCS#8, made by this module or by the wizard's key workers, loaded
/// to sign and written as `PRIVATE KEY`; any other key is refused.
pub fn from_rsa_pkcs8_der(der: &[u8]) -> Result<Key, KeyError> {
    let pair = Signer::from_rsa_pkcs8(der).map_err(|e| KeyError::NewKeyRejected(e.to_string()))?;
    Ok(Key {
        pair,
        pem: pem_encode("PRIVATE KEY", der).into_bytes(),
    })
}

/// The modulus size of an RSA key in bits (`None` for any other key).
pub fn rsa_modulus_bits(key: &Key) -> Option<usize> {
    let Backend::Rsa(pair) = &key.pair.backend else {
        return None;
    };
    let public: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
    // Without its leading zeros.
    let digits = &public.n[public.n.iter().take_while(|b| **b == 0).count()..];
    Some(
        digits
            .first()
            .map_or(0, |top| digits.len() * 8 - top.leading_zeros() as usize),
    )
}

/// The modulus size of an RSA algorithm; `None` for ECDSA.
pub fn rsa_bits(alg: KeyAlgorithm) -> Option<usize> {
    match alg {
        KeyAlgorithm::Rsa2048 => Some(2048),
        KeyAlgorithm::Rsa3072 => Some(3072),
        KeyAlgorithm::Rsa4096 => Some(4096),
        KeyAlgorithm::EcdsaP256 => None,
    }
}

/// The PKCS#8 DER of a new RSA key of `alg`, made from a 32-byte seed alone
/// ([`hagen_rsa::pkcs8_from_seed`] says why seeds).
#[cfg(feature = "rsa")]
pub fn rsa_der_from_seed(alg: KeyAlgorithm, seed: [u8; 32]) -> Result<Vec<u8>, KeyError> {
    let bits = rsa_bits(alg).ok_or(KeyError::NotRsa)?;
    hagen_rsa::pkcs8_from_seed(bits, seed).map_err(KeyError::Rsa)
}

/// Calls back after each key [`generate_many`] made: `(done, total)`. Called from the
/// worker threads, so it must be `Sync`.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Makes one RSA key per seed (see [`rsa_der_from_seed`]), on up to `threads` threads
/// natively (one in the browser); the result is in the order of `seeds` whatever the
/// number of threads, so the output only depends on the seeds.
#[cfg(feature = "rsa")]
pub fn generate_many(
    alg: KeyAlgorithm,
    seeds: &[[u8; 32]],
    threads: usize,
    progress: Option<Progress<'_>>,
) -> Result<Vec<Key>, KeyError> {
    keys_from_seeds(alg, seeds, threads, progress)
}

/// One new RSA key, ready to sign (loading it into ring checks it: done on the worker
/// thread too).
#[cfg(feature = "rsa")]
fn rsa_key_from_seed(alg: KeyAlgorithm, seed: [u8; 32]) -> Result<Key, KeyError> {
    from_rsa_pkcs8_der(&rsa_der_from_seed(alg, seed)?)
}

/// Native: the seeds are handed out one at a time from a shared counter (a prime search
/// takes anywhere from a fraction to several times its mean, so fixed shares would leave
/// a core idle), and each result goes back into its seed's slot.
#[cfg(all(feature = "rsa", not(target_arch = "wasm32")))]
fn keys_from_seeds(
    alg: KeyAlgorithm,
    seeds: &[[u8; 32]],
    threads: usize,
    progress: Option<Progress<'_>>,
) -> Result<Vec<Key>, KeyError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let total = seeds.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    type Slot = Mutex<Option<Result<Key, KeyError>>>;
    let slots: Vec<Slot> = seeds.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(seed) = seeds.get(i) else { break };
            let key = rsa_key_from_seed(alg, *seed);
            let failed = key.is_err();
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(key);
            }
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = progress {
                p(n, total);
            }
            if failed {
                // Stop handing out work: the caller reports the first error anyway.
                next.store(total, Ordering::Relaxed);
            }
        }
    };
    let threads = threads.clamp(1, total.max(1));
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }
    let results: Vec<Option<Result<Key, KeyError>>> = slots
        .into_iter()
        .map(|m| m.into_inner().ok().flatten())
        .collect();
    // The first real error, rather than a slot left empty after it.
    if let Some(Err(e)) = results.iter().flatten().find(|r| r.is_err()) {
        return Err(e.clone());
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Err(KeyError::NotMade)))
        .collect()
}

/// The browser has no threads here: one key after another, with progress.
#[cfg(all(feature = "rsa", target_arch = "wasm32"))]
fn keys_from_seeds(
    alg: KeyAlgorithm,
    seeds: &[[u8; 32]],
    _threads: usize,
    progress: Option<Progress<'_>>,
) -> Result<Vec<Key>, KeyError> {
    let total = seeds.len();
    let mut out = Vec::with_capacity(total);
    for (i, seed) in seeds.iter().enumerate() {
        out.push(rsa_key_from_seed(alg, *seed)?);
        if let Some(p) = progress {
            p(i + 1, total);
        }
    }
    Ok(out)
}

/// Why a build without the `existing-pki` feature (the wizard's) refuses a found key or
/// certificate.
pub(super) const NO_EXISTING_PKI: &str =
    "an existing key or certificate (this build makes a new PKI only)";

/// Loads a PEM private key in PKCS#8, PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE
/// KEY`) form. Other blocks before it (`EC PARAMETERS`, as `openssl ecparam -genkey`
/// writes) are skipped.
// Inlined so that, without `existing-pki`, every caller sees the refusal and the code
// that would read what a key or certificate holds (an X.509 parser) is left out.
#[inline(always)]
pub fn load(bytes: &[u8]) -> Result<Key, KeyError> {
    if !cfg!(feature = "existing-pki") {
        return Err(KeyError::Unsupported(NO_EXISTING_PKI.to_string()));
    }
    let blocks = pem::parse_many(bytes).map_err(|e| KeyError::NotPem(e.to_string()))?;
    let block = blocks
        .iter()
        .find(|b| b.tag().ends_with("PRIVATE KEY"))
        .ok_or(KeyError::NoPrivateKey)?;
    let der = match block.tag() {
        "PRIVATE KEY" => block.contents().to_vec(),
        "RSA PRIVATE KEY" => pkcs1_to_pkcs8(block.contents())?,
        "EC PRIVATE KEY" => sec1_to_pkcs8(block.contents())?,
        "ENCRYPTED PRIVATE KEY" => {
            return Err(KeyError::Encrypted);
        }
        other => return Err(KeyError::Unsupported(other.to_string())),
    };
    let pair = Signer::from_pkcs8(&der).map_err(KeyError::Rejected)?;
    Ok(Key {
        pair,
        pem: bytes.to_vec(),
    })
}

/// `-----BEGIN tag-----` PEM with `\n` line ends (pem's default is `\r\n`).
pub fn pem_encode(tag: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// `id-ecPublicKey`: the PKCS#8 algorithm of every EC key, its curve the parameter.
const EC_PUBLIC_KEY: ObjectIdentifier = p256::elliptic_curve::ALGORITHM_OID;
/// The P-256 curve.
const P256: ObjectIdentifier = <p256::NistP256 as AssociatedOid>::OID;

/// The PKCS#8 algorithm identifier of an EC key on `curve`.
fn ec_algorithm(curve: &ObjectIdentifier) -> AlgorithmIdentifierRef<'_> {
    AlgorithmIdentifierRef {
        oid: EC_PUBLIC_KEY,
        parameters: Some(curve.into()),
    }
}

/// PKCS#8 of a P-256 key from its scalar and uncompressed public point, byte for byte
/// what `p256`'s `to_pkcs8_der` writes (SEC1 `ECPrivateKey` with the public key and
/// without the curve, which the algorithm identifier names), without computing the
/// point again.
fn p256_pkcs8(scalar: &[u8], point: &[u8]) -> der::Result<Vec<u8>> {
    let sec1 = EcPrivateKey {
        private_key: scalar,
        parameters: None,
        public_key: Some(point),
    }
    .to_der()?;
    PrivateKeyInfo::new(ec_algorithm(&P256), &sec1).to_der()
}

/// Wraps a PKCS#1 `RSAPrivateKey` (what `RSA PRIVATE KEY` holds) into PKCS#8: the
/// algorithm is rsaEncryption with NULL parameters; the key goes in unchanged.
pub fn pkcs1_to_pkcs8(der: &[u8]) -> Result<Vec<u8>, KeyError> {
    Ok(PrivateKeyInfo::new(pkcs1::ALGORITHM_ID, der).to_der()?)
}

/// Wraps a SEC1 `ECPrivateKey` (what `EC PRIVATE KEY` holds) into PKCS#8. The curve comes
/// from the key's own `[0] parameters`. ring insists on the public key inside; a P-256
/// key written without it is rebuilt from the scalar.
pub fn sec1_to_pkcs8(der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let key = EcPrivateKey::from_der(der).map_err(|e| match e.kind() {
        // `[0]` holds a SEQUENCE of curve parameters where a curve's OID belongs.
        der::ErrorKind::TagUnexpected {
            expected: Some(der::Tag::ObjectIdentifier),
            actual: der::Tag::Sequence,
        } => KeyError::ExplicitCurve,
        _ => KeyError::NotSec1,
    })?;
    let curve = key
        .parameters
        .and_then(|p| p.named_curve())
        .ok_or(KeyError::NoCurve)?;
    if key.public_key.is_none() {
        if curve != P256 {
            return Err(KeyError::NoPublicKey);
        }
        let secret = p256::SecretKey::from_sec1_der(der).map_err(|_| KeyError::NotSec1)?;
        let signing = p256::ecdsa::SigningKey::from(&secret);
        let point = signing.verifying_key().to_encoded_point(false);
        return Ok(p256_pkcs8(&secret.to_bytes(), point.as_bytes())?);
    }
    Ok(PrivateKeyInfo::new(ec_algorithm(&curve), der).to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::SeededEntropy;

    #[test]
    fn seeded_keys_repeat_and_load_back() {
        let a = generate(KeyAlgorithm::EcdsaP256, &mut SeededEntropy::new(9)).unwrap();
        let b = generate(KeyAlgorithm::EcdsaP256, &mut SeededEntropy::new(9)).unwrap();
        let c = generate(KeyAlgorithm::EcdsaP256, &mut SeededEntropy::new(10)).unwrap();
        assert_eq!(a.pem, b.pem);
        assert_ne!(a.pem, c.pem);
        let again = load(&a.pem).unwrap();
        assert_eq!(again.pair.public_key_raw(), a.pair.public_key_raw());
    }

    /// A key made alone from the entropy stream is the key `generate_many` makes from the
    /// seed drawn from that stream, and the thread count changes nothing.
    #[cfg(feature = "rsa")]
    #[test]
    fn rsa_keys_come_from_their_seeds_alone() {
        let mut e = SeededEntropy::new(3);
        let seeds: Vec<[u8; 32]> = (0..3)
            .map(|_| {
                let mut s = [0u8; 32];
                e.fill(&mut s);
                s
            })
            .collect();
        let one = generate_many(KeyAlgorithm::Rsa2048, &seeds, 1, None).unwrap();
        let done = std::sync::Mutex::new(Vec::new());
        let progress = |d: usize, t: usize| done.lock().unwrap().push((d, t));
        let many = generate_many(KeyAlgorithm::Rsa2048, &seeds, 4, Some(&progress)).unwrap();
        let pems = |keys: &[Key]| keys.iter().map(|k| k.pem.clone()).collect::<Vec<_>>();
        assert_eq!(pems(&one), pems(&many));
        let mut done = done.into_inner().unwrap();
        done.sort();
        assert_eq!(done, [(1, 3), (2, 3), (3, 3)]);
        let alone = generate(KeyAlgorithm::Rsa2048, &mut SeededEntropy::new(3)).unwrap();
        assert_eq!(alone.pem, one[0].pem);
        // The size check on keys made elsewhere reads the modulus, not the file length.
        assert_eq!(rsa_modulus_bits(&one[0]), Some(2048));
        let p256 = generate(KeyAlgorithm::EcdsaP256, &mut SeededEntropy::new(3)).unwrap();
        assert_eq!(rsa_modulus_bits(&p256), None);
        let p256_der = pem::parse(&p256.pem).unwrap().into_contents();
        assert!(matches!(
            from_rsa_pkcs8_der(&p256_der),
            Err(KeyError::NewKeyRejected(_))
        ));
        assert_ne!(one[0].pem, one[1].pem);
        assert!(
            generate_many(KeyAlgorithm::Rsa2048, &[], 2, None)
                .unwrap()
                .is_empty()
        );
    }

    /// The hand-made encoding of a new P-256 key is p256's own, and it loads back.
    #[test]
    fn p256_keys_are_encoded_as_p256_does() {
        use p256::pkcs8::EncodePrivateKey;
        for seed in 0..20 {
            let key = generate(KeyAlgorithm::EcdsaP256, &mut SeededEntropy::new(seed)).unwrap();
            let secret = p256::SecretKey::random(&mut EntropyRng(&mut SeededEntropy::new(seed)));
            let theirs = secret.to_pkcs8_der().unwrap();
            assert_eq!(
                key.pem,
                pem_encode("PRIVATE KEY", theirs.as_bytes()).into_bytes()
            );
            let again = load(&key.pem).unwrap();
            assert_eq!(again.pair.public_key_raw(), key.pair.public_key_raw());
            assert_eq!(again.pair.sign(b"m").ok(), key.pair.sign(b"m").ok());
        }
    }

    #[test]
    fn sec1_without_public_key_is_rebuilt() {
        let key = generate(KeyAlgorithm::EcdsaP256, &mut SeededEntropy::new(1)).unwrap();
        use p256::pkcs8::DecodePrivateKey;
        let der = pem::parse(&key.pem).unwrap().into_contents();
        let secret = p256::SecretKey::from_pkcs8_der(&der).unwrap();
        // SEC1 with only version, key and curve.
        let bytes = secret.to_bytes();
        let sec1 = EcPrivateKey {
            private_key: &bytes,
            parameters: Some(P256.into()),
            public_key: None,
        }
        .to_der()
        .unwrap();
        let file = pem_encode("EC PRIVATE KEY", &sec1);
        let loaded = load(file.as_bytes()).unwrap();
        assert_eq!(loaded.pair.public_key_raw(), key.pair.public_key_raw());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(load(b"hello").is_err());
        assert!(load(pem_encode("EC PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01]).as_bytes()).is_err());
        assert!(load(pem_encode("RSA PRIVATE KEY", &[0x30, 0x00]).as_bytes()).is_err());
        assert!(load(pem_encode("ENCRYPTED PRIVATE KEY", &[0x30, 0x00]).as_bytes()).is_err());
        assert!(load(pem_encode("CERTIFICATE", &[0x30, 0x00]).as_bytes()).is_err());
    }

    /// Keys as openssl writes them (kubeadm's formats), made at test time.
    #[test]
    fn openssl_keys_in_every_format_load() {
        let dir = std::env::temp_dir().join(format!("hagen-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&["genrsa", "-traditional", "-out", "rsa1.pem", "2048"]);
        run(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", "rsa1.pem", "-out", "rsa8.pem",
        ]);
        run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "ec1.pem",
        ]);
        run(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", "ec1.pem", "-out", "ec8.pem",
        ]);
        run(&[
            "ecparam",
            "-name",
            "secp384r1",
            "-genkey",
            "-noout",
            "-out",
            "p384.pem",
        ]);
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        assert!(String::from_utf8_lossy(&read("rsa1.pem")).contains("BEGIN RSA PRIVATE KEY"));
        assert!(String::from_utf8_lossy(&read("ec1.pem")).contains("BEGIN EC PARAMETERS"));
        let pubkey = |a: &str, b: &str| {
            let x = load(&read(a)).unwrap_or_else(|e| panic!("{a}: {e}"));
            let y = load(&read(b)).unwrap_or_else(|e| panic!("{b}: {e}"));
            assert_eq!(
                x.pair.public_key_raw(),
                y.pair.public_key_raw(),
                "{a} vs {b}"
            );
            assert_eq!(x.pem, read(a), "a loaded key keeps its bytes");
        };
        pubkey("rsa1.pem", "rsa8.pem");
        pubkey("ec1.pem", "ec8.pem");
        assert!(load(&read("p384.pem")).is_ok());
        run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-param_enc",
            "explicit",
            "-out",
            "explicit.pem",
        ]);
        assert_eq!(
            load(&read("explicit.pem")).err(),
            Some(KeyError::ExplicitCurve)
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
