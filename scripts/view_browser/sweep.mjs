// The browser test of `indu view --sweep` (scripts/view_browser_test.sh): opens the sweep's
// view.html from file:// in headless Chromium (playwright-core) and checks the page: no
// console errors, no network requests, one table row and one dot per chart per run, a
// header click (and Enter on a focused header) sorts the table, every row's link points at
// a file that exists; saves a screenshot and checks it is not blank.
// Usage: node sweep.mjs SWEEP_VIEW_HTML SHOT_DIR N_RUNS USER_DATA_DIR
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { blankCheck, checker, launch, open } from './shared.mjs';

const [html, shots, runsArg, userData] = process.argv.slice(2);
const nRuns = Number(runsArg);
const { check, failures } = checker();

const context = await launch(userData, { width: 1280, height: 900 });
const { page, errors, requests } = await open(context, html);

const rows = await page.locator('#runs tbody tr').count();
check(rows === nRuns, `the table has ${rows} rows, expected ${nRuns}`);
const charts = await page.locator('.plot svg').count();
check(charts >= 2, `${charts} metric-vs-axis charts (eval loss and accuracy per plotted axis)`);
const dots = await page.locator('.plot').first().locator('circle.dot').count();
check(dots === nRuns, `the first chart has ${dots} dots, one per run (${nRuns})`);

// Sorting: a click sorts ascending, a second descending; Enter on a focused header sorts too.
const column = (key) => page.evaluate((key) => {
  const ths = Array.from(document.querySelectorAll('#runs thead th'));
  const i = ths.findIndex((th) => th.getAttribute('data-col') === key);
  return Array.from(document.querySelectorAll('#runs tbody tr')).map((tr) => tr.children[i].textContent);
}, key);
const sorted = (v, dir) => v.every((x, i) => i === 0 || dir * (Number(v[i - 1]) - Number(x)) <= 0);
const header = page.locator('#runs thead th[data-col="eval_loss"] button');
await header.click();
const up = await column('eval_loss');
check(sorted(up, 1) && (await page.locator('th[data-col="eval_loss"]').getAttribute('aria-sort')) === 'ascending',
  `clicking "eval loss" sorts ascending: ${up.join(' ')}`);
await header.click();
const down = await column('eval_loss');
check(sorted(down, -1) && down.join() !== up.join(), `clicking it again sorts descending: ${down.join(' ')}`);
await page.locator('#runs thead th[data-col="name"] button').focus();
await page.keyboard.press('Enter');
check((await page.locator('th[data-col="name"]').getAttribute('aria-sort')) === 'ascending', 'Enter on the focused "run" header sorts by name');

// Every link points at a file that exists (relative to the page).
const hrefs = await page.$$eval('#runs tbody a', (as) => as.map((a) => a.getAttribute('href')));
check(hrefs.length === nRuns, `${hrefs.length} run links`);
const there = hrefs.filter((h) => existsSync(resolve(dirname(html), decodeURIComponent(h))));
check(there.length === hrefs.length, `every run link leads to an existing page (${there.length} of ${hrefs.length})`);

// A click on a dot finds its row.
await page.locator('.plot').first().locator('circle.dot').first().click();
check(await page.locator('#runs tbody tr.flash').count() === 1, 'clicking a dot highlights its row');

// A screenshot decoded in a blank page: distinct colours and the share of non-background pixels.
await page.evaluate(() => window.scrollTo(0, 0));
const png = await page.screenshot({ fullPage: true });
writeFileSync(join(shots, 'sweep_view.png'), png);
const b = await blankCheck(context, png);
check(b.colours >= 30 && b.ink > 0.03, `sweep_view.png (${b.w}x${b.h}) is not blank: ${b.colours} colours, ${(100 * b.ink).toFixed(0)}% ink`);

check(errors.length === 0, `no console errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
check(requests.length === 0, `no network requests${requests.length ? ': ' + requests.join(', ') : ''}`);
await context.close();
if (failures.length) {
  console.error(`sweep view browser test: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('sweep view browser test: every check passed');
