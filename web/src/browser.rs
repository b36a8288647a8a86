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
