//! The few browser services the wizard needs: randomness, a clock, file download.
//! Only compiled for wasm; natively (for unit tests of the state) they do nothing.

/// Randomness from the browser's CSPRNG (`crypto.getRandomValues`).
pub struct BrowserEntropy;

impl hagen_core::pki::Entropy for BrowserEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        #[cfg(target_arch = "wasm32")]
        {
            if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
                // getRandomValues takes at most 65536 bytes per call.
                for chunk in buf.chunks_mut(65536) {
                    let _ = crypto.get_random_values_with_u8_array(chunk);
                }
                return;
            }
        }
        let _ = buf;
        panic!("no cryptographic random generator in this environment");
    }
}

/// Milliseconds from the page's high-resolution clock.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Seconds since the Unix epoch.
pub fn unix_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Offers `bytes` as a file download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let props = web_sys::BlobPropertyBag::new();
    props.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &props)
        .map_err(|_| "cannot make the file")?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|_| "cannot make a download link")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| "no anchor")?
        .dyn_into()
        .map_err(|_| "no anchor")?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `hagenKeys.rsa(bits, seeds, progress)` from boot.js: a promise of one PKCS#8 DER
    /// per 32-byte seed, made by the key workers.
    #[wasm_bindgen(js_namespace = hagenKeys, js_name = rsa, catch)]
    fn rsa_in_workers(
        bits: u32,
        seeds: js_sys::Uint8Array,
        progress: &js_sys::Function,
    ) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;

    /// `hagenKeys.cancel()`: hand out no more seeds; the pending promise then rejects
    /// with [`CANCELLED`].
    #[wasm_bindgen(js_namespace = hagenKeys, js_name = cancel)]
    fn cancel_in_workers();

    /// How many key workers boot.js started.
    #[wasm_bindgen(js_namespace = hagenKeys, js_name = workers, thread_local_v2)]
    static KEY_WORKERS: f64;
}

/// What [`rsa_keys`] fails with after [`cancel_rsa_keys`] (boot.js rejects with it).
pub const CANCELLED: &str = "cancelled";

/// Asks the key workers to stop after the keys they are on.
pub fn cancel_rsa_keys() {
    cancel_in_workers();
}

/// The number of key workers.
pub fn key_workers() -> u32 {
    KEY_WORKERS.with(|n| *n as u32)
}

/// One RSA key of `bits` per 32-byte seed in `seeds`, made in the key workers; `progress`
/// hears `(done, total)` after each key.
pub async fn rsa_keys(
    bits: u32,
    seeds: &[u8],
    progress: yew::Callback<(u32, u32)>,
) -> Result<Vec<Vec<u8>>, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let on_progress =
        Closure::<dyn Fn(u32, u32)>::new(move |done, total| progress.emit((done, total)));
    let promise = rsa_in_workers(
        bits,
        js_sys::Uint8Array::from(seeds),
        on_progress.as_ref().unchecked_ref(),
    )
    .map_err(js_error)?;
    // `on_progress` lives until the promise settles: the workers call it until then.
    let keys = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(js_error)?;
    drop(on_progress);
    let keys: js_sys::Array = keys
        .dyn_into()
        .map_err(|_| "the key workers sent no list")?;
    Ok(keys
        .iter()
        .map(|k| js_sys::Uint8Array::new(&k).to_vec())
        .collect())
}

fn js_error(e: wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "the key workers failed".into())
}

/// Moves the focus to the element with this id (an HTML or SVG element), if any.
pub fn focus(id: &str) {
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    else {
        return;
    };
    if let Ok(f) = js_sys::Reflect::get(&el, &"focus".into())
        && let Ok(f) = wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f)
    {
        let _ = f.call0(&el);
    }
}
