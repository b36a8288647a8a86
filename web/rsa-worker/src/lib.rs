//! The wizard's key worker, compiled to its own small wasm module: `web/rsa-worker.js`
//! loads it in a Web Worker and calls [`rsa_key`] once per seed the page sends. An
//! RSA-2048 prime search takes about a second in wasm; in workers (one per core) it
//! runs in parallel and the page stays responsive while it does.

use wasm_bindgen::prelude::*;

/// The PKCS#8 DER of a new RSA key of `bits` made from a 32-byte `seed`: the same key
/// the CLI makes from the same seed.
#[wasm_bindgen]
pub fn rsa_key(bits: u32, seed: &[u8]) -> Result<Vec<u8>, JsError> {
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| JsError::new("an RSA key seed is 32 bytes"))?;
    hagen_rsa::pkcs8_from_seed(bits as usize, seed).map_err(|e| JsError::new(&e))
}
