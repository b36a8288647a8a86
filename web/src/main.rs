//! hagen-web: the wizard. A form over hagen-core: every edit serialises the form to
//! topology.yaml and runs the core's check and render on it; "Generate" makes the keys
//! in the page and downloads the bundle as a zip. No server, no network request.

mod app;
mod browser;
mod state;

fn main() {
    // The key workers instantiate this same module (web/rsa-worker.js): no page there.
    if web_sys::window().is_some() {
        yew::Renderer::<app::App>::new().render();
    }
}

/// For the key workers: the PKCS#8 DER of a new RSA key of `bits` made from a 32-byte
/// `seed`, the same key the CLI makes from the same seed. An RSA-2048 prime search takes
/// about a second in wasm; in workers (one per core) it runs in parallel and the page
/// stays responsive while it does.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn rsa_key(bits: u32, seed: &[u8]) -> Result<Vec<u8>, wasm_bindgen::JsError> {
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| wasm_bindgen::JsError::new("an RSA key seed is 32 bytes"))?;
    hagen_rsa::pkcs8_from_seed(bits as usize, seed).map_err(|e| wasm_bindgen::JsError::new(&e))
}
