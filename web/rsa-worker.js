// A key worker (started by boot.js): instantiates the page's own wasm module, which the
// page compiled once and sends as the first message (so nothing is fetched or compiled
// twice), says it is ready, then answers each {bits, seed} with {der} or {error}. The
// seed is the only thing it is sent and the key the only thing it sends back, to the
// page, never elsewhere.
import { initSync, rsa_key } from './hagen-web.js';

let loaded = false;
onmessage = ({ data }) => {
  if (!loaded) {
    try {
      initSync({ module: data.module });
      loaded = true;
      postMessage({ ready: true });
    } catch (e) {
      postMessage({ error: `cannot load the key module: ${e}` });
    }
    return;
  }
  try {
    const der = rsa_key(data.bits, data.seed);
    postMessage({ der }, [der.buffer]);
  } catch (e) {
    postMessage({ error: String(e && e.message || e) });
  }
};
