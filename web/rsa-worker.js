// A key worker (started by boot.js): loads the small RSA module once, says it is ready,
// then answers each {bits, seed} with {der} or {error}. The seed is the only thing it
// is sent and the key the only thing it sends back, to the page, never elsewhere.
import init, { rsa_key } from './hagen_rsa_worker.js';

const loaded = init();
loaded.then(() => postMessage({ ready: true }), (e) => postMessage({ error: `cannot load the key module: ${e}` }));

onmessage = async ({ data: { bits, seed } }) => {
  try {
    await loaded;
    const der = rsa_key(bits, seed);
    postMessage({ der }, [der.buffer]);
  } catch (e) {
    postMessage({ error: String(e && e.message || e) });
  }
};
