// The collector's web page: traces, instances, logs, meters and profiling, read from the
// collector's own JSON API. Plain DOM only: every piece of data reaches the page through
// textContent or an attribute, never through HTML parsing, because operation names, tags and
// log bodies come from the network.
'use strict';

(() => {
  const REFRESH_MS = 3000;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const METER_HISTORY = 120;

  // ---------------------------------------------------------------- DOM helpers

  const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'open', 'hidden']);

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.setAttribute('class', value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'style') Object.assign(el.style, value); // CSSOM: allowed by the CSP
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (PROPS.has(key)) el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }

  function append(el, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else if (child instanceof Node) el.appendChild(child);
      else el.appendChild(document.createTextNode(String(child)));
    }
    return el;
  }

  /** An HTML element; string children become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    return append(el, children);
  }

  /** An SVG element. */
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'class') el.setAttribute('class', value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, String(value));
    }
    return append(el, children);
  }

  /** Replaces the children of `el`, keeping the scroll position of `el` and of `keep`. */
  function render(el, ...children) {
    const top = el.scrollTop;
    el.replaceChildren();
    append(el, children);
    el.scrollTop = top;
  }

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- data and formatting

  class ApiError extends Error {
    constructor(status, text) {
      super(text.trim() || `HTTP ${status}`);
      this.status = status;
    }
  }

  async function api(path, options) {
    const response = await fetch(path, { cache: 'no-store', ...options });
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, text);
    return JSON.parse(text);
  }

  const pad = (n, w = 2) => String(n).padStart(w, '0');

  function fmtTime(ms) {
    if (!ms) return '—';
    const d = new Date(ms);
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return time;
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
  }

  function fmtDuration(ms) {
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
    return `${(ms / 60000).toFixed(1)} min`;
  }

  function ago(ms) {
    if (!ms) return 'never';
    const sec = Math.round((Date.now() - ms) / 1000);
    if (sec < 2) return 'just now';
    if (sec < 120) return `${sec} s ago`;
    if (sec < 7200) return `${Math.round(sec / 60)} min ago`;
    return `${Math.round(sec / 3600)} h ago`;
  }

  function fmtNumber(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '—';
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    const abs = Math.abs(v);
    if (abs >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 1 });
    if (abs >= 1) return String(Number(v.toFixed(3)));
    return String(Number(v.toPrecision(3)));
  }

  const PALETTE = ['#3b82c4', '#e08a2c', '#4aa564', '#9062c2', '#c9507a', '#2aa0a4', '#8a7a3a', '#5e6ad2'];

  function hash(text) {
    let n = 0;
    for (let i = 0; i < text.length; i++) n = (n * 31 + text.charCodeAt(i)) | 0;
    return Math.abs(n);
  }

  const serviceColor = (name) => PALETTE[hash(name) % PALETTE.length];

  function serviceChip(name) {
    const chip = h('span', { class: 'chip', title: `service ${name}` }, name);
    chip.style.borderColor = serviceColor(name);
    chip.style.color = serviceColor(name);
    return chip;
  }

  // Python agent component ids (SkyWalking's component-libraries), for readable span metadata.
  const COMPONENTS = {
    0: 'Unknown', 7: 'Redis', 9: 'MongoDB', 22: 'PostgreSQL', 23: 'gRPC', 40: 'KafkaProducer',
    41: 'KafkaConsumer', 47: 'Elasticsearch', 52: 'RabbitmqProducer', 53: 'RabbitmqConsumer',
    73: 'PulsarProducer', 74: 'PulsarConsumer', 94: 'HBase', 112: 'Neo4j', 7000: 'Python', 7001: 'Flask',
    7002: 'Requests', 7003: 'PyMysql', 7004: 'Django', 7005: 'Tornado', 7006: 'Urllib3', 7007: 'Sanic',
    7008: 'AioHttp', 7009: 'Pyramid', 7010: 'Psycopg', 7011: 'Celery', 7012: 'Falcon', 7013: 'MysqlClient',
    7014: 'FastAPI', 7015: 'Bottle', 7016: 'AsyncPG', 7017: 'AIORedis', 7018: 'Websockets', 7019: 'HTTPX',
  };
  const componentName = (id) => (id in COMPONENTS ? `${COMPONENTS[id]} (${id})` : `component ${id}`);

  function kvTable(pairs, className) {
    if (!pairs.length) return h('p', { class: 'muted' }, 'none');
    return h(
      'table',
      { class: `kv ${className || ''}` },
      h('tbody', null, pairs.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)))),
    );
  }

  // Terminal colour codes (werkzeug colours its access log) would show as boxes.
  // eslint-disable-next-line no-control-regex
  const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');

  /** A value that may be long or span lines (a traceback): preformatted. */
  function valueCell(value) {
    const text = stripAnsi(String(value));
    return text.includes('\n') || text.length > 120 ? h('pre', { class: 'pre' }, text) : text;
  }

  // Span log keys whose value is a traceback (`stack` in SkyWalking's convention; the Python
  // agents use `Traceback`).
  const STACK_KEYS = new Set(['stack', 'Traceback']);

  function emptyNote(text) {
    return h('div', { class: 'empty' }, text);
  }

  // Options of a <select>, replaced without losing the current choice (refreshes must not
  // reset what the user picked).
  function fillSelect(select, options, allLabel) {
    const current = select.value;
    const wanted = [['', allLabel], ...options.map((o) => [o, o])];
    const same =
      select.options.length === wanted.length && wanted.every(([v], i) => select.options[i].value === v);
    if (same) return;
    select.replaceChildren(...wanted.map(([v, label]) => h('option', { value: v }, label)));
    if (current && !options.includes(current)) select.append(h('option', { value: current }, current));
    select.value = current;
  }

  // ---------------------------------------------------------------- header counters

  const KINDS = [
    ['segments', 'segments'],
    ['logs', 'logs'],
    ['meters', 'meters'],
    ['snapshots', 'snapshots'],
    ['instanceProperties', 'properties'],
    ['keepAlives', 'keepAlives'],
    ['events', 'events'],
    ['profileTasks', 'tasks'],
  ];

  let lastStats = '';
  async function refreshStats() {
    const stats = await api('/api/stats');
    const key = JSON.stringify(stats);
    if (key === lastStats) return;
    lastStats = key;
    render(
      $('stats'),
      KINDS.map(([field, label]) => {
        const k = stats[field] || {};
        const cell = h(
          'div',
          {
            class: 'stat',
            dataset: { kind: field },
            title: `${label}: received ${k.received}, stored ${k.stored}, evicted ${k.evicted}, ` +
              `rejected ${k.rejected}, ignored ${k.ignored}`,
          },
          h('span', { class: 'stat-name' }, label),
          h('span', { class: 'stat-nums' },
            h('span', { class: 'received' }, fmtNumber(k.received)), ' recv · ',
            h('span', { class: 'stored' }, fmtNumber(k.stored)), ' stored · ',
            h('span', { class: k.evicted ? 'evicted warn' : 'evicted' }, fmtNumber(k.evicted)), ' evicted',
            k.rejected ? h('span', { class: 'bad' }, ` · ${fmtNumber(k.rejected)} rejected`) : null),
        );
        return cell;
      }),
    );
  }

  // ---------------------------------------------------------------- traces

  const traceState = {
    service: '',
    endpoint: '',
    minDuration: '',
    errorsOnly: false,
    open: null, // trace id shown in the waterfall
    selected: null, // `${segmentId}/${spanId}` of the span in the detail panel
    collapsed: new Set(),
    detail: null, // the open trace's JSON
    tree: null,
  };

  /** Spans of all segments as one tree: by parent span inside a segment, and by the first
   * resolvable ref across segments (a segment's root goes under the span that called it). */
  function buildTree(trace) {
    const nodes = new Map();
    for (const seg of trace.segments) {
      for (const span of seg.spans) {
        const key = `${seg.segmentId}/${span.spanId}`;
        if (!nodes.has(key)) nodes.set(key, { key, seg, span, parent: null, via: null, lostRef: null, children: [] });
      }
    }
    for (const node of nodes.values()) {
      const { seg, span } = node;
      let parent = span.parentSpanId >= 0 ? nodes.get(`${seg.segmentId}/${span.parentSpanId}`) : undefined;
      if (!parent) {
        for (const ref of span.refs) {
          const target = nodes.get(`${ref.parentTraceSegmentId}/${ref.parentSpanId}`);
          if (target) {
            parent = target;
            node.via = ref;
            break;
          }
        }
        if (!parent && span.refs.length) node.lostRef = span.refs[0];
      }
      node.parent = parent && parent !== node ? parent : null;
    }
    // Malformed data could make a loop of parents; cut it where it closes.
    for (const node of nodes.values()) {
      const seen = new Set([node]);
      for (let p = node.parent; p; p = p.parent) {
        if (seen.has(p)) {
          node.parent = null;
          node.via = null;
          break;
        }
        seen.add(p);
      }
    }
    const roots = [];
    for (const node of nodes.values()) (node.parent ? node.parent.children : roots).push(node);
    const order = (a, b) => a.span.startTime - b.span.startTime || a.span.spanId - b.span.spanId;
    for (const node of nodes.values()) node.children.sort(order);
    roots.sort(order);
    let start = Infinity;
    let end = -Infinity;
    for (const { span } of nodes.values()) {
      start = Math.min(start, span.startTime);
      end = Math.max(end, span.endTime, span.startTime);
    }
    // Depth-first, with an explicit stack: a chain of thousands of spans must not overflow.
    const flat = [];
    const stack = roots.map((node) => [node, 0]).reverse();
    while (stack.length) {
      const [node, depth] = stack.pop();
      node.depth = depth;
      flat.push(node);
      for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i], depth + 1]);
    }
    return { nodes, roots, flat, start, end: Math.max(end, start + 1) };
  }

  const TracesView = {
    mount(root) {
      this.service = h('select', { id: 'f-service', title: 'Service', onchange: () => this.filterChanged() });
      this.endpoint = h('select', { id: 'f-endpoint', title: 'Endpoint', onchange: () => this.filterChanged() });
      this.minDuration = h('input', {
        id: 'f-min', type: 'number', min: 0, placeholder: 'min ms', title: 'Minimum duration, ms',
        value: traceState.minDuration, oninput: () => this.filterChanged(),
      });
      this.errors = h('input', { id: 'f-errors', type: 'checkbox', checked: traceState.errorsOnly,
        onchange: () => this.filterChanged() });
      fillSelect(this.service, traceState.service ? [traceState.service] : [], 'All services');
      fillSelect(this.endpoint, traceState.endpoint ? [traceState.endpoint] : [], 'All endpoints');
      this.service.value = traceState.service;
      this.endpoint.value = traceState.endpoint;
      this.count = h('div', { class: 'muted count' });
      this.list = h('div', { id: 'trace-list', class: 'trace-list' });
      this.detail = h('div', { id: 'trace-detail', class: 'trace-detail' });
      this.lastList = '';
      this.lastDetail = '';
      render(
        root,
        h('div', { class: 'traces-layout' },
          h('section', { class: 'pane list-pane' },
            h('div', { class: 'filters' },
              this.service, this.endpoint, this.minDuration,
              h('label', { class: 'check' }, this.errors, ' errors only')),
            this.count, this.list),
          h('section', { class: 'pane detail-pane' }, this.detail)),
      );
    },

    filterChanged() {
      traceState.service = this.service.value;
      traceState.endpoint = this.endpoint.value;
      traceState.minDuration = this.minDuration.value.trim();
      traceState.errorsOnly = this.errors.checked;
      this.lastList = '';
      this.refreshList().catch(showError);
    },

    open(traceId) {
      if (traceId !== traceState.open) {
        traceState.open = traceId;
        traceState.selected = null;
        traceState.collapsed = new Set();
        traceState.detail = null;
        this.lastDetail = '';
        for (const row of this.list.querySelectorAll('.trace-row')) {
          row.classList.toggle('selected', row.dataset.traceId === traceId);
        }
        this.reveal = true;
        this.revealOpenRow();
        render(this.detail, emptyNote(traceId ? 'Loading trace…' : 'Select a trace to see its spans across services.'));
      }
    },

    async refresh() {
      await Promise.all([this.refreshFilters(), this.refreshList(), this.refreshDetail()]);
    },

    /** Scrolls the list (not the page) to the open trace once after it was opened, e.g. from
     * a link or a reload; later refreshes leave the user's scroll position alone. */
    revealOpenRow() {
      const row = this.list.querySelector('.trace-row.selected');
      if (!this.reveal || !row) return;
      this.reveal = false;
      const top = row.offsetTop - this.list.offsetTop;
      if (top < this.list.scrollTop || top + row.offsetHeight > this.list.scrollTop + this.list.clientHeight) {
        this.list.scrollTop = Math.max(0, top - this.list.clientHeight / 3);
      }
    },

    async refreshFilters() {
      const services = await api('/api/services');
      fillSelect(this.service, services.map((x) => x.name), 'All services');
      const q = traceState.service ? `?service=${enc(traceState.service)}` : '';
      const endpoints = await api(`/api/endpoints${q}`);
      fillSelect(this.endpoint, [...new Set(endpoints.map((x) => x.name))].sort(), 'All endpoints');
    },

    async refreshList() {
      const q = new URLSearchParams({ limit: '200' });
      if (traceState.service) q.set('service', traceState.service);
      if (traceState.endpoint) q.set('endpoint', traceState.endpoint);
      if (/^\d+$/.test(traceState.minDuration)) q.set('minDuration', traceState.minDuration);
      if (traceState.errorsOnly) q.set('error', 'true');
      // A filter change and the timer may both be asking; only the latest answer is drawn.
      const seq = (this.listSeq = (this.listSeq || 0) + 1);
      const traces = await api(`/api/traces?${q}`);
      if (seq !== this.listSeq) return;
      const key = JSON.stringify(traces);
      if (key === this.lastList) return;
      this.lastList = key;
      this.count.textContent = `${traces.length} trace${traces.length === 1 ? '' : 's'}, newest first`;
      if (!traces.length) {
        render(this.list, emptyNote('No traces match. Run an app under the agent, or relax the filters.'));
        return;
      }
      const longest = Math.max(1, ...traces.map((t) => t.duration));
      render(
        this.list,
        traces.map((t) => {
          const bar = h('span', { class: 'dur-bar' });
          bar.style.width = `${Math.max(1, (t.duration / longest) * 100)}%`;
          return h(
            'a',
            {
              class: `trace-row${t.error ? ' error' : ''}${t.traceId === traceState.open ? ' selected' : ''}`,
              href: `#/traces/${enc(t.traceId)}`,
              dataset: { traceId: t.traceId, endpoint: t.endpoint, error: String(t.error) },
            },
            h('div', { class: 'row-main' },
              t.error ? h('span', { class: 'err-mark', title: 'has an error span' }, '!') : null,
              h('span', { class: 'endpoint' }, t.endpoint || '(no endpoint)'),
              h('span', { class: 'duration' }, fmtDuration(t.duration))),
            h('div', { class: 'row-sub' },
              h('span', { class: 'services' }, t.services.map(serviceChip)),
              h('span', { class: 'muted' }, `${t.spanCount} spans`),
              h('span', { class: 'start' }, fmtTime(t.start))),
            h('div', { class: 'dur-track' }, bar),
          );
        }),
      );
      this.revealOpenRow();
    },

    async refreshDetail() {
      const id = traceState.open;
      if (!id) {
        if (this.lastDetail !== 'none') {
          this.lastDetail = 'none';
          render(this.detail, emptyNote('Select a trace to see its spans across services.'));
        }
        return;
      }
      let trace;
      let logs = [];
      try {
        [trace, logs] = await Promise.all([api(`/api/traces/${enc(id)}`), api(`/api/logs?traceId=${enc(id)}`)]);
      } catch (e) {
        if (id !== traceState.open) return;
        if (e instanceof ApiError && e.status === 404) {
          this.lastDetail = '404';
          render(this.detail, emptyNote(`Trace ${id} is not held (never received, evicted or reset).`));
          return;
        }
        throw e;
      }
      if (id !== traceState.open) return;
      const key = JSON.stringify([trace, logs]);
      if (key === this.lastDetail) return;
      this.lastDetail = key;
      traceState.detail = trace;
      traceState.logs = logs;
      traceState.tree = buildTree(trace);
      if (!traceState.selected || !traceState.tree.nodes.has(traceState.selected)) {
        // Show the error straight away: the error span carrying logs (the traceback), else the
        // deepest error span (closest to the cause), else the first span.
        const flat = traceState.tree.flat;
        const errors = flat.filter((n) => n.span.isError);
        const pick = errors.find((n) => n.span.logs.length) || errors[errors.length - 1] || flat[0];
        traceState.selected = pick ? pick.key : null;
      }
      this.drawDetail();
    },

    drawDetail() {
      const trace = traceState.detail;
      const tree = traceState.tree;
      const header = h('div', { class: 'trace-head' },
        h('h2', null,
          trace.error ? h('span', { class: 'badge error' }, 'error') : null,
          h('span', { class: 'endpoint' }, trace.endpoint || '(no endpoint)')),
        h('div', { class: 'meta' },
          h('span', null, 'trace ', h('code', { class: 'trace-id' }, trace.traceId)),
          h('span', null, fmtTime(trace.start)),
          h('span', null, fmtDuration(trace.duration)),
          h('span', null, `${trace.segmentCount} segments, ${trace.spanCount} spans`),
          h('span', null, trace.services.map(serviceChip))));
      this.waterfall = h('div', { class: 'waterfall', id: 'waterfall' });
      this.spanPanel = h('div', { class: 'panel span-detail', id: 'span-detail' });
      this.drawWaterfall(tree);
      this.drawSpan();
      const logs = traceState.logs || [];
      const logPanel = h('div', { class: 'panel trace-logs', id: 'trace-logs' },
        h('h3', null, `Logs of this trace (${logs.length})`),
        logs.length ? logs.map((l) => logEntry(l, true)) : h('p', { class: 'muted' }, 'No logs carry this trace id.'));
      render(this.detail, header, this.waterfall, h('div', { class: 'below' }, this.spanPanel, logPanel));
    },

    drawWaterfall(tree) {
      const range = tree.end - tree.start;
      const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
        const tick = h('span', { class: 'tick' }, `${Number((f * range).toFixed(range < 10 ? 1 : 0))} ms`);
        tick.style.left = `${f * 100}%`;
        return tick;
      });
      const rows = [];
      // `flat` is depth-first: a collapsed span hides what follows it until the depth is back.
      let hideBelow = Infinity;
      for (const node of tree.flat) {
        if (node.depth > hideBelow) continue;
        hideBelow = traceState.collapsed.has(node.key) ? node.depth : Infinity;
        rows.push(this.spanRow(node, tree));
      }
      render(this.waterfall,
        h('div', { class: 'wf-row wf-head' },
          h('div', { class: 'wf-label' }, 'Span'),
          h('div', { class: 'wf-time' }, ticks)),
        rows);
    },

    spanRow(node, tree) {
      const { span, seg } = node;
      const range = tree.end - tree.start;
      const duration = Math.max(0, span.endTime - span.startTime);
      const bar = h('div', { class: `wf-bar${span.isError ? ' error' : ''}` });
      const left = ((span.startTime - tree.start) / range) * 100;
      bar.style.left = `${left}%`;
      bar.style.width = `${Math.max(0.4, (duration / range) * 100)}%`;
      if (!span.isError) bar.style.background = serviceColor(seg.service);
      const label = h('span', { class: 'wf-dur' }, fmtDuration(duration));
      if (left > 70) {
        label.style.right = `${100 - left}%`;
        label.classList.add('before');
      } else label.style.left = `calc(${left + (duration / range) * 100}% + 4px)`;
      const collapsed = traceState.collapsed.has(node.key);
      const toggle = node.children.length
        ? h('button', {
          class: 'toggle', type: 'button', title: collapsed ? 'Expand' : 'Collapse',
          onclick: (ev) => {
            ev.stopPropagation();
            if (collapsed) traceState.collapsed.delete(node.key);
            else traceState.collapsed.add(node.key);
            this.drawWaterfall(traceState.tree);
          },
        }, collapsed ? `▸ ${node.children.length}` : '▾')
        : h('span', { class: 'toggle-space' });
      const meta = [span.componentId ? componentName(span.componentId) : null,
        span.spanLayer !== 'Unknown' ? span.spanLayer : null,
        span.peer ? `peer ${span.peer}` : null].filter(Boolean).join(' · ');
      const labelBox = h('div', { class: 'wf-label' },
        h('div', { class: 'wf-line' },
          toggle,
          h('span', { class: `type type-${span.spanType}`, title: `${span.spanType} span` }, span.spanType),
          span.isError ? h('span', { class: 'err-mark', title: 'error span' }, '!') : null,
          h('span', { class: 'op', title: span.operationName }, span.operationName),
          serviceChip(seg.service)),
        h('div', { class: 'wf-meta' },
          node.via ? h('span', { class: 'via', title: `${node.via.refType} from ${node.via.parentService}` },
            node.via.refType === 'CrossThread' ? '⇢ thread' : '⇢ remote') : null,
          node.lostRef ? h('span', { class: 'via lost', title: 'the parent segment is not held' }, '⇢ ?') : null,
          meta));
      // Past a couple of dozen levels the indent stops growing, so names stay readable.
      labelBox.style.paddingLeft = `${4 + Math.min(node.depth, 24) * 16}px`;
      return h('div', {
        class: `wf-row span-row${span.isError ? ' error' : ''}${node.key === traceState.selected ? ' selected' : ''}`,
        dataset: {
          key: node.key,
          parentKey: node.parent ? node.parent.key : '',
          service: seg.service,
          op: span.operationName,
          type: span.spanType,
          depth: String(node.depth),
          error: String(span.isError),
        },
        tabindex: '0',
        onclick: () => this.select(node.key),
        onkeydown: (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            this.select(node.key);
          }
        },
      }, labelBox, h('div', { class: 'wf-time' }, bar, label));
    },

    select(key) {
      traceState.selected = key;
      for (const row of this.waterfall.querySelectorAll('.span-row')) {
        row.classList.toggle('selected', row.dataset.key === key);
      }
      this.drawSpan();
    },

    drawSpan() {
      const node = traceState.tree && traceState.tree.nodes.get(traceState.selected);
      if (!node) {
        render(this.spanPanel, emptyNote('Click a span to see its tags, logs and refs.'));
        return;
      }
      const { span, seg } = node;
      const fields = [
        ['service', seg.service],
        ['instance', seg.serviceInstance],
        ['segment', seg.segmentId],
        ['span id', `${span.spanId} (parent ${span.parentSpanId})`],
        ['type', `${span.spanType} · ${span.spanLayer}`],
        ['component', componentName(span.componentId)],
        ['peer', span.peer || '—'],
        ['start', fmtTime(span.startTime)],
        ['duration', fmtDuration(Math.max(0, span.endTime - span.startTime))],
      ];
      if (span.skipAnalysis) fields.push(['skipAnalysis', 'true']);
      if (seg.isSizeLimited) fields.push(['segment', 'size-limited: the agent dropped spans']);
      render(this.spanPanel,
        h('h3', null,
          span.isError ? h('span', { class: 'badge error' }, 'error') : null,
          h('span', { class: 'op' }, span.operationName)),
        kvTable(fields, 'fields'),
        h('h4', null, `Tags (${span.tags.length})`),
        kvTable(span.tags.map((t) => [t.key, valueCell(t.value)]), 'tags'),
        h('h4', null, `Logs (${span.logs.length})`),
        span.logs.length
          ? span.logs.map((log) => {
            // A traceback gets the panel's full width, under the event's other fields.
            const fields = log.data.filter((d) => !STACK_KEYS.has(d.key));
            const stacks = log.data.filter((d) => STACK_KEYS.has(d.key));
            return h('div', { class: 'span-log' },
              h('div', { class: 'muted' }, fmtTime(log.time)),
              fields.length ? kvTable(fields.map((d) => [d.key, valueCell(d.value)]), 'log-data') : null,
              stacks.map((d) => h('div', { class: 'stack-block' },
                h('div', { class: 'stack-key' }, d.key),
                h('pre', { class: 'pre stack' }, stripAnsi(d.value)))));
          })
          : h('p', { class: 'muted' }, 'none'),
        h('h4', null, `Refs (${span.refs.length})`),
        span.refs.length ? span.refs.map((r) => this.refBlock(r)) : h('p', { class: 'muted' }, 'none'));
    },

    refBlock(ref) {
      const target = `${ref.parentTraceSegmentId}/${ref.parentSpanId}`;
      const held = traceState.tree.nodes.has(target);
      return h('div', { class: 'ref' },
        kvTable([
          ['type', ref.refType],
          ['parent service', ref.parentServiceInstance ? `${ref.parentService} (${ref.parentServiceInstance})`
            : ref.parentService],
          ['parent endpoint', ref.parentEndpoint],
          ['parent span', held
            ? h('a', { href: '#', class: 'goto', onclick: (ev) => { ev.preventDefault(); this.select(target); } },
              `${ref.parentTraceSegmentId} #${ref.parentSpanId}`)
            : `${ref.parentTraceSegmentId} #${ref.parentSpanId} (not held)`],
          ['address used', ref.networkAddressUsedAtPeer],
        ], 'refs'));
    },
  };

  // ---------------------------------------------------------------- logs

  function logLevel(log) {
    const tag = log.tags.find((t) => t.key === 'level');
    return tag ? tag.value : '';
  }

  const expandedLogs = new Set();

  function logEntry(log, inTrace) {
    const level = logLevel(log);
    const key = `${log.timestamp}|${log.serviceInstance}|${log.content.slice(0, 80)}`;
    const long = log.content.split('\n').length > 6 || log.content.length > 600;
    const content = h('pre', { class: `pre log-content${long && !expandedLogs.has(key) ? ' clipped' : ''}` },
      stripAnsi(log.content));
    const more = long
      ? h('button', {
        type: 'button', class: 'link',
        onclick: () => {
          if (expandedLogs.has(key)) expandedLogs.delete(key);
          else expandedLogs.add(key);
          content.classList.toggle('clipped');
          more.textContent = content.classList.contains('clipped') ? 'show all' : 'show less';
        },
      }, expandedLogs.has(key) ? 'show less' : 'show all')
      : null;
    const ctx = log.traceContext;
    let traceLink = null;
    if (ctx && ctx.traceId) {
      traceLink = inTrace
        ? h('a', {
          href: '#', class: 'goto', title: 'Show the span that wrote this log',
          onclick: (ev) => { ev.preventDefault(); TracesView.select(`${ctx.traceSegmentId}/${ctx.spanId}`); },
        }, `span #${ctx.spanId}`)
        : h('a', { class: 'trace-link', href: `#/traces/${enc(ctx.traceId)}`, title: `trace ${ctx.traceId}` },
          `trace ${ctx.traceId.length > 14 ? `${ctx.traceId.slice(0, 14)}…` : ctx.traceId}`);
    }
    const otherTags = log.tags.filter((t) => t.key !== 'level').map((t) => `${t.key}=${t.value}`).join('  ');
    return h('div', { class: `log-entry level-${level.toLowerCase()}`, dataset: { traceId: ctx ? ctx.traceId : '' } },
      h('div', { class: 'log-head' },
        h('span', { class: 'muted' }, fmtTime(log.timestamp)),
        level ? h('span', { class: 'level' }, level) : null,
        serviceChip(log.service),
        log.endpoint ? h('span', { class: 'endpoint' }, log.endpoint) : null,
        traceLink,
        otherTags ? h('span', { class: 'muted tags' }, otherTags) : null),
      content, more);
  }

  const logState = { service: '', traceId: '', text: '' };

  const LogsView = {
    mount(root) {
      this.service = h('select', { title: 'Service', onchange: () => this.changed() });
      fillSelect(this.service, logState.service ? [logState.service] : [], 'All services');
      this.service.value = logState.service;
      this.traceId = h('input', { type: 'text', placeholder: 'trace id', value: logState.traceId,
        oninput: () => this.changed() });
      this.text = h('input', { type: 'search', placeholder: 'contains…', value: logState.text,
        oninput: () => this.changed() });
      this.count = h('div', { class: 'muted count' });
      this.list = h('div', { class: 'log-list', id: 'log-list' });
      this.last = '';
      render(root, h('section', { class: 'pane wide' },
        h('div', { class: 'filters' }, this.service, this.traceId, this.text),
        this.count, this.list));
    },
    changed() {
      logState.service = this.service.value;
      logState.traceId = this.traceId.value.trim();
      logState.text = this.text.value;
      this.last = '';
      this.refresh().catch(showError);
    },
    async refresh() {
      const services = await api('/api/services');
      fillSelect(this.service, services.map((x) => x.name), 'All services');
      const q = new URLSearchParams({ limit: '500' });
      if (logState.service) q.set('service', logState.service);
      if (logState.traceId) q.set('traceId', logState.traceId);
      const seq = (this.seq = (this.seq || 0) + 1);
      let logs = await api(`/api/logs?${q}`);
      if (seq !== this.seq) return;
      const key = JSON.stringify([logs, logState.text]);
      if (key === this.last) return;
      this.last = key;
      const needle = logState.text.toLowerCase();
      if (needle) logs = logs.filter((l) => l.content.toLowerCase().includes(needle));
      this.count.textContent = `${logs.length} log${logs.length === 1 ? '' : 's'}, newest first`;
      render(this.list, logs.length ? logs.map((l) => logEntry(l, false)) : emptyNote('No logs.'));
    },
  };

  // ---------------------------------------------------------------- instances

  const InstancesView = {
    mount(root) {
      this.box = h('div', { class: 'cards', id: 'instances' });
      this.last = '';
      render(root, this.box);
    },
    async refresh() {
      const instances = await api('/api/instances');
      // Re-render every time: the "ago" texts move even when the data does not.
      const byService = new Map();
      for (const inst of instances) {
        if (!byService.has(inst.service)) byService.set(inst.service, []);
        byService.get(inst.service).push(inst);
      }
      if (!byService.size) {
        render(this.box,
          emptyNote('No instances yet. Agents report properties and keepAlive pings shortly after start.'));
        return;
      }
      render(this.box, [...byService].map(([service, list]) => h('section', { class: 'card' },
        h('h3', null, serviceChip(service), ` ${list.length} instance${list.length === 1 ? '' : 's'}`),
        h('table', { class: 'grid' },
          h('thead', null, h('tr', null, ['Instance', 'Layer', 'Last keepAlive', 'Pings', 'Segments', 'Properties']
            .map((c) => h('th', null, c)))),
          h('tbody', null, list.map((inst) => {
            const alive = inst.lastKeepAlive && Date.now() - inst.lastKeepAlive < 60000;
            return h('tr', { dataset: { instance: inst.name } },
              h('td', null, h('span', { class: `dot ${alive ? 'alive' : 'stale'}`,
                title: alive ? 'pinged within the last minute' : 'no recent keepAlive' }), h('b', null, inst.name)),
              h('td', null, inst.layer || '—'),
              h('td', null, inst.lastKeepAlive
                ? [fmtTime(inst.lastKeepAlive), h('div', { class: 'muted' }, ago(inst.lastKeepAlive))]
                : h('span', { class: 'muted' }, 'never')),
              h('td', { class: 'num' }, fmtNumber(inst.keepAliveCount)),
              h('td', { class: 'num' }, fmtNumber(inst.segments)),
              h('td', null, inst.properties.length
                ? [kvTable(inst.properties.map((p) => [p.key, p.value]), 'props'),
                  h('div', { class: 'muted' }, `reported ${ago(inst.propertiesTime)}`)]
                : h('span', { class: 'muted' }, 'none reported')));
          }))))));
    },
  };

  // ---------------------------------------------------------------- meters

  const meterHistory = new Map(); // meter key -> [{t, v}], values seen while the page is open

  function meterKey(m) {
    return JSON.stringify([m.service, m.name, m.labels.map((l) => [l.name, l.value])]);
  }

  function recordMeters(meters) {
    for (const m of meters) {
      if (m.kind !== 'singleValue' || m.value === null) continue;
      const key = meterKey(m);
      const seen = meterHistory.get(key) || [];
      if (!seen.length || seen[seen.length - 1].t !== m.timestamp) seen.push({ t: m.timestamp, v: m.value });
      if (seen.length > METER_HISTORY) seen.splice(0, seen.length - METER_HISTORY);
      meterHistory.set(key, seen);
    }
  }

  function sparkline(points) {
    const width = 160;
    const height = 32;
    const box = s('svg', { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
    if (!points.length) return box;
    const values = points.map((p) => p.v);
    const min = Math.min(...values);
    const max = Math.max(...values);
    const span = max - min || 1;
    const step = points.length > 1 ? (width - 4) / (points.length - 1) : 0;
    const xy = points.map((p, i) => [2 + i * step, height - 3 - ((p.v - min) / span) * (height - 6)]);
    if (points.length === 1) xy[0][0] = width - 3;
    if (points.length > 1) {
      const area = `2,${height - 1} ${xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')} ` +
        `${xy[xy.length - 1][0].toFixed(1)},${height - 1}`;
      box.append(s('polygon', { class: 'spark-area', points: area }));
      const line = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
      box.append(s('polyline', { class: 'spark-line', points: line }));
    }
    const [lx, ly] = xy[xy.length - 1];
    box.append(s('circle', { class: 'spark-dot', cx: lx.toFixed(1), cy: ly.toFixed(1), r: 2.5 }));
    box.append(s('title', null, `${points.length} values; min ${fmtNumber(min)}, max ${fmtNumber(max)}`));
    return box;
  }

  function histogram(buckets) {
    const width = 160;
    const height = 40;
    const box = s('svg', { class: 'histo', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
    if (!buckets.length) return box;
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const slot = width / buckets.length;
    buckets.forEach((b, i) => {
      const barHeight = (b.count / max) * (height - 4);
      const low = b.isNegativeInfinity ? '-∞' : fmtNumber(b.bucket);
      const high = i + 1 < buckets.length ? fmtNumber(buckets[i + 1].bucket) : '+∞';
      box.append(s('rect', {
        class: 'histo-bar', x: (i * slot + 1).toFixed(1), y: (height - 1 - barHeight).toFixed(1),
        width: Math.max(1, slot - 2).toFixed(1), height: Math.max(0.5, barHeight).toFixed(1),
      }, s('title', null, `[${low}, ${high}): ${b.count}`)));
    });
    box.append(s('line', { class: 'axis', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }));
    return box;
  }

  function histogramCell(buckets) {
    if (!buckets.length) return h('span', { class: 'muted' }, 'no buckets');
    const first = buckets[0];
    const low = first.isNegativeInfinity ? '-∞' : fmtNumber(first.bucket);
    const high = `${fmtNumber(buckets[buckets.length - 1].bucket)}+`;
    return [histogram(buckets), h('div', { class: 'axis-labels' }, h('span', null, low), h('span', null, high))];
  }

  // One card per instance: its meters, each single value plotted over the values the
  // collector holds (GET /api/meters/series), histograms as their latest buckets.
  const MetersView = {
    mount(root) {
      this.box = h('div', { class: 'cards', id: 'meters' });
      render(root, this.box);
    },
    async refresh() {
      const meters = await api('/api/meters');
      recordMeters(meters);
      const services = [...new Set(meters.map((m) => m.service))];
      const series = new Map(); // [instance, name, labels] -> points
      await Promise.all(services.map(async (service) => {
        for (const one of await api(`/api/meters/series?service=${enc(service)}`)) {
          const key = JSON.stringify([one.service, one.serviceInstance, one.name,
            one.labels.map((l) => [l.name, l.value])]);
          series.set(key, one.points.map(([t, v]) => ({ t, v })));
        }
      }));
      const byInstance = new Map();
      for (const m of meters) {
        const key = JSON.stringify([m.service, m.serviceInstance]);
        if (!byInstance.has(key)) byInstance.set(key, []);
        byInstance.get(key).push(m);
      }
      if (!byInstance.size) {
        render(this.box, emptyNote('No meters yet. The agent reports runtime meters every few seconds.'));
        return;
      }
      const pointsOf = (m) => series.get(JSON.stringify([m.service, m.serviceInstance, m.name,
        m.labels.map((l) => [l.name, l.value])])) || meterHistory.get(meterKey(m)) || [];
      render(this.box, [...byInstance].map(([key, list]) => {
        const [service, instance] = JSON.parse(key);
        return h('section', { class: 'card instance-meters', dataset: { service, instance } },
          h('h3', null, serviceChip(service), ` ${instance} `,
            h('span', { class: 'muted' }, `${list.length} meter${list.length === 1 ? '' : 's'}`)),
          h('table', { class: 'grid meters' },
            h('thead', null, h('tr', null, ['Meter', 'Latest', 'Over time', 'Updated']
              .map((c) => h('th', null, c)))),
            h('tbody', null, list.map((m) => {
              const single = m.kind === 'singleValue';
              const total = single ? 0 : (m.buckets || []).reduce((a, b) => a + b.count, 0);
              const points = single ? pointsOf(m) : [];
              return h('tr', { class: 'meter', dataset: { name: m.name, kind: m.kind, points: points.length } },
                h('td', null, h('div', { class: 'meter-name' }, m.name),
                  m.labels.map((l) => h('span', { class: 'label' }, `${l.name}=${l.value}`))),
                h('td', { class: 'num value' }, single ? fmtNumber(m.value) : `n=${fmtNumber(total)}`),
                h('td', null, single ? sparkline(points) : histogramCell(m.buckets || [])),
                h('td', { class: 'muted' }, fmtTime(m.timestamp), h('div', null, `${m.reports} held`)));
            }))));
      }));
    },
  };

  // ---------------------------------------------------------------- profiling

  const profileState = {
    task: null, // selected task id
    segment: '',
    expanded: new Map(), // call-tree path -> open?
    zoom: null, // flame graph root path
  };

  function localInputValue(ms) {
    const d = new Date(ms);
    const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    return `${day}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** A frame `/dir/file.py.func: 12` as [`/dir/`, `file.py.func: 12`], for short labels. */
  function splitFrame(signature) {
    const cut = signature.lastIndexOf('/', signature.search(/\.py[.:]|:\s*\d+$/) >>> 0);
    return cut > 0 ? [signature.slice(0, cut + 1), signature.slice(cut + 1)] : ['', signature];
  }

  function taskStatus(task) {
    const now = Date.now();
    if (task.finishes.length) return ['finished', 'ok'];
    if (now < task.startTime) return ['scheduled', 'idle'];
    if (now > task.startTime + task.duration * 60000) return [task.snapshotCount ? 'ended' : 'expired', 'idle'];
    return ['running', 'run'];
  }

  const ProfilingView = {
    mount(root) {
      const field = (label, input, hint, { tag = 'label', wide = false } = {}) => h(tag,
        { class: wide ? 'field wide' : 'field' },
        h('span', null, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
      this.fService = h('select', { name: 'service', required: true, onchange: () => this.refreshEndpoints() });
      this.fEndpoints = h('datalist', { id: 'endpoint-options' });
      this.fEndpoint = h('input', { name: 'endpointName', type: 'text', required: true, list: 'endpoint-options',
        placeholder: '/users' });
      // Start defaults to the moment of submission; a fixed default would age while the page is open.
      this.fStart = h('input', { name: 'startTime', type: 'datetime-local', value: localInputValue(Date.now()),
        disabled: true });
      this.fNow = h('input', { type: 'checkbox', name: 'startNow', checked: true,
        onchange: () => { this.fStart.disabled = this.fNow.checked; } });
      this.fDuration = h('input', { name: 'duration', type: 'number', min: 1, max: 60, value: '5', required: true });
      this.fMin = h('input', { name: 'minDurationThreshold', type: 'number', min: 0, value: '0', required: true });
      this.fDump = h('input', { name: 'dumpPeriod', type: 'number', min: 10, value: '10', required: true });
      this.fMax = h('input', { name: 'maxSamplingCount', type: 'number', min: 1, max: 9, value: '5', required: true });
      this.message = h('div', { class: 'form-message', id: 'task-message', role: 'status' });
      this.form = h('form', { id: 'task-form', class: 'task-form', onsubmit: (ev) => this.submit(ev) },
        field('Service', this.fService),
        field('Endpoint', this.fEndpoint, 'entry span operation name'),
        this.fEndpoints,
        field('Start', h('span', { class: 'start-row' }, this.fStart,
          h('label', { class: 'check' }, this.fNow, ' now')), 'local time', { tag: 'div', wide: true }),
        field('Duration, min', this.fDuration, '1 to 60'),
        field('Min duration, ms', this.fMin, 'only slower requests'),
        field('Dump period, ms', this.fDump, 'at least 10'),
        field('Max samples', this.fMax, '1 to 9'),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create task'), this.message));
      this.tasks = h('div', { class: 'task-list', id: 'task-list' });
      this.analysis = h('div', { class: 'analysis', id: 'analysis' });
      this.lastTasks = '';
      this.lastAnalysis = '';
      render(root, h('div', { class: 'profiling-layout' },
        h('section', { class: 'pane' },
          h('h3', null, 'New profile task'), this.form,
          h('h3', null, 'Tasks'), this.tasks),
        h('section', { class: 'pane' }, this.analysis)));
    },

    open(taskId) {
      if (taskId !== profileState.task) {
        profileState.task = taskId;
        profileState.segment = '';
        profileState.expanded = new Map();
        profileState.zoom = null;
        this.lastAnalysis = '';
        for (const row of this.tasks.querySelectorAll('.task')) {
          row.classList.toggle('selected', row.dataset.taskId === taskId);
        }
        render(this.analysis, emptyNote(taskId ? 'Loading analysis…' : 'Select a task to see its call tree.'));
      }
    },

    async submit(ev) {
      ev.preventDefault();
      const start = this.fNow.checked || !this.fStart.value ? Date.now() : new Date(this.fStart.value).getTime();
      const body = {
        service: this.fService.value,
        endpointName: this.fEndpoint.value.trim(),
        startTime: Number.isFinite(start) ? start : Date.now(),
        duration: Number(this.fDuration.value),
        minDurationThreshold: Number(this.fMin.value),
        dumpPeriod: Number(this.fDump.value),
        maxSamplingCount: Number(this.fMax.value),
      };
      this.message.className = 'form-message';
      this.message.textContent = 'Creating…';
      try {
        const task = await api('/api/profile/tasks', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
        });
        this.message.classList.add('ok');
        this.message.textContent = `Task ${task.id} created.`;
        this.lastTasks = '';
        location.hash = `#/profiling/${enc(task.id)}`;
        await this.refreshTasks();
      } catch (e) {
        this.message.classList.add('bad');
        this.message.textContent = `Not created: ${e.message}`;
      }
    },

    async refresh() {
      if (this.fNow.checked) this.fStart.value = localInputValue(Date.now());
      // Tasks first: the analysis header names the task's endpoint and service.
      await Promise.all([this.refreshServices(), this.refreshTasks().then(() => this.refreshAnalysis())]);
    },

    async refreshServices() {
      const services = await api('/api/services');
      const names = services.map((x) => x.name);
      const before = this.fService.value;
      fillSelect(this.fService, names, '— service —');
      if (!before && names.length === 1) this.fService.value = names[0];
      if (this.fService.value !== before || !this.endpointsLoaded) await this.refreshEndpoints();
    },

    async refreshEndpoints() {
      const service = this.fService.value;
      const endpoints = service ? await api(`/api/endpoints?service=${enc(service)}`) : [];
      this.endpointsLoaded = true;
      const names = [...new Set(endpoints.map((e) => e.name))];
      this.fEndpoints.replaceChildren(...names.map((n) => h('option', { value: n })));
    },

    async refreshTasks() {
      const tasks = await api('/api/profile/tasks');
      // Statuses depend on the clock too, so the key changes every ten seconds.
      const key = JSON.stringify([tasks, Math.floor(Date.now() / 10000)]);
      if (key === this.lastTasks) return;
      this.lastTasks = key;
      if (!tasks.length) {
        render(this.tasks, emptyNote('No tasks yet.'));
        return;
      }
      render(this.tasks, tasks.map((t) => {
        const [status, tone] = taskStatus(t);
        return h('a', {
          class: `task${t.id === profileState.task ? ' selected' : ''}`, href: `#/profiling/${enc(t.id)}`,
          dataset: { taskId: t.id, status },
        },
        h('div', { class: 'row-main' },
          h('span', { class: 'endpoint' }, t.endpointName),
          serviceChip(t.service),
          h('span', { class: `status ${tone}` }, status)),
        h('div', { class: 'row-sub muted' },
          h('span', null, `start ${fmtTime(t.startTime)}`),
          h('span', null, `${t.duration} min`),
          h('span', null, `≥ ${t.minDurationThreshold} ms`),
          h('span', null, `every ${t.dumpPeriod} ms`),
          h('span', null, `max ${t.maxSamplingCount}`)),
        h('div', { class: 'row-sub' },
          h('span', { class: 'snapshots' }, `${t.snapshotCount} snapshot${t.snapshotCount === 1 ? '' : 's'}`),
          h('span', null, `${t.segmentIds.length} segment${t.segmentIds.length === 1 ? '' : 's'}`),
          t.finishes.length
            ? h('span', null, `finished by ${t.finishes.map((f) => f.serviceInstance).join(', ')}`)
            : null));
      }));
      this.tasksById = new Map(tasks.map((t) => [t.id, t]));
    },

    async refreshAnalysis() {
      const id = profileState.task;
      if (!id) {
        if (this.lastAnalysis !== 'none') {
          this.lastAnalysis = 'none';
          render(this.analysis, emptyNote('Select a task to see its call tree and flame graph.'));
        }
        return;
      }
      const q = new URLSearchParams({ taskId: id });
      if (profileState.segment) q.set('segmentId', profileState.segment);
      let analysis;
      let all;
      try {
        [analysis, all] = await Promise.all([
          api(`/api/profile/analysis?${q}`),
          profileState.segment ? api(`/api/profile/analysis?taskId=${enc(id)}`) : null,
        ]);
      } catch (e) {
        if (id !== profileState.task) return;
        if (e instanceof ApiError && e.status === 404) {
          render(this.analysis, emptyNote(`Task ${id} is not held.`));
          this.lastAnalysis = '404';
          return;
        }
        throw e;
      }
      if (id !== profileState.task) return;
      const key = JSON.stringify(analysis);
      if (key === this.lastAnalysis) return;
      this.lastAnalysis = key;
      this.data = analysis;
      this.segments = (all || analysis).segments;
      this.drawAnalysis();
    },

    drawAnalysis() {
      const a = this.data;
      const task = this.tasksById && this.tasksById.get(a.taskId);
      const segmentSelect = h('select', {
        title: 'Segment',
        onchange: (ev) => {
          profileState.segment = ev.target.value;
          profileState.zoom = null;
          this.lastAnalysis = '';
          this.refreshAnalysis().catch(showError);
        },
      }, h('option', { value: '' }, `All segments (${this.segments.length})`),
      this.segments.map((id) => h('option', { value: id }, id)));
      segmentSelect.value = profileState.segment;
      const head = h('div', { class: 'analysis-head' },
        h('h3', null, task ? task.endpointName : a.taskId, task ? [' ', serviceChip(task.service)] : null),
        h('div', { class: 'meta' },
          h('span', null, `task ${a.taskId}`),
          h('span', { class: 'snapshot-count' }, `${a.snapshotCount} snapshots`),
          h('span', null, `one every ${a.dumpPeriod} ms`),
          this.segments.length ? segmentSelect : null));
      if (!a.snapshotCount) {
        const threshold = task ? task.minDurationThreshold : 0;
        render(this.analysis, head, emptyNote(
          'No snapshots yet. Agents of this service pick the task up on their next poll, then sample ' +
          `requests to this endpoint that take longer than ${threshold} ms.`));
        return;
      }
      const total = a.snapshotCount;
      this.flame = h('div', { class: 'flame', id: 'flame' });
      this.drawFlame(total);
      render(this.analysis, head,
        h('h4', null, 'Flame graph ', h('small', { class: 'muted' }, 'width = share of snapshots; click to zoom')),
        this.flame,
        h('h4', null, 'Call tree'),
        h('div', { class: 'calltree', id: 'calltree' },
          h('div', { class: 'ct-row ct-head' },
            h('span', { class: 'ct-sig' }, 'Frame'), h('span', { class: 'num' }, 'Samples'),
            h('span', { class: 'num' }, 'Self'), h('span', { class: 'num' }, 'Time'),
            h('span', { class: 'ct-pct' }, '%')),
          a.trees.map((node, i) => this.treeNode(node, String(i), 0, total))));
    },

    treeNode(node, path, depth, total) {
      const remembered = profileState.expanded.get(path);
      // Unless the user chose, open the hot paths: frames in at least a fifth of the samples.
      const open = remembered === undefined ? depth < 2 || (node.count / total >= 0.2 && depth < 60) : remembered;
      const pct = total ? (node.count / total) * 100 : 0;
      const bar = h('span', { class: 'pct-bar' });
      bar.style.width = `${pct}%`;
      const children = h('div', { class: 'ct-children' });
      const toggle = node.children.length
        ? h('button', { type: 'button', class: 'toggle' }, open ? '▾' : '▸')
        : h('span', { class: 'toggle-space' });
      const fill = () => append(children,
        node.children.map((c, i) => this.treeNode(c, `${path}/${i}`, depth + 1, total)));
      if (open) fill();
      else children.hidden = true;
      toggle.addEventListener('click', () => {
        const nowOpen = children.hidden;
        profileState.expanded.set(path, nowOpen);
        if (nowOpen && !children.childNodes.length) fill();
        children.hidden = !nowOpen;
        toggle.textContent = nowOpen ? '▾' : '▸';
      });
      const [where, what] = splitFrame(node.codeSignature);
      const sig = h('span', { class: 'ct-sig', title: node.codeSignature }, toggle,
        h('span', { class: 'frame' }, what), where ? h('span', { class: 'frame-dir' }, where) : null);
      sig.style.paddingLeft = `${depth * 14}px`;
      return h('div', { class: 'ct-node', dataset: { path } },
        h('div', { class: 'ct-row' },
          sig,
          h('span', { class: 'num' }, fmtNumber(node.count)),
          h('span', { class: 'num' }, fmtNumber(node.selfCount)),
          h('span', { class: 'num' }, `${fmtNumber(node.duration)} ms`),
          h('span', { class: 'ct-pct' }, h('span', { class: 'pct-track' }, bar), `${pct.toFixed(1)}%`)),
        children);
    },

    drawFlame(total) {
      // The zoomed frame spans the full width; its ancestors stay above it, full width too.
      const trees = this.data.trees;
      let zoomNode = null;
      const ancestors = [];
      if (profileState.zoom) {
        let list = trees;
        for (const part of profileState.zoom.split('/')) {
          const next = list[Number(part)];
          if (!next) break;
          if (zoomNode) ancestors.push(zoomNode);
          zoomNode = next;
          list = next.children;
        }
      }
      const cells = [];
      const ROW = 20;
      const MAX_DEPTH = 200;
      let deepest = 0;
      const cell = (node, path, depth, left, width, denominator) => {
        if (depth > MAX_DEPTH || width < 0.05) return;
        deepest = Math.max(deepest, depth);
        const pct = (node.count / total) * 100;
        const el = h('div', {
          class: `flame-cell${path === profileState.zoom ? ' zoomed' : ''}`,
          title: `${node.codeSignature}\n${node.count} samples (${pct.toFixed(1)}%), ~${node.duration} ms, ` +
            `self ${node.selfCount}`,
          dataset: { path },
          onclick: () => {
            profileState.zoom = profileState.zoom === path ? null : path;
            this.drawFlame(total);
          },
        }, splitFrame(node.codeSignature)[1]);
        el.style.left = `${left}%`;
        el.style.width = `${width}%`;
        el.style.top = `${depth * ROW}px`;
        el.style.background = `hsl(${20 + (hash(node.codeSignature) % 40)}, 85%, ${62 + (hash(path) % 12)}%)`;
        cells.push(el);
        let x = left;
        for (const [i, child] of node.children.entries()) {
          const w = (child.count / denominator) * 100;
          cell(child, `${path}/${i}`, depth + 1, x, w, denominator);
          x += w;
        }
      };
      if (zoomNode) {
        ancestors.forEach((node, depth) => {
          const path = profileState.zoom.split('/').slice(0, depth + 1).join('/');
          const el = h('div', { class: 'flame-cell ancestor', title: node.codeSignature, dataset: { path },
            onclick: () => { profileState.zoom = path; this.drawFlame(total); } },
          splitFrame(node.codeSignature)[1]);
          el.style.left = '0%';
          el.style.width = '100%';
          el.style.top = `${depth * ROW}px`;
          cells.push(el);
        });
        cell(zoomNode, profileState.zoom, ancestors.length, 0, 100, zoomNode.count);
      } else {
        let x = 0;
        trees.forEach((node, i) => {
          const w = (node.count / total) * 100;
          cell(node, String(i), 0, x, w, total);
          x += w;
        });
      }
      this.flame.style.height = `${(deepest + 1) * ROW + 2}px`;
      render(this.flame, cells);
    },
  };

  // ---------------------------------------------------------------- routing and refresh

  const VIEWS = {
    traces: TracesView,
    instances: InstancesView,
    logs: LogsView,
    meters: MetersView,
    profiling: ProfilingView,
  };

  let current = null;
  let currentName = '';

  function parseHash() {
    const parts = location.hash.replace(/^#\/?/, '').split('/');
    const name = VIEWS[parts[0]] ? parts[0] : 'traces';
    let arg = null;
    if (parts.length > 1 && parts.slice(1).join('/')) {
      try {
        arg = decodeURIComponent(parts.slice(1).join('/'));
      } catch {
        arg = null;
      }
    }
    return { name, arg };
  }

  function route() {
    const { name, arg } = parseHash();
    if (name !== currentName) {
      currentName = name;
      current = VIEWS[name];
      current.mount($('view'));
      for (const tab of document.querySelectorAll('#tabs a')) {
        tab.classList.toggle('active', tab.dataset.view === name);
      }
    }
    if (current.open) current.open(arg);
    refreshNow();
  }

  function showError(error) {
    const banner = $('banner');
    banner.textContent = `Cannot read from the collector: ${error.message}`;
    banner.hidden = false;
  }

  let timer = null;
  let running = false;
  let again = false;

  async function refreshNow() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    try {
      await Promise.all([refreshStats(), current.refresh()]);
      $('banner').hidden = true;
      $('updated').textContent = `updated ${fmtTime(Date.now()).slice(0, 8)}`;
    } catch (error) {
      showError(error);
    } finally {
      running = false;
      if (again) {
        again = false;
        refreshNow();
      } else {
        schedule();
      }
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if ($('live').checked && !document.hidden) refreshNow();
      else schedule();
    }, REFRESH_MS);
  }

  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && $('live').checked) refreshNow();
  });
  $('live').addEventListener('change', () => {
    if ($('live').checked) refreshNow();
  });
  route();
})();
