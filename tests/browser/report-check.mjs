// Opens a heapsnap HTML report in headless Chromium (Debian's /usr/bin/chromium through puppeteer-core, as
// pinned by fixtures/gen/browser/package.json; run `npm ci` there first) and drives it like a reader:
// console errors and every network request are recorded; the treemap's nesting depth is read, and it is
// zoomed in by clicks, MIN_DEPTH deep, into the largest such block, into the largest block whose children were
// all cut (only "N more" and its own size inside), into the largest whose "N more" retains 0 B and into the
// deepest (through the table's rows where its blocks are too small to draw), each view read (its blocks' bytes, areas, labels and table), and back out by the breadcrumb; the Summary table is
// sorted and filtered, the first finding is closed and opened again, the growth charts are read. Screenshots
// of each view go to OUT_DIR. Prints one JSON object of what it saw; tests/html_report.rs checks it.
//
//   node tests/browser/report-check.mjs REPORT.html OUT_DIR NAME [MIN_DEPTH]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../fixtures/gen/browser/package.json'));
const puppeteer = require('puppeteer-core');

const [report, outDir, name, minDepthArg] = process.argv.slice(2);
if (!report || !outDir || !name) {
  console.error('usage: node report-check.mjs REPORT.html OUT_DIR NAME [MIN_DEPTH]');
  process.exit(2);
}
const minDepth = Number(minDepthArg || 5);
fs.mkdirSync(outDir, { recursive: true });
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-report-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  userDataDir,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-extensions', '--disable-default-apps'],
});
const result = { console_errors: [], page_errors: [], requests: [], failed_requests: [], dialogs: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const url = 'file://' + path.resolve(report);
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') result.console_errors.push(m.text()); });
  page.on('pageerror', (e) => result.page_errors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) result.requests.push(r.url()); });
  page.on('requestfailed', (r) => result.failed_requests.push(r.url()));
  page.on('dialog', async (d) => { result.dialogs.push(d.message()); await d.dismiss(); });
  // Load time: from navigation to the treemap drawn (the report draws it on load), wall clock, and the
  // browser's own load event.
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#treemap-svg g.node');
  result.load_ms = Date.now() - t0;
  result.load_event_ms = await page.evaluate(() => Math.round(performance.getEntriesByType('navigation')[0].loadEventEnd));
  const boxOf = async (sel) => {
    const h = await page.$(sel);
    await h.scrollIntoView();
    return h.boundingBox();
  };
  result.kind = await page.$eval('body', (b) => b.dataset.kind);
  result.pwned = await page.evaluate(() => window.__pwned || null);
  result.injected_img = await page.$$eval('img', (x) => x.length);
  result.title = await page.title();
  await page.screenshot({ path: path.join(outDir, `${name}-page.png`), fullPage: true });
  await new Promise((r) => setTimeout(r, 300));

  // The treemap at the root: the largest block of the first level.
  const level1 = () => page.$$eval('#treemap-svg g.level1[data-id]', (gs) => gs.map((g) => ({
    id: Number(g.dataset.id), area: Number(g.dataset.area), zoomable: g.classList.contains('zoomable'),
    idx: Number(g.dataset.idx), hl: g.classList.contains('hl'),
  })));
  const first = await level1();
  first.sort((a, b) => b.area - a.area);
  result.largest_block_id = first.length ? first[0].id : null;
  result.level1_ids_by_area = first.map((b) => b.id);
  result.highlighted = await page.$$eval('#treemap-svg g.hl', (x) => x.length);
  const treemap = await page.$('#treemap');
  await treemap.screenshot({ path: path.join(outDir, `${name}-treemap.png`) });
  // Hover the largest block: the tooltip shows its name, id, sizes and path.
  const box = await boxOf(`#treemap-svg g.level1[data-idx="${first[0].idx}"] rect`);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  result.tooltip = await page.$eval('#tip', (t) => (t.hidden ? null : t.textContent));
  result.max_level_at_root = await page.$eval('#treemap-svg', (s) =>
    Math.max(0, ...Array.from(s.querySelectorAll('g.node'), (g) => Number(g.dataset.level))));
  // The zoomed view as drawn and tabled: its blocks' bytes must add up to the zoomed node's retained size
  // (children + "N more" + own size), and every large block's area must be its share of the view.
  const inspect = () => page.evaluate(() => {
    const rows = JSON.parse(document.getElementById('tree-data').textContent).nodes;
    const svg = document.getElementById('treemap-svg');
    const z = rows.find((r) => r[0] === Number(svg.dataset.zoom));
    const l1 = Array.from(svg.querySelectorAll('g.level1'));
    const text = (g) => (g ? Array.from(g.querySelectorAll('text'), (t) => t.textContent).join(' | ') : null);
    const more = l1.find((g) => g.classList.contains('more'));
    const own = l1.find((g) => g.classList.contains('own'));
    // The map above the footer strip is to scale: its blocks share the bytes not in the footer.
    const view = Number(svg.getAttribute('width')) * Number(svg.dataset.mapHeight);
    const footer = l1.filter((g) => g.classList.contains('footer'));
    const mapBytes = z[6] - footer.reduce((x, g) => x + Number(g.dataset.bytes), 0);
    let areaError = 0;
    for (const g of l1) {
      const share = Number(g.dataset.bytes) / mapBytes;
      if (g.dataset.idx && share >= 0.02) {
        areaError = Math.max(areaError, Math.abs(Number(g.dataset.area) / view - share) / share);
      }
    }
    return {
      depth: Number(svg.dataset.depth), id: z[0], self: z[5], retained: z[6], more_count: z[7], more_retained: z[8],
      table_sum: Array.from(document.querySelectorAll('#tree-table td[data-v]'), (td) => Number(td.dataset.v))
        .reduce((x, y) => x + y, 0),
      kids_drawn: l1.filter((g) => g.dataset.idx).length,
      footer: footer.map((g) => g.getAttribute('aria-label')),
      more: more ? { bytes: Number(more.dataset.bytes), aria: more.getAttribute('aria-label'), text: text(more) } : null,
      own: own ? { bytes: Number(own.dataset.bytes), aria: own.getAttribute('aria-label'), text: text(own) } : null,
      area_error: areaError,
      max_level: Math.max(0, ...Array.from(svg.querySelectorAll('g.node'), (g) => Number(g.dataset.level))),
    };
  });
  // The largest embedded node of a kind at least `minDepth` deep, and its dominator chain from the root. Kinds:
  // 'inside' (kept children or "N more"), 'cut' (no kept child, a "N more" of some bytes), 'zero-more' (a "N
  // more" of 0 B).
  // (No code is built from strings in the page: its CSP forbids eval, and a violation would log an error.)
  const chainTo = (kind, minDepth) => page.evaluate((kind, minDepth) => {
    const rows = JSON.parse(document.getElementById('tree-data').textContent).nodes;
    const depth = [], kids = rows.map(() => 0);
    rows.forEach((r, i) => { depth[i] = r[1] < 0 ? 0 : depth[r[1]] + 1; if (r[1] >= 0) kids[r[1]]++; });
    const fits = (r, i) => depth[i] >= minDepth && (kind === 'inside' ? kids[i] > 0 || r[7] > 0
      : kind === 'cut' ? kids[i] === 0 && r[8] > 0 : kind === 'deepest' ? kids[i] > 0 || r[7] > 0
      : r[7] > 0 && r[8] === 0);
    const better = (i, best) => (kind === 'deepest' && depth[i] !== depth[best] ? depth[i] > depth[best]
      : rows[i][6] > rows[best][6]);
    let best = -1;
    rows.forEach((r, i) => { if (fits(r, i) && (best < 0 || better(i, best))) best = i; });
    const chain = [];
    for (let i = best; i >= 0; i = rows[i][1]) chain.unshift(i);
    return chain;
  }, kind, minDepth);
  // From the root, click each block of the chain in turn (each is a block of the zoomed view's first level),
  // or its row in the table when it is too small to be drawn.
  const zoomAlong = async (chain) => {
    await page.click('#crumbs li:first-child button');
    const depths = [];
    let byTable = 0;
    for (const idx of chain.slice(1)) {
      const sel = `#treemap-svg g.level1[data-idx="${idx}"] rect`;
      const row = `#tree-table button[data-idx="${idx}"]`;
      if (await page.$(sel)) {
        const b = await boxOf(sel);
        await page.mouse.click(b.x + 3, b.y + 3);
      } else if (await page.$(row)) {
        await page.$eval('details.tree-table', (d) => { d.open = true; });
        await page.click(row);
        byTable++;
      } else {
        break;
      }
      depths.push(await page.$eval('#treemap-svg', (s) => Number(s.dataset.depth)));
    }
    await page.$eval('details.tree-table', (d) => { d.open = false; });
    return { target_depth: chain.length - 1, depths, by_table: byTable, view: await inspect() };
  };
  result.root_view = await inspect();
  // Zoom: the largest embedded node at least MIN_DEPTH deep with something inside (its dominators are larger,
  // so drawn), reached by clicking each block of its dominator chain in turn.
  await new Promise((r) => setTimeout(r, 300));
  const deep = await zoomAlong(await chainTo('inside', minDepth));
  result.zoom_depths = deep.depths;
  result.deep_view = deep.view;
  result.crumbs = await page.$$eval('#crumbs button', (bs) => bs.map((b) => b.textContent));
  await treemap.screenshot({ path: path.join(outDir, `${name}-treemap-zoomed.png`) });
  // Into a block whose children were all cut (only "N more" and its own size inside), MIN_DEPTH deep.
  result.cut_zoom = await zoomAlong(await chainTo('cut', minDepth));
  await treemap.screenshot({ path: path.join(outDir, `${name}-treemap-cut.png`) });
  // Into the largest block whose "N more" retains 0 B.
  result.zero_more_zoom = await zoomAlong(await chainTo('zero-more', 1));
  // Into the deepest embedded block with contents, by its blocks or, where they are too small, the table.
  result.deepest_zoom = await zoomAlong(await chainTo('deepest', 0));
  await treemap.screenshot({ path: path.join(outDir, `${name}-treemap-deepest.png`) });
  // Zoom from the table: at the root, the last row that zooms (the smallest child with contents).
  await page.click('#crumbs li:first-child button');
  await page.$eval('details.tree-table', (d) => { d.open = true; });
  const rowIds = await page.$$eval('#tree-table tbody tr', (rs) => rs.filter((r) => r.querySelector('button'))
    .map((r) => Number(r.cells[1].textContent.slice(1))));
  if (rowIds.length) {
    const buttons = await page.$$('#tree-table button[data-idx]');
    await buttons[buttons.length - 1].click();
    result.table_zoom = {
      row_id: rowIds[rowIds.length - 1],
      zoom_id: await page.$eval('#treemap-svg', (s) => Number(s.dataset.zoom)),
      depth: await page.$eval('#treemap-svg', (s) => Number(s.dataset.depth)),
    };
  }
  await page.$eval('details.tree-table', (d) => { d.open = false; });
  // Back to the root by the first breadcrumb.
  await page.click('#crumbs li:first-child button');
  result.depth_after_crumb = await page.$eval('#treemap-svg', (s) => Number(s.dataset.depth));
  // Keyboard: Tab to a block, Enter zooms, Escape goes back.
  await page.$eval('#treemap-svg g.level1.zoomable', (g) => g.focus());
  await page.keyboard.press('Enter');
  result.depth_after_enter = await page.$eval('#treemap-svg', (s) => Number(s.dataset.depth));
  await page.keyboard.press('Escape');
  result.depth_after_escape = await page.$eval('#treemap-svg', (s) => Number(s.dataset.depth));

  if (result.kind === 'snapshot') {
    // Sort the Summary by Objects (largest first) and filter it.
    await page.click('#summary-table th[data-col="2"] button');
    result.sorted_counts = await page.$$eval('#summary-table tbody tr', (rs) =>
      rs.slice(0, 5).map((r) => Number(r.cells[2].dataset.v)));
    const rows = await page.$$eval('#summary-table tbody tr', (rs) => rs.length);
    await page.type('#summary input.filter', 'Array');
    result.filter = {
      rows,
      shown: await page.$$eval('#summary-table tbody tr:not([hidden])', (rs) => rs.map((r) => r.cells[0].textContent)),
    };
    const stats = await page.$('#statistics');
    await stats.screenshot({ path: path.join(outDir, `${name}-statistics.png`) });
    const top = await page.$('#top');
    await page.click('#top-table tbody tr:first-child details summary').catch(() => {});
    await top.screenshot({ path: path.join(outDir, `${name}-top.png`) });
  } else {
    // The first finding: close it, then open it by its summary; its holder path shows.
    const findings = await page.$$('li.finding > details');
    result.findings = findings.length;
    if (findings.length) {
      await page.$eval('li.finding > details', (d) => { d.open = false; });
      const hidden = await page.$eval('li.finding ol.holder', (o) => o.checkVisibility());
      await page.click('li.finding > details > summary');
      const shown = await page.$eval('li.finding ol.holder', (o) => o.checkVisibility());
      result.finding_path = {
        visible_when_closed: hidden, visible_when_opened: shown,
        steps: await page.$$eval('li.finding:first-child ol.holder li', (ls) => ls.map((l) => l.textContent)),
      };
      const f = await page.$('#findings');
      await f.screenshot({ path: path.join(outDir, `${name}-findings.png`) });
    }
    // Growth charts: the count line's y per snapshot (SVG y grows downwards) and the caption numbers.
    result.charts = await page.$$eval('figure.chart', (fs) => fs.map((f) => ({
      class: f.dataset.class,
      rising: f.classList.contains('rising'),
      count_y: f.querySelector('polyline.count').getAttribute('points').split(' ').map((p) => Number(p.split(',')[1])),
      counts: f.querySelector('.counts').textContent,
    })));
    const g = await page.$('#growth');
    await g.screenshot({ path: path.join(outDir, `${name}-growth.png`) });
    const c = await page.$('#comparison');
    await c.screenshot({ path: path.join(outDir, `${name}-comparison.png`) });
  }
  // Dark scheme: the page follows prefers-color-scheme.
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
  result.dark_background = await page.$eval('body', (b) => getComputedStyle(b).backgroundColor);
  await page.screenshot({ path: path.join(outDir, `${name}-dark.png`) });
  await page.close();
} finally {
  await browser.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
