// What the three dashboards share: the page state kept in the URL query
// (time range, host/process/rule filters), the header with the time-range
// picker and filters, the API fetch helper (Bearer token from #token=T,
// kept in sessionStorage), panel states and errors, formatting, tables with
// paging, and chart set-up (ECharts from /vendor/echarts.min.js).

const TOKEN_KEY = 'beaconwatch.token';

// Presets are relative to the newest finding in the store (what the API's
// own defaults use), so a store of old captures still opens on data.
export const PRESETS = [
  ['1h', 'Last 1 hour', 3600],
  ['6h', 'Last 6 hours', 6 * 3600],
  ['24h', 'Last 24 hours', 24 * 3600],
  ['3d', 'Last 3 days', 3 * 86400],
  ['7d', 'Last 7 days', 7 * 86400],
  ['14d', 'Last 14 days', 14 * 86400],
  ['30d', 'Last 30 days', 30 * 86400],
  ['all', 'Everything in the store', null],
];
const PRESET_SECONDS = Object.fromEntries(PRESETS.map(([k, , s]) => [k, s]));

// Parameters that travel between pages; key_host/key_process (the exact
// drilldown group) stay on the drilldown page.
const CARRIED = ['range', 'from', 'to', 'host', 'process', 'rule'];

const PAGES = [
  ['main', '/', 'Network Beaconing'],
  ['drilldown', '/drilldown.html', 'Beaconing Drilldown'],
  ['spread', '/spread.html', 'Hosts Affected Over Time'],
];

let page = null; // {id, defaultRange, onChange}
let metaPromise = null;

// ---------- token ----------

function takeToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    // Drop it from the address so it is not copied along with links.
    history.replaceState(history.state, '', location.pathname + location.search);
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

// ---------- state ----------

export function state() {
  const q = new URLSearchParams(location.search);
  const s = {};
  for (const k of ['range', 'from', 'to', 'host', 'process', 'rule', 'key_host', 'key_process']) {
    s[k] = q.get(k) || '';
  }
  if (!s.from && !s.to && !PRESET_SECONDS.hasOwnProperty(s.range)) s.range = page.defaultRange;
  if (s.from || s.to) s.range = '';
  return s;
}

// A link to another page (or this one) carrying the filters and time range
// that are in the current address, with `over` applied (null removes).
export function linkTo(path, over = {}) {
  const cur = new URLSearchParams(location.search);
  const q = new URLSearchParams();
  for (const k of CARRIED) if (cur.get(k)) q.set(k, cur.get(k));
  if (path === location.pathname || (path === '/' && location.pathname === '/index.html')) {
    for (const k of ['key_host', 'key_process']) if (cur.get(k)) q.set(k, cur.get(k));
  }
  for (const [k, v] of Object.entries(over)) {
    if (v === null || v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const qs = q.toString();
  return path + (qs ? '?' + qs : '');
}

// Replace the address with new state and re-render without a reload.
export function navigate(over) {
  const url = linkTo(location.pathname, over);
  history.pushState(null, '', url);
  syncForm();
  page.onChange();
}

// ---------- API ----------

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v !== null && v !== undefined) q.set(k, String(v));
  }
  const qs = q.toString();
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  let res;
  try {
    res = await fetch('/api/' + path + (qs ? '?' + qs : ''), { headers });
  } catch (e) {
    throw new ApiError(0, 'cannot reach the server (' + e.message + ')');
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    if (res.ok) throw new ApiError(res.status, 'the server sent a response that is not JSON');
  }
  if (!res.ok) {
    const msg = (body && body.error) || res.statusText || 'request failed';
    if (res.status === 401) showBanner('The server needs an access token: open this page as …#token=YOUR_TOKEN.');
    throw new ApiError(res.status, `${res.status}: ${msg}`);
  }
  return body;
}

export function meta() {
  if (!metaPromise) metaPromise = api('meta');
  return metaPromise;
}

// The from/to parameters for an endpoint whose own default window is
// `apiDefault` (a preset key): nothing when the page asks for exactly that
// window (so the panel's request need not wait for /api/meta), epoch
// seconds for other presets, the typed values for an absolute range.
export async function timeParams(apiDefault) {
  const s = state();
  if (s.from || s.to) return { from: s.from, to: s.to };
  if (s.range === apiDefault) return {};
  const m = await meta();
  if (m.last === null || m.last === undefined) return {};
  // RFC 3339 with milliseconds; `to` one millisecond past the newest
  // finding so one stored with microseconds is still inside.
  const iso = (ms) => new Date(ms).toISOString();
  const to = m.last + 1;
  if (s.range === 'all') return { from: iso(m.first), to: iso(to) };
  return { from: iso(to - PRESET_SECONDS[s.range] * 1000), to: iso(to) };
}

export function filterParams() {
  const s = state();
  return { host: s.host, process: s.process, rule: s.rule };
}

// ---------- chrome: header, filters, range label ----------

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}
export { el };

function isoMinute(ms) {
  // yyyy-mm-ddThh:mm:ss for <input type=datetime-local>, in UTC.
  return new Date(ms).toISOString().slice(0, 19);
}

function buildHeader() {
  const header = document.getElementById('top');
  const tabs = el('nav', { class: 'tabs', 'aria-label': 'Dashboards' });
  for (const [id, path, title] of PAGES) {
    tabs.append(el('a', { href: path, 'data-page': id, 'aria-current': id === page.id ? 'page' : null, text: title }));
  }
  header.append(
    el('div', { class: 'brand' },
      el('span', { class: 'name', text: 'Beaconwatch' }),
      el('span', { class: 'store', id: 'store-info', text: '' })),
    tabs);

  const rangeSel = el('select', { name: 'range', id: 'f-range' });
  for (const [k, label] of PRESETS) rangeSel.append(el('option', { value: k, text: label }));
  rangeSel.append(el('option', { value: 'custom', text: 'Absolute range…' }));
  const custom = el('span', { class: 'custom', hidden: true },
    el('label', {}, 'From (UTC)', el('input', { type: 'datetime-local', step: '1', name: 'from', id: 'f-from' })),
    el('label', {}, 'To (UTC)', el('input', { type: 'datetime-local', step: '1', name: 'to', id: 'f-to' })));
  rangeSel.addEventListener('change', async () => {
    custom.hidden = rangeSel.value !== 'custom';
    if (rangeSel.value === 'custom' && !form.from.value) {
      // Start the absolute range from what is shown now.
      const r = await shownRange();
      if (r) { form.from.value = isoMinute(r.from); form.to.value = isoMinute(r.to); }
    }
  });
  const ruleSel = el('select', { name: 'rule', id: 'f-rule' },
    el('option', { value: '', text: 'All rules' }));
  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Time range and filters' },
    el('label', {}, 'Time range', rangeSel),
    custom,
    el('label', {}, 'Host contains', el('input', { type: 'search', name: 'host', id: 'f-host', placeholder: 'host or source IP', autocomplete: 'off' })),
    el('label', {}, 'Process contains', el('input', { type: 'search', name: 'process', id: 'f-process', placeholder: 'process or dst:port', autocomplete: 'off' })),
    el('label', {}, 'Rule', ruleSel),
    el('button', { type: 'submit', class: 'primary', text: 'Apply' }),
    el('button', { type: 'button', id: 'f-reset', text: 'Reset', onclick: () => {
      history.pushState(null, '', location.pathname);
      syncForm();
      page.onChange();
    } }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const over = { host: form.host.value.trim(), process: form.process.value.trim(), rule: form.rule.value };
    if (rangeSel.value === 'custom') {
      const f = form.from.value, t = form.to.value;
      if (!f || !t) { showBanner('An absolute range needs both From and To.'); return; }
      over.from = (f.length === 16 ? f + ':00' : f) + 'Z';
      over.to = (t.length === 16 ? t + ':00' : t) + 'Z';
      over.range = null;
    } else {
      over.range = rangeSel.value === page.defaultRange ? null : rangeSel.value;
      over.from = null;
      over.to = null;
    }
    hideBanner();
    navigate(over);
  });
  header.after(form);
  form.after(el('div', { class: 'range-label', id: 'range-label', 'aria-live': 'polite' }));
  page.form = form;
  page.custom = custom;
}

function syncForm() {
  const s = state();
  const f = page.form;
  f.range.value = s.range || 'custom';
  page.custom.hidden = !!s.range;
  f.from.value = s.from ? s.from.replace(/Z$/, '').slice(0, 19) : '';
  f.to.value = s.to ? s.to.replace(/Z$/, '').slice(0, 19) : '';
  f.host.value = s.host;
  f.process.value = s.process;
  if (s.rule && ![...f.rule.options].some((o) => o.value === s.rule)) {
    f.rule.append(el('option', { value: s.rule, text: s.rule }));
  }
  f.rule.value = s.rule;
  for (const a of document.querySelectorAll('nav.tabs a')) {
    const path = PAGES.find((p) => p[0] === a.dataset.page)[1];
    a.href = linkTo(path);
  }
}

// The window the panels show, in ms, once known.
async function shownRange() {
  const tp = await timeParams('__none__').catch(() => null);
  if (!tp) return null;
  const s = state();
  if (!s.from && !s.to && s.range === page.defaultRange) {
    // The server's own default window: exactly the span up to the newest.
    const m = await meta();
    return m.last === null ? null : { from: m.last - PRESET_SECONDS[s.range] * 1000, to: m.last };
  }
  const toMs = (v) => (/^\d+$/.test(String(v)) ? Number(v) * 1000 : Date.parse(v));
  if (tp.from !== undefined && tp.to !== undefined && tp.from !== '' && tp.to !== '') {
    return { from: toMs(tp.from), to: toMs(tp.to) };
  }
  return null;
}

// Writes "Showing … → …" under the filter bar from the window a response
// reports (or the one computed here).
// A window a response reported wins over the one computed from /api/meta,
// whichever arrives last.
let labelSeq = 0;
export async function showRangeLabel(fromMs, toMs) {
  const label = document.getElementById('range-label');
  const s = state();
  const seq = ++labelSeq;
  const exact = fromMs !== undefined && toMs !== undefined;
  const r = exact ? { from: fromMs, to: toMs } : await shownRange();
  if (seq !== labelSeq) return;
  if (!r) { label.textContent = ''; return; }
  const preset = PRESETS.find((p) => p[0] === s.range);
  label.replaceChildren('Showing ', el('strong', { text: fmtTime(r.from) }), ' → ',
    el('strong', { text: fmtTime(r.to) }), ' UTC',
    preset ? ` (${preset[1].toLowerCase()} of data, ending at the newest finding)` : ' (absolute range)',
    filterText(s));
}

function filterText(s) {
  const parts = [];
  if (s.host) parts.push(`host contains “${s.host}”`);
  if (s.process) parts.push(`process contains “${s.process}”`);
  if (s.rule) parts.push(`rule ${s.rule}`);
  return parts.length ? ' — ' + parts.join(', ') : '';
}

export function showBanner(msg) {
  const b = document.getElementById('banner');
  b.textContent = msg;
  b.hidden = false;
}
function hideBanner() {
  document.getElementById('banner').hidden = true;
}

// Sets up the page: token, header, filters, history. onChange() renders
// the panels for the current address; it is called now and after every
// filter change or back/forward.
export function initPage(opts) {
  page = { ...opts };
  takeToken();
  buildHeader();
  syncForm();
  window.addEventListener('popstate', () => { syncForm(); page.onChange(); });
  window.addEventListener('resize', () => { for (const c of charts) c.resize(); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeMenu(); });
  document.addEventListener('click', (e) => {
    const m = document.getElementById('menu');
    if (m && !m.hidden && !m.contains(e.target)) closeMenu();
  }, true);
  meta().then((m) => {
    document.getElementById('store-info').textContent =
      `${fmtInt(m.findings)} findings in the store` +
      (m.last !== null ? `, newest ${fmtTime(m.last)} UTC` : '') + (m.version ? ` · v${m.version}` : '');
    const sel = page.form.rule;
    for (const r of m.rules || []) {
      if (![...sel.options].some((o) => o.value === r.rule)) sel.append(el('option', { value: r.rule, text: r.rule }));
    }
    sel.value = state().rule;
  }).catch((e) => showBanner('Cannot read the store summary: ' + e.message));
  page.onChange();
}

// ---------- panels ----------

// Runs every panel loader in parallel; each panel shows its own error.
// Sets body[data-ready] once all have settled, with the time it took.
// A loader gets (body, stale): stale() turns true once a newer render
// started, so a slow response never overwrites newer panels.
let renderSeq = 0;
export async function renderPanels(loaders) {
  const seq = ++renderSeq;
  const stale = () => seq !== renderSeq;
  document.body.dataset.ready = '0';
  const t0 = performance.now();
  await Promise.all(loaders.map(([id, fn]) => runPanel(id, fn, stale)));
  if (!stale()) {
    document.body.dataset.ready = '1';
    document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
  }
}

// Re-renders one panel (paging) without disturbing the others.
export function refreshPanel(id, fn) {
  const seq = renderSeq;
  return runPanel(id, fn, () => seq !== renderSeq);
}

async function runPanel(panelId, fn, stale) {
  const p = document.getElementById(panelId);
  const body = p.querySelector('.body') || p;
  p.dataset.state = 'loading';
  p.setAttribute('aria-busy', 'true');
  try {
    const r = await fn(body, stale);
    if (!stale()) p.dataset.state = r === 'empty' ? 'empty' : 'ready';
  } catch (e) {
    if (stale()) return;
    p.dataset.state = 'error';
    panelError(body, e);
    console.error(panelId, e);
  } finally {
    p.removeAttribute('aria-busy');
  }
}

export function panelError(body, e) {
  disposeCharts(body);
  body.replaceChildren(el('p', { class: 'error', role: 'alert', text: 'Could not load this panel — ' + e.message }));
}

export function panelEmpty(body, msg) {
  disposeCharts(body);
  body.replaceChildren(el('p', { class: 'empty', text: msg }));
  return 'empty';
}

// ---------- charts ----------

const charts = new Set();

// A chart in `body` (replacing its content). ECharts' aria module writes a
// text description of the data onto the container for screen readers.
export function chart(body, cls = 'chart', label = '') {
  disposeCharts(body);
  const div = el('div', { class: cls, role: 'img', 'aria-label': label });
  body.replaceChildren(div);
  const c = window.echarts.init(div, 'dark', { renderer: 'canvas' });
  charts.add(c);
  return c;
}

function disposeCharts(body) {
  for (const d of body.querySelectorAll('[_echarts_instance_]')) {
    const c = window.echarts.getInstanceByDom(d);
    if (c) { charts.delete(c); c.dispose(); }
  }
}

export const BASE = {
  backgroundColor: 'transparent',
  textStyle: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif' },
  aria: { enabled: true },
  // No entry animation: on a busy analyst laptop (or CI) it doubles the
  // time a chart of a thousand bars takes to become usable.
  animation: false,
};

// 20 distinguishable colours, then grey for "Other".
export const PALETTE = ['#5fb3ff', '#ff9f43', '#57d38c', '#ff6b6b', '#b08cff', '#ffd166', '#4dd6d6', '#f78fb3',
  '#a3cb38', '#e17055', '#74b9ff', '#fdcb6e', '#55efc4', '#fab1a0', '#81ecec', '#c39bd3', '#badc58', '#f8a5c2',
  '#7ed6df', '#e056fd'];
export const OTHER_COLOR = '#6b7787';

// ---------- the process/host click menu ----------

export function openMenu(x, y, title, items) {
  let m = document.getElementById('menu');
  if (!m) {
    m = el('div', { id: 'menu', class: 'menu', role: 'menu', hidden: true });
    document.body.append(m);
  }
  m.replaceChildren(el('div', { class: 'title', text: title }),
    ...items.map(([text, href]) => el('a', { href, role: 'menuitem', text })));
  m.hidden = false;
  const w = m.offsetWidth, h = m.offsetHeight;
  m.style.left = Math.min(x, window.innerWidth - w - 8) + 'px';
  m.style.top = Math.min(y, window.innerHeight - h - 8) + 'px';
  m.querySelector('a').focus();
}

export function closeMenu() {
  const m = document.getElementById('menu');
  if (m) m.hidden = true;
}

// ---------- tables ----------

// columns: [{h, cls, cell(row) -> Node|string, num}]
export function table(columns, rows, caption) {
  const thead = el('thead', {}, el('tr', {}, ...columns.map((c) =>
    el('th', { scope: 'col', class: c.num ? 'num' : null, text: c.h }))));
  const tbody = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    if (r.__class) tr.className = r.__class;
    for (const c of columns) {
      const v = c.cell(r);
      const td = el('td', { class: [c.num ? 'num' : '', c.cls || ''].join(' ').trim() || null });
      if (v instanceof Node) td.append(v); else td.textContent = v === null || v === undefined ? '—' : String(v);
      tr.append(td);
    }
    tbody.append(tr);
  }
  return el('div', { class: 'table-wrap' }, el('table', {}, caption ? el('caption', { text: caption }) : null, thead, tbody));
}

// A pager under a server-paged table: "rows a–b of N", Previous/Next.
export function pager(offset, limit, total, go) {
  const a = total ? offset + 1 : 0, b = Math.min(offset + limit, total);
  return el('div', { class: 'pager' },
    el('button', { type: 'button', text: '← Previous', 'aria-label': 'Previous page', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit)) }),
    el('span', { class: 'pos', text: `rows ${fmtInt(a)}–${fmtInt(b)} of ${fmtInt(total)}` }),
    el('button', { type: 'button', text: 'Next →', 'aria-label': 'Next page', disabled: b >= total, onclick: () => go(offset + limit) }));
}

// ---------- formatting ----------

export function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = new Date(ms).toISOString();
  return s.slice(0, 10) + ' ' + s.slice(11, 19);
}
export function fmtTimeMs(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = new Date(ms).toISOString();
  return s.slice(0, 10) + ' ' + s.slice(11, 23);
}
export function fmtAxisTime(ms, spanMs) {
  const s = new Date(ms).toISOString();
  if (spanMs <= 86400000) return s.slice(11, 16);
  return s.slice(5, 10) + ' ' + s.slice(11, 16);
}
export function fmtInt(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
}
export function fmtScore(x) {
  if (x === null || x === undefined) return '—';
  return Number.isInteger(x) ? String(x) : Number(x).toFixed(3);
}
export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return n + ' B';
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return v.toFixed(v < 10 ? 1 : 0) + ' ' + u[i];
}
export function fmtDuration(s) {
  if (s === null || s === undefined) return '—';
  if (s < 1) return +(s * 1000).toPrecision(3) + ' ms';
  if (s < 60) return +s.toPrecision(3) + ' s';
  if (s < 3600) return +(s / 60).toPrecision(3) + ' min';
  if (s < 86400) return +(s / 3600).toPrecision(3) + ' h';
  return +(s / 86400).toPrecision(3) + ' d';
}
export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
export function hostPort(ip, port) {
  if (ip === null || ip === undefined) return '—';
  if (port === null || port === undefined) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
