// The browser test of `indu view` (scripts/view_browser_test.sh): opens view.html from
// file:// in headless Chromium through the DevTools protocol (playwright-core) and checks the
// page: no console errors, no network requests, the head grid's size, clicking a cell,
// hovering a token, moving the scrubber; saves screenshots and checks they are not blank.
// Usage: node test.mjs VIEW_HTML SHOT_DIR N_LAYERS N_HEADS USER_DATA_DIR
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blankCheck as blank, checker, launch, open } from './shared.mjs';

const [html, shots, layersArg, headsArg, userData] = process.argv.slice(2);
const nLayers = Number(layersArg), nHeads = Number(headsArg);
const { check, failures } = checker();

const context = await launch(userData, { width: 1280, height: 800 });
const { page, errors, requests } = await open(context, html);
const blankCheck = (png) => blank(context, png);
const shot = async (name, full) => {
  if (full) await page.evaluate(() => window.scrollTo(0, 0));
  const png = await page.screenshot({ fullPage: full });
  writeFileSync(join(shots, name), png);
  const b = await blankCheck(png);
  check(b.colours >= 30 && b.ink > 0.05, `${name} (${b.w}x${b.h}) is not blank: ${b.colours} colours, ${(100 * b.ink).toFixed(0)}% ink`);
};

const cells = await page.locator('[data-grid="induction"] .cell').count();
check(cells === nLayers * nHeads, `head grid has ${cells} cells, expected ${nLayers} x ${nHeads}`);
check(await page.locator('.thumb').count() === nLayers * nHeads, 'one thumbnail per head');
await shot('view.png', false);
await shot('view_full.png', true);

// Clicking a cell of another head changes the large view.
const big = () => page.evaluate(() => { const c = document.getElementById('big'); return c.getAttribute('data-head') + ' ' + c.toDataURL(); });
const before = await big();
const other = page.locator('[data-grid="induction"] .cell[data-l="0"][data-h="0"]');
await other.click();
const after = await big();
check(after.startsWith('0.0 ') && before !== after, `clicking cell 0.0 opens it (${before.split(' ')[0]} -> ${after.split(' ')[0]}) and redraws the large view`);
check(await other.getAttribute('class').then((c) => c.includes('sel')), 'the clicked cell is marked selected');

// The grid is keyboard-driven: focus, an arrow key, Enter.
await other.focus();
await page.keyboard.press(nHeads > 1 ? 'ArrowRight' : 'ArrowDown');
await page.keyboard.press('Enter');
const head = (await big()).split(' ')[0];
check(head === (nHeads > 1 ? '0.1' : '1.0'), `arrow key + Enter selects the neighbour (${head})`);

// Hovering a token recolours the strip (what it attends to, what attends to it).
const styles = () => page.$$eval('.tok', (ts) => ts.map((t) => t.style.background + '|' + t.style.borderBottomColor).join(';'));
const plain = await styles();
const last = page.locator('.tok').last();
await last.scrollIntoViewIfNeeded();
await last.hover();
const lit = await styles();
check(plain !== lit && (await last.getAttribute('class')).includes('hov'), 'hovering the last token highlights what it attends to');
await page.locator('.tok').nth(1).hover();
check((await styles()) !== lit, 'hovering another token changes the highlighting');
// The attention section with a token hovered (the viewport, so nothing scrolls under the mouse).
await page.evaluate(() => window.scrollTo(0, document.getElementById('sec-attention').getBoundingClientRect().top + window.scrollY - 100));
await page.locator('.tok').nth(Math.floor((await page.locator('.tok').count()) * 0.7)).hover();
await shot('hover_token.png', false);
await page.mouse.move(5, 5);

// The scrubber: early and late steps show different grid values (and patterns).
const hasScrub = await page.locator('#scrub').isVisible();
check(hasScrub, 'the training scrubber is shown');
if (hasScrub) {
  const grid = () => page.$$eval('[data-grid] .cell', (cs) => cs.map((c) => c.textContent).join(' '));
  const scrubTo = (v) => page.evaluate((v) => {
    const r = document.getElementById('scrub-range');
    r.value = v === 'max' ? r.max : String(v);
    r.dispatchEvent(new Event('input', { bubbles: true }));
  }, v);
  await page.locator('[data-grid="induction"] .cell').last().click();
  await scrubTo('max');
  const late = await grid();
  const lateBig = await big();
  await page.locator('#sec-training').scrollIntoViewIfNeeded();
  await shot('scrub_late.png', true);
  await scrubTo(0);
  const early = await grid();
  const earlyBig = await big();
  check(early !== late, 'moving the scrubber changes the grid values');
  check(earlyBig !== lateBig, 'moving the scrubber changes the large view (snapshot patterns)');
  check((await page.locator('#scrub-step').textContent()).startsWith('step 0 '), 'the scrubber shows step 0');
  await shot('scrub_early.png', true);
  await scrubTo('max');
}

check(errors.length === 0, `no console errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
check(requests.length === 0, `no network requests${requests.length ? ': ' + requests.join(', ') : ''}`);
await context.close();
if (failures.length) {
  console.error(`view browser test: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('view browser test: every check passed');
