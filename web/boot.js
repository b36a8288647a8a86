// Starts the wizard (a file of its own: the Content-Security-Policy forbids inline
// scripts) and its RSA key workers, one per core. The workers load now, with the page:
// after load the page fetches nothing, ever, so they must be ready before anyone asks
// for keys. ECDSA keys (the default) take microseconds and never need them.
import init from './hagen-web.js';

// The page's wasm, fetched and compiled once: the page instantiates it, and so does each
// key worker (the module also makes RSA keys), so no second module is loaded.
const compiled = fetch(new URL('hagen-web_bg.wasm', import.meta.url))
  .then((r) => r.arrayBuffer())
  .then((bytes) => WebAssembly.compile(bytes));

// Each worker starts from a one-line blob that imports rsa-worker.js: a worker made from
// a blob: URL lives under this page's Content-Security-Policy (one loaded from its own
// URL would get only the policy of its HTTP response, which a static server leaves
// empty), so the workers cannot reach the network either.
const size = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 8));
const workerSource = URL.createObjectURL(new Blob(
  [`import ${JSON.stringify(new URL('rsa-worker.js', import.meta.url).href)};`],
  { type: 'text/javascript' }));
const workers = Array.from({ length: size }, () => new Worker(workerSource, { type: 'module' }));
const ready = Promise.all(workers.map((w) => new Promise((resolve, reject) => {
  const onMessage = (e) => {
    if (e.data && e.data.ready) { w.removeEventListener('message', onMessage); resolve(); }
    if (e.data && e.data.error) { w.removeEventListener('message', onMessage); reject(new Error(e.data.error)); }
  };
  w.addEventListener('message', onMessage);
  w.addEventListener('error', (e) => reject(new Error(`a key worker did not start: ${e.message}`)), { once: true });
})));
ready.then(() => { document.documentElement.dataset.keyWorkers = String(size); }, () => {});

// Makes one RSA key of `bits` per 32-byte seed in `seeds`; each free worker takes the
// next seed (prime searches vary a lot in length, fixed shares would idle a core).
// Resolves to the PKCS#8 DERs in seed order; `progress(done, total)` after each.
// `cancel()` hands out no more seeds: once the workers have finished the ones they hold
// (their keys are dropped), the promise rejects with 'cancelled'.
let cancelled = false;
async function rsa(bits, seeds, progress) {
  await ready;
  cancelled = false;
  const total = seeds.length / 32;
  const keys = new Array(total);
  let next = 0;
  let done = 0;
  let busy = 0;
  return new Promise((resolve, reject) => {
    let failed = false;
    const feed = (w) => {
      if (failed) return;
      if (cancelled || next >= total) {
        if (cancelled && busy === 0) { failed = true; keys.fill(undefined); reject('cancelled'); }
        return;
      }
      const i = next++;
      busy++;
      const onMessage = (e) => {
        w.removeEventListener('message', onMessage);
        busy--;
        if (e.data.error) { failed = true; reject(new Error(e.data.error)); return; }
        keys[i] = e.data.der;
        done++;
        progress(done, total);
        if (done === total) resolve(keys); else feed(w);
      };
      w.addEventListener('message', onMessage);
      w.postMessage({ bits, seed: seeds.slice(i * 32, i * 32 + 32) });
    };
    if (total === 0) resolve(keys);
    workers.forEach(feed);
  });
}

function cancel() { cancelled = true; }

globalThis.hagenKeys = { workers: size, rsa, cancel };
compiled.then((module) => {
  workers.forEach((w) => w.postMessage({ module }));
  return init({ module_or_path: module });
});
