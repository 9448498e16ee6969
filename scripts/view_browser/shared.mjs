// What both browser tests of `indu view` share (test.mjs: a run's page; sweep.mjs: a sweep's
// page): the pass/fail log, launching Debian's Chromium headless with no background
// networking, opening a page from file:// while recording console errors and every request
// that is not the page itself, and telling a screenshot from a blank one.
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

/// A check that logs `ok`/`FAIL` and collects the failures.
export function checker() {
  const failures = [];
  const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures.push(what); };
  return { check, failures };
}

/// Headless Chromium ($CHROMIUM or /usr/bin/chromium) with its own profile in `userData`.
export function launch(userData, viewport) {
  return chromium.launchPersistentContext(userData, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/// Open `html` in a new page of `context`, recording console errors and foreign requests.
export async function open(context, html) {
  const page = await context.newPage();
  const url = pathToFileURL(html).href;
  const errors = [], requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests };
}

/// A screenshot decoded in a blank page: its size, distinct colours and the share of
/// non-background pixels.
export async function blankCheck(context, png) {
  const probe = await context.newPage();
  const r = await probe.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    let ink = 0, n = 0;
    for (let i = 0; i < d.length; i += 4 * 7) {
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      n++;
      if (Math.abs(d[i] - 244) + Math.abs(d[i + 1] - 245) + Math.abs(d[i + 2] - 248) > 30 && d[i] + d[i + 1] + d[i + 2] < 740) ink++;
    }
    return { w: c.width, h: c.height, colours: colours.size, ink: ink / n };
  }, png.toString('base64'));
  await probe.close();
  return r;
}
