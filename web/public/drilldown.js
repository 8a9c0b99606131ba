// Dashboard 2, Beaconing Drilldown: the explainability table (findings of
// the filters, by score) to pick a group; for the picked group (exact
// key_host/key_process) its verdicts, connection timeline, inter-arrival
// histogram, bytes, destinations and raw events.
import {
  initPage, renderPanels, refreshPanel, api, timeParams, filterParams, linkTo, state, chart, table, pager, el, panelEmpty,
  showRangeLabel, fmtInt, fmtTime, fmtTimeMs, fmtScore, fmtBytes, fmtDuration, hostPort,
  BASE, PALETTE,
} from './common.js';

const EVENTS_PAGE = 25;
const FINDINGS_PAGE = 25;
const DEST_PAGE = 15;
let eventsOffset = 0;
let findingsOffset = 0;
let lastKey = null;
let lastFilters = null;

const GROUP_PANELS = ['p-group', 'p-verdicts', 'p-timeline', 'p-interarrival', 'p-bytes', 'p-destinations', 'p-events'];

function load() {
  const s = state();
  const key = s.key_host && s.key_process ? [s.key_host, s.key_process] : null;
  const keyStr = JSON.stringify(key);
  if (keyStr !== lastKey) { eventsOffset = 0; lastKey = keyStr; }
  const filters = JSON.stringify([s.range, s.from, s.to, s.host, s.process, s.rule]);
  if (filters !== lastFilters) { findingsOffset = 0; lastFilters = filters; }
  for (const id of GROUP_PANELS) document.getElementById(id).hidden = !key;
  document.getElementById('p-indicators').classList.toggle('half', !!key);
  intro(s, key);
  showRangeLabel();
  const loaders = [['p-explain', explain]];
  if (key) {
    const group = api('group', { host: key[0], process: key[1] });
    group.catch(() => {}); // each panel reports the error itself
    loaders.push(
      ['p-group', (b) => groupSummary(b, key, group)],
      ['p-verdicts', (b) => verdicts(b, group)],
      ['p-timeline', (b) => timeline(b, group)],
      ['p-interarrival', (b) => interarrival(b, group)],
      ['p-bytes', (b) => bytes(b, group)],
      ['p-destinations', (b) => destinations(b, group)],
      ['p-events', (b, stale) => events(b, key, stale)],
    );
  }
  renderPanels(loaders);
}

function intro(s, key) {
  const p = document.getElementById('intro');
  if (key) {
    p.replaceChildren('Group ', el('strong', { class: 'mono', text: key[0] }), ' → ',
      el('strong', { class: 'mono', text: key[1] }), '. ',
      el('a', { href: linkTo('/drilldown.html', { key_host: null, key_process: null }) }, 'Back to the list of groups'), '.');
  } else if (s.host || s.process) {
    p.textContent = 'Findings of ' + [s.host && `hosts containing “${s.host}”`, s.process && `processes containing “${s.process}”`]
      .filter(Boolean).join(' and ') + ': open a row of the explainability table to drill into that group.';
  } else {
    p.textContent = 'Every finding in the time range: open a row of the explainability table to drill into that group, or filter by host or process above.';
  }
}

// ---------- explainability (findings list) ----------

async function explain(body, stale) {
  const s = state();
  const d = await api('findings', {
    ...(await timeParams('6h')), ...filterParams(), sort: 'score', limit: FINDINGS_PAGE, offset: findingsOffset,
  });
  if (stale()) return;
  if (!d.rows.length && findingsOffset === 0) {
    return panelEmpty(body, 'No findings match these filters in this time range. Widen the time range or clear a filter.');
  }
  const ind = (r, k) => {
    if (!r.indicators) return el('span', { class: 'ind no', title: 'not an elastic finding', text: '·' });
    const v = r.indicators[k];
    return el('span', { class: 'ind ' + (v ? 'yes' : 'no'), 'aria-label': v ? 'yes' : 'no', text: v ? '✓' : '–' });
  };
  for (const r of d.rows) {
    if (r.host === s.key_host && r.process === s.key_process) r.__class = 'selected';
  }
  body.replaceChildren(
    table([
      { h: 'Process', cls: 'mono', cell: (r) => el('a', {
        href: linkTo('/drilldown.html', { key_host: r.host, key_process: r.process }),
        class: 'group-link', 'data-host': r.host, 'data-process': r.process,
      }, r.process ?? '—') },
      { h: 'Host', cls: 'mono', cell: (r) => r.host },
      { h: 'Rule', cell: (r) => r.rule },
      { h: 'Score', num: true, cell: (r) => fmtScore(r.score) },
      { h: 'Alert', cell: (r) => el('span', { class: 'badge ' + (r.alert ? 'alert' : 'quiet'), text: r.alert ? 'beaconing' : 'no' }) },
      { h: 'Low Frequency', cell: (r) => ind(r, 'low_frequency') },
      { h: 'High Frequency', cell: (r) => ind(r, 'high_frequency') },
      { h: 'Low Src Bytes Var.', cell: (r) => ind(r, 'low_source_bytes_variation') },
      { h: 'Low Dst Bytes Var.', cell: (r) => ind(r, 'low_destination_bytes_variation') },
      { h: 'Time (UTC)', cls: 'mono', cell: (r) => fmtTime(r.ts) },
      { h: 'Explanation', cls: 'expl', cell: (r) => r.explanation },
    ], d.rows, `${fmtInt(d.total)} finding${d.total === 1 ? '' : 's'}, highest score first`),
    pager(findingsOffset, FINDINGS_PAGE, d.total, (o) => { findingsOffset = o; rerun('p-explain', explain); }));
}

function rerun(id, fn) {
  refreshPanel(id, fn);
}

// ---------- group panels (one /api/group response) ----------

async function groupSummary(body, key, group) {
  const g = await group;
  const item = (k, v) => el('div', {}, el('span', { class: 'k', text: k }), el('span', { class: 'v', text: v }));
  const span = g.first !== null && g.last !== null ? (g.last - g.first) / 1000 : null;
  body.replaceChildren(el('div', { class: 'summary', id: 'group-summary' },
    item('Host / source', g.host),
    item('Process / destination', g.process),
    item('Sampled connections', fmtInt(g.events)),
    item('First', fmtTime(g.first)),
    item('Last', fmtTime(g.last)),
    item('Span', fmtDuration(span)),
    item('Destinations', fmtInt(g.destinations.length)),
    item('Detected period', g.interarrival.period === null ? 'none'
      : `${fmtDuration(g.interarrival.period)} (${g.interarrival.period_rule})`)));
  if (!g.events && !g.verdicts.some((v) => v.found)) {
    body.append(el('p', { class: 'error', role: 'alert', text: 'No sampled records and no finding have exactly this host and process. Pick a group from the explainability table.' }));
  }
}

async function verdicts(body, group) {
  const g = await group;
  const cards = el('div', { class: 'verdicts' });
  for (const v of g.verdicts) {
    const badge = !v.found ? el('span', { class: 'badge none', text: 'no finding' })
      : el('span', { class: 'badge ' + (v.alert ? 'alert' : 'quiet'), text: v.alert ? 'beaconing' : 'not flagged' });
    const card = el('article', { class: 'verdict' + (v.alert ? ' flagged' : ''), 'data-rule': v.rule, 'data-found': String(v.found), 'data-alert': String(!!v.alert) },
      el('h3', {}, el('span', { text: v.rule }), badge));
    if (v.found) {
      card.append(el('dl', {},
        el('dt', { text: 'Score' }), el('dd', { class: 'score', text: fmtScore(v.score) }),
        el('dt', { text: 'Finding time' }), el('dd', { text: fmtTime(v.ts) + ' UTC' })),
      el('p', { class: 'explanation', text: v.explanation || '' }));
      const det = el('details', {}, el('summary', { text: 'Full document' }));
      det.addEventListener('toggle', async () => {
        if (!det.open || det.dataset.loaded) return;
        det.dataset.loaded = '1';
        try {
          const f = await api('finding', { rule: v.rule, id: v.id });
          det.append(el('pre', { class: 'doc', text: JSON.stringify(f.doc, null, 2) }));
        } catch (e) {
          det.append(el('p', { class: 'error', text: e.message }));
        }
      });
      card.append(det);
    } else {
      card.append(el('p', { class: 'explanation', text: `The ${v.rule} rule has no finding for this group.` }));
    }
    cards.append(card);
  }
  body.replaceChildren(cards);
}

async function timeline(body, group) {
  const g = await group;
  if (!g.timeline.length) return panelEmpty(body, 'No sampled connections for this group.');
  const c = chart(body, 'chart short', `Timeline of ${g.timeline.length} connections`);
  c.group = 'drill';
  c.setOption({
    ...BASE,
    grid: { left: 24, right: 24, top: 10, bottom: 56 },
    tooltip: { trigger: 'item', formatter: (p) => fmtTimeMs(p.value[0]) + ' UTC' },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', show: false, min: -1, max: 1 },
    dataZoom: [{ type: 'slider', height: 18, bottom: 8, showDataShadow: false }, { type: 'inside' }],
    series: [{
      type: 'scatter', name: 'connection', symbol: 'rect', symbolSize: [1.5, 60], large: true, largeThreshold: 500,
      itemStyle: { color: PALETTE[0], opacity: 0.85 }, data: g.timeline.map((t) => [t, 0]),
    }],
  });
}

async function interarrival(body, group) {
  const g = await group;
  const ia = g.interarrival;
  if (!ia.bins.length) return panelEmpty(body, 'Fewer than two connections: no gaps to show.');
  const cats = ia.bins.map((b) => fmtDuration(b.lo));
  let mark = null;
  if (ia.period !== null) {
    const i = ia.bins.findIndex((b) => ia.period >= b.lo && ia.period < b.hi);
    if (i >= 0) {
      mark = {
        symbol: 'none', silent: true,
        lineStyle: { color: '#ffc857', type: 'dashed', width: 2 },
        label: { formatter: `period ${fmtDuration(ia.period)} (${ia.period_rule})`, color: '#ffc857', position: 'end' },
        data: [{ xAxis: cats[i] }],
      };
    }
  }
  const c = chart(body, 'chart', 'Histogram of the time between connections');
  c.setOption({
    ...BASE,
    grid: { left: 56, right: 24, top: 36, bottom: 44 },
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' },
      formatter: (ps) => { const b = ia.bins[ps[0].dataIndex]; return `${fmtDuration(b.lo)} – ${fmtDuration(b.hi)}: <b>${fmtInt(b.count)}</b> gaps`; },
    },
    xAxis: { type: 'category', data: cats, axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: 'gaps', nameLocation: 'middle', nameGap: 40, minInterval: 1 },
    series: [{ type: 'bar', name: 'gaps', data: ia.bins.map((b) => b.count), itemStyle: { color: PALETTE[0] }, markLine: mark }],
  });
}

async function bytes(body, group) {
  const g = await group;
  if (!g.bytes.length) return panelEmpty(body, 'No sampled connections for this group.');
  const src = [], dst = [];
  for (const [t, s, d] of g.bytes) {
    if (s !== null) src.push([t, s]);
    if (d !== null) dst.push([t, d]);
  }
  if (!src.length && !dst.length) return panelEmpty(body, 'The logs carry no byte counts for these connections.');
  const c = chart(body, 'chart', 'Bytes per connection over time');
  c.group = 'drill';
  const large = true;
  c.setOption({
    ...BASE,
    grid: { left: 64, right: 24, top: 36, bottom: 56 },
    legend: { top: 0 },
    tooltip: { trigger: 'item', formatter: (p) => `${fmtTimeMs(p.value[0])} UTC<br>${p.marker}${p.seriesName}: <b>${fmtBytes(p.value[1])}</b>` },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', name: 'bytes', axisLabel: { formatter: (v) => fmtBytes(v) } },
    dataZoom: [{ type: 'slider', height: 18, bottom: 8, showDataShadow: false }, { type: 'inside' }],
    series: [
      { type: 'scatter', name: 'source → destination', data: src, symbolSize: 4, large, largeThreshold: 500, itemStyle: { color: PALETTE[0] } },
      { type: 'scatter', name: 'destination → source', data: dst, symbolSize: 4, large, largeThreshold: 500, itemStyle: { color: PALETTE[1] } },
    ],
  });
  window.echarts.connect('drill');
}

async function destinations(body, group) {
  const g = await group;
  if (!g.destinations.length) return panelEmpty(body, 'No destinations recorded.');
  let off = 0;
  const render = () => {
    const rows = g.destinations.slice(off, off + DEST_PAGE);
    body.replaceChildren(table([
      { h: 'Destination', cls: 'mono', cell: (r) => hostPort(r.ip, r.port) },
      { h: 'Domain', cls: 'mono', cell: (r) => r.domain },
      { h: 'Connections', num: true, cell: (r) => fmtInt(r.count) },
      { h: 'Bytes', num: true, cell: (r) => fmtBytes(r.bytes) },
    ], rows, `${g.destinations.length} destination${g.destinations.length === 1 ? '' : 's'}`));
    if (g.destinations.length > DEST_PAGE) {
      body.append(pager(off, DEST_PAGE, g.destinations.length, (o) => { off = o; render(); }));
    }
  };
  render();
}

async function events(body, key, stale) {
  const d = await api('events', { host: key[0], process: key[1], limit: EVENTS_PAGE, offset: eventsOffset });
  if (stale && stale()) return;
  if (!d.rows.length && eventsOffset === 0) return panelEmpty(body, 'No sampled records for this group (the rules ran with --sample 0, or retention removed them).');
  body.replaceChildren(
    table([
      { h: 'Time (UTC)', cls: 'mono', cell: (r) => fmtTimeMs(r.ts) },
      { h: 'Host', cls: 'mono', cell: (r) => r.host_name },
      { h: 'Process', cls: 'mono', cell: (r) => r.process_name },
      { h: 'Source', cls: 'mono', cell: (r) => hostPort(r.src_ip, r.src_port) },
      { h: 'Destination', cls: 'mono', cell: (r) => hostPort(r.dst_ip, r.dst_port) },
      { h: 'Domain', cls: 'mono', cell: (r) => r.domain },
      { h: 'Proto', cell: (r) => r.transport },
      { h: 'Src bytes', num: true, cell: (r) => r.src_bytes === null ? null : fmtInt(r.src_bytes) },
      { h: 'Dst bytes', num: true, cell: (r) => r.dst_bytes === null ? null : fmtInt(r.dst_bytes) },
      { h: 'Duration', num: true, cell: (r) => fmtDuration(r.duration) },
      { h: 'Action / state', cell: (r) => [r.action, r.conn_state].filter((x) => x !== null && x !== undefined).join(' / ') || null },
    ], d.rows, `${fmtInt(d.total)} sampled record${d.total === 1 ? '' : 's'}, newest first`),
    pager(eventsOffset, EVENTS_PAGE, d.total, (o) => { eventsOffset = o; rerun('p-events', (b, st) => events(b, key, st)); }));
}

initPage({ id: 'drilldown', defaultRange: '6h', onChange: load });
