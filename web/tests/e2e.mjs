// The wizard in a real browser (headless Chromium driven by playwright-core): build a
// 3-control-plane haproxy-keepalived topology through the form, watch an error appear
// and go, generate the bundle (ECDSA, then RSA-2048 in the key workers while the page
// keeps drawing frames), and compare each zip with what the CLI makes. Also measures the
// page's gzip size and the edit latency of a 7-control-plane topology, counts network
// requests made after load (must be 0, workers included), and checks that the
// Content-Security-Policy refuses other origins in the page and in the workers.
// The topology diagram: drawn for every valid fixture exactly as the CLI's diagram.svg,
// updated by the form, and losses picked by click and by keyboard select their what-if
// row. The page fits 390 px and 1280 px (no sideways scroll, nothing overlaps, no value
// cut), axe-core finds no serious or critical violation, and docs/wizard.png is taken.
//
// usage: node web/tests/e2e.mjs   (after web/build.sh; scripts/test.sh runs both)
import { createRequire } from 'node:module';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import net from 'node:net';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const tools = process.env.HAGEN_TOOLS || path.join(root, '.tools');
const require = createRequire(path.join(tools, 'package.json'));
const { chromium } = require('playwright-core');
const dist = path.join(root, 'web/dist');
const hagen = path.join(root, 'target/debug/hagen');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hagen-e2e-'));
let passed = 0, failed = 0;
const results = [];

function check(name, ok, detail = '') {
  if (ok) passed++; else failed++;
  results.push(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`);
  console.log(results[results.length - 1]);
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// Every file and directory under `dir`: path → {mode, bytes} (directories end with `/`
// and have no bytes).
function walk(dir, base = dir, out = {}) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      out[path.relative(base, p) + '/'] = { mode: fs.statSync(p).mode & 0o777, bytes: Buffer.alloc(0) };
      walk(p, base, out);
    } else out[path.relative(base, p)] = { mode: fs.statSync(p).mode & 0o777, bytes: fs.readFileSync(p) };
  }
  return out;
}

// Unzips a downloaded bundle and has the CLI re-render the same topology into a copy:
// it keeps the keys and join secrets it finds, so every file must come out identical
// (same list, modes and bytes). Returns the unzipped bundle's directory.
async function compareWithCli(download, label) {
  const zipPath = path.join(work, `${label}.zip`);
  await download.saveAs(zipPath);
  const unz = path.join(work, label);
  // With Info-ZIP's unzip, as a user would: it restores the modes of files and directories.
  execFileSync('unzip', ['-q', zipPath, '-d', unz]);
  const bundleDir = path.join(unz, 'hagen-bundle');
  const fromZip = walk(bundleDir);
  const privateDirs = Object.keys(fromZip).filter(p => p.endsWith('/pki/') && fromZip[p].mode === 0o700);
  check(`${label}: zip holds the bundle and its topology.yaml, pki directories 0700`, fs.existsSync(path.join(bundleDir, 'topology.yaml')) && Object.keys(fromZip).length > 20 && privateDirs.length >= 3,
    `${Object.keys(fromZip).length} files and directories, ${privateDirs.length} pki directories 0700`);
  const cliDir = path.join(work, `${label}-cli`);
  fs.cpSync(bundleDir, cliDir, { recursive: true });
  execFileSync(hagen, ['render', path.join(cliDir, 'topology.yaml'), '-o', cliDir], { stdio: 'pipe' });
  const fromCli = walk(cliDir);
  const names = (o) => Object.keys(o).sort().join('\n');
  check(`${label}: same file list as the CLI`, names(fromZip) === names(fromCli));
  const modeDiff = Object.keys(fromZip).filter(p => fromCli[p] && fromCli[p].mode !== fromZip[p].mode);
  check(`${label}: same modes as the CLI (files and directories)`, modeDiff.length === 0, modeDiff.join(', '));
  const byteDiff = Object.keys(fromZip).filter(p => fromCli[p] && !fromCli[p].bytes.equals(fromZip[p].bytes));
  check(`${label}: same bytes as the CLI`, byteDiff.length === 0, byteDiff.join(', '));
  return bundleDir;
}

const port = await freePort();
const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '-d', dist], { stdio: 'ignore' });
let browser;
try {
  const gzipOf = (f) => zlib.gzipSync(fs.readFileSync(path.join(dist, f)), { level: 9 }).length;

  for (let i = 0; i < 50; i++) { try { await fetch(`http://127.0.0.1:${port}/`); break; } catch { await new Promise(r => setTimeout(r, 100)); } }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  let loaded = false;
  const beforeLoad = [];
  const afterLoad = [];
  page.on('request', r => { if (/^(https?|wss?):/.test(r.url())) (loaded ? afterLoad : beforeLoad).push(r.url()); });
  await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'networkidle' });
  await page.waitForSelector('#generate', { timeout: 20000 });
  // The key workers load with the page; after this nothing may be fetched.
  await page.waitForFunction(() => document.documentElement.dataset.keyWorkers, null, { timeout: 20000 });
  loaded = true;

  // Page weight: every file the page and its workers loaded at start, gzip -9 (each
  // file of web/dist must be one of them: nothing is fetched later).
  const loadedFiles = [...new Set(beforeLoad.map(u => new URL(u).pathname.replace(/^\/$/, '/index.html').slice(1)))];
  const sizes = {};
  let gz = 0;
  for (const f of loadedFiles) { sizes[f] = gzipOf(f); gz += sizes[f]; }
  const unloaded = fs.readdirSync(dist).filter(f => !loadedFiles.includes(f));
  // Issue 16's budget: 450 KB gzip for everything the page loads at start.
  const budgetKb = 450;
  check(`weight of everything loaded at start <= ${budgetKb} KB gzip`, gz <= budgetKb * 1024 && unloaded.length === 0,
    `${(gz / 1024).toFixed(1)} KB: ${Object.entries(sizes).map(([f, n]) => `${f} ${(n / 1024).toFixed(1)}`).join(', ')}${unloaded.length ? '; never loaded: ' + unloaded.join(', ') : ''}`);

  // Build the topology through the form.
  const fill = async (label, value) => { await page.getByLabel(label, { exact: true }).fill(value); };
  await fill('Cluster name', 'e2e-ha');
  await fill('Kubernetes version', 'v1.31.2');
  await fill('Virtual IP (with prefix)', '10.10.0.100/24');
  await fill('DNS name', 'api.e2e.local');
  await fill('Port clients dial', '8443');
  await page.getByLabel('Type', { exact: true }).selectOption('haproxy-keepalived');
  await fill('Interface', 'eth0');
  await fill('VRRP router id (1-255)', '42');
  for (let i = 1; i <= 3; i++) {
    await fill(`Name of node ${i}`, `cp-${i}`);
    await fill(`Address of node ${i}`, `10.10.0.${10 + i}`);
  }
  const status = page.locator('#status');
  check('topology built through the form is valid', /^Valid: nothing to fix/.test(await status.textContent()), await status.textContent());
  check('no developer figures on the page', !/Last update|warning\(s\)|error\(s\)/.test(await page.locator('body').innerText()));

  // The diagram follows the form: one column without zones, three with them.
  const svgAttr = (a) => page.locator('#diagram svg').getAttribute(a);
  const diagramText = () => page.locator('#diagram svg').textContent();
  check('diagram drawn from the form: one column, 3 nodes, 3 etcd members, VIP on cp-1',
    await svgAttr('data-columns') === '1' && await page.locator('#diagram [data-loss=node]').count() === 3
      && await svgAttr('data-etcd-members') === '3' && await svgAttr('data-etcd-quorum') === '2'
      && /VIP 10\.10\.0\.100 on cp-1/.test(await diagramText()),
    (await diagramText()).slice(0, 160));
  for (let i = 1; i <= 3; i++) await fill(`Zone of node ${i}`, `z${i}`);
  await page.waitForFunction(() => document.querySelector('#diagram svg').dataset.columns === '3');
  check('diagram follows the form: zones become columns', await page.locator('#diagram [data-loss=zone]').count() === 3);

  // Click to lose: a node, then the VIP holder, then the same again to bring it back.
  const selectedRow = () => page.locator('#what-if tr[aria-selected=true]');
  const rowOf = async () => (await selectedRow().count()) === 1
    ? `${await selectedRow().getAttribute('data-loss')} ${await selectedRow().getAttribute('data-name')}` : `${await selectedRow().count()} rows`;
  await page.locator('#diagram [data-loss=node][data-name="cp-2"]').click();
  check('clicking node cp-2 selects its what-if row and greys it',
    await rowOf() === 'node cp-2' && /2 of 3 members left, quorum 2: kept/.test(await diagramText())
      && await page.locator('#diagram [data-name="cp-2"] text', { hasText: /^lost$/ }).count() === 1
      && await page.locator('#diagram [data-name="cp-2"] rect.box').getAttribute('fill') === '#eaeef2',
    await rowOf());
  await page.locator('#dg-vip').click();
  check('clicking the VIP holder selects its row and shows where the VIP goes',
    await rowOf() === 'vip-holder cp-1' && /VIP moves to cp-2/.test(await diagramText())
      && await page.locator('#diagram [data-name="cp-2"] text', { hasText: 'holds the VIP' }).count() === 1,
    await rowOf());
  await page.locator('#dg-vip').click();
  check('clicking it again brings everything back', await selectedRow().count() === 0 && !/lost/.test(await diagramText()));

  // Keyboard: every zone and node is a Tab stop; Enter and Space toggle the loss and the
  // focus stays on the button.
  await page.locator('#export').focus();
  const stops = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    stops.push(await page.evaluate(() => document.activeElement && document.activeElement.id));
  }
  const expectedStops = ['dg-vip', 'dg-zone-0', 'dg-node-0', 'dg-zone-1', 'dg-node-1', 'dg-zone-2', 'dg-node-2'];
  check('Tab reaches the VIP holder, every zone and every node of the diagram', expectedStops.every((id, i) => stops[i] === id), stops.join(' '));
  await page.locator('#dg-zone-1').focus();
  await page.keyboard.press('Enter');
  const afterEnter = await rowOf();
  const focusKept = await page.evaluate(() => document.activeElement && document.activeElement.id);
  const zoneText = await diagramText();
  await page.keyboard.press(' ');
  check('Enter loses zone z2 (row selected, focus kept); Space brings it back',
    afterEnter === 'zone z2' && focusKept === 'dg-zone-1' && /If we lose zone z2/.test(zoneText) && await selectedRow().count() === 0,
    `${afterEnter}; focus on ${focusKept}`);
  await page.locator('#dg-zone-1').press('Enter');

  // An invalid VIP shows an error on its field, announced to screen readers, and goes away.
  await fill('Virtual IP (with prefix)', '10.10.0.100.100');
  const vipMsg = page.locator('[id="spec.controlPlaneEndpoint.vip-msg"]');
  await vipMsg.filter({ hasText: 'TOP040' }).waitFor({ timeout: 5000 });
  check('invalid VIP error appears on its field', (await vipMsg.getAttribute('role')) === 'alert' && (await page.getByLabel('Virtual IP (with prefix)', { exact: true }).getAttribute('aria-invalid')) === 'true');
  check('generate is disabled while invalid', await page.locator('#generate').isDisabled());
  await fill('Virtual IP (with prefix)', '10.10.0.100/24');
  await page.waitForFunction(() => !document.getElementById('spec.controlPlaneEndpoint.vip-msg').textContent.includes('TOP040'), null, { timeout: 5000 });
  check('error goes away when fixed', !(await vipMsg.textContent()).includes('TOP040'));

  // Every control has an accessible name (a label, aria-label or its text).
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
    .map(e => e.id || e.outerHTML.slice(0, 60)));
  check('every control has an accessible name', unnamed.length === 0, unnamed.join(', '));

  // Generate and download (ECDSA, the default: made on the page's thread), by keyboard
  // alone: from the first field, Tab reaches the button and Enter presses it.
  await page.getByLabel('Cluster name', { exact: true }).focus();
  let tabs = 0;
  while (tabs < 400 && !(await page.evaluate(() => document.activeElement && document.activeElement.id === 'generate'))) {
    await page.keyboard.press('Tab');
    tabs++;
  }
  check('keyboard alone reaches Generate', tabs < 400, `${tabs} Tab presses from the first field`);
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), page.keyboard.press('Enter')]);
  const bundleDir = await compareWithCli(download, 'ecdsa');
  await page.screenshot({ path: path.join(root, 'web/screenshot.png'), fullPage: false });

  // The certificates verify against the zip's CA.
  const pki = path.join(bundleDir, 'nodes/cp-2/etc/kubernetes/pki');
  const verify = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', path.join(pki, 'ca.crt'), path.join(pki, 'apiserver.crt'), path.join(pki, 'apiserver-kubelet-client.crt')]).toString();
  check('certificates verify against the zip CA', (verify.match(/: OK/g) || []).length === 2, verify.trim());

  // RSA: the prime searches run in the key workers while the page stays responsive.
  // A requestAnimationFrame loop records the longest gap between frames while the
  // progress bar is short of its end (the signing that follows is on the page's thread).
  await page.getByLabel('Key algorithm', { exact: true }).selectOption('rsa-2048');
  await page.evaluate(() => {
    window.hagenGaps = [];
    let last = performance.now();
    const tick = (t) => {
      const bar = document.getElementById('key-progress');
      if (bar && bar.value < bar.max) window.hagenGaps.push(t - last);
      last = t;
      if (!window.hagenStop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const rsaStart = Date.now();
  let rsaKeys = '?';
  const [rsaDownload] = await Promise.all([
    page.waitForEvent('download', { timeout: 300000 }),
    (async () => {
      await page.click('#generate');
      await page.locator('#key-progress').waitFor({ timeout: 5000 });
      rsaKeys = await page.locator('#key-progress').getAttribute('max');
      // Typing during the search still updates the form and its findings.
      await fill('Cluster name', 'typed-during-rsa');
      await page.waitForFunction(() => document.querySelector('[id="metadata.name"]').value === 'typed-during-rsa', null, { timeout: 2000 });
    })(),
  ]);
  const rsaSeconds = (Date.now() - rsaStart) / 1000;
  const gaps = await page.evaluate(() => { window.hagenStop = true; return window.hagenGaps; });
  const worst = Math.max(...gaps);
  const workers = await page.evaluate(() => document.documentElement.dataset.keyWorkers);
  check('RSA keys made in workers without freezing the page', gaps.length > 10 && worst < 250,
    `${rsaSeconds.toFixed(1)} s for the bundle (${rsaKeys} keys) with ${workers} worker(s); ${gaps.length} frames during the search, longest gap ${worst.toFixed(0)} ms`);
  const rsaDir = await compareWithCli(rsaDownload, 'rsa-2048');
  const rsaPki = path.join(rsaDir, 'nodes/cp-1/etc/kubernetes/pki');
  const keyText = execFileSync('openssl', ['pkey', '-in', path.join(rsaPki, 'apiserver.key'), '-noout', '-text']).toString();
  const rsaVerify = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', path.join(rsaPki, 'ca.crt'), path.join(rsaPki, 'apiserver.crt')]).toString();
  check('RSA bundle: 2048-bit keys, certificates verify', /Private-Key: \(2048 bit/.test(keyText) && /: OK/.test(rsaVerify), `${keyText.split('\n')[0]}; ${rsaVerify.trim()}`);

  // Cancel: the workers finish the keys they hold, nothing is downloaded, and Generate
  // is available again.
  let cancelDownloads = 0;
  const countDownload = () => { cancelDownloads++; };
  page.on('download', countDownload);
  await page.click('#generate');
  await page.locator('#key-progress').waitFor({ timeout: 5000 });
  await page.click('#cancel-keys');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('Cancelled'), null, { timeout: 30000 });
  await new Promise(r => setTimeout(r, 500));
  page.off('download', countDownload);
  check('RSA generation can be cancelled', cancelDownloads === 0 && await page.locator('#generate').isEnabled() && await page.locator('#key-progress').count() === 0,
    (await status.textContent()).trim());
  await page.getByLabel('Key algorithm', { exact: true }).selectOption('ecdsa-p256');

  // Latency of an edit on a 7-control-plane topology, measured by the page itself.
  const seven = fs.readFileSync(path.join(root, 'fixtures/topologies/valid/haproxy-keepalived-stacked.yaml'), 'utf8')
    .replace(/  nodes:[\s\S]*$/, '  nodes:\n' + Array.from({ length: 7 }, (_, i) => `    - {name: k8s-m${i + 1}, address: 192.168.2.${140 + i}, roles: [control-plane], zone: z${i % 3}}\n`).join('') + Array.from({ length: 10 }, (_, i) => `    - {name: k8s-w${i + 1}, address: 192.168.2.${160 + i}, roles: [worker], zone: z${i % 3}}\n`).join(''));
  await page.locator('#import-text').fill(seven);
  await page.click('#import-button');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('imported'));
  const samples = [];
  for (let i = 0; i < 40; i++) {
    await fill('Cluster name', `seven-${i}`);
    samples.push(parseFloat(await page.locator('#update-ms').getAttribute('data-ms')));
  }
  samples.sort((a, b) => a - b);
  const p95 = samples[Math.floor(samples.length * 0.95) - 1];
  check('7-CP edit latency measured', samples.length === 40, `median ${samples[20].toFixed(2)} ms, p95 ${p95.toFixed(2)} ms (goal 16 ms)`);

  // The diagram of every valid fixture is the CLI's diagram.svg, with a button for each
  // row of the CLI's what-if table.
  for (const f of fs.readdirSync(path.join(root, 'fixtures/topologies/valid')).filter(f => f.endsWith('.yaml')).sort()) {
    const file = path.join(root, 'fixtures/topologies/valid', f);
    const out = path.join(work, `fixture-${f}`);
    execFileSync(hagen, ['render', file, '-o', out], { stdio: 'pipe' });
    const cliSvg = fs.readFileSync(path.join(out, 'diagram.svg'), 'utf8');
    const report = JSON.parse(execFileSync(hagen, ['validate', '--format', 'json', file]).toString());
    const rows = report.whatIf || report.what_if || [];
    await page.locator('#import-text').fill(fs.readFileSync(file, 'utf8'));
    await page.click('#import-button');
    await page.waitForFunction(() => document.getElementById('status').textContent.includes('imported'));
    const same = await page.evaluate((text) => {
      const ser = new XMLSerializer();
      const cli = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
      return ser.serializeToString(cli) === ser.serializeToString(document.querySelector('#diagram svg'));
    }, cliSvg);
    const count = (l) => page.locator(`#diagram [data-loss=${l}]`).count();
    const want = (l) => rows.filter(r => r.loss === l).length;
    const buttons = `${await count('node')}/${await count('zone')}/${await count('vip-holder')}`;
    const wanted = `${want('node')}/${want('zone')}/${want('vip-holder')}`;
    check(`diagram of ${f}: as the CLI's diagram.svg, a button per what-if row`, same && rows.length > 0 && buttons === wanted,
      `nodes/zones/VIP holder: ${buttons}, what-if rows ${wanted}`);
  }

  // Fits the screen: no sideways scroll, nothing overlapping, no value cut (inputs show
  // their whole value, the diagram's text stays inside its boxes), at 1280 and 390 px;
  // the node list is cards where the page is narrow. With the 7-control-plane topology.
  await page.locator('#import-text').fill(seven);
  await page.click('#import-button');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('imported'));
  await page.locator('#diagram [data-loss=zone]').first().click();
  const layout = () => page.evaluate(() => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth) problems.push(`page ${doc.scrollWidth} px wide`);
    // Visible, and not inside a visually hidden box (clipped to 1 px: for screen readers).
    const clipped = (e) => { for (let a = e; a; a = a.parentElement) { if (getComputedStyle(a).clip !== 'auto' && a.getBoundingClientRect().width <= 1) return true; } return false; };
    const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden' && !clipped(e); };
    const controls = [...document.querySelectorAll('input, select, textarea, button, progress')].filter(visible);
    const rects = controls.map(e => e.getBoundingClientRect());
    for (let i = 0; i < rects.length; i++) {
      for (let j = i + 1; j < rects.length; j++) {
        const a = rects[i], b = rects[j];
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
          problems.push(`overlap: ${controls[i].id || controls[i].getAttribute('aria-label') || controls[i].textContent} / ${controls[j].id || controls[j].getAttribute('aria-label') || controls[j].textContent}`);
        }
      }
      // Inside their box (fieldset or section), not spilling out of it.
      const box = controls[i].closest('fieldset, section');
      if (box) {
        const o = box.getBoundingClientRect();
        if (rects[i].left < o.left - 1 || rects[i].right > o.right + 1) problems.push(`outside its box: ${controls[i].id || controls[i].getAttribute('aria-label')}`);
      }
    }
    for (const e of document.querySelectorAll('input[type=text]')) {
      if (visible(e) && e.scrollWidth > e.clientWidth + 1) problems.push(`cut: ${e.id} = ${e.value}`);
    }
    for (const e of document.querySelectorAll('td, th, li, #status, .field-msg')) {
      if (visible(e) && e.scrollWidth > e.clientWidth + 1) problems.push(`cut: ${e.tagName} ${e.textContent.slice(0, 40)}`);
    }
    for (const g of document.querySelectorAll('#diagram [data-loss]')) {
      const box = g.querySelector('rect.box').getBBox();
      for (const t of g.querySelectorAll('text')) {
        const b = t.getBBox();
        if (b.x < box.x || b.x + b.width > box.x + box.width || b.y < box.y || b.y + b.height > box.y + box.height) problems.push(`diagram text outside its box: ${t.textContent}`);
      }
    }
    const svg = document.querySelector('#diagram svg');
    for (const t of svg.querySelectorAll(':scope > text')) {
      const b = t.getBBox(), v = svg.viewBox.baseVal;
      if (b.x + b.width > v.width) problems.push(`diagram text past its edge: ${t.textContent}`);
    }
    const row = document.querySelector('.nodes tbody tr');
    return { problems, cards: getComputedStyle(row).display === 'grid', width: doc.scrollWidth, diagram: svg.getBoundingClientRect().width };
  });
  const wide = await layout();
  check('1280 px: no sideways scroll, nothing overlaps, nothing cut', wide.problems.length === 0,
    `${wide.width} px wide, diagram ${wide.diagram.toFixed(0)} px${wide.problems.length ? '; ' + wide.problems.slice(0, 8).join('; ') : ''}`);
  await page.setViewportSize({ width: 390, height: 844 });
  const narrow = await layout();
  check('390 px: no sideways scroll, nothing overlaps, nothing cut, nodes as cards', narrow.problems.length === 0 && narrow.cards,
    `${narrow.width} px wide, cards: ${narrow.cards}, diagram ${narrow.diagram.toFixed(0)} px${narrow.problems.length ? '; ' + narrow.problems.slice(0, 8).join('; ') : ''}`);
  await page.screenshot({ path: path.join(root, 'web/screenshot-narrow.png') });

  // Accessibility, by axe-core: no serious or critical violation, with a loss shown and
  // with findings on the fields, wide and narrow.
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const axe = async (label) => {
    const r = await page.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
    const bad = r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
    check(`axe-core: no serious or critical violation (${label})`, bad.length === 0,
      r.violations.map(v => `${v.impact} ${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(', ')}`).join('; ') || 'no violation at all');
  };
  await axe('390 px, a zone lost');
  await page.setViewportSize({ width: 1280, height: 800 });
  await axe('1280 px, a zone lost');
  await fill('Virtual IP (with prefix)', '192.168.2.250.7');
  await vipMsg.filter({ hasText: 'TOP040' }).waitFor({ timeout: 5000 });
  await axe('1280 px, with an error');
  await fill('Virtual IP (with prefix)', '192.168.2.250/24');

  // The picture for the README: the default three-zone topology, zone z1 lost.
  await page.locator('#import-text').fill(fs.readFileSync(path.join(root, 'fixtures/topologies/valid/five-control-planes-three-zones.yaml'), 'utf8'));
  await page.click('#import-button');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('imported'));
  await page.locator('#diagram [data-loss=zone]').first().click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(root, 'docs/wizard.png') });
  // The listener sees the workers' own fetches (they load with the page), so the count
  // after load covers the workers too.
  const workerFetch = beforeLoad.some(u => u.endsWith('/rsa-worker.js'));
  check('no network request after load (page and workers)', workerFetch && afterLoad.length === 0,
    `${beforeLoad.length} at load${workerFetch ? ' (worker fetches seen)' : ', worker fetches NOT seen'}; after: ${afterLoad.join(', ')}`);
  // Before the probe below, whose refusals the browser reports as console errors.
  check('no page errors', errors.length === 0, errors.join(' | '));

  // The policy holds in the workers too (they are made from blob: URLs so that they live
  // under the page's policy): a fetch to another origin, one that is up and would answer,
  // is refused by the browser in the page and in a worker alike.
  const otherPort = await freePort();
  const other = spawn('python3', ['-m', 'http.server', String(otherPort), '--bind', '127.0.0.1', '-d', dist], { stdio: 'ignore' });
  try {
    const probeUrl = `http://127.0.0.1:${otherPort}/index.html`;
    let up = false;
    for (let i = 0; i < 50 && !up; i++) { try { up = (await fetch(probeUrl)).ok; } catch { await new Promise(r => setTimeout(r, 100)); } }
    const probe = async (u) => {
      let violated = '';
      self.addEventListener('securitypolicyviolation', (e) => { violated = e.effectiveDirective; });
      let outcome;
      try { await fetch(u, { mode: 'no-cors' }); outcome = 'fetched'; } catch { outcome = 'refused'; }
      await new Promise(r => setTimeout(r, 50));
      return `${outcome} ${violated}`.trim();
    };
    const fromPage = await page.evaluate(probe, probeUrl);
    const keyWorkers = page.workers();
    const fromWorker = keyWorkers.length ? await keyWorkers[0].evaluate(probe, probeUrl) : 'no worker';
    check('CSP refuses other origins in the page and in the key workers', up && fromPage === 'refused connect-src' && fromWorker === 'refused connect-src',
      `probe server up: ${up}; page: ${fromPage}; worker: ${fromWorker}`);
  } finally {
    other.kill();
  }

} catch (e) {
  check('e2e run', false, String(e && e.stack || e));
} finally {
  if (browser) await browser.close();
  server.kill();
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
