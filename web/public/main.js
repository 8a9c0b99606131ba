// Dashboard 1, Network Beaconing: top hosts over time (stacked bars), top
// processes (treemap in percent), hosts affected per process (table).
import {
  initPage, renderPanels, api, timeParams, filterParams, linkTo, chart, table, el, panelEmpty,
  showRangeLabel, openMenu, fmtInt, fmtTime, fmtAxisTime, escapeHtml, BASE, PALETTE, OTHER_COLOR,
} from './common.js';

function load() {
  showRangeLabel();
  renderPanels([
    ['p-top-hosts', topHosts],
    ['p-top-processes', topProcesses],
    ['p-hosts-affected', hostsAffected],
  ]);
}

async function topHosts(body, stale) {
  const d = await api('main/top_hosts', { ...(await timeParams('6h')), ...filterParams() });
  if (stale()) return;
  showRangeLabel(d.from, d.to);
  if (!d.series.length) return panelEmpty(body, 'No beaconing findings in this time range.');
  const span = d.steps.length ? d.steps[d.steps.length - 1] - d.steps[0] + d.step * 1000 : 0;
  const cats = d.steps.map((t) => fmtAxisTime(t, span));
  const wrap = el('div');
  const c = chart(body, 'chart tall', 'Top 20 beaconing hosts over time');
  body.append(wrap);
  let i = 0;
  c.setOption({
    ...BASE,
    color: PALETTE,
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true,
      formatter: (ps) => {
        const t = d.steps[ps[0].dataIndex];
        const rows = ps.filter((p) => p.value > 0).sort((a, b) => b.value - a.value)
          .map((p) => `${p.marker}${escapeHtml(p.seriesName)}: <b>${p.value}</b>`);
        return `${fmtTime(t)} + ${Math.round(d.step / 60)} min<br>` + (rows.join('<br>') || 'none');
      },
    },
    legend: { type: 'scroll', top: 0, textStyle: { fontSize: 11 } },
    grid: { left: 48, right: 16, top: 36, bottom: 40 },
    xAxis: { type: 'category', data: cats, name: 'UTC', nameLocation: 'end', axisTick: { alignWithLabel: true } },
    yAxis: { type: 'value', name: 'distinct processes', nameLocation: 'middle', nameGap: 34, minInterval: 1 },
    series: d.series.map((s) => ({
      // Empty cells as '-' so ECharts draws no zero-height bar for them.
      type: 'bar', name: s.host, stack: 'hosts', data: s.counts.map((n) => (n ? n : '-')), barCategoryGap: '20%',
      itemStyle: s.host === 'Other' ? { color: OTHER_COLOR } : { color: PALETTE[i++ % PALETTE.length] },
      emphasis: { focus: 'series' },
      cursor: s.host === 'Other' ? 'default' : 'pointer',
    })),
  });
  c.on('click', (p) => {
    if (p.componentType !== 'series' || p.seriesName === 'Other') return;
    location.href = linkTo('/drilldown.html', { host: p.seriesName });
  });
  // The same ranking as links: keyboard- and screen-reader-reachable.
  const chips = el('div', { class: 'chips', id: 'top-hosts-list', 'aria-label': 'Top hosts by distinct beaconing processes' });
  for (const s of d.series) {
    if (s.host === 'Other') {
      chips.append(el('span', { class: 'muted', text: `Other: ${fmtInt(s.total)}` }));
    } else {
      chips.append(el('a', { href: linkTo('/drilldown.html', { host: s.host }), 'data-host': s.host, 'data-total': s.total },
        `${s.host} · ${fmtInt(s.total)}`));
    }
  }
  wrap.replaceWith(chips);
}

async function topProcesses(body, stale) {
  const d = await api('main/top_processes', { ...(await timeParams('6h')), ...filterParams() });
  if (stale()) return;
  if (!d.items.length) return panelEmpty(body, 'No beaconing findings in this time range.');
  const c = chart(body, 'chart tall', 'Top 20 beaconing processes, percent of findings');
  let i = 0;
  c.setOption({
    ...BASE,
    tooltip: {
      formatter: (p) => `${escapeHtml(p.name)}<br><b>${p.data.pct.toFixed(1)} %</b> — ${fmtInt(p.data.findings)} of ${fmtInt(d.total)} findings`,
    },
    series: [{
      type: 'treemap', roam: false, nodeClick: false, breadcrumb: { show: false },
      width: '100%', height: '100%', top: 0, left: 0,
      label: {
        show: true, formatter: (p) => `${p.name}\n${p.data.pct.toFixed(1)} %`, fontSize: 12, overflow: 'truncate',
        color: '#0f141a', textBorderWidth: 0, fontWeight: 600, lineHeight: 16,
      },
      upperLabel: { show: false },
      itemStyle: { borderColor: '#0f141a', borderWidth: 2, gapWidth: 2 },
      data: d.items.map((it) => ({
        name: it.process, value: it.findings, pct: it.pct, findings: it.findings,
        itemStyle: { color: it.process === 'Other' ? OTHER_COLOR : PALETTE[i++ % PALETTE.length] },
      })),
    }],
  });
  c.on('click', (p) => {
    if (p.componentType !== 'series' || !p.data || p.name === 'Other') return;
    const ev = p.event && p.event.event;
    openMenu(ev ? ev.clientX : 100, ev ? ev.clientY : 100, p.name, [
      ['Drilldown: findings of this process', linkTo('/drilldown.html', { process: p.name })],
      ['Spread: hosts affected over time', linkTo('/spread.html', { process: p.name })],
    ]);
  });
  body.append(el('p', { class: 'help', text: `${fmtInt(d.total)} beaconing findings in range.` }));
}

async function hostsAffected(body, stale) {
  const d = await api('main/hosts_affected', { ...(await timeParams('6h')), ...filterParams() });
  if (stale()) return;
  if (!d.rows.length) return panelEmpty(body, 'No beaconing findings in this time range.');
  body.replaceChildren(table([
    { h: 'Process', cls: 'mono', cell: (r) => el('a', { href: linkTo('/drilldown.html', { process: r.process }), title: 'Drilldown for this process' }, r.process) },
    { h: 'Distinct hosts', num: true, cell: (r) => fmtInt(r.hosts) },
    { h: 'Findings', num: true, cell: (r) => fmtInt(r.findings) },
    { h: 'Spread', cell: (r) => el('a', { href: linkTo('/spread.html', { process: r.process }), 'aria-label': `Spread of ${r.process} over time` }, 'over time ↗') },
  ], d.rows, `${d.rows.length} process${d.rows.length === 1 ? '' : 'es'}, most hosts first`));
}

initPage({ id: 'main', defaultRange: '6h', onChange: load });
