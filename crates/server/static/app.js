// faultline incident room: a small script over the server's JSON API.
//
// No build step, no dependencies, nothing from the network but this server. Every string from
// the API reaches the page through textContent or an attribute set by the DOM API, never as
// markup. Live updates come from GET /v1/stream (Server-Sent Events) when the server has it
// and the browser may open it; otherwise the page polls every 5 s.
'use strict';

(function () {
  const KEY_STORE = 'faultline.key';
  const POLL_MS = 5000;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);

  // ---------- DOM helpers ----------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  // ---------- formatting ----------
  function fmtTime(t) {
    if (t === null || t === undefined || t === '') return '—';
    const d = new Date(t);
    if (Number.isNaN(d.getTime())) return String(t);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
  }
  function fmtNum(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '—';
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
    return String(Math.round(v * 1000) / 1000);
  }
  const pct = (v) => (Number.isFinite(v) ? Math.round(v * 100) + '%' : '—');
  function keyName(k) {
    if (!k) return '?';
    const labels = k.labels && Object.keys(k.labels).length
      ? '{' + Object.entries(k.labels).map(([a, b]) => a + '=' + b).join(',') + '}'
      : '';
    return k.service + '/' + k.metric + labels;
  }
  function causeText(c) {
    if (!c) return '';
    switch (c.kind) {
      case 'change': return (c.change_kind || 'change') + (c.version ? ' ' + c.version : '') + (c.ts ? ' at ' + fmtTime(c.ts) : '');
      case 'resource': return 'resource: ' + (c.metric ? keyName(c.metric) : '');
      case 'code': return 'code: log template ' + (c.template || '');
      case 'dependency': return 'dependency: ' + (c.service || '');
      default: return c.kind || 'unknown';
    }
  }

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, title, detail) {
      super(title + (detail ? ': ' + detail : ''));
      this.status = status;
      this.title = title;
      this.detail = detail;
    }
  }

  function credential() {
    try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (_) { return ''; }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const key = credential();
    if (key) headers.Authorization = 'Bearer ' + key;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let resp;
    try {
      resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'server unreachable', String(e && e.message || e));
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!resp.ok) {
      const title = (data && data.title) || resp.statusText || 'error';
      const detail = (data && data.detail) || (data ? '' : text.slice(0, 300));
      const err = new ApiError(resp.status, title, detail);
      if (resp.status === 401) askForKey(err);
      throw err;
    }
    return data;
  }

  // ---------- sign in ----------
  function askForKey(err) {
    const box = $('signin');
    const had = credential();
    $('signin-reason').textContent = had
      ? 'The server refused this key (' + err.title + (err.detail ? ': ' + err.detail : '') + '). Enter another one.'
      : 'This server needs an API key or bearer token (' + (err.detail || err.title) + ').';
    box.hidden = false;
    $('signin-key').focus();
  }
  function setupSignin() {
    $('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = $('signin-key').value.trim();
      if (!v) return;
      try { sessionStorage.setItem(KEY_STORE, v); } catch (_) { /* private mode: key lives in memory only */ }
      $('signin-key').value = '';
      $('signin').hidden = true;
      hideError();
      refreshSession();
      route();
      startLive();
    });
    $('signin-cancel').addEventListener('click', () => { $('signin').hidden = true; });
    $('signin-open').addEventListener('click', () => {
      $('signin-reason').textContent = 'Enter the API key or bearer token to use from now on.';
      $('signin').hidden = false;
      $('signin-key').focus();
    });
  }

  // ---------- errors ----------
  function showError(target, err) {
    const box = typeof target === 'string' ? $(target) : target;
    clear(box);
    if (err instanceof ApiError) {
      box.append(h('strong', null, err.title + (err.status ? ' (' + err.status + ')' : '')), err.detail || '');
    } else {
      box.append(h('strong', null, 'error'), String(err && err.message || err));
    }
    box.hidden = false;
  }
  function hideError(id) {
    const box = $(id || 'error');
    box.hidden = true;
    clear(box);
  }

  let session = null;
  async function refreshSession() {
    try {
      session = await api('GET', '/v1/room/session');
      const p = session.principal;
      $('who').textContent = p ? 'Signed in as ' + p.name + ' (' + p.role + ')' : '';
      fillRunners();
    } catch (e) {
      $('who').textContent = '';
    }
  }

  // ---------- routing ----------
  let current = { view: 'list', id: null };
  function parseHash() {
    const m = /^#\/incident\/(.+)$/.exec(location.hash);
    return m ? { view: 'incident', id: decodeURIComponent(m[1]) } : { view: 'list', id: null };
  }
  async function route() {
    current = parseHash();
    $('list-view').hidden = current.view !== 'list';
    $('incident-view').hidden = current.view !== 'incident';
    if (current.view === 'list') await loadList();
    else await loadIncident(current.id, true);
  }

  // ---------- incident list ----------
  async function loadList() {
    try {
      const data = await api('GET', '/v1/room/incidents');
      hideError();
      renderList(data.incidents || []);
    } catch (e) {
      if (e.status !== 401) showError('error', e);
    }
  }
  function sevBadge(sev) {
    if (!sev) return h('span', { class: 'muted' }, '—');
    return h('span', { class: 'sev sev-' + String(sev).toLowerCase().replace(/[^a-z0-9]/g, '') }, sev);
  }
  function renderList(items) {
    const body = clear(document.querySelector('#incidents tbody'));
    $('list-empty').hidden = items.length > 0;
    for (const it of items) {
      const inc = it.incident;
      const top = it.top
        ? h('span', null, h('strong', null, it.top.service), ' — ', it.top.statement, ' ', h('span', { class: 'muted' }, '(' + pct(it.top.confidence) + ')'))
        : h('span', { class: 'muted' }, it.analyzed ? 'no hypothesis' : 'not analysed');
      body.append(h('tr', { 'data-incident': inc.id },
        h('td', null, h('a', { href: '#/incident/' + encodeURIComponent(inc.id) }, inc.title || inc.id), h('br'), h('span', { class: 'mono muted' }, inc.id)),
        h('td', null, sevBadge(inc.severity)),
        h('td', null, fmtTime(inc.onset)),
        h('td', { class: 'status' }, inc.status || ''),
        h('td', { class: 'top-hypothesis' }, top)));
    }
  }

  // ---------- incident view ----------
  let view = { id: null, incident: null, report: null, series: null, plan: null };

  async function loadIncident(id, first) {
    if (first) {
      view = { id, incident: null, report: null, series: null, plan: null, planLoaded: false };
      clear($('hypotheses')); clear($('charts')); clear($('timeline'));
      $('incident-title').textContent = id;
      $('verify-windows').value = '';
      hideError('wizard-error');
      renderWizard();
    }
    try {
      const got = await api('GET', '/v1/incidents/' + encodeURIComponent(id));
      if (current.id !== id) return;
      view.incident = got.incident;
      let report = null;
      let series = null;
      if (got.analyzed) {
        [report, series] = await Promise.all([
          api('GET', '/v1/incidents/' + encodeURIComponent(id) + '/report?format=json'),
          api('GET', '/v1/room/incidents/' + encodeURIComponent(id) + '/series').catch(() => null),
        ]);
      }
      if (current.id !== id) return;
      hideError();
      const changed = !view.report || !report || JSON.stringify(report.timings) !== JSON.stringify(view.report.timings);
      view.report = report;
      view.series = series;
      renderIncident(changed);
      if (first) await loadPlan();
    } catch (e) {
      if (e.status !== 401) showError('error', e);
    }
  }

  function renderIncident(full) {
    const inc = view.incident;
    const r = view.report;
    $('incident-title').textContent = inc.title || inc.id;
    const meta = clear($('incident-meta'));
    const row = (k, v) => meta.append(h('dt', null, k), h('dd', null, v));
    row('Id', h('span', { class: 'mono' }, inc.id));
    row('Severity', sevBadge(inc.severity));
    row('Status', inc.status || '—');
    row('Onset', fmtTime(inc.onset));
    row('Window', fmtTime(inc.window && inc.window.start) + ' → ' + fmtTime(inc.window && inc.window.end));
    row('Environment', inc.environment || '—');
    if (r && r.blast_radius && r.blast_radius.services && r.blast_radius.services.length) row('Blast radius', r.blast_radius.services.join(', '));
    $('narrative').textContent = (r && r.narrative) || '';
    $('narrative').hidden = !(r && r.narrative);
    $('hyp-empty').hidden = !!r;
    if (!full) return;
    renderHypotheses(r);
    renderCharts(r, view.series);
    renderTimeline(r);
  }

  function renderRef(ref) {
    const dl = h('dl', { class: 'ref meta' });
    const row = (k, v) => dl.append(h('dt', null, k), h('dd', null, v));
    if (!ref) return dl;
    switch (ref.type) {
      case 'series':
        row('Series', keyName(ref.key));
        row('Range', fmtTime(ref.start) + ' → ' + fmtTime(ref.end));
        if (ref.anomaly) row('Anomaly', h('span', { class: 'mono' }, ref.anomaly));
        break;
      case 'template':
        {
          const tpl = view.report && (view.report.templates || []).find((t) => t.id === ref.template);
          row('Template', h('span', { class: 'mono' }, tpl ? tpl.text : ref.template));
          if (tpl) row('Seen', tpl.count + ' records, ' + fmtTime(tpl.first_seen) + ' → ' + fmtTime(tpl.last_seen));
        }
        row('Examples', h('div', null, (ref.exemplars || []).map((x) => h('div', { class: 'exemplars' }, x))));
        break;
      case 'change':
        row('Change', (ref.kind || '') + (ref.version ? ' ' + ref.version : ''));
        row('At', fmtTime(ref.ts));
        if (ref.source) row('Source', (ref.source.file || '') + (ref.source.line ? ':' + ref.source.line : ''));
        break;
      case 'spans':
        row('Spans', h('div', null, (ref.span_ids || []).map((x) => h('div', { class: 'mono' }, x))));
        break;
      case 'edge':
        row('Edge', ref.source + ' → ' + ref.target);
        break;
      case 'alerts':
        row('Alerts', (ref.fingerprints || []).join(', '));
        break;
      default:
        for (const [k, v] of Object.entries(ref)) row(k, typeof v === 'string' ? v : JSON.stringify(v));
    }
    return dl;
  }

  function evidenceItem(e, counter) {
    if (!e) return null;
    return h('li', { class: counter ? 'counter' : null, 'data-evidence': e.id },
      h('details', null,
        h('summary', null, h('span', { class: 'kind' }, (counter ? 'against · ' : '') + e.kind), e.summary, ' ', h('span', { class: 'muted' }, '(score ' + fmtNum(e.score) + ')')),
        h('p', { class: 'mono muted' }, e.id + ' · ' + e.service),
        renderRef(e.ref)));
  }

  function renderHypotheses(r) {
    const ol = clear($('hypotheses'));
    if (!r) return;
    const ev = new Map((r.evidence || []).map((e) => [e.id, e]));
    for (const hyp of r.hypotheses || []) {
      const support = [...new Set(hyp.support || [])];
      const counter = [...new Set(hyp.counter || [])];
      const items = support.map((id) => evidenceItem(ev.get(id), false)).concat(counter.map((id) => evidenceItem(ev.get(id), true)));
      const meter = h('meter', { min: 0, max: 1, value: hyp.confidence, 'aria-label': 'confidence' });
      ol.append(h('li', { class: 'hypothesis' + (hyp.rank === 1 ? ' top' : ''), 'data-rank': hyp.rank, 'data-service': hyp.service },
        h('header', null,
          h('span', { class: 'rank' }, '#' + hyp.rank),
          h('span', { class: 'service' }, hyp.service),
          h('span', { class: 'cause' }, causeText(hyp.cause)),
          h('span', { class: 'conf' }, meter, pct(hyp.confidence))),
        h('p', { class: 'statement' }, hyp.statement),
        hyp.why_not ? h('p', { class: 'why-not' }, hyp.why_not) : null,
        h('details', { class: 'evidence', open: hyp.rank === 1 },
          h('summary', null, 'Evidence (' + support.length + ' for' + (counter.length ? ', ' + counter.length + ' against' : '') + ')'),
          h('ul', { class: 'evidence-list' }, items))));
    }
  }

  // ---------- charts ----------
  const W = 640, H = 200, L = 56, R = 12, T = 12, B = 30;

  function niceTicks(min, max, n) {
    if (!(max > min)) { max = min + 1; }
    const raw = (max - min) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const lo = Math.floor(min / step) * step;
    const hi = Math.ceil(max / step) * step;
    const ticks = [];
    for (let v = lo; v <= hi + step / 2 && ticks.length < 20; v += step) ticks.push(v);
    return { lo, hi, ticks };
  }

  function chart(s, anomalies, onsetMs, windowMs) {
    const pts = (s.points || []).filter((p) => Array.isArray(p));
    const marks = (s.anomalies || []).map((id) => anomalies.get(id)).filter(Boolean);
    let t0 = windowMs[0], t1 = windowMs[1];
    const finite = pts.filter((p) => p[1] !== null && Number.isFinite(p[1]));
    if (finite.length) { t0 = Math.min(t0, pts[0][0]); t1 = Math.max(t1, pts[pts.length - 1][0]); }
    const vals = finite.map((p) => p[1]).concat(marks.map((a) => a.observed).filter(Number.isFinite));
    let vmin = vals.length ? Math.min(...vals) : 0;
    let vmax = vals.length ? Math.max(...vals) : 1;
    if (vmin === vmax) { vmin -= 1; vmax += 1; }
    const yt = niceTicks(vmin, vmax, 4);
    const x = (t) => L + (W - L - R) * ((t - t0) / Math.max(1, t1 - t0));
    const y = (v) => H - B - (H - B - T) * ((v - yt.lo) / Math.max(1e-12, yt.hi - yt.lo));
    const clampX = (v) => Math.min(W - R, Math.max(L, v));
    const clampY = (v) => Math.min(H - B, Math.max(T, v));

    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': keyName(s.key) + ': ' + marks.length + ' anomalies marked' });
    root.append(svg('title', null, keyName(s.key)));
    for (const v of yt.ticks) {
      root.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: y(v).toFixed(1), y2: y(v).toFixed(1) }));
      root.append(svg('text', { class: 'tick', x: L - 6, y: (y(v) + 4).toFixed(1), 'text-anchor': 'end' }, fmtNum(v)));
    }
    root.append(svg('text', { class: 'tick', x: L, y: H - 8 }, fmtTime(t0)));
    root.append(svg('text', { class: 'tick', x: W - R, y: H - 8, 'text-anchor': 'end' }, fmtTime(t1)));
    for (const a of marks) {
      const xs = clampX(x(Date.parse(a.start))), xe = clampX(x(Date.parse(a.end)));
      if (xe - xs >= 1) root.append(svg('rect', { class: 'span', x: xs.toFixed(1), y: T, width: (xe - xs).toFixed(1), height: H - B - T }));
    }
    if (Number.isFinite(onsetMs) && onsetMs >= t0 && onsetMs <= t1) {
      root.append(svg('line', { class: 'onset', x1: x(onsetMs).toFixed(1), x2: x(onsetMs).toFixed(1), y1: T, y2: H - B },
        svg('title', null, 'onset ' + fmtTime(onsetMs))));
    }
    if (finite.length) {
      let d = '';
      let pen = false;
      for (const p of pts) {
        if (p[1] === null || !Number.isFinite(p[1])) { pen = false; continue; }
        d += (pen ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + clampY(y(p[1])).toFixed(1);
        pen = true;
      }
      root.append(svg('path', { class: 'line', d }));
    } else {
      root.append(svg('text', { class: 'nodata', x: (L + W - R) / 2, y: (T + H - B) / 2, 'text-anchor': 'middle' },
        'series not in the store (derived from logs or spans); anomalies only'));
    }
    for (const a of marks) {
      const cx = clampX(x(Date.parse(a.peak))), cy = clampY(y(Number.isFinite(a.observed) ? a.observed : yt.hi));
      root.append(svg('circle', { class: 'anomaly-marker', cx: cx.toFixed(1), cy: cy.toFixed(1), r: 4.5, 'data-anomaly': a.id },
        svg('title', null, (a.kind && a.kind.kind || 'anomaly') + ' at ' + fmtTime(a.peak) + ': observed ' + fmtNum(a.observed) +
          (a.expected ? ', expected ' + fmtNum(a.expected.value) : '') + ' (score ' + fmtNum(a.score) + ', ' + a.severity + ', ' + a.detector + ')')));
    }
    return h('figure', { class: 'chart', 'data-series': keyName(s.key) },
      h('figcaption', null, keyName(s.key) + ' — ' + marks.length + ' anomal' + (marks.length === 1 ? 'y' : 'ies') + (s.total_points ? ', ' + s.total_points + ' points' : '')),
      root);
  }

  function renderCharts(r, series) {
    const box = clear($('charts'));
    if (!r) return;
    const anomalies = new Map((r.anomalies || []).map((a) => [a.id, a]));
    const onsetMs = Date.parse(r.incident.onset);
    const win = [Date.parse(r.incident.window.start), Date.parse(r.incident.window.end)];
    const list = series && series.series ? series.series : groupAnomalies(r.anomalies || []);
    if (!list.length) { box.append(h('p', null, 'No anomalous series.')); return; }
    for (const s of list) box.append(chart(s, anomalies, onsetMs, win));
    if (series && series.omitted) box.append(h('p', { class: 'muted' }, series.omitted + ' more series not charted.'));
  }

  // Without the series route (an older server), chart the anomalies alone.
  function groupAnomalies(list) {
    const by = new Map();
    for (const a of list) {
      const k = keyName(a.series);
      if (!by.has(k)) by.set(k, { key: a.series, points: [], anomalies: [] });
      by.get(k).anomalies.push(a.id);
    }
    return [...by.values()];
  }

  function renderTimeline(r) {
    const ol = clear($('timeline'));
    if (!r) return;
    for (const e of r.timeline || []) {
      ol.append(h('li', { class: e.kind === 'onset' ? 'onset' : null },
        h('time', { datetime: e.ts }, fmtTime(e.ts)), h('span', null, e.service || ''), h('span', { class: 'kind' }, e.kind), h('span', null, e.summary)));
    }
  }

  // ---------- analyze ----------
  async function analyze() {
    const id = view.id;
    const btn = $('analyze');
    btn.disabled = true;
    $('analyze-status').textContent = 'Analysing…';
    try {
      const r = await api('POST', '/v1/incidents/' + encodeURIComponent(id) + '/analyze', {});
      $('analyze-status').textContent = 'Analysed: ' + (r.hypotheses || []).length + ' hypotheses in ' + fmtNum(r.timings && r.timings.total) + ' ms.';
      view.report = null;
      await loadIncident(id, false);
    } catch (e) {
      $('analyze-status').textContent = '';
      showError('error', e);
    } finally {
      btn.disabled = false;
    }
  }

  // ---------- fix wizard ----------
  const planKey = (incident) => 'faultline.plan.' + incident;
  function rememberPlan(rec) {
    try { sessionStorage.setItem(planKey(rec.plan.incident), rec.plan.id); } catch (_) { /* ignore */ }
  }

  async function loadPlan() {
    const incident = view.id;
    let id = null;
    try { id = sessionStorage.getItem(planKey(incident)); } catch (_) { id = null; }
    if (!id && view.report && view.report.plan) id = view.report.plan.id;
    view.plan = null;
    view.planLoaded = false;
    if (id) {
      try {
        const rec = await api('GET', '/v1/fix/plans/' + encodeURIComponent(id));
        if (rec && rec.plan && rec.plan.incident === incident) view.plan = rec;
      } catch (e) {
        if (e.status !== 404 && e.status !== 401) showError('wizard-error', e);
      }
    }
    view.planLoaded = true;
    if (current.id === incident) renderWizard();
  }

  function fillRunners() {
    const sel = $('execute-runner');
    const prev = sel.value;
    clear(sel);
    for (const r of (session && session.runners) || ['dry-run']) sel.append(h('option', { value: r }, r));
    if (prev) sel.value = prev;
  }

  const ORDER = ['plan', 'preflight', 'approve', 'execute', 'verify'];
  function stepOf(rec) {
    if (!rec) return { next: 'plan', failed: null };
    switch (rec.plan.state) {
      case 'draft': return rec.preflight ? { next: 'preflight', failed: 'preflight' } : { next: 'preflight', failed: null };
      case 'preflighted': return { next: 'approve', failed: null };
      case 'approved': return { next: 'execute', failed: null };
      case 'rejected': return { next: 'plan', failed: 'approve' };
      case 'executing': return { next: 'verify', failed: null };
      case 'failed': return { next: 'plan', failed: 'execute' };
      case 'rolled_back': return { next: 'plan', failed: 'verify' };
      case 'verified': return { next: 'done', failed: null };
      default: return { next: 'plan', failed: null };
    }
  }

  function renderWizard() {
    const rec = view.plan;
    const st = view.planLoaded ? stepOf(rec) : { next: 'loading', failed: null };
    const state = rec ? rec.plan.state : view.planLoaded ? 'none' : 'loading…';
    const stateEl = $('plan-state');
    stateEl.textContent = state;
    stateEl.className = 'state-' + state;
    $('plan-id').textContent = rec ? rec.plan.id : '';
    const nextIdx = st.next === 'done' ? ORDER.length : st.next === 'loading' ? -1 : ORDER.indexOf(st.next);
    const failedIdx = st.failed ? ORDER.indexOf(st.failed) : -1;
    document.querySelectorAll('#wizard-steps li').forEach((li, i) => {
      li.className = '';
      li.removeAttribute('aria-current');
      if (i === failedIdx) li.className = 'failed';
      else if (rec && failedIdx >= 0 && i < failedIdx) li.className = 'done';
      else if (failedIdx < 0 && i < nextIdx) li.className = 'done';
      else if (failedIdx < 0 && nextIdx >= 0 && i === nextIdx) { li.className = 'current'; li.setAttribute('aria-current', 'step'); }
    });
    $('plan-form').hidden = st.next !== 'plan';
    $('plan-button').textContent = rec ? 'Plan again' : 'Plan a fix';
    $('preflight-form').hidden = st.next !== 'preflight';
    $('approve-form').hidden = st.next !== 'approve';
    $('execute-form').hidden = st.next !== 'execute';
    $('verify-form').hidden = st.next !== 'verify';
    if (st.next === 'verify' && !$('verify-windows').value) $('verify-windows').value = defaultWindows(rec);
    if (!$('plan-env').value && view.incident && view.incident.environment) $('plan-env').placeholder = view.incident.environment;
    renderPlanBody(rec);
  }

  function record(title, ...children) {
    return h('section', { class: 'record' }, h('h4', null, title), children);
  }

  function renderPlanBody(rec) {
    const box = clear($('plan-body'));
    if (!rec) return;
    const p = rec.plan;
    box.append(record('Plan',
      h('p', null, p.rationale || ''),
      h('p', null, 'Service ', h('strong', null, p.service), ' · environment ', h('strong', null, p.environment), ' · risk ', fmtNum(p.risk), ' · planned by ', rec.created_by),
      h('table', { class: 'steps-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Action'), h('th', { scope: 'col' }, 'Target'), h('th', { scope: 'col' }, 'Script'), h('th', { scope: 'col' }, 'Rollback'))),
        h('tbody', null, (p.steps || []).map((s, i) => h('tr', null, h('td', null, i + 1), h('td', null, s.action), h('td', null, s.target), h('td', null, h('pre', null, s.script || '')), h('td', null, h('pre', null, s.rollback || ''))))))));
    if (rec.preflight) {
      const rep = rec.preflight.report || {};
      const pol = rep.policy || {};
      box.append(h('section', { class: 'record', id: 'preflight-record' }, h('h4', null, 'Preflight: ', h('span', { class: rep.passed ? 'verdict-allowed' : 'verdict-denied' }, rep.passed ? 'passed' : 'failed')),
        h('p', null, 'Policy verdict: ', h('span', { class: 'policy-verdict ' + (pol.allowed ? 'verdict-allowed' : 'verdict-denied') }, pol.allowed ? 'allowed' : 'denied'),
          (pol.reasons && pol.reasons.length) ? ' — ' + pol.reasons.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('; ') : ''),
        h('p', null, 'Risk ', fmtNum(rep.risk), rep.budget_remaining !== null && rep.budget_remaining !== undefined ? ' · error budget left ' + fmtNum(rep.budget_remaining) : '', ' · runner ', rec.preflight.runner),
        (rep.reasons && rep.reasons.length) ? h('ul', null, rep.reasons.map((x) => h('li', null, typeof x === 'string' ? x : JSON.stringify(x)))) : null,
        h('h4', null, 'Checks'),
        h('ul', { class: 'checks' },
          (rep.dry_runs || []).map((d) => h('li', null, 'dry run of step ' + (d.step + 1) + ': ', h('span', { class: d.status === 0 ? 'verdict-allowed' : 'verdict-denied' }, 'exit ' + d.status), h('pre', null, d.output || ''))),
          (rep.drift || []).map((d) => h('li', null, 'drift: ' + (typeof d === 'string' ? d : JSON.stringify(d)))))));
    }
    if (rec.approval || p.state === 'rejected') {
      const a = rec.approval && rec.approval.approval;
      box.append(record(p.state === 'rejected' ? 'Rejected' : 'Approval',
        a ? h('p', null, 'Approved by ', h('strong', null, rec.approved_by || a.approver), ' at ', fmtTime(a.at), a.comment ? ' — “' + a.comment + '”' : '')
          : h('p', null, 'The plan was rejected (see the audit log for the comment).')));
    }
    if (rec.execution) {
      const x = rec.execution;
      box.append(record('Execution',
        h('p', null, 'Runner ', h('strong', null, x.runner_name), ' · state ', x.state),
        h('ul', null, (x.executions || []).map((e) => h('li', null, 'step ' + (e.step + 1) + ': exit ' + e.status, h('pre', null, e.output || ''))))));
    }
    if (rec.verify) {
      const v = rec.verify;
      const verdict = v.verdict || {};
      box.append(h('section', { class: 'record', id: 'verify-record' }, h('h4', null, 'Verification: ', h('span', { class: 'verdict-' + verdict.outcome }, verdict.outcome || '?')),
        h('p', null, 'State ', v.state, ' · score ', fmtNum(verdict.score)),
        h('ul', null, (v.metrics || []).map((m) => h('li', null, m.reason || m.name))),
        (v.rollbacks && v.rollbacks.length) ? h('p', null, v.rollbacks.length + ' rollback step(s) ran.') : null));
    }
  }

  // Baseline: the plan's service's series before the onset; canary: their latest points.
  function defaultWindows(rec) {
    const baseline = {}, canary = {};
    const onset = view.report ? Date.parse(view.report.incident.onset) : NaN;
    for (const s of (view.series && view.series.series) || []) {
      if (!rec || s.key.service !== rec.plan.service) continue;
      const vals = (s.points || []).filter((p) => p[1] !== null && Number.isFinite(p[1]));
      const before = vals.filter((p) => p[0] < onset).map((p) => p[1]);
      const n = Math.min(30, Math.floor(vals.length / 4));
      if (before.length < 5 || n < 5) continue;
      baseline[s.key.metric] = before.slice(-30);
      canary[s.key.metric] = vals.slice(-n).map((p) => p[1]);
    }
    return JSON.stringify({ baseline, canary }, null, 1);
  }

  async function wizardCall(btn, path, body) {
    hideError('wizard-error');
    const buttons = document.querySelectorAll('#wizard button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const rec = await api('POST', path, body);
      view.plan = rec;
      rememberPlan(rec);
      return rec;
    } catch (e) {
      showError('wizard-error', e);
      return null;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      renderWizard();
    }
  }

  function setupWizard() {
    $('plan-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!view.id) return;
      const body = { incident: view.id };
      const env = $('plan-env').value.trim();
      if (env) body.environment = env;
      $('verify-windows').value = '';
      await wizardCall(ev.submitter, '/v1/fix/plan', body);
    });
    $('preflight-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!view.plan) return;
      await wizardCall(ev.submitter, '/v1/fix/preflight', { plan: view.plan.plan.id });
    });
    $('approve-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!view.plan) return;
      const approve = !(ev.submitter && ev.submitter.value === 'reject');
      await wizardCall(ev.submitter, '/v1/fix/approve', { plan: view.plan.plan.id, approve, comment: $('approve-comment').value });
    });
    $('execute-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!view.plan) return;
      await wizardCall(ev.submitter, '/v1/fix/execute', { plan: view.plan.plan.id, runner: { kind: $('execute-runner').value || 'dry-run' } });
    });
    $('verify-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!view.plan) return;
      let w;
      try {
        w = JSON.parse($('verify-windows').value);
      } catch (e) {
        showError('wizard-error', new ApiError(0, 'windows are not JSON', String(e.message)));
        return;
      }
      await wizardCall(ev.submitter, '/v1/fix/verify', { plan: view.plan.plan.id, baseline: w.baseline || {}, canary: w.canary || {} });
    });
  }

  // ---------- live updates ----------
  let pollTimer = null;
  let stream = null;
  function refresh() {
    if (current.view === 'list') loadList();
    else if (current.id) {
      loadIncident(current.id, false);
      if (view.plan) {
        api('GET', '/v1/fix/plans/' + encodeURIComponent(view.plan.plan.id))
          .then((rec) => { if (view.plan && rec.plan.id === view.plan.plan.id && rec.plan.state !== view.plan.plan.state) { view.plan = rec; renderWizard(); } })
          .catch(() => {});
      }
    }
  }
  function startPolling(why) {
    if (stream) { stream.close(); stream = null; }
    const live = $('live');
    live.className = 'live poll';
    live.textContent = 'Polling every 5 s (' + why + ')';
    if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS);
  }
  async function startLive() {
    // EventSource reports no status: probe first, to say why the page polls instead.
    if (stream) { stream.close(); stream = null; }
    if (typeof EventSource === 'undefined') { startPolling('no EventSource'); return; }
    let probe;
    try {
      const ctl = new AbortController();
      const headers = credential() ? { Authorization: 'Bearer ' + credential() } : {};
      probe = await fetch('/v1/stream', { headers, signal: ctl.signal, cache: 'no-store' });
      ctl.abort();
    } catch (_) {
      startPolling('no live stream');
      return;
    }
    if (!probe.ok) { startPolling(probe.status === 404 ? 'no live stream on this server' : 'live stream refused (' + probe.status + ')'); return; }
    // EventSource sends no headers: the stream route alone accepts the key as ?access_token=.
    const key = credential();
    stream = new EventSource('/v1/stream' + (key ? '?access_token=' + encodeURIComponent(key) : ''));
    const live = $('live');
    let timer = null;
    const kick = () => { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    stream.onopen = () => {
      live.className = 'live on';
      live.textContent = 'Live';
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    };
    for (const name of ['incident.opened', 'incident.analyzed', 'anomaly', 'plan.state', 'message']) stream.addEventListener(name, kick);
    stream.onerror = () => startPolling('live stream lost');
  }

  // ---------- start ----------
  function start() {
    setupSignin();
    setupWizard();
    $('analyze').addEventListener('click', analyze);
    window.addEventListener('hashchange', () => { route(); $('main').focus(); });
    refreshSession();
    route();
    startLive();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
