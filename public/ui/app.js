// Kafka live tail: one WebSocket (kgw.v1) to this gateway, one subscription, records rendered as text.
// Kafka payloads are untrusted: they only ever reach the page through textContent (the page's CSP requires
// Trusted Types with no policy, so an HTML sink fed a string would throw).

const SUBPROTOCOL = 'kgw.v1';
const TOKEN_KEY = 'kgw.ui.token';
const MAX_ROWS = 500;
const V2 = 'application/vnd.kafka.v2+json';

const CLOSE_TEXT = {
  1000: 'closed',
  1001: 'the gateway is shutting down',
  1006: 'connection lost or refused (no/invalid token, origin not allowed, or the gateway is unreachable)',
  1009: 'a frame was too large',
  1011: 'internal error in the gateway',
  4400: 'too many bad frames',
  4401: 'token missing, invalid or expired',
  4403: 'forbidden: the token no longer allows this topic or group',
  4408: 'too slow: this page could not keep up with the topic',
  4429: 'rate limited',
};

const MODE_HINT = {
  broadcast: 'Every new record of the topic. Pause skips what arrives meanwhile.',
  group: 'A consumer group member: shares the partitions with other members. Pause holds records in Kafka.',
  assign: 'Chosen partitions from a chosen position; nothing is committed. Pause holds records in Kafka.',
};

const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
};

const ui = {
  form: $('controls'),
  status: $('status'),
  topicSelect: $('topic-select'),
  topicInput: $('topic-input'),
  topicHint: $('topic-hint'),
  refresh: $('refresh-topics'),
  modeHint: $('mode-hint'),
  groupId: $('group-id'),
  groupFrom: $('group-from'),
  partitions: $('partitions'),
  assignFrom: $('assign-from'),
  fromOffset: $('from-offset'),
  fromTime: $('from-time'),
  format: $('format'),
  token: $('token'),
  tokenState: $('token-state'),
  forgetToken: $('forget-token'),
  start: $('start'),
  stop: $('stop'),
  pause: $('pause'),
  clear: $('clear'),
  count: $('count'),
  rate: $('rate'),
  shown: $('shown'),
  subInfo: $('sub-info'),
  filter: $('filter'),
  notice: $('notice'),
  rows: $('rows'),
  empty: $('empty'),
  maxRows: $('max-rows'),
};

const state = {
  ws: null,
  subId: null,
  seq: 0,
  subscribed: false,
  paused: false,
  received: 0,
  pending: [],
  renderScheduled: false,
  rateWindow: [],
  pongWaiters: [],
};

// ---- small helpers ---------------------------------------------------------------------------------------

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

function notify(text, kind = 'error') {
  ui.notice.hidden = !text;
  ui.notice.dataset.kind = kind;
  ui.notice.textContent = text || '';
}

function token() {
  return ui.token.value.trim();
}

function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function mode() {
  return ui.form.querySelector('input[name="mode"]:checked').value;
}

function topic() {
  return (ui.topicSelect.hidden || ui.topicSelect.value === '' ? ui.topicInput.value : ui.topicSelect.value).trim();
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

function formatTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A key or value as text: JSON pretty-printed, strings as they are, null marked. */
function payloadText(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A header value (base64) as text when it is printable UTF-8, else as base64. */
function headerText(b64) {
  if (b64 === null) return 'null';
  try {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const text = utf8.decode(bytes);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return text;
  } catch {
    // not UTF-8
  }
  return `${b64} (base64)`;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- topics ----------------------------------------------------------------------------------------------

let topicsToken;

/** Fills the dropdown from GET /topics. The layout stays put while it loads (a click in flight must land). */
async function loadTopics() {
  topicsToken = token();
  const previous = topic();
  ui.topicHint.textContent = 'Loading topics…';
  let names;
  try {
    const res = await fetch('topics', { headers: { Accept: V2, ...authHeaders() }, cache: 'no-store' });
    if (res.status === 401) throw new Error('a token is needed to list topics');
    if (res.status === 403) throw new Error('this token may not list topics');
    if (!res.ok) throw new Error(`listing topics failed (HTTP ${res.status})`);
    names = await res.json();
    if (!Array.isArray(names)) throw new Error('unexpected answer from GET /topics');
  } catch (e) {
    ui.topicSelect.hidden = true;
    ui.topicInput.hidden = false;
    if (previous) ui.topicInput.value = previous;
    ui.topicHint.textContent = `Type the topic name (${e.message}).`;
    return;
  }
  names = names.filter((n) => typeof n === 'string').sort((a, b) => a.localeCompare(b));
  const options = names.map((n) => new Option(n, n));
  options.push(new Option(names.length ? 'Other… (type a name)' : 'No topics listed — type a name', ''));
  ui.topicSelect.replaceChildren(...options);
  ui.topicSelect.hidden = false;
  if (previous && names.includes(previous)) ui.topicSelect.value = previous;
  else if (previous) {
    ui.topicSelect.value = '';
    ui.topicInput.value = previous;
  }
  syncTopicInput();
  ui.topicHint.textContent = `${names.length} topic${names.length === 1 ? '' : 's'} visible to you.`;
}

function syncTopicInput() {
  ui.topicInput.hidden = !ui.topicSelect.hidden && ui.topicSelect.value !== '';
}

// ---- the subscription ------------------------------------------------------------------------------------

function parsePartitions(text) {
  const out = new Set();
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new Error(`'${part}' is not a partition number or range`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 1023) throw new Error(`'${part}' is not a usable range`);
    for (let p = a; p <= b; p++) out.add(p);
  }
  return [...out];
}

async function allPartitions(name) {
  const res = await fetch(`topics/${encodeURIComponent(name)}/partitions`, {
    headers: { Accept: V2, ...authHeaders() },
    cache: 'no-store',
  });
  if (res.status === 404) throw new Error(`topic '${name}' not found`);
  if (!res.ok) throw new Error(`listing partitions failed (HTTP ${res.status})`);
  const list = await res.json();
  return list.map((p) => p.partition);
}

/** The subscribe frame the form describes (throws a readable Error when it is incomplete). */
async function subscribeFrame(id) {
  const t = topic();
  if (!t) throw new Error('Pick or type a topic.');
  const frame = { type: 'subscribe', id, mode: mode(), format: ui.format.value };
  if (frame.mode === 'broadcast') {
    frame.topics = [t];
  } else if (frame.mode === 'group') {
    const g = ui.groupId.value.trim();
    if (!g) throw new Error('Type a consumer group id.');
    frame.topics = [t];
    frame.group = g;
    frame.from = ui.groupFrom.value;
  } else {
    const text = ui.partitions.value.trim();
    const parts = text ? parsePartitions(text) : await allPartitions(t);
    if (!parts.length) throw new Error('The topic has no partitions.');
    frame.partitions = parts.map((partition) => ({ topic: t, partition }));
    const from = ui.assignFrom.value;
    if (from === 'offset') {
      const n = Number(ui.fromOffset.value);
      if (ui.fromOffset.value === '' || !Number.isSafeInteger(n) || n < 0)
        throw new Error('Type a start offset (0 or more).');
      frame.from = { offset: n };
    } else if (from === 'timestamp') {
      const ms = Date.parse(ui.fromTime.value);
      if (Number.isNaN(ms)) throw new Error('Pick a start time.');
      frame.from = { timestamp: ms };
    } else frame.from = from;
  }
  return frame;
}

async function start() {
  notify('');
  stop(false);
  const id = `ui-${++state.seq}`;
  let frame;
  try {
    frame = await subscribeFrame(id);
  } catch (e) {
    notify(e.message);
    return;
  }
  saveToken();
  const url = new URL('ws', document.baseURI);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const t = token();
  const ws = new WebSocket(url, t ? [SUBPROTOCOL, `bearer.${t}`] : [SUBPROTOCOL]);
  state.ws = ws;
  state.subId = id;
  state.subscribed = false;
  state.paused = false;
  setStatus('connecting', 'Connecting…');
  setRunning(true);
  rememberInUrl(frame);

  ws.addEventListener('open', () => {
    if (state.ws !== ws) return;
    setStatus('connecting', 'Subscribing…');
    ws.send(JSON.stringify(frame));
  });
  ws.addEventListener('message', (ev) => {
    if (state.ws !== ws) return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    onFrame(msg);
  });
  ws.addEventListener('close', (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    flush();
    const why = CLOSE_TEXT[ev.code] ?? (ev.reason || 'closed');
    setRunning(false);
    if (ev.code === 1000) setStatus('idle', 'Stopped');
    else {
      setStatus('error', `Closed (${ev.code})`);
      notify(
        `Connection closed: ${why}${ev.reason && CLOSE_TEXT[ev.code] ? ` — ${ev.reason}` : ''} (code ${ev.code}).`,
      );
    }
    for (const w of state.pongWaiters.splice(0)) w(false);
  });
}

function onFrame(msg) {
  switch (msg.type) {
    case 'record':
      if (msg.id !== state.subId) return;
      state.received++;
      state.rateWindow.push(performance.now());
      state.pending.push(msg);
      ui.count.textContent = String(state.received);
      scheduleRender();
      return;
    case 'subscribed':
      if (msg.id !== state.subId) return;
      state.subscribed = true;
      setStatus('live', 'Live');
      ui.pause.disabled = false;
      ui.subInfo.textContent = describeSubscription(msg.mode, msg.assignment, msg.positions);
      ui.subInfo.classList.remove('muted');
      return;
    case 'assignment':
      if (msg.id !== state.subId) return;
      ui.subInfo.textContent = describeSubscription('group', msg.current);
      return;
    case 'error':
      notify(`${msg.code}: ${msg.message}`);
      if (msg.id === state.subId && !state.subscribed) stop(true, 'Refused');
      else if (msg.id === state.subId && msg.code === 'KAFKA_UNAVAILABLE') stop(true, 'Ended');
      return;
    case 'pong':
      for (const w of state.pongWaiters.splice(0, 1)) w(true);
      return;
    default:
  }
}

function describeSubscription(m, assignment, positions) {
  if (!assignment || assignment.length === 0)
    return m === 'group' ? 'group: idle (more members than partitions)' : `${m}: no partitions`;
  const byTopic = new Map();
  for (const a of assignment) byTopic.set(a.topic, [...(byTopic.get(a.topic) ?? []), a.partition]);
  const parts = [...byTopic].map(([t, ps]) => `${t} [${ps.sort((x, y) => x - y).join(', ')}]`).join('; ');
  const from = positions?.length ? ` from ${positions.map((p) => `p${p.partition}@${p.offset}`).join(', ')}` : '';
  return `${m}: ${parts}${from}`;
}

/** Sends `ping` and resolves once its `pong` came (every earlier frame of ours was handled by then). */
function roundTrip() {
  return new Promise((resolve) => {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return resolve(false);
    state.pongWaiters.push(resolve);
    state.ws.send('{"type":"ping"}');
  });
}

async function togglePause() {
  if (!state.ws || !state.subscribed) return;
  const pausing = !state.paused;
  state.paused = pausing;
  ui.pause.disabled = true;
  ui.pause.textContent = pausing ? 'Resume' : 'Pause';
  ui.pause.setAttribute('aria-pressed', String(pausing));
  setStatus(pausing ? 'pausing' : 'connecting', pausing ? 'Pausing…' : 'Resuming…');
  state.ws.send(JSON.stringify({ type: pausing ? 'pause' : 'resume', id: state.subId }));
  const ok = await roundTrip();
  // Records the gateway sent before it handled the frame were received before the pong: show them first.
  flush();
  if (!ok || !state.ws) return;
  ui.pause.disabled = false;
  setStatus(pausing ? 'paused' : 'live', pausing ? 'Paused' : 'Live');
}

function stop(sendUnsubscribe = true, label = 'Stopped') {
  const ws = state.ws;
  state.ws = null;
  if (ws) {
    if (sendUnsubscribe && ws.readyState === WebSocket.OPEN && state.subscribed)
      ws.send(JSON.stringify({ type: 'unsubscribe', id: state.subId }));
    ws.close(1000);
    flush();
    setStatus('idle', label);
  }
  for (const w of state.pongWaiters.splice(0)) w(false);
  state.subscribed = false;
  state.paused = false;
  setRunning(false);
}

function setRunning(running) {
  ui.start.disabled = running;
  ui.stop.disabled = !running;
  ui.pause.disabled = true;
  ui.pause.textContent = 'Pause';
  ui.pause.setAttribute('aria-pressed', 'false');
  for (const c of ui.form.querySelectorAll('.field input, .field select, .segmented input')) {
    if (c !== ui.token) c.disabled = running;
  }
  ui.refresh.disabled = running;
}

// ---- rendering -------------------------------------------------------------------------------------------

function scheduleRender() {
  if (state.renderScheduled) return;
  state.renderScheduled = true;
  requestAnimationFrame(flush);
}

function flush() {
  state.renderScheduled = false;
  if (state.pending.length === 0) return;
  const batch = state.pending.splice(0).slice(-MAX_ROWS);
  const frag = document.createDocumentFragment();
  const added = [];
  for (let i = batch.length - 1; i >= 0; i--) added.push(frag.appendChild(row(batch[i])));
  ui.rows.prepend(frag);
  // Mark clipped values (one layout pass per batch): they fade out at the bottom until clicked open.
  for (const tr of added)
    for (const pre of tr.querySelectorAll('pre'))
      if (pre.scrollHeight > pre.clientHeight + 2) pre.classList.add('clipped');
  while (ui.rows.childElementCount > MAX_ROWS) ui.rows.lastElementChild.remove();
  ui.shown.textContent = String(ui.rows.childElementCount);
  ui.empty.hidden = ui.rows.childElementCount > 0;
}

function payloadCell(className, v) {
  const td = el('td', className);
  const text = payloadText(v);
  if (text === null) td.append(el('span', 'null', 'null'));
  else {
    const pre = el('pre', typeof v === 'string' ? 'text' : 'json', text);
    pre.title = 'Click to show all of it, or to clip it again';
    td.append(pre);
  }
  return td;
}

function row(r) {
  const tr = el('tr', 'fresh');
  tr.dataset.partition = String(r.partition);
  tr.dataset.offset = String(r.offset);
  const time = el('td', 'c-time', formatTime(r.timestamp));
  time.title = `${r.timestamp} (epoch ms)`;
  tr.append(
    time,
    el('td', 'c-partition', String(r.partition)),
    el('td', 'c-offset', String(r.offset)),
    payloadCell('c-key', r.key),
    payloadCell('c-value', r.value),
  );
  const headers = el('td', 'c-headers');
  for (const h of r.headers ?? []) {
    const line = el('div', 'header');
    line.append(
      el('span', 'header-name', h.name),
      el('span', 'header-sep', ': '),
      el('span', 'header-value', headerText(h.value)),
    );
    headers.append(line);
  }
  tr.append(headers);
  applyFilter(tr);
  return tr;
}

function applyFilter(tr) {
  const q = ui.filter.value.trim().toLowerCase();
  tr.hidden = q !== '' && !tr.textContent.toLowerCase().includes(q);
}

function clearView() {
  state.pending = [];
  state.received = 0;
  state.rateWindow = [];
  ui.rows.replaceChildren();
  ui.count.textContent = '0';
  ui.shown.textContent = '0';
  ui.rate.textContent = '0';
  ui.empty.hidden = false;
}

setInterval(() => {
  const now = performance.now();
  while (state.rateWindow.length && state.rateWindow[0] < now - 1000) state.rateWindow.shift();
  ui.rate.textContent = String(state.rateWindow.length);
}, 500);

// ---- token and URL state ---------------------------------------------------------------------------------

function saveToken() {
  const t = token();
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives in the field only
  }
  ui.tokenState.textContent = t ? '(set for this tab)' : '(none)';
}

function loadToken() {
  try {
    ui.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    ui.token.value = '';
  }
  ui.tokenState.textContent = ui.token.value ? '(set for this tab)' : '(none)';
}

/** The form's choices in the URL fragment (never the token), so a view can be bookmarked or shared. */
function rememberInUrl(frame) {
  const p = new URLSearchParams({ topic: topic(), mode: frame.mode, format: frame.format });
  if (frame.mode === 'group') p.set('group', frame.group);
  if (frame.mode === 'assign' && ui.partitions.value.trim()) p.set('partitions', ui.partitions.value.trim());
  history.replaceState(null, '', `#${p}`);
}

function restoreFromUrl() {
  const p = new URLSearchParams(location.hash.slice(1));
  const m = p.get('mode');
  if (m && MODE_HINT[m]) ui.form.querySelector(`input[name="mode"][value="${m}"]`).checked = true;
  if (p.get('topic')) ui.topicInput.value = p.get('topic');
  if (p.get('group')) ui.groupId.value = p.get('group');
  if (p.get('partitions')) ui.partitions.value = p.get('partitions');
  const f = p.get('format');
  if (f && ['json', 'string', 'base64'].includes(f)) ui.format.value = f;
}

function syncMode() {
  const m = mode();
  for (const box of document.querySelectorAll('.mode-options')) box.hidden = box.dataset.for !== m;
  ui.modeHint.textContent = MODE_HINT[m];
  ui.fromOffset.hidden = ui.assignFrom.value !== 'offset';
  ui.fromTime.hidden = ui.assignFrom.value !== 'timestamp';
}

// ---- wiring ----------------------------------------------------------------------------------------------

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  void start();
});
ui.stop.addEventListener('click', () => stop(true));
ui.pause.addEventListener('click', () => void togglePause());
ui.clear.addEventListener('click', clearView);
ui.refresh.addEventListener('click', () => void loadTopics());
ui.topicSelect.addEventListener('change', syncTopicInput);
ui.assignFrom.addEventListener('change', syncMode);
for (const r of ui.form.querySelectorAll('input[name="mode"]')) r.addEventListener('change', syncMode);
// A long value is clipped to a few lines: a click shows it whole (and clips it again).
ui.rows.addEventListener('click', (e) => {
  const pre = e.target instanceof Element ? e.target.closest('pre') : null;
  if (pre && !window.getSelection()?.toString()) pre.classList.toggle('open');
});
ui.filter.addEventListener('input', () => {
  for (const tr of ui.rows.children) applyFilter(tr);
});
ui.token.addEventListener('change', () => {
  saveToken();
  if (token() !== topicsToken) void loadTopics();
});
ui.forgetToken.addEventListener('click', () => {
  ui.token.value = '';
  saveToken();
  void loadTopics();
});
window.addEventListener('pagehide', () => stop(true));

ui.maxRows.textContent = String(MAX_ROWS);
loadToken();
restoreFromUrl();
syncMode();
void loadTopics();
