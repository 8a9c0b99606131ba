// Dashboard 3, Hosts Affected Over Time By Process Name: distinct hosts per
// process in 3-day steps (line chart, top 20) and the same as a table.
import {
  initPage, renderPanels, api, timeParams, filterParams, linkTo, chart, table, el, panelEmpty,
  showRangeLabel, fmtInt, fmtTime, escapeHtml, BASE, PALETTE,
} from './common.js';

function load() {
  showRangeLabel();
  // One request; the chart and the table both draw from it.
  const data = (async () => api('spread', { ...(await timeParams('14d')), ...filterParams() }))();
  data.catch(() => {});
  renderPanels([
    ['p-spread', (b, stale) => lines(b, data, stale)],
    ['p-spread-table', (b, stale) => summary(b, data, stale)],
  ]);
}

function stepLabel(d, i) {
  const a = d.steps[i], b = a + d.step * 1000;
  return `${fmtTime(a).slice(0, 10)} – ${fmtTime(b - 1000).slice(0, 10)}`;
}

async function lines(body, data, stale) {
  const d = await data;
  if (stale()) return;
  showRangeLabel(d.from, d.to);
  if (!d.series.length) return panelEmpty(body, 'No beaconing findings in this time range.');
  const c = chart(body, 'chart tall', 'Distinct hosts affected per process over time');
  c.setOption({
    ...BASE,
    color: PALETTE,
    tooltip: {
      trigger: 'axis', confine: true,
      formatter: (ps) => {
        const rows = ps.filter((p) => p.value > 0).sort((a, b) => b.value - a.value)
          .map((p) => `${p.marker}${escapeHtml(p.seriesName)}: <b>${p.value}</b> host${p.value === 1 ? '' : 's'}`);
        return `${stepLabel(d, ps[0].dataIndex)}<br>` + (rows.join('<br>') || 'none');
      },
    },
    legend: { type: 'scroll', top: 0, textStyle: { fontSize: 11 } },
    grid: { left: 48, right: 24, top: 40, bottom: 40 },
    xAxis: { type: 'category', data: d.steps.map((_, i) => stepLabel(d, i)), boundaryGap: true },
    yAxis: { type: 'value', name: 'distinct hosts', nameLocation: 'middle', nameGap: 34, minInterval: 1 },
    series: d.series.map((s) => ({
      type: 'line', name: s.process, data: s.hosts, symbol: 'circle', symbolSize: 7,
      emphasis: { focus: 'series' }, triggerLineEvent: true,
    })),
  });
  c.on('click', (p) => {
    if (p.componentType !== 'series') return;
    location.href = linkTo('/drilldown.html', { process: p.seriesName });
  });
}

async function summary(body, data, stale) {
  const d = await data;
  if (stale()) return;
  if (!d.series.length) return panelEmpty(body, 'No beaconing findings in this time range.');
  const rows = d.series.map((s) => {
    let peak = 0, first = -1, last = -1;
    s.hosts.forEach((n, i) => {
      if (n > s.hosts[peak]) peak = i;
      if (n > 0) { if (first < 0) first = i; last = i; }
    });
    return { ...s, peak, first, last };
  });
  body.replaceChildren(table([
    { h: 'Process', cls: 'mono', cell: (r) => el('a', { href: linkTo('/drilldown.html', { process: r.process }) }, r.process) },
    { h: 'Distinct hosts', num: true, cell: (r) => fmtInt(r.total) },
    { h: 'Most hosts in one step', num: true, cell: (r) => fmtInt(r.hosts[r.peak]) },
    { h: 'Peak step', cls: 'mono', cell: (r) => stepLabel(d, r.peak) },
    { h: 'First step', cls: 'mono', cell: (r) => (r.first < 0 ? null : stepLabel(d, r.first)) },
    { h: 'Last step', cls: 'mono', cell: (r) => (r.last < 0 ? null : stepLabel(d, r.last)) },
  ], rows, `${rows.length} process${rows.length === 1 ? '' : 'es'}, steps of ${Math.round(d.step / 86400 * 10) / 10} days`));
}

initPage({ id: 'spread', defaultRange: '14d', onChange: load });
