//! The randomness seam: [`Entropy`], the one way randomness comes in, its adapters, and
//! how one PKI run draws its new keys from it ([`Options`] says where RSA keys are made).

use super::error::PkiError;
use super::keys::{self, Key};
use crate::plan::Plan;

/// The source of randomness for everything hagen makes itself. The CLI passes the OS
/// generator, the browser its own, tests a seeded one (so goldens stay byte-stable).
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
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

/// Adapts [`Entropy`] to the `rand_core` 0.6 traits the RustCrypto crates take.
pub(crate) struct EntropyRng<'a>(pub &'a mut dyn Entropy);

impl rand_core::RngCore for EntropyRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

/// Every [`Entropy`] is meant to be a cryptographic generator (the seeded one is for
/// tests only and says so).
impl rand_core::CryptoRng for EntropyRng<'_> {}

/// How [`generate_with`](super::generate_with) makes RSA keys (ECDSA keys take microseconds and are made in
/// line).
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// Threads for RSA key generation; 0 means one per available core. The browser
    /// build always uses one.
    pub threads: usize,
    /// Called after each new RSA key with `(done, total)`, from the worker threads.
    pub progress: Option<keys::Progress<'a>>,
    /// RSA keys made elsewhere (the wizard makes them in Web Workers), PKCS#8 DER: one per
    /// new key, [`new_keys_needed`](super::new_keys_needed) of them, taken in order. Nothing is made here then.
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

/// The entropy of one [`generate_with`](super::generate_with) run, and its RSA keys,
/// made ahead of time.
pub(super) struct Rand<'e> {
    entropy: &'e mut dyn Entropy,
    alg: crate::topology::KeyAlgorithm,
    /// RSA keys made ahead, one per new key of the run, taken in order. Empty for ECDSA,
    /// whose keys are made in line.
    ready: std::collections::VecDeque<Key>,
}

impl<'e> Rand<'e> {
    /// The entropy of a run that makes `expected` new keys (the walk's count): RSA keys
    /// are taken from [`Options::rsa_keys`] or made now from seeds drawn in order.
    pub(super) fn new(
        plan: &Plan,
        expected: usize,
        entropy: &'e mut dyn Entropy,
        options: &Options<'_>,
    ) -> Result<Rand<'e>, PkiError> {
        let mut ready = std::collections::VecDeque::new();
        let bits = keys::rsa_bits(plan.key_algorithm);
        if let Some(made) = options.rsa_keys {
            let bits = bits.ok_or(PkiError::RsaKeysForEcdsa)?;
            if made.len() != expected {
                return Err(PkiError::RsaKeyCount {
                    given: made.len(),
                    needed: expected,
                });
            }
            for der in made {
                let key = keys::from_rsa_pkcs8_der(der).map_err(PkiError::NewKey)?;
                let got = keys::rsa_modulus_bits(&key);
                if got != Some(bits) {
                    return Err(PkiError::RsaKeySize { want: bits, got });
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
        })
    }

    /// The next new private key.
    pub(super) fn new_key(&mut self) -> Result<Key, PkiError> {
        if let Some(key) = self.ready.pop_front() {
            return Ok(key);
        }
        keys::generate(self.alg, self.entropy).map_err(PkiError::NewKey)
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
    .map_err(PkiError::NewKey)
}

/// Without the `rsa` feature keys come from [`Options::rsa_keys`] or not at all.
#[cfg(not(feature = "rsa"))]
fn rsa_keys_from_seeds(
    _plan: &Plan,
    _entropy: &mut dyn Entropy,
    _expected: usize,
    _options: &Options<'_>,
) -> Result<Vec<Key>, PkiError> {
    Err(PkiError::NoRsaKeys)
}
