// Drives the three dashboards in headless chromium (playwright-core) against
// a running `beaconwatch serve` and checks what each panel shows against
// numbers computed independently from the store with sqlite3 (never from
// the API the pages use). Follows the drilldown links by clicking, pages
// tables, applies the time-range picker, measures time to interactive and
// saves screenshots.
//
// env: BW_URL (http://127.0.0.1:PORT), BW_DB (the store), BW_TOKEN (the
// server's --token), BW_SHOTS (screenshot folder), BW_CHROMIUM.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const URL0 = process.env.BW_URL;
const DB = process.env.BW_DB;
const TOKEN = process.env.BW_TOKEN || '';
const SHOTS = process.env.BW_SHOTS;
const TTI_LIMIT_MS = 1000;
const CPU_LIMIT_MS = Number(process.env.BW_CPU_LIMIT_MS || 2000);
const TTI_ASSERT = process.env.BW_TTI_ASSERT === '1';
if (!URL0 || !DB || !SHOTS) throw new Error('set BW_URL, BW_DB and BW_SHOTS');
mkdirSync(SHOTS, { recursive: true });

// ---------- reporting ----------

let fails = 0, oks = 0;
function check(name, ok, detail = '') {
  if (ok) { oks++; console.log(`ok   ${name}`); } else { fails++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
  return ok;
}
function eq(name, want, got) {
  const w = JSON.stringify(want), g = JSON.stringify(got);
  return check(name, w === g, `expected ${w.slice(0, 600)}\n          got      ${g.slice(0, 600)}`);
}

// ---------- the store, read independently ----------

function sql(query) {
  const out = execFileSync('sqlite3', ['-readonly', '-json', DB, query], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.trim() ? JSON.parse(out) : [];
}
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const F = 'ml_beaconing_all';

// The API's default window: to = the newest finding, from = to - span,
// both inclusive (docs/api.md); times in µs here.
const NEWEST = sql(`select max(ts_us) t from ${F}`)[0].t;
const H6 = 6 * 3600e6, D14 = 14 * 86400e6;

function inRange(from, to) { return `ts_us between ${from} and ${to}`; }

// [key, count] pairs, largest first. Ties among equal counts are broken
// differently by different engines, so callers compare the counts in rank
// order and each shown key's own count, not the order among equal values.
function ranked(rows, key, val) {
  return rows.map((r) => [r[key], r[val]]);
}

// ---------- formatting the pages use (the display contract) ----------

const fmtTime = (ms) => { const s = new Date(ms).toISOString(); return s.slice(0, 10) + ' ' + s.slice(11, 19); };
const fmtTimeMs = (ms) => { const s = new Date(ms).toISOString(); return s.slice(0, 10) + ' ' + s.slice(11, 23); };
const fmtInt = (n) => Number(n).toLocaleString('en-US');
function fmtDuration(s) {
  if (s < 1) return +(s * 1000).toPrecision(3) + ' ms';
  if (s < 60) return +s.toPrecision(3) + ' s';
  if (s < 3600) return +(s / 60).toPrecision(3) + ' min';
  if (s < 86400) return +(s / 3600).toPrecision(3) + ' h';
  return +(s / 86400).toPrecision(3) + ' d';
}
// A chart value: ECharts' empty cell '-' is a zero count.
const num = (v) => (v === '-' || v === null ? 0 : Number(v));
const fmtScore = (x) => (Number.isInteger(x) ? String(x) : Number(x).toFixed(3));

// ---------- browser helpers ----------

const browser = await chromium.launch({
  executablePath: process.env.BW_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
const requests = [];
page.on('request', (r) => requests.push(r.url()));

const tti = {};
const ttiWarm = {};
const ttiCpu = {};
let groupUrl = null;
// Navigates (or waits after a click) until every panel has settled; returns
// the time from the start to interactive in ms.
async function ready(what, action) {
  const t0 = Date.now();
  await action();
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
  const ms = Date.now() - t0;
  const states = await page.$$eval('section.panel:not([hidden])[data-state]', (ps) => ps.map((p) => [p.id, p.dataset.state]));
  const bad = states.filter(([, s]) => s === 'error');
  const helpless = await page.$$eval('section.panel:not([hidden])', (ps) => ps
    .filter((p) => !p.querySelector('h2')?.textContent.trim() || !(p.querySelector('.help, dl.indicators')?.textContent.trim().length > 40))
    .map((p) => p.id));
  check(`${what}: every panel has a title and help text`, helpless.length === 0, helpless.join(' '));
  check(`${what}: every panel loaded`, bad.length === 0, JSON.stringify(bad) +
    ' ' + (await page.$$eval('.error', (es) => es.map((e) => e.textContent).join(' | '))));
  return ms;
}
async function goto(what, url) {
  return ready(what, () => page.goto(URL0 + url, { waitUntil: 'domcontentloaded' }));
}
async function chartOption(sel) {
  return page.evaluate((s) => {
    const el = document.querySelector(s);
    const c = el && window.echarts.getInstanceByDom(el);
    if (!c) return null;
    const o = c.getOption();
    return { xAxis: o.xAxis && o.xAxis.map((a) => a.data), series: o.series.map((x) => ({ name: x.name, data: x.data, markLine: x.markLine })) };
  }, sel);
}
async function tableRows(sel) {
  return page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent.trim())));
}
// The README's picture of a page: its top 1,600 px (or the whole page).
async function shot(name, full = false) {
  const file = path.join(SHOTS, name);
  const h = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot(full ? { path: file, fullPage: true }
    : { path: file, fullPage: true, clip: { x: 0, y: 0, width: 1440, height: Math.min(h, 1600) } });
  return file;
}

// ---------- 0. the token ----------

if (TOKEN) {
  const res = await page.request.get(URL0 + '/api/meta');
  eq('API refuses a request without the token', 401, res.status());
  await page.goto(URL0 + '/#token=' + encodeURIComponent(TOKEN), { waitUntil: 'domcontentloaded' });
  check('token is dropped from the address', !(await page.evaluate(() => location.hash)).includes('token'));
}

// Without the token the pages say what is missing instead of failing silently.
if (TOKEN) {
  const c2 = await browser.newContext();
  const p2 = await c2.newPage();
  await p2.goto(URL0 + '/', { waitUntil: 'domcontentloaded' });
  await p2.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
  const banner = await p2.textContent('#banner');
  check('without the token: the page asks for it', (await p2.isVisible('#banner')) && banner.includes('#token='), banner);
  const errs = await p2.$$eval('section.panel[data-state="error"] .error', (es) => es.map((e) => e.textContent));
  check('without the token: each panel shows its error', errs.length === 3 && errs.every((e) => e.includes('401')), errs.join(' | '));
  await c2.close();
}

// ---------- 1. Network Beaconing ----------

tti.main = await goto('main', '/');
{
  const to = NEWEST, from = NEWEST - H6;
  const W = `alert and ${inRange(from, to)}`;
  const label = await page.textContent('#range-label');
  check('main: default range is the 6 h ending at the newest finding',
    label.includes(fmtTime(from / 1000)) && label.includes(fmtTime(to / 1000)), label);

  // Top 20 hosts by distinct processes, "Other" for the rest.
  const hosts = ranked(sql(`select host, count(distinct process) n from ${F} where ${W} group by host order by n desc`), 'host', 'n');
  const opt = await chartOption('#p-top-hosts .chart');
  check('top hosts: a chart', opt !== null);
  const shown = opt.series.filter((s) => s.name !== 'Other');
  const other = opt.series.find((s) => s.name === 'Other');
  const want = Object.fromEntries(hosts);
  eq('top hosts: number of hosts', Math.min(20, hosts.length), shown.length);
  const chips = await page.$$eval('#top-hosts-list a', (as) => as.map((a) => [a.dataset.host, Number(a.dataset.total)]));
  eq('top hosts: list of hosts with distinct processes (ranking values)', hosts.slice(0, 20).map((h) => h[1]), chips.map((c) => c[1]));
  check('top hosts: each listed host has its number of distinct processes', chips.every(([h, n]) => want[h] === n),
    JSON.stringify(chips.filter(([h, n]) => want[h] !== n)));
  eq('top hosts: chart series are the listed hosts', chips.map((c) => c[0]), shown.map((s) => s.name));
  const rest = hosts.filter(([h]) => !chips.some((c) => c[0] === h));
  check('top hosts: "Other" present exactly when more than 20 hosts', (rest.length > 0) === !!other);
  // Per step: distinct processes per host in [from + i*step, from + (i+1)*step).
  const step = Math.max(60, Math.floor(H6 / 1e6 / 48)) * 1e6;
  const cells = sql(`select host, (ts_us - ${from}) / ${step} b, count(distinct process) n from ${F} where ${W} group by host, b`);
  const nsteps = opt.xAxis[0].length;
  check('top hosts: steps cover the range', nsteps >= Math.ceil(H6 / step) && nsteps <= Math.ceil(H6 / step) + 1, String(nsteps));
  eq('top hosts: step labels', Array.from({ length: nsteps }, (_, i) => new Date((from + i * step) / 1000).toISOString().slice(11, 16)), opt.xAxis[0]);
  const grid = (names) => {
    const g = Array.from({ length: nsteps }, () => 0);
    for (const c of cells) if (names.has(c.host)) g[c.b] += c.n;
    return g;
  };
  let perStepOk = true;
  for (const s of shown) {
    const g = grid(new Set([s.name]));
    if (JSON.stringify(g) !== JSON.stringify(s.data.map(num))) {
      perStepOk = check(`top hosts: per-step counts of ${s.name}`, false, `expected ${g} got ${s.data}`);
    }
  }
  check('top hosts: per-step distinct processes of every shown host', perStepOk);
  if (other) eq('top hosts: "Other" per step sums the remaining hosts', grid(new Set(rest.map((r) => r[0]))), other.data.map(num));

  // Treemap: findings per process in percent, top 20 + Other.
  const procs = sql(`select process, count(*) n from ${F} where ${W} group by process order by n desc`);
  const total = procs.reduce((a, r) => a + r.n, 0);
  const tm = (await chartOption('#p-top-processes .chart')).series[0].data;
  const tmShown = tm.filter((d) => d.name !== 'Other');
  const pw = Object.fromEntries(procs.map((r) => [r.process, r.n]));
  eq('top processes: 20 largest counts', procs.slice(0, 20).map((r) => r.n), tmShown.map((d) => d.value));
  check('top processes: each tile has its findings count', tmShown.every((d) => pw[d.name] === d.value));
  check('top processes: percentages', tm.every((d) => Math.abs(d.pct - Math.round(1000 * d.value / total) / 10) < 0.051),
    JSON.stringify(tm.map((d) => [d.name, d.value, d.pct])));
  const tmOther = tm.find((d) => d.name === 'Other');
  eq('top processes: "Other" holds the rest', procs.length > 20 ? total - tmShown.reduce((a, d) => a + d.value, 0) : null,
    tmOther ? tmOther.value : null);
  check('top processes: total in the caption', (await page.textContent('#p-top-processes .body')).includes(`${fmtInt(total)} beaconing findings`));

  // Hosts affected table: exact rows and order.
  const aff = sql(`select process, count(distinct host) h, count(*) n from ${F} where ${W} group by process order by h desc, n desc, process limit 100`);
  const rows = await tableRows('#p-hosts-affected');
  eq('hosts affected: rows (process, distinct hosts, findings)', aff.map((r) => [r.process, fmtInt(r.h), fmtInt(r.n)]),
    rows.map((r) => r.slice(0, 3)));
  await shot('network-beaconing.png');
  await shot('network-beaconing-full.png', true);

  // ---------- 2. click a bar: drilldown for that host ----------
  const host = shown[0].name;
  const si = shown[0].data.findIndex((v) => num(v) > 0);
  await page.locator('#p-top-hosts .chart').scrollIntoViewIfNeeded();
  const pt = await page.evaluate(([sel, i, v]) => {
    const el = document.querySelector(sel);
    const c = window.echarts.getInstanceByDom(el);
    const [x, y] = c.convertToPixel({ seriesIndex: 0 }, [i, v / 2]);
    const r = el.getBoundingClientRect();
    return [r.left + x, r.top + y];
  }, ['#p-top-hosts .chart', si, Number(shown[0].data[si])]);
  tti.drilldown_list = await ready('click on a host bar', async () => {
    await Promise.all([page.waitForURL(/drilldown\.html/), page.mouse.click(pt[0], pt[1])]);
  });
  const u = new URL(page.url());
  eq('bar click opens the drilldown for that host', host, u.searchParams.get('host'));
  const dtotal = sql(`select count(*) n from ${F} where ${inRange(from, to)} and instr(lower(host), lower(${lit(host)}))`)[0].n;
  const cap = await page.textContent('#p-explain caption');
  check('drilldown list: the host\'s findings in range', cap.startsWith(`${fmtInt(dtotal)} finding`), `${cap} (want ${dtotal})`);
  const top = sql(`select rule, host, process, score from ${F} where ${inRange(from, to)} and instr(lower(host), lower(${lit(host)}))
                   order by score desc, ts_us desc limit 25`);
  const lrows = await tableRows('#p-explain');
  eq('explainability: scores in order', top.map((r) => fmtScore(r.score)), lrows.map((r) => r[3]));
  check('explainability: every row is of that host', lrows.every((r) => r[1].toLowerCase().includes(host.toLowerCase())));
}

// ---------- 3. open a group from the list ----------
{
  const link = await page.$('#p-explain a.group-link');
  const gh = await link.getAttribute('data-host'), gp = await link.getAttribute('data-process');
  tti.drilldown_group = await ready('click on a group', async () => {
    await link.click();
    await page.waitForURL(/key_process=/);
  });
  groupUrl = page.url();
  const gid = sql(`select gid from sample_groups_v1 where key_host = ${lit(gh)} and key_process = ${lit(gp)}`)[0]?.gid;
  check(`group ${gh} / ${gp} has sampled records in the store`, gid !== undefined);
  const n = sql(`select count(*) n, max(ts_us) last, min(ts_us) first from samples_v1 where gid = ${gid}`)[0];
  check('group summary: sampled connections', (await page.textContent('#group-summary')).includes(fmtInt(n.n)));
  const evCap = await page.textContent('#p-events caption');
  eq('raw events: total', `${fmtInt(n.n)} sampled record${n.n === 1 ? '' : 's'}, newest first`, evCap);
  const ev = await tableRows('#p-events');
  const want25 = sql(`select ts_us, src_ip, dst_ip, dst_port, src_bytes from samples_v1 where gid = ${gid} order by ts_us desc limit 25`);
  eq('raw events: first page, newest first (time, destination)', want25.map((r) => [fmtTimeMs(Math.floor(r.ts_us / 1000)), r.dst_ip.includes(':') ? `[${r.dst_ip}]:${r.dst_port}` : `${r.dst_ip}:${r.dst_port}`]),
    ev.map((r) => [r[0], r[4]]));
  if (n.n > 25) {
    await ready('raw events: next page', () => page.click('#p-events button[aria-label="Next page"]'));
    await page.waitForFunction(() => document.querySelector('#p-events .pos')?.textContent.startsWith('rows 26'));
    const p2 = sql(`select ts_us from samples_v1 where gid = ${gid} order by ts_us desc limit 1 offset 25`)[0];
    eq('raw events: page 2 starts at the 26th newest', fmtTimeMs(Math.floor(p2.ts_us / 1000)), (await tableRows('#p-events'))[0][0]);
  }

  // Verdicts: the newest finding of each family for the key, or for the
  // (source IP, dst:port) pairs of the group's records.
  const pairs = `select distinct src_ip h, case when instr(dst_ip, ':') then '[' || dst_ip || ']:' || dst_port else dst_ip || ':' || dst_port end p
                 from samples_v1 where gid = ${gid}`;
  const cards = await page.$$eval('#p-verdicts article.verdict', (as) => as.map((a) => ({
    rule: a.dataset.rule, found: a.dataset.found === 'true', alert: a.dataset.alert === 'true',
    score: a.querySelector('.score')?.textContent ?? null })));
  eq('verdicts: the three rule families side by side', ['elastic', 'sentinel', 'beaconwatch'], cards.map((c) => c.rule.replace(/-.*/, '')));
  for (const fam of ['elastic', 'sentinel', 'beaconwatch']) {
    const glob = `(rule = ${lit(fam)} or rule like ${lit(fam + '-%')})`;
    let f = sql(`select score, alert from ${F} where ${glob} and host = ${lit(gh)} and process = ${lit(gp)} order by ts_us desc limit 1`)[0];
    if (!f) f = sql(`select score, alert from ${F} where ${glob} and (host, process) in (${pairs}) order by ts_us desc limit 1`)[0];
    const c = cards.find((x) => x.rule === fam || x.rule.startsWith(fam + '-')) || {};
    eq(`verdict ${fam}: found / alert / score`, f ? [true, !!f.alert, fmtScore(f.score)] : [false, false, null], [c.found, c.alert, c.score]);
  }

  // Timeline: one tick per sampled connection (the newest 10,000).
  const tl = await chartOption('#p-timeline .chart');
  eq('timeline: one tick per connection', Math.min(n.n, 10000), tl.series[0].data.length);
  // Inter-arrival: every gap between consecutive records (of the newest
  // 10,000) is counted once; gaps outside 1 ms … 24 h go to the end bins.
  const gaps = sql(`select count(*) n from (select ts_us - lag(ts_us) over (order by ts_us) g
                    from (select ts_us from samples_v1 where gid = ${gid} order by ts_us desc limit 10000)) where g is not null`)[0];
  const ia = await chartOption('#p-interarrival .chart');
  const iaSum = ia.series[0].data.reduce((a, b) => a + Number(b), 0);
  eq('inter-arrival: the histogram counts every gap', gaps.n, iaSum);
  let period = sql(`select json_extract(doc, '$.beacon.sleep_s') p from ${F} where rule = 'beaconwatch' and host = ${lit(gh)} and process = ${lit(gp)} order by ts_us desc limit 1`)[0]?.p;
  if (period === undefined || period === null) {
    period = sql(`select json_extract(doc, '$.beacon_stats.interval') p from ${F} where rule = 'elastic' and host = ${lit(gh)} and process = ${lit(gp)} order by ts_us desc limit 1`)[0]?.p;
  }
  if (period !== undefined && period !== null) {
    const ml = ia.series[0].markLine;
    check('inter-arrival: the detected period is marked', ml && ml.data && ml.data.length === 1 &&
      JSON.stringify(ml.label).includes(`period ${fmtDuration(period)}`), JSON.stringify(ml).slice(0, 300));
  }
  const bytesOpt = await chartOption('#p-bytes .chart');
  const srcKnown = sql(`select count(*) n from (select src_bytes from samples_v1 where gid = ${gid} order by ts_us desc limit 10000) where src_bytes is not null`)[0].n;
  eq('bytes per connection: one point per connection with known source bytes', srcKnown, bytesOpt.series[0].data.length);
  const dest = sql(`select dst_ip, dst_port, count(*) n from samples_v1 where gid = ${gid} group by dst_ip, dst_port order by n desc limit 1`)[0];
  const drows = await tableRows('#p-destinations');
  eq('destinations: the busiest first', [dest.dst_ip.includes(':') ? `[${dest.dst_ip}]:${dest.dst_port}` : `${dest.dst_ip}:${dest.dst_port}`, fmtInt(dest.n)],
    [drows[0][0], drows[0][2]]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('drilldown.png');
  await shot('drilldown-full.png', true);
}

// ---------- 4. treemap click → spread for that process ----------
tti.main_again = await goto('main again', '/');
{
  const tm = (await chartOption('#p-top-processes .chart')).series[0].data;
  const proc = tm[0].name;
  await page.locator('#p-top-processes .chart').scrollIntoViewIfNeeded();
  const pt = await page.evaluate(([sel, name]) => {
    const el = document.querySelector(sel);
    const c = window.echarts.getInstanceByDom(el);
    // The treemap's list holds the root first; find the tile by name.
    const d = c.getModel().getSeriesByIndex(0).getData();
    let i = 0;
    while (i < d.count() && d.getName(i) !== name) i++;
    const l = d.getItemLayout(i);
    const r = el.getBoundingClientRect();
    return [r.left + l.x + l.width / 2, r.top + l.y + l.height / 2];
  }, ['#p-top-processes .chart', proc]);
  await page.mouse.click(pt[0], pt[1]);
  await page.waitForSelector('#menu:not([hidden])');
  eq('treemap click opens the menu for that process', proc, await page.textContent('#menu .title'));
  tti.spread_process = await ready('menu → spread', async () => {
    await Promise.all([page.waitForURL(/spread\.html/), page.click('#menu a:has-text("Spread")')]);
  });
  eq('spread opened for that process', proc, new URL(page.url()).searchParams.get('process'));
  checkSpread(`instr(lower(process), lower(${lit(proc)}))`, await chartOption('#p-spread .chart'), 'spread (filtered)');
}

// ---------- 5. spread, unfiltered ----------
tti.spread = await goto('spread', '/spread.html');
checkSpread('1', await chartOption('#p-spread .chart'), 'spread');
{
  const rows = await tableRows('#p-spread-table');
  const opt = await chartOption('#p-spread .chart');
  eq('spread table: the chart\'s processes', opt.series.map((s) => s.name), rows.map((r) => r[0]));
}
await shot('spread.png');
await shot('spread-full.png', true);

function checkSpread(cond, opt, what) {
  const to = NEWEST, from = NEWEST - D14, step = 3 * 86400e6;
  const W = `alert and ${inRange(from, to)} and ${cond}`;
  const procs = sql(`select process, count(distinct host) n from ${F} where ${W} group by process order by n desc`);
  const want = Object.fromEntries(procs.map((r) => [r.process, r.n]));
  const shown = opt.series;
  eq(`${what}: top processes by distinct hosts`, procs.slice(0, 20).map((r) => r.n), shown.map((s) => want[s.name]));
  const cells = sql(`select process, (ts_us - ${from}) / ${step} b, count(distinct host) n from ${F} where ${W} group by process, b`);
  const nsteps = opt.xAxis[0].length;
  check(`${what}: 3-day steps over 14 days`, nsteps === 5 || nsteps === 6, String(nsteps));
  let ok = true;
  for (const s of shown) {
    const g = Array.from({ length: nsteps }, () => 0);
    for (const c of cells) if (c.process === s.name) g[c.b] = c.n;
    if (JSON.stringify(g) !== JSON.stringify(s.data.map(Number))) ok = check(`${what}: hosts per step of ${s.name}`, false, `expected ${g} got ${s.data}`);
  }
  check(`${what}: distinct hosts per 3-day step of every process`, ok);
}

// ---------- 6. the time-range picker, and links carrying it ----------
await goto('main (picker)', '/');
{
  await page.selectOption('#f-range', '24h');
  await ready('apply "last 24 hours"', () => page.click('form.filters button[type="submit"]'));
  eq('picker: the range is in the address', '24h', new URL(page.url()).searchParams.get('range'));
  const to = (Math.floor(NEWEST / 1000) + 1) * 1000, from = to - 86400e6; // the page's preset: newest + 1 ms
  const aff = sql(`select process, count(distinct host) h, count(*) n from ${F} where alert and ${inRange(from, to)}
                   group by process order by h desc, n desc, process limit 100`);
  eq('picker: hosts affected over the last 24 h', aff.map((r) => [r.process, fmtInt(r.h), fmtInt(r.n)]),
    (await tableRows('#p-hosts-affected')).map((r) => r.slice(0, 3)));
  const href = await page.getAttribute('nav.tabs a[data-page="spread"]', 'href');
  check('picker: links to the other pages carry the range', href.includes('range=24h'), href);

  // Absolute range + host filter, carried to the drilldown through a link.
  const [a, b] = [NEWEST - 3 * 3600e6, NEWEST - 3600e6];
  const iso = (us) => new Date(us / 1000).toISOString().slice(0, 19);
  await page.selectOption('#f-range', 'custom');
  await page.fill('#f-from', iso(a));
  await page.fill('#f-to', iso(b));
  await page.fill('#f-process', 'exe');
  await ready('apply an absolute range and a process filter', () => page.click('form.filters button[type="submit"]'));
  const fa = Math.floor(a / 1e6) * 1e6, fb = Math.floor(b / 1e6) * 1e6;
  const aff2 = sql(`select process, count(distinct host) h, count(*) n from ${F} where alert and ${inRange(fa, fb)} and instr(lower(process), 'exe')
                    group by process order by h desc, n desc, process limit 100`);
  eq('absolute range + filter: hosts affected', aff2.map((r) => [r.process, fmtInt(r.h), fmtInt(r.n)]),
    (await tableRows('#p-hosts-affected')).map((r) => r.slice(0, 3)));
  if (aff2.length) {
    await ready('follow a process link', () => Promise.all([page.waitForURL(/drilldown/), page.click('#p-hosts-affected tbody a >> nth=0')]));
    const q = new URL(page.url()).searchParams;
    eq('the drilldown link carries range and filters', [iso(a) + 'Z', iso(b) + 'Z', aff2[0].process],
      [q.get('from'), q.get('to'), q.get('process')]);
    const n = sql(`select count(*) n from ${F} where ${inRange(fa, fb)} and instr(lower(process), lower(${lit(aff2[0].process)}))`)[0].n;
    check('drilldown: findings of that process in the carried range', (await page.textContent('#p-explain caption')).startsWith(`${fmtInt(n)} finding`));
  }
}

// ---------- 7. hostile names from the logs are shown, never run ----------
// run.sh logged a host and processes whose names are HTML.
const HOSTILE = '<img src=x onerror=window.__xss=1>';
const HOSTILE_PROCS = ['<svg/onload=window.__xss=2>', '</script><b>p2</b>', '&lt;i&gt;p3'];
const noScriptRan = async (what) => {
  const r = await page.evaluate(() => [window.__xss, document.querySelectorAll('img[src="x"], svg[onload]').length,
    [...document.querySelectorAll('b')].filter((b) => b.textContent === 'p2').length]);
  eq(`${what}: no markup from the logs ran or rendered`, [null, 0, 0], [r[0] ?? null, r[1], r[2]]);
};
async function hoverTooltip(sel, x, y, text) {
  await page.mouse.move(x, y);
  return page.waitForFunction(([s, t]) => [...document.querySelectorAll(s + ' div')]
    .some((d) => d.style.display !== 'none' && d.textContent.includes(t)), [sel, text], { timeout: 5000 }).then(() => true, () => false);
}
await goto('main (hostile names)', '/');
{
  const n = sql(`select count(distinct process) n from ${F} where alert and host = ${lit(HOSTILE)} and ${inRange(NEWEST - H6, NEWEST)}`)[0].n;
  eq('hostile host: its three processes are in the window', 3, n);
  const chips = await page.$$eval('#top-hosts-list a', (as) => as.map((a) => [a.dataset.host, a.textContent]));
  check('hostile host: listed with its name as text', chips.some(([h, t]) => h === HOSTILE && t === `${HOSTILE} · 3`), JSON.stringify(chips.slice(0, 3)));
  const opt = await chartOption('#p-top-hosts .chart');
  const si = opt.series.findIndex((x) => x.name === HOSTILE);
  const di = opt.series[si].data.findIndex((v) => num(v) > 0);
  const below = opt.series.slice(0, si).reduce((a, x) => a + num(x.data[di]), 0);
  await page.locator('#p-top-hosts .chart').scrollIntoViewIfNeeded();
  const pt = await page.evaluate(([sel, i, y]) => {
    const el = document.querySelector(sel);
    const [px, py] = window.echarts.getInstanceByDom(el).convertToPixel({ xAxisIndex: 0, yAxisIndex: 0 }, [i, y]);
    const r = el.getBoundingClientRect();
    return [r.left + px, r.top + py];
  }, ['#p-top-hosts .chart', di, below + num(opt.series[si].data[di]) / 2]);
  check('hostile host: the bar tooltip shows the name as text', await hoverTooltip('#p-top-hosts .chart', pt[0], pt[1], HOSTILE));
  await page.locator('#p-top-processes .chart').scrollIntoViewIfNeeded();
  const tp = await page.evaluate(([sel, name]) => {
    const el = document.querySelector(sel);
    const d = window.echarts.getInstanceByDom(el).getModel().getSeriesByIndex(0).getData();
    let i = 0;
    while (i < d.count() && d.getName(i) !== name) i++;
    if (i === d.count()) return null;
    const l = d.getItemLayout(i), r = el.getBoundingClientRect();
    return [r.left + l.x + l.width / 2, r.top + l.y + l.height / 2];
  }, ['#p-top-processes .chart', HOSTILE_PROCS[1]]);
  check('hostile process: a treemap tile', tp !== null);
  if (tp) check('hostile process: the tile tooltip shows the name as text', await hoverTooltip('#p-top-processes .chart', tp[0], tp[1], HOSTILE_PROCS[1]));
  const rows = (await tableRows('#p-hosts-affected')).map((r) => r[0]);
  check('hostile processes: in the table as text', HOSTILE_PROCS.every((p) => rows.includes(p)), JSON.stringify(rows));
  await noScriptRan('main');
  await ready('hostile host: drilldown list', () => Promise.all([page.waitForURL(/drilldown/),
    page.evaluate((h) => [...document.querySelectorAll('#top-hosts-list a')].find((a) => a.dataset.host === h).click(), HOSTILE)]));
  eq('hostile host: the host filter holds the name', HOSTILE, await page.inputValue('#f-host'));
  await ready('hostile host: a group', () => Promise.all([page.waitForURL(/key_process=/),
    page.evaluate((p) => [...document.querySelectorAll('#p-explain a.group-link')].find((a) => a.dataset.process === p).click(), HOSTILE_PROCS[0])]));
  const ev = await tableRows('#p-events');
  eq('hostile group: raw events name host and process as text', [HOSTILE, HOSTILE_PROCS[0]], [ev[0][1], ev[0][2]]);
  check('hostile group: the intro names the group as text', (await page.textContent('#intro')).includes(`${HOSTILE} → ${HOSTILE_PROCS[0]}`));
  await noScriptRan('drilldown');
}

// ---------- 8. time to interactive ----------
// Each page opened in a new tab three times (the browser warm, as an
// analyst reopening a dashboard): navigation start to every panel drawn.
// The median must stay under 1 s; the first (cold) loads above are
// reported alongside.
const drillUrl = new URL(groupUrl);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const [k, u] of [['main', '/'], ['drilldown', drillUrl.pathname + drillUrl.search], ['spread', '/spread.html']]) {
  const runs = [], cpu = [];
  for (let i = 0; i < 3; i++) {
    const p2 = await context.newPage();
    p2.on('pageerror', (e) => pageErrors.push(e.message));
    const cdp = await context.newCDPSession(p2);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const t0 = Date.now();
    // A new tab has its own sessionStorage: it gets the token the way a
    // shared link would carry it.
    await p2.goto(URL0 + u + (TOKEN ? '#token=' + encodeURIComponent(TOKEN) : ''), { waitUntil: 'domcontentloaded' });
    await p2.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    runs.push(Date.now() - t0);
    const notReady = await p2.$$eval('section.panel:not([hidden])[data-state]', (ps) => ps.filter((x) => x.dataset.state !== 'ready').map((x) => x.id));
    if (notReady.length) check(`${k} in a new tab: every panel drawn`, false, notReady.join(' '));
    // CPU time of the page's main thread since the navigation started:
    // the work the page costs, whatever else the machine does.
    const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
    cpu.push(Math.round(m.ThreadTime * 1000));
    await p2.close();
  }
  ttiWarm[k] = runs;
  ttiCpu[k] = cpu;
  // The CPU time is inflated too by a crowded machine (caches, steal), but
  // far less: a page that does pathological work (huge tables, charts
  // redrawn in loops) fails this anywhere.
  check(`main-thread CPU time to interactive, ${k}: median of ${cpu.join(', ')} ms < ${CPU_LIMIT_MS} ms`, median(cpu) < CPU_LIMIT_MS);
  // Wall-clock time depends on what else the machine runs (ctest runs
  // tests in parallel): it is measured and reported here, and judged only
  // when asked for (BW_TTI_ASSERT=1, on a quiet machine).
  const what = `time to interactive, ${k}: median of ${runs.join(', ')} ms < ${TTI_LIMIT_MS} ms`;
  const load = os.loadavg()[0] / os.cpus().length;
  if (TTI_ASSERT) check(what, median(runs) < TTI_LIMIT_MS);
  else console.log(`note ${what}: ${median(runs) < TTI_LIMIT_MS ? 'yes' : 'NO'} (reported, not asserted; load ${load.toFixed(2)} per core)`);
}

check('no script errors in any page', pageErrors.length === 0, pageErrors.join(' | '));
const external = requests.filter((r) => !r.startsWith(URL0) && !r.startsWith('data:'));
check('nothing fetched from outside the server', external.length === 0, external.join(' '));
console.log(`screenshots: ${SHOTS}`);
console.log(`time to interactive, first loads and clicks (ms): ${JSON.stringify(tti)}`);
console.log(`time to interactive, new tab x3 (ms): ${JSON.stringify(ttiWarm)}`);
console.log(`main-thread CPU time until interactive, same loads (ms): ${JSON.stringify(ttiCpu)}`);
await browser.close();
console.log(fails ? `${fails} failed, ${oks} passed` : `all ${oks} passed`);
process.exit(fails ? 1 : 0);
