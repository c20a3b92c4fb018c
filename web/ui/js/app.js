// app.js: kerf's control panel. It mirrors the daemon's state from the
// REST API (/api/v1) and keeps it current from the websocket event stream,
// resuming with ?since=SEQ after a lost connection. Controls are real
// buttons that call the API; every failure is shown with the API's message.

import { API, APIError, missing } from './api.js';
import { EventStream } from './stream.js';
import { parse } from './gcode.js';
import { Preview, outside } from './preview.js';
import { lineChart, rangeChart } from './chart.js';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

const ROLES = { viewer: 0, operator: 1, admin: 2 };
const ACTIVE = new Set(['queued', 'running', 'paused']);
// A "hold to move" jog goes to the end of the travel (less a margin) and
// is cancelled on release. GRBL refuses, with error:15, a jog whose target
// is outside the travel when soft limits are on, so the target must be
// inside it; without a known travel the jog is this long.
const CONTINUOUS_JOG_MM = 1000;
const TRAVEL_MARGIN_MM = 0.5;

/** State mirrors the daemon. */
const S = {
  user: null,
  role: 'viewer',
  streamOpen: false,
  lost: false, // the stream was open, or tried, and is down now
  machine: null,
  alarm: null,
  travel: null,
  jobs: [],
  programs: new Map(), // job id → { parsed, src: string[] }
  run: null,
  progress: { line: 0, t0: 0, runningMs: 0 },
  prompt: null,
  drift: { run: null, points: [], limit: 0 },
  // Canary verdicts per run id: { verdict, scores: [{x: line, y: score}]
  // of the live run.verdict events, report: GET /runs/{id}/canary, note }.
  canary: new Map(),
  canaryRun: null, // the run the canary card shows (null: the current run)
  warnings: [], // run.warning texts not dismissed yet, oldest first
  previewJob: null,
  offsets: null, // GET /machine/offsets
  offsetsAPI: null, // false: the daemon has no offsets endpoint
  relayAPI: null, // false: the daemon has no /relay endpoints
  probeAPI: null, // false: the daemon has no /machine/probe
  probe: null, // the last probe reply
  relayEvents: 0, // relay.* events seen, so a slower GET /relay does not undo one
  baseline: { job: null, state: 'none' }, // the previewed job's baseline
  runsList: [],
};

const api = new API({ onUnauthorized: () => showLogin() });
const stream = new EventStream('/api/v1/ws', {
  onOpen: () => { S.streamOpen = true; S.lost = false; renderConn(); reload(); },
  onLost: () => { S.streamOpen = false; S.lost = true; renderConn(); checkSession(); },
  onGap: () => reload(),
  onEvent: (ev) => applyEvent(ev),
});
let preview;

/**
 * Parser runs gcode.parse in a module worker, one at a time per request
 * id; where workers are unavailable it parses on the main thread.
 */
class Parser {
  constructor() {
    this.pending = new Map();
    this.next = 1;
    try {
      this.worker = new Worker(new URL('./parse-worker.js', import.meta.url), { type: 'module' });
      this.worker.onmessage = (ev) => {
        const p = this.pending.get(ev.data.id);
        if (!p) return;
        this.pending.delete(ev.data.id);
        if (ev.data.error) p.reject(new Error(ev.data.error));
        else p.resolve(ev.data.p);
      };
    } catch {
      this.worker = null;
    }
  }

  parse(text) {
    if (!this.worker) return Promise.resolve(parse(text));
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, text });
    });
  }
}
const parser = new Parser();

// ---------- helpers ----------

function toast(msg, kind = 'info') {
  const t = $('#toast');
  t.className = `banner banner-${kind}`;
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, kind === 'error' ? 12000 : 5000);
}

/** act runs an API call from a control and reports its failure. */
async function act(what, fn) {
  try {
    return await fn();
  } catch (err) {
    const code = err instanceof APIError ? ` (${err.status || 'no answer'} ${err.code})` : '';
    toast(`${what} failed${code}: ${err.message}`, 'error');
    return undefined;
  }
}

function mm(v) { return Number.isFinite(v) ? v.toFixed(3) : '—'; }

function dur(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function text(sel, v) { const e = $(sel); if (e) e.textContent = v; }

function check(job) {
  if (!job.check) return null;
  try { return typeof job.check === 'string' ? JSON.parse(job.check) : job.check; } catch { return null; }
}

function confirmDlg(msg) {
  const d = $('#confirm-dlg');
  text('#confirm-text', msg);
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

// ---------- session ----------

async function checkSession() {
  try {
    const me = await api.me();
    setUser(me);
    return true;
  } catch (err) {
    if (err instanceof APIError && err.status === 401) { showLogin(); return false; }
    if (err instanceof APIError && err.status === 404) {
      // A daemon without login sessions (the trusted Unix socket, or an
      // older daemon): every request is already authorised.
      setUser({ name: 'local', role: 'admin', noLogin: true });
      return true;
    }
    return false; // the daemon is unreachable: the connection banner says so
  }
}

function setUser(me) {
  S.user = me;
  S.role = me.role in ROLES ? me.role : 'viewer';
  text('#whoami', `${me.name} (${S.role})`);
  // Only a login session can log out; a token, the socket or a proxy cannot.
  $('#logout').hidden = me.noLogin || (me.via !== undefined && me.via !== 'session');
  renderControls();
}

function showLogin(message) {
  const d = $('#login-dlg');
  stream.stop();
  S.streamOpen = false;
  renderConn();
  const e = $('#login-error');
  e.hidden = !message;
  e.textContent = message || '';
  if (!d.open) d.showModal();
  $('#login-user').focus();
}

async function onLogin(ev) {
  ev.preventDefault();
  const user = $('#login-user').value.trim();
  const pass = $('#login-pass').value;
  $('#login-submit').disabled = true;
  try {
    await api.login(user, pass);
    $('#login-pass').value = '';
    $('#login-dlg').close();
    if (await checkSession()) stream.start();
  } catch (err) {
    const msg = err.status === 401 ? 'Wrong user name or password.'
      : err.status === 429 ? `Too many attempts: ${err.message}` : err.message;
    showLogin(msg);
  } finally {
    $('#login-submit').disabled = false;
  }
}

async function onLogout() {
  await act('Log out', () => api.logout());
  S.user = null;
  text('#whoami', '');
  $('#logout').hidden = true;
  showLogin();
}

// ---------- loading ----------

let reloading = null;
/** reload fetches everything the panel mirrors (after hello or a gap). */
function reload() {
  if (reloading) return reloading;
  reloading = (async () => {
    await Promise.all([loadMachine(), loadJobs(), loadRuns(), loadTravel(), loadOffsets(), loadRelay()]);
    if (S.previewJob) loadBaseline(S.previewJob);
  })().finally(() => { reloading = null; });
  return reloading;
}

async function loadMachine() {
  try {
    setMachine(await api.machine());
  } catch { /* shown by the connection state or the toast of an action */ }
}

async function loadTravel() {
  try {
    const list = await api.settings();
    const get = (n) => parseFloat((list.find((s) => s.number === n) || {}).value);
    S.travel = { x: get(130), y: get(131), z: get(132), invert: get(23) || 0 };
    if (S.previewJob) showPreview(S.previewJob); // its text compares bounds with the travel
    else updatePreviewTravel();
  } catch { S.travel = null; }
}

async function loadJobs() {
  try {
    S.jobs = await api.jobs();
    renderJobs();
    renderHistory(S.runsList); // its job names, when the runs came first
    renderRun();
    renderVerdict();
  } catch { /* keep the last list */ }
}

async function loadRuns() {
  try {
    const runs = await api.runs('?limit=50');
    S.runsList = runs;
    renderHistory(runs);
    const active = runs.find((r) => ACTIVE.has(r.state));
    if (active) setRun(active);
    else if (S.run && ACTIVE.has(S.run.state)) setRun(await api.run(S.run.id));
  } catch { /* keep what we have */ }
}

// ---------- events ----------

/**
 * fromReport turns a machine.status event's data into MachineStatus fields.
 * The daemon publishes the board's status report (jobs/machine.Report:
 * "speed" in RPM, "spindle" the direction "cw"/"ccw"/""); a full
 * MachineStatus (as GET /api/v1/machine answers) is taken as it is.
 */
function fromReport(d) {
  if (d.report) return { ...fromReport(d.report), connected: d.connected, port: d.port, alarm: d.alarm };
  const out = { ...d };
  if ('speed' in d) {
    out.spindle = d.speed;
    out.spindle_dir = d.spindle;
    delete out.speed;
  }
  return out;
}

function applyEvent(ev) {
  const d = ev.data || {};
  switch (ev.topic) {
    case 'machine.status': setMachine({ ...(S.machine || {}), ...fromReport(d) }); break;
    case 'machine.alarm': S.alarm = { ...d, clear: d.clear || d.hint }; renderMachine(); break;
    case 'machine.disconnected':
      if (S.machine) setMachine({ ...S.machine, connected: false });
      loadMachine();
      break;
    case 'machine.connected': loadMachine(); loadOffsets(); break;
    case 'run.state': onRunState(d); break;
    case 'run.progress': onProgress(d); break;
    case 'run.prompt': onPrompt(d); break;
    case 'run.verdict': onVerdict(d); break;
    case 'run.warning': onWarning(d); break;
    case 'run.drift': onDrift(d); break;
    case 'job.added': case 'job.deleted': loadJobs(); break;
    default:
      if (ev.topic.startsWith('relay.')) {
        S.relayEvents++;
        if (S.machine) { S.machine.relay = { ...(S.machine.relay || {}), ...d }; renderMachine(); }
      }
  }
}

/** runID is the run an event is about: a jobs.Run's id, or the "run" field. */
function runID(d) { return d.id && d.job_id ? d.id : (d.run || d.id); }

async function onRunState(d) {
  const id = runID(d);
  if (!id) return;
  let run = d.job_id ? d : null;
  if (!run) {
    // The runner's RunEvent {run, job, state, reason}.
    run = S.run && S.run.id === id ? { ...S.run, state: d.state, reason: d.reason ?? S.run.reason } : null;
    if (!run) run = await act('Load run', () => api.run(id));
    if (!run) return;
  }
  setRun(run);
  if (!ACTIVE.has(run.state) || run.state === 'running') closePrompt();
  if (!ACTIVE.has(run.state)) {
    loadRuns();
    loadOffsets(); // a program may have changed them (G10, G92)
    if (S.previewJob === run.job_id) loadBaseline(run.job_id); // a completed run may be offered
    // The runner's RunEvent carries no line counts: the stored run has the last lines.
    if (!d.job_id) api.run(id).then((r) => { if (S.run?.id === r.id) setRun(r); }).catch(() => {});
  }
  // A runner that reports an M0/M6 stop only as the pause's reason still
  // gets its dialog.
  else if (run.state === 'paused' && /\b(M0?0|M0?1|M0?6|tool)\b/i.test(run.reason || '') && !S.prompt) {
    onPrompt({ run: run.id, kind: /M0?6|tool/i.test(run.reason) ? 'tool_change' : 'pause', line: S.progress.line, message: run.reason });
  }
}

function onProgress(d) {
  const id = runID(d);
  if (!id) return;
  if (!S.run || S.run.id !== id) {
    act('Load run', () => api.run(id)).then((r) => { if (r) setRun(r); });
    return;
  }
  // The runner's ProgressEvent: last_executed (else last_acked), lines,
  // elapsed_ms, eta_ms; "line" is accepted too.
  const line = [d.last_executed, d.line, d.last_executed_line, d.last_acked].find(Number.isFinite);
  if (line !== undefined) S.progress.line = line;
  if (Number.isFinite(d.lines) && d.lines > 0) S.progress.total = d.lines;
  if (Number.isFinite(d.elapsed_ms)) { S.progress.runningMs = d.elapsed_ms; S.progress.t0 = Date.now(); }
  // The runner's ETA is its rate over the elapsed time, pauses included:
  // while paused it only grows. The one from running is kept instead.
  if (S.run.state !== 'paused') S.progress.etaMs = Number.isFinite(d.eta_ms) && d.eta_ms > 0 ? d.eta_ms : undefined;
  renderRun();
}

function onPrompt(d) {
  S.prompt = d;
  const kind = d.kind === 'tool_change' || d.kind === 'm6' ? 'Tool change' : 'Program pause';
  text('#prompt-h', kind);
  let msg = d.message || '';
  if (!msg) {
    msg = kind === 'Tool change'
      ? `Line ${d.line}: change to tool ${d.tool ?? '?'} (M6). Fit the tool, re-zero Z if needed, then resume.`
      : `Line ${d.line}: the program paused (M0). Check the work, then resume.`;
  }
  text('#prompt-text', msg);
  const dlg = $('#prompt-dlg');
  if (!dlg.open) dlg.showModal();
  renderControls();
}

function closePrompt() {
  S.prompt = null;
  const dlg = $('#prompt-dlg');
  if (dlg.open) dlg.close();
}

/** canaryOf returns the canary entry of a run, creating it. */
function canaryOf(id) {
  let c = S.canary.get(id);
  if (!c) {
    c = { verdict: null, scores: [], report: null, note: '' };
    S.canary.set(id, c);
    // Keep the last 20 runs' verdicts (a Map iterates oldest first).
    for (const old of S.canary.keys()) {
      if (S.canary.size <= 20) break;
      if (old !== shownRun() && old !== id) S.canary.delete(old);
    }
  }
  return c;
}

function onVerdict(d) {
  const id = runID(d) || S.run?.id;
  if (!id || d.window) return; // a window's own Fail: the run so far follows
  const c = canaryOf(id);
  c.verdict = d.verdict || d.result || d;
  // Live verdicts during a run: the score over time, by source line.
  const score = c.verdict?.score?.score;
  if (Number.isFinite(score)) {
    const x = Number.isFinite(d.line) ? d.line : (S.run?.id === id ? S.progress.line : 0) || c.scores.length + 1;
    c.scores.push({ x, y: score });
  }
  if (shownRun() === id) renderVerdict();
}

// ---------- warnings ----------

/** warningText words a run.warning: a Marginal verdict or a message. */
function warningText(d) {
  const where = Number.isFinite(d.line) && d.line > 0 ? `, line ${d.line}` : '';
  if (d.message) return `Run ${d.run}${where}: ${d.message}`;
  const sc = d.verdict?.score || {};
  const off = Object.entries(d.verdict?.results || {})
    .filter(([, m]) => m.classification !== 'Pass' && !m.muted)
    .map(([n, m]) => `${n} ${m.classification}${ratioText(m)}`);
  const scope = Array.isArray(d.window) ? `lines ${d.window[0]}–${d.window[1] - 1} on their own` : `the run so far${where ? ` (to line ${d.line})` : ''}`;
  return `Run ${d.run}: canary ${sc.classification || 'warning'}${Number.isFinite(sc.score) ? `, score ${sc.score.toFixed(1)}` : ''} for ${scope}${off.length ? `: ${off.join(', ')}` : ''}.`;
}

function onWarning(d) {
  const t = warningText(d);
  if (S.warnings.includes(t)) return;
  S.warnings.push(t);
  if (S.warnings.length > 5) S.warnings.shift();
  renderWarnings();
}

function renderWarnings() {
  $('#warnings').replaceChildren(...S.warnings.map((t) => {
    const div = document.createElement('div');
    div.className = 'banner banner-warn warning';
    div.setAttribute('role', 'alert');
    const icon = document.createElement('span');
    icon.className = 'icon';
    icon.setAttribute('aria-hidden', 'true');
    icon.textContent = '⚠';
    const msg = document.createElement('span');
    msg.textContent = t;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = 'Dismiss';
    b.setAttribute('aria-label', `Dismiss the warning: ${t}`);
    b.addEventListener('click', () => { S.warnings = S.warnings.filter((x) => x !== t); renderWarnings(); });
    div.append(icon, msg, b);
    return div;
  }));
}

function onDrift(d) {
  const id = runID(d);
  if (S.drift.run !== id) S.drift = { run: id, points: [], limit: 0 };
  const x = Number.isFinite(d.checkpoint) ? d.checkpoint : S.drift.points.length + 1;
  const y = Number.isFinite(d.dz_mm) ? d.dz_mm : d.dz;
  if (Number.isFinite(d.limit_mm)) S.drift.limit = d.limit_mm;
  if (Number.isFinite(y)) S.drift.points.push({ x, y, line: d.line });
  renderDrift();
}

// ---------- machine ----------

function setMachine(m) {
  S.machine = m;
  if (m.state !== 'Alarm') S.alarm = null;
  else if (m.alarm) S.alarm = m.alarm;
  renderMachine();
  if (m.active_run && (!S.run || S.run.id !== m.active_run)) {
    act('Load run', () => api.run(m.active_run)).then((r) => { if (r) setRun(r); });
  }
  updatePreviewTravel();
}

function renderMachine() {
  const m = S.machine || {};
  const state = m.connected === false ? 'Disconnected' : (m.state || 'unknown');
  const pill = $('#machine-state');
  pill.dataset.state = state;
  pill.textContent = `State: ${state}${m.sub_state > 0 ? `:${m.sub_state}` : ''}`;
  ['x', 'y', 'z'].forEach((a, i) => {
    text(`#wpos-${a}`, mm(m.wpos?.[i]));
    text(`#mpos-${a}`, mm(m.mpos?.[i]));
  });
  text('#feed', Number.isFinite(m.feed) ? m.feed.toFixed(0) : '—');
  const dir = m.spindle_dir === 'cw' ? ' (CW)' : m.spindle_dir === 'ccw' ? ' (CCW)' : '';
  text('#spindle', Number.isFinite(m.spindle) ? m.spindle.toFixed(0) + dir : '—');
  const onoff = (v) => (v === true ? 'On' : v === false ? 'Off' : 'unknown');
  const relay = m.relay || {};
  text('#relay-cmd', relay.mode === 'drive' ? onoff(relay.commanded) : relay.mode ? `n/a (${relay.mode} mode)` : '—');
  text('#relay-sensed', relay.mode === 'sense' || relay.sensed !== undefined ? onoff(relay.sensed) : relay.mode ? `n/a (${relay.mode} mode)` : '—');
  text('#relay-last', switchText(relay.last_switch, relay.mode));
  $('#relay-last').classList.toggle('bad', !!relay.last_switch?.mismatch);
  text('#port', m.connected ? (m.port || 'connected') : 'not connected');
  const ov = m.overrides || {};
  // The daemon reports 0 until GRBL has sent its Ov field (it is cleared by
  // a reset, and GRBL sends it only every few reports): unknown, not 0 %.
  const pct = (v) => (v > 0 ? `${v}%` : v === undefined ? '100%' : '—');
  text('#ov-feed', pct(ov.feed));
  text('#ov-spindle', pct(ov.spindle));
  text('#ov-rapid', pct(ov.rapid));

  const alarm = state === 'Alarm' || S.alarm;
  const ab = $('#banner-alarm');
  ab.hidden = !alarm;
  if (alarm) {
    const a = S.alarm || m.alarm || {};
    text('#banner-alarm [data-code]', a.code ? ` ${a.code}` : '');
    $('#banner-alarm [data-text]').textContent = a.text || 'The machine is locked.';
    $('#banner-alarm [data-clear]').textContent = a.clear || 'Check the machine, then unlock or home it.';
  }
  $('#banner-door').hidden = state !== 'Door';
  $('#banner-hold').hidden = state !== 'Hold';
  $('#banner-disconnected').hidden = !(S.machine && m.connected === false);
  if (preview) preview.setTool(m.wpos ? m.wpos : null);
  renderControls();
}

// ---------- run ----------

function setRun(run) {
  const prev = S.run;
  // An answer that raced a later event must not bring an ended run back.
  if (prev && prev.id === run.id && !ACTIVE.has(prev.state) && ACTIVE.has(run.state)) return;
  S.run = run;
  if (!prev || prev.id !== run.id) {
    S.progress = { line: run.last_executed_line || run.from_line || 0, t0: Date.now(), runningMs: (run.summary?.running_ns || 0) / 1e6, total: 0, etaMs: undefined };
    S.canaryRun = null; // the card follows the new run
    if (S.drift.run !== run.id) S.drift = { run: run.id, points: [], limit: 0 };
    renderDrift();
    showPreview(run.job_id);
  } else if (run.last_executed_line > S.progress.line) {
    S.progress.line = run.last_executed_line;
  }
  if (run.summary?.verdict) {
    const c = canaryOf(run.id);
    if (!c.report) c.verdict = run.summary.verdict;
    // An ended run with a verdict has a report: the baseline it was judged
    // against, the muted metrics.
    if (!ACTIVE.has(run.state) && !c.report && !c.loading) loadReport(run.id);
  }
  renderVerdict();
  renderRun();
  renderControls();
}

function jobOf(id) { return S.jobs.find((j) => j.id === id); }

function renderRun() {
  const r = S.run;
  const active = r && ACTIVE.has(r.state);
  $('#run-empty').hidden = !!r;
  $('#run-body').hidden = !r;
  if (!r) return;
  const job = jobOf(r.job_id);
  text('#run-title', `Run ${r.id} of ${job ? job.name : `job ${r.job_id}`}`);
  const st = $('#run-state');
  st.textContent = r.state;
  st.dataset.state = r.state;
  text('#run-reason', r.reason ? ` — ${r.reason}` : '');
  const total = job?.lines || S.progress.total || 0;
  const line = S.progress.line;
  const pct = total ? Math.min(100, Math.floor((line * 100) / total)) : 0;
  $('#run-progress').value = r.state === 'completed' ? 100 : pct;
  text('#run-pct', r.state === 'completed' ? 100 : pct);
  text('#run-line', line);
  text('#run-total', total || '?');
  const elapsed = r.state === 'running' ? S.progress.runningMs + (Date.now() - S.progress.t0) : S.progress.runningMs;
  text('#run-elapsed', dur(elapsed));
  // The runner's ETA is counted down between its events while running and
  // kept as it was while paused (as the elapsed time is); the checker's
  // blend only stands in for a runner that sends none.
  let etaMs;
  if (S.progress.etaMs === undefined) etaMs = eta(line, total, elapsed, check(job || {})?.estimated_seconds);
  else etaMs = S.progress.etaMs - (r.state === 'running' ? Date.now() - S.progress.t0 : 0);
  text('#run-eta', active ? dur(Math.max(0, etaMs)) : '—');
  const prog = S.programs.get(r.job_id);
  text('#run-src', prog && line > 0 ? (prog.src[line - 1] || '').trim() || '(blank line)' : line > 0 ? `line ${line}` : '—');
  if (preview && S.previewJob === r.job_id) preview.setDoneLine(line);
}

/** eta blends the checker's estimate with the rate seen so far (as the CLI does). */
function eta(done, total, elapsedMs, estimateS) {
  if (!total || done <= 0) return estimateS > 0 ? estimateS * 1000 : NaN;
  const frac = done / total;
  if (frac >= 1) return 0;
  const byRate = (elapsedMs * (1 - frac)) / frac;
  if (!(estimateS > 0)) return byRate;
  return (1 - frac) * estimateS * 1000 * (1 - frac) + frac * byRate;
}

// ---------- controls ----------

/** jogBlock says why jogging is not possible now, or "". */
function jogBlock() {
  const m = S.machine;
  if (ROLES[S.role] < ROLES.operator) return 'Jogging needs the operator role.';
  if (!S.streamOpen) return 'Not connected to the daemon.';
  if (!m || m.connected === false) return 'No machine is connected.';
  if (S.run && ACTIVE.has(S.run.state)) return `Jogging is disabled while run ${S.run.id} is ${S.run.state}.`;
  if (m.state === 'Alarm') return 'The machine is in alarm: unlock or home it first.';
  if (m.state && !['Idle', 'Jog'].includes(m.state)) return `Jogging needs the machine Idle (it is ${m.state}).`;
  return '';
}

function renderControls() {
  const operator = ROLES[S.role] >= ROLES.operator;
  const online = S.streamOpen;
  const m = S.machine || {};
  const r = S.run;
  for (const b of $$('[data-role="operator"]')) {
    if (b.tagName === 'BUTTON') {
      b.disabled = !operator || !online;
      b.title = !operator ? 'Needs the operator role' : !online ? 'Not connected to the daemon' : '';
    }
  }
  $('#drop').classList.toggle('disabled', !operator);
  $('#file').disabled = !operator || !online;
  if (operator && online) {
    $('#btn-hold').disabled = !['Run', 'Jog', 'Home'].includes(m.state);
    $('#btn-resume').disabled = !['Hold', 'Door'].includes(m.state);
    $('#btn-unlock').disabled = m.connected === false;
    $('#btn-home').disabled = m.connected === false || (r && ACTIVE.has(r.state));
    $('#run-pause').disabled = !r || r.state !== 'running';
    $('#run-resume').disabled = !r || r.state !== 'paused';
    $('#run-abort').disabled = !r || !ACTIVE.has(r.state);
    for (const b of $$('.start-job')) b.disabled = !!(r && ACTIVE.has(r.state)) || b.dataset.bad === '1';
  }
  const why = jogBlock();
  for (const b of $$('.jogb')) { b.disabled = !!why; b.title = why; }
  const reason = $('#jog-reason');
  reason.hidden = !why;
  reason.textContent = why;
  const zwhy = zeroBlock();
  for (const b of $$('.zero')) { b.disabled = !!zwhy; b.title = zwhy; }
  const zr = $('#zero-reason');
  zr.hidden = !zwhy || zwhy === why;
  zr.textContent = zwhy;
  const pwhy = probeBlock();
  $('#btn-probe').disabled = !!pwhy;
  $('#btn-probe').title = pwhy;
  const rwhy = relayBlock();
  const onWhy = rwhy || relayOnBlock();
  $('#relay-on').disabled = !!onWhy;
  $('#relay-on').title = onWhy;
  $('#relay-off').disabled = !!rwhy;
  $('#relay-off').title = rwhy;
  text('#relay-note', rwhy || relayText());
  // Baselines are the admin's (they decide what every later run is judged against).
  const admin = ROLES[S.role] >= ROLES.admin;
  for (const b of $$('.set-baseline, #baseline-clear')) {
    b.disabled = !admin || !online;
    b.title = !admin ? 'Needs the admin role' : !online ? 'Not connected to the daemon' : '';
  }
}

function renderConn() {
  const c = $('#conn-state');
  c.dataset.conn = S.streamOpen ? 'open' : S.lost ? 'lost' : 'connecting';
  c.textContent = S.streamOpen ? 'Live' : S.lost ? 'Offline' : 'Connecting…';
  $('#banner-conn').hidden = !S.lost || $('#login-dlg').open;
  renderControls();
}

// ---------- jog ----------

function jogStep() { return $('input[name=step]:checked').value; }
function jogFeed() {
  const f = parseFloat($('#jog-feed').value);
  return f > 0 ? f : 1000;
}

function jogRequest(dir, dist) {
  const axis = dir[0].toLowerCase();
  const sign = dir[1] === '-' ? -1 : 1;
  return { [axis]: sign * dist, feed: jogFeed(), incremental: true };
}

function sendJog(j) {
  return stream.send({ cmd: 'jog', jog: j }).catch((err) => {
    if (err.message === 'not connected') return api.jog(j);
    throw err;
  });
}

function sendJogCancel() {
  return stream.send({ cmd: 'jog_cancel' }).catch(() => api.machineAction('jog/cancel'));
}

/**
 * continuousDistance is how far a hold-to-move jog along dir ("X+") may go:
 * to the travel's end from the machine position. Machine space runs from 0
 * to -travel, or 0 to +travel for an axis whose homing direction is
 * inverted ($23). NaN when the travel or position is unknown.
 */
function continuousDistance(dir) {
  const i = 'XYZ'.indexOf(dir[0]);
  const travel = S.travel ? [S.travel.x, S.travel.y, S.travel.z][i] : NaN;
  const pos = S.machine?.mpos?.[i];
  if (!(travel > 0) || !Number.isFinite(pos)) return NaN;
  const inverted = (S.travel.invert >> i) & 1;
  const lo = inverted ? 0 : -travel;
  const hi = inverted ? travel : 0;
  const room = dir[1] === '+' ? hi - pos : pos - lo;
  return Math.round((room - TRAVEL_MARGIN_MM) * 1000) / 1000;
}

let held = null;
function jogPress(btn) {
  if (btn.disabled || jogBlock()) return;
  const dir = btn.dataset.jog;
  const step = jogStep();
  if (step === 'cont') {
    let dist = continuousDistance(dir);
    if (Number.isNaN(dist)) dist = CONTINUOUS_JOG_MM;
    if (dist <= 0) { toast(`${dir[0]} is at the end of its travel.`, 'error'); return; }
    held = btn;
    btn.classList.add('active');
    act(`Jog ${dir}`, () => sendJog(jogRequest(dir, dist)));
  } else {
    act(`Jog ${dir}`, () => sendJog(jogRequest(dir, parseFloat(step))));
  }
}

function jogRelease() {
  if (!held) return;
  held.classList.remove('active');
  held = null;
  act('Stop jog', () => sendJogCancel());
}

function bindJog() {
  for (const b of $$('.jogb[data-jog]')) {
    b.addEventListener('pointerdown', (ev) => {
      if (jogStep() !== 'cont') return;
      ev.preventDefault();
      b.setPointerCapture?.(ev.pointerId);
      jogPress(b);
    });
    for (const t of ['pointerup', 'pointercancel', 'lostpointercapture']) b.addEventListener(t, jogRelease);
    b.addEventListener('click', () => { if (jogStep() !== 'cont') jogPress(b); });
    b.addEventListener('keydown', (ev) => {
      if ((ev.key === ' ' || ev.key === 'Enter') && jogStep() === 'cont' && !ev.repeat) { ev.preventDefault(); jogPress(b); }
    });
    b.addEventListener('keyup', (ev) => { if (ev.key === ' ' || ev.key === 'Enter') jogRelease(); });
  }
  $('#jog-cancel').addEventListener('click', () => act('Stop jog', () => sendJogCancel()));
  const keys = { ArrowUp: 'Y+', ArrowDown: 'Y-', ArrowLeft: 'X-', ArrowRight: 'X+', PageUp: 'Z+', PageDown: 'Z-' };
  document.addEventListener('keydown', (ev) => {
    const t = ev.target;
    if (t.closest && t.closest('input, textarea, select, dialog')) return;
    if (ev.key === 'Escape') { jogRelease(); act('Stop jog', () => sendJogCancel()); return; }
    const dir = keys[ev.key];
    if (!dir || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    ev.preventDefault();
    if (ev.repeat) return;
    jogPress($(`.jogb[data-jog="${dir}1"]`));
  });
  document.addEventListener('keyup', (ev) => { if (keys[ev.key]) jogRelease(); });
  window.addEventListener('blur', jogRelease);
}

// ---------- jobs ----------

function diagList(diags) {
  const ol = document.createElement('ol');
  for (const d of diags) {
    const li = document.createElement('li');
    li.className = `sev-${d.severity}`;
    const where = `line ${d.line}${d.col ? `, col ${d.col}` : ''}`;
    const code = d.grbl_error && !d.message.includes(`error:${d.grbl_error}`) ? ` (GRBL error:${d.grbl_error})` : '';
    li.textContent = `${where}: ${d.message}${code}`;
    ol.append(li);
  }
  return ol;
}

async function upload(file) {
  const out = $('#upload-result');
  out.replaceChildren();
  const box = document.createElement('div');
  box.className = 'diags';
  box.setAttribute('role', 'status');
  box.textContent = `Uploading ${file.name}…`;
  out.append(box);
  const textP = file.text();
  try {
    const job = await api.upload(file);
    const src = await textP;
    S.programs.set(job.id, { parsed: await parser.parse(src), src: src.split(/\r?\n|\r/) });
    const rep = check(job) || {};
    box.className = 'diags ok';
    box.replaceChildren(`✔ ${job.name}: checked, ${job.lines} lines, ${rep.errors || 0} errors, ${rep.warnings || 0} warnings${rep.estimated_seconds ? `, about ${dur(rep.estimated_seconds * 1000)}` : ''}.`);
    if (rep.diagnostics?.length) box.append(diagList(rep.diagnostics));
    await loadJobs();
    showPreview(job.id);
  } catch (err) {
    box.className = 'diags';
    box.setAttribute('role', 'alert');
    const diags = err.details?.diagnostics;
    if (diags?.length) {
      const errors = diags.filter((d) => d.severity === 'error').length;
      const h = document.createElement('p');
      h.className = 'error';
      h.textContent = `✖ ${file.name} was refused: GRBL would reject it (${errors} error${errors === 1 ? '' : 's'}). Fix these lines and upload again:`;
      box.replaceChildren(h, diagList(diags));

    } else {
      box.replaceChildren(`✖ ${file.name} was refused (${err.status || 'no answer'} ${err.code}): ${err.message}`);
    }
  }
}

/** label names table cells for the stacked phone layout (td::before). */
function label(cells, names) {
  cells.forEach((td, i) => { if (names[i]) td.dataset.label = names[i]; });
}

function renderJobs() {
  const tb = $('#job-table tbody');
  tb.replaceChildren();
  $('#jobs-empty').hidden = S.jobs.length > 0;
  for (const j of S.jobs) {
    const rep = check(j);
    const tr = document.createElement('tr');
    tr.dataset.job = j.id;
    const name = document.createElement('td');
    const pv = document.createElement('button');
    pv.type = 'button';
    pv.className = 'small linkish';
    pv.textContent = j.name;
    pv.title = 'Show in the preview';
    pv.addEventListener('click', () => showPreview(j.id));
    name.append(pv);
    const lines = document.createElement('td');
    lines.className = 'num';
    lines.textContent = j.lines;
    const chk = document.createElement('td');
    const badge = document.createElement('span');
    const bad = rep && rep.streamable === false;
    badge.className = `badge ${bad ? 'fail' : rep?.warnings ? 'warn' : rep ? 'pass' : 'neutral'}`;
    badge.textContent = bad ? `${rep.errors} errors` : rep?.warnings ? `${rep.warnings} warnings` : rep ? 'OK' : 'unchecked';
    chk.append(badge);
    const from = document.createElement('td');
    const fl = document.createElement('input');
    fl.type = 'number';
    fl.min = '0';
    fl.max = String(j.lines);
    fl.value = '0';
    fl.className = 'from-line';
    fl.id = `from-${j.id}`;
    fl.setAttribute('aria-label', `Start ${j.name} from line (0: the beginning)`);
    from.append(fl);
    const acts = document.createElement('td');
    const start = document.createElement('button');
    start.type = 'button';
    start.className = 'small start-job';
    start.dataset.role = 'operator';
    start.dataset.bad = bad ? '1' : '0';
    start.textContent = 'Start';
    start.setAttribute('aria-label', `Start ${j.name}`);
    start.addEventListener('click', () => startJob(j, parseInt(fl.value, 10) || 0));
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'small danger';
    del.dataset.role = 'operator';
    del.textContent = 'Delete';
    del.setAttribute('aria-label', `Delete ${j.name}`);
    del.addEventListener('click', async () => {
      if (await confirmDlg(`Delete job ${j.name} and its runs?`)) {
        await act('Delete job', () => api.deleteJob(j.id));
        loadJobs();
      }
    });
    acts.append(start, ' ', del);
    label([name, lines, chk, from, acts], ['Job', 'Lines', 'Check', 'Start from line', '']);
    tr.append(name, lines, chk, from, acts);
    tb.append(tr);
  }
  renderControls();
  renderRun();
}

async function startJob(job, fromLine) {
  if (fromLine > 0 && !(await confirmDlg(`Start ${job.name} from line ${fromLine}? Modal state (units, offsets, spindle) is taken from the lines before it.`))) return;
  const run = await act(`Start ${job.name}`, () => api.start(job.id, fromLine));
  if (run) {
    setRun(run);
    toast(`Run ${run.id} of ${job.name} ${run.state}.`);
  }
}

// ---------- preview ----------

async function showPreview(jobID) {
  const changed = S.previewJob !== jobID;
  S.previewJob = jobID;
  if (changed) loadBaseline(jobID);
  const job = jobOf(jobID);
  text('#pv-name', job ? `— ${job.name}` : '');
  let prog = S.programs.get(jobID);
  if (!prog) {
    preview.setProgram(null);
    text('#pv-info', 'Loading the program…');
    prog = await loadProgram(jobID);
    if (S.previewJob !== jobID) return; // another job was selected meanwhile
    if (!prog) return;
  }
  preview.setProgram(prog.parsed);
  updatePreviewTravel();
  const b = prog.parsed.bounds;
  if (b.empty) { text('#pv-info', 'The program has no XY moves to draw.'); return; }
  const f = (i) => `${b.min[i].toFixed(1)} to ${b.max[i].toFixed(1)}`;
  let msg = `Bounds (work mm): X ${f(0)}, Y ${f(1)}, Z ${f(2)}. ${prog.parsed.segs.length / 4} segments.`;
  const rect = preview.travelRect();
  if (rect) {
    const out = outside(b, rect);
    msg += out.length ? ` ⚠ Leaves the machine travel at ${out.join(', ')} with the current work offset.` : ' ✔ Fits the machine travel with the current work offset.';
  } else {
    msg += ' Machine travel unknown ($130/$131 not read).';
  }
  text('#pv-info', msg);
}

/** loadProgram fetches and parses a job's text from the daemon (null on failure, said in the preview). */
async function loadProgram(jobID) {
  try {
    const src = await api.gcode(jobID);
    const prog = { parsed: await parser.parse(src), src: src.split(/\r?\n|\r/) };
    S.programs.set(jobID, prog);
    if (S.run?.job_id === jobID) renderRun();
    return prog;
  } catch (err) {
    text('#pv-info', missing(err)
      ? 'This daemon does not serve program text: upload the file from this browser to preview it.'
      : `Could not load the program (${err.status || 'no answer'} ${err.code}): ${err.message}`);
    return null;
  }
}

function updatePreviewTravel() {
  if (!preview) return;
  const t = S.travel;
  preview.setTravel(t && Number.isFinite(t.x) ? { x: t.x, y: t.y, wco: S.machine?.wco } : null);
}

// ---------- canary, drift, history ----------

function verdictClass(c) {
  const s = String(c || '').toLowerCase();
  return s === 'pass' ? 'pass' : s === 'fail' || s === 'high' || s === 'low' ? 'fail' : s === 'marginal' ? 'marginal' : 'neutral';
}

/** shownRun is the id of the run the canary card shows. */
function shownRun() { return S.canaryRun ?? S.run?.id ?? null; }

/** ratioText is a metric's run/baseline mean ratio, " · ratio 1.18", or "". */
function ratioText(m) {
  const r = m.resultMetadata?.ratio;
  return Number.isFinite(r) ? ` · ratio ${r.toFixed(2)}` : '';
}

/** loadReport reads a run's canary report (GET /runs/{id}/canary). */
async function loadReport(id) {
  const c = canaryOf(id);
  c.loading = true;
  try {
    c.report = await api.canaryReport(id);
    c.verdict = c.report.verdict;
    c.note = '';
  } catch (err) {
    c.note = err instanceof APIError && err.status === 404 ? `No canary report for run ${id}: ${err.message}` : `Canary report of run ${id} failed: ${err.message}`;
  } finally {
    c.loading = false;
  }
  if (shownRun() === id) renderVerdict();
}

/** openReport shows a past run's canary report in the canary card. */
function openReport(run) {
  S.canaryRun = run.id;
  const c = canaryOf(run.id);
  if (!c.verdict && run.summary?.verdict) c.verdict = run.summary.verdict;
  renderVerdict();
  if (!c.report) loadReport(run.id);
  // The card's baseline row (and the preview) follow the run's job: the
  // report names that job's baseline run.
  if (S.previewJob !== run.job_id) showPreview(run.job_id);
  $('#canary').scrollIntoView({ block: 'start' });
}

/**
 * liveJudging says whether an active run is judged: only against its job's
 * baseline, which the canary card has loaded for the previewed job (the
 * running one's).
 */
function liveJudging(run) {
  const b = S.baseline;
  if (b.job !== run.job_id || b.state === 'loading') return '.';
  if (b.state === 'set') return ', judged live.';
  if (b.state === 'none') return ': not judged, its job has no baseline.';
  return '.';
}

function renderVerdict() {
  const body = $('#canary-body');
  const id = shownRun();
  const c = id ? S.canary.get(id) : null;
  const v = c?.verdict;
  const rep = c?.report;
  const run = S.run?.id === id ? S.run : S.runsList.find((r) => r.id === id);
  const job = run ? jobOf(run.job_id) : null;
  let head = id ? `Run ${id}${job ? ` of ${job.name}` : ''}` : '';
  if (rep) head += ` against baseline run ${rep.baseline}, ${rep.live ? 'judged live' : 'judged from its stored telemetry'}.`;
  else if (id) head += run && ACTIVE.has(run.state) ? liveJudging(run) : '.';
  text('#canary-run', head);
  if (!v || !v.score) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = c?.note || (id ? `No verdict for run ${id}: it is judged against the job's baseline run, if it has one.` : 'No verdict yet: a run of a job with a baseline gets one.');
    body.replaceChildren(p);
    return;
  }
  const sc = v.score;
  const p = document.createElement('p');
  p.className = 'verdict';
  const badge = document.createElement('span');
  badge.className = `badge ${verdictClass(sc.classification)}`;
  badge.textContent = sc.classification || 'unknown';
  p.append(badge, ` score ${Number.isFinite(sc.score) ? sc.score.toFixed(1) : '—'} / 100`);
  if (sc.classificationReason) p.append(` — ${sc.classificationReason}`);
  const out = [p];
  if (rep?.muted?.length) {
    const m = document.createElement('p');
    m.className = 'hint';
    m.textContent = `Left out where a feed or rapid override was not 100 %: ${rep.muted.join(', ')}.`;
    out.push(m);
  }
  if (c.scores.length > 1) {
    out.push(lineChart({ points: c.scores, label: 'Canary score over the run, by source line', xLabel: 'line', yLabel: 'score', height: 140 }));
  }
  const ul = document.createElement('ul');
  ul.className = 'metrics';
  // Metrics that did not pass first, then by name.
  const rows = Object.entries(v.results || {}).sort(([a, x], [b, y]) =>
    (x.classification === 'Pass') - (y.classification === 'Pass') || a.localeCompare(b));
  for (const [name, m] of rows) {
    const li = document.createElement('li');
    li.dataset.metric = name;
    const t = document.createElement('div');
    const b = document.createElement('span');
    b.className = `badge ${verdictClass(m.classification)}`;
    b.textContent = m.classification;
    t.append(b, ` ${name}${m.critical ? ' (critical)' : ''}${m.muted ? ' (muted)' : ''}${ratioText(m)}`);
    if (m.classificationReason) t.title = m.classificationReason;
    li.append(t, rangeChart({
      control: m.controlMetadata?.stats || {},
      experiment: m.experimentMetadata?.stats || {},
      label: `${name}: baseline vs run`,
    }));
    ul.append(li);
  }
  out.push(ul);
  body.replaceChildren(...out);
}

function renderDrift() {
  const body = $('#drift-body');
  const d = S.drift;
  if (!d.points.length) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'No drift checks yet in this run.';
    body.replaceChildren(p);
    return;
  }
  const last = d.points[d.points.length - 1];
  const over = d.limit > 0 && Math.abs(last.y) > d.limit;
  const p = document.createElement('p');
  const b = document.createElement('span');
  b.className = `badge ${over ? 'fail' : 'pass'}`;
  b.textContent = over ? 'over the limit' : 'within the limit';
  p.append(b, ` last check ${last.y.toFixed(3)} mm${d.limit ? ` (limit ±${d.limit.toFixed(3)} mm)` : ''}`);
  body.replaceChildren(p, lineChart({ points: d.points, limit: d.limit, label: 'Z drift per checkpoint, mm', xLabel: 'checkpoint', yLabel: 'ΔZ mm' }));
}

function renderHistory(runs) {
  const tb = $('#hist-table tbody');
  tb.replaceChildren();
  const done = runs.filter((r) => !ACTIVE.has(r.state));
  $('#hist-empty').hidden = done.length > 0;
  for (const r of done) {
    const tr = document.createElement('tr');
    const job = jobOf(r.job_id);
    const cells = [r.id, job ? job.name : r.job_id].map((c) => { const td = document.createElement('td'); td.textContent = c; return td; });
    tr.append(...cells);
    const out = document.createElement('td');
    const ob = document.createElement('span');
    ob.className = `badge ${r.state === 'completed' ? 'pass' : r.state === 'aborted' ? 'warn' : 'fail'}`;
    ob.textContent = r.state;
    out.append(ob);
    if (r.reason) out.append(` ${r.reason}`);
    const du = document.createElement('td');
    du.className = 'num';
    du.textContent = r.started && r.ended ? dur(Date.parse(r.ended) - Date.parse(r.started)) : '—';
    const ve = document.createElement('td');
    const sc = r.summary?.verdict?.score;
    if (sc) {
      const vb = document.createElement('span');
      vb.className = `badge ${verdictClass(sc.classification)}`;
      vb.textContent = `${sc.classification} ${Number.isFinite(sc.score) ? sc.score.toFixed(0) : ''}`;
      ve.append(vb);
    } else ve.textContent = '—';
    const te = document.createElement('td');
    const a = document.createElement('a');
    a.href = api.telemetryURL(r.id);
    a.textContent = 'CSV';
    a.setAttribute('aria-label', `Telemetry of run ${r.id} as CSV`);
    a.download = `run-${r.id}-telemetry.csv`;
    te.append(a);
    const bl = document.createElement('td');
    if (r.state === 'completed') {
      const sb = document.createElement('button');
      sb.type = 'button';
      sb.className = 'small set-baseline';
      sb.dataset.role = 'admin';
      sb.textContent = 'Set as baseline';
      sb.setAttribute('aria-label', `Use run ${r.id} as the baseline of its job`);
      sb.addEventListener('click', () => setBaseline(r));
      bl.append(sb);
    }
    if (sc) {
      const rb = document.createElement('button');
      rb.type = 'button';
      rb.className = 'small open-report';
      rb.textContent = 'Report';
      rb.setAttribute('aria-label', `Canary report of run ${r.id}`);
      rb.addEventListener('click', () => openReport(r));
      ve.append(' ', rb);
    }
    tr.append(out, du, ve, te, bl);
    label([...tr.children], ['Run', 'Job', 'Outcome', 'Duration', 'Verdict', 'Telemetry', 'Baseline']);
    tb.append(tr);
  }
  renderControls();
}

// ---------- work offsets ----------

async function loadOffsets() {
  try {
    S.offsets = await api.offsets();
    S.offsetsAPI = true;
  } catch (err) {
    if (missing(err)) S.offsetsAPI = false;
  }
  renderOffsets();
}

function renderOffsets() {
  const o = S.offsets;
  const sel = $('#wcs');
  if (o?.active && !sel.dataset.chosen) sel.value = o.active;
  let info = '';
  if (S.offsetsAPI === false) info = 'This daemon cannot read or set work offsets.';
  else if (o) {
    const v = o.wcs?.[sel.value];
    info = `In use: ${o.active || '?'}. ${sel.value} origin at machine ${v ? v.map((x) => x.toFixed(3)).join(', ') : '—'} mm`
      + `${o.fresh === false ? ' (as last read: the machine is busy)' : ''}.`;
  }
  text('#wcs-info', info);
  renderControls();
}

/** zeroBlock says why zeroing is not possible now, or "". */
function zeroBlock() {
  const m = S.machine;
  if (S.offsetsAPI === false) return 'Zeroing is not available on this daemon.';
  if (ROLES[S.role] < ROLES.operator) return 'Zeroing needs the operator role.';
  if (!S.streamOpen) return 'Not connected to the daemon.';
  if (!m || m.connected === false) return 'No machine is connected.';
  if (S.run && ACTIVE.has(S.run.state)) return `Zeroing is disabled while run ${S.run.id} is ${S.run.state}.`;
  if (m.state === 'Alarm') return 'The machine is in alarm: unlock or home it first.';
  if (m.state && m.state !== 'Idle') return `Zeroing needs the machine Idle (it is ${m.state}).`;
  return '';
}

/** zero sets the work origin of axes ("X", "XYZ") at the current position. */
async function zero(axes) {
  const wcs = $('#wcs').value;
  const req = { wcs };
  for (const a of axes) req[a.toLowerCase()] = 0;
  const names = axes.split('').join(', ');
  const o = await act(`Zero ${names} of ${wcs}`, () => api.zero(req));
  if (!o) return;
  S.offsets = o;
  renderOffsets();
  toast(`${wcs}: ${names} zeroed at the current position.`);
  loadMachine();
}

// ---------- probe ----------

function probeBlock() {
  const m = S.machine;
  if (S.probeAPI === false) return 'Probing the reference is not available on this daemon.';
  if (ROLES[S.role] < ROLES.operator) return 'Probing needs the operator role.';
  if (!S.streamOpen) return 'Not connected to the daemon.';
  if (!m || m.connected === false) return 'No machine is connected.';
  if (S.run && ACTIVE.has(S.run.state)) return `Probing is disabled while run ${S.run.id} is ${S.run.state}.`;
  if (m.state && m.state !== 'Idle') return `Probing needs the machine Idle (it is ${m.state}).`;
  return '';
}

async function probeReference() {
  const out = $('#probe-result');
  out.textContent = 'Probing the reference…';
  $('#btn-probe').disabled = true;
  try {
    const r = await api.probe();
    S.probeAPI = true;
    S.probe = r;
    if (Number.isFinite(r.reference_z)) {
      const um = Number.isFinite(r.drift_um) ? `${r.drift_um >= 0 ? '+' : ''}${r.drift_um.toFixed(0)} µm` : '—';
      out.textContent = `Reference touched at machine Z ${mm(r.machine_z)} mm (reference ${mm(r.reference_z)} mm): drift ${um}.`;
    } else {
      out.textContent = `Reference touched at machine Z ${mm(r.machine_z)} mm: the first measurement, kept as the reference.`;
    }
  } catch (err) {
    if (err instanceof APIError && (err.status === 404 || err.status === 501)) {
      S.probeAPI = false;
      out.textContent = 'Probing the reference is not available on this daemon.';
    } else {
      out.textContent = `Probe failed (${err.status || 'no answer'} ${err.code}): ${err.message}`;
    }
  } finally {
    renderControls();
  }
}

// ---------- router relay ----------

/** relayFields keeps a relay answer's mode, commanded and sensed. */
function relayFields(r) {
  const src = r?.relay || r || {};
  const out = {};
  for (const k of ['mode', 'commanded', 'sensed', 'last_switch']) if (k in src) out[k] = src[k];
  return out;
}

async function loadRelay() {
  const events = S.relayEvents;
  try {
    const r = await api.relay();
    S.relayAPI = true;
    // A relay event while the answer was on its way is at least as new
    // (the daemon publishes every change with the whole state): the
    // answer must not bring an older state back.
    if (S.relayEvents !== events) { renderControls(); return; }
    if (S.machine) { S.machine.relay = { ...(S.machine.relay || {}), ...relayFields(r) }; renderMachine(); }
  } catch (err) {
    if (missing(err) || (err instanceof APIError && err.status === 404)) S.relayAPI = false;
  }
  renderControls();
}

function relayBlock() {
  const mode = S.machine?.relay?.mode;
  if (S.relayAPI === false) return 'Switching the router from the panel is not available on this daemon.';
  if (ROLES[S.role] < ROLES.operator) return 'Switching the router needs the operator role.';
  if (!S.streamOpen) return 'Not connected to the daemon.';
  if (mode && mode !== 'drive') return `The relay is in ${mode} mode: kerf ${mode === 'sense' ? 'only watches the router' : 'has no relay'}, so switch the router by hand.`;
  return '';
}

/** relayOnBlock adds the reasons that keep the router from being switched on. */
function relayOnBlock() {
  const m = S.machine || {};
  if (S.run && ACTIVE.has(S.run.state)) return `The run ${S.run.id} controls the router while it is ${S.run.state}.`;
  if (m.connected === false) return 'No machine is connected.';
  if (m.state === 'Alarm' || m.state === 'Door') return `The machine is in ${m.state}: the router stays off.`;
  return '';
}

/** switchText words the relay's last switch: when, why, and whether the sense input followed. */
function switchText(sw, mode) {
  if (!sw) return mode && mode !== 'none' ? 'none yet' : '—';
  const at = new Date(sw.time);
  const when = Number.isNaN(at.getTime()) ? '' : ` at ${at.toLocaleTimeString()}`;
  const ms = sw.latency_ns / 1e6;
  const check = sw.mismatch ? '⚠ MISMATCH: the sense input did not follow'
    : sw.confirmed ? `confirmed${ms > 0 ? ` after ${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms` : ''}`
      : 'sensed' in sw ? 'not confirmed yet' : 'no sense input';
  return `${sw.on ? 'On' : 'Off'}${when}${sw.reason ? ` (${sw.reason})` : ''}: ${check}`;
}

function relayText() {
  const r = S.machine?.relay || {};
  const w = (v) => (v === true ? 'on' : v === false ? 'off' : 'unknown');
  return r.mode === 'drive' ? `Router commanded ${w(r.commanded)}${'sensed' in r ? `, sensed ${w(r.sensed)}` : ''}.` : '';
}

async function relaySwitch(onOff) {
  if (onOff === 'on' && !(await confirmDlg('Switch the router ON? The bit spins at once: keep hands clear.'))) return;
  const r = await act(`Router ${onOff}`, () => api.relayAction(onOff));
  if (r && S.machine) { S.machine.relay = { ...(S.machine.relay || {}), ...relayFields(r) }; renderMachine(); }
  loadRelay();
}

// ---------- baseline ----------

async function loadBaseline(jobID) {
  S.baseline = { job: jobID, state: 'loading' };
  renderBaseline();
  let b;
  try {
    // A BaselineInfo {job, baseline: Baseline|null, offered}, or a bare Baseline.
    const rec = await api.baseline(jobID);
    const bl = rec && 'baseline' in rec ? rec.baseline : rec;
    b = bl ? { job: jobID, state: 'set', run: bl.run_id || bl.run, config: bl.canary_config }
      : { job: jobID, state: 'none', offered: rec.offered };
  } catch (err) {
    if (missing(err)) b = { job: jobID, state: 'missing' };
    else if (err instanceof APIError && err.status === 404) b = { job: jobID, state: 'none' };
    else b = { job: jobID, state: 'error', message: err.message };
  }
  if (S.baseline.job !== jobID) return; // another job was selected meanwhile
  S.baseline = b;
  renderBaseline();
}

function renderBaseline() {
  const box = $('#baseline');
  const b = S.baseline;
  const job = jobOf(b.job);
  const p = document.createElement('div');
  p.className = 'baseline-row';
  const name = job ? job.name : `job ${b.job}`;
  if (!b.job) p.textContent = 'Select a job to see its baseline.';
  else if (b.state === 'loading') p.textContent = `Baseline of ${name}: loading…`;
  else if (b.state === 'missing') p.textContent = 'Baselines cannot be managed on this daemon.';
  else if (b.state === 'error') p.textContent = `Baseline of ${name}: ${b.message}`;
  else if (b.state === 'none') {
    p.append(`${name} has no baseline: set one from a completed run in the history.`);
    if (b.offered) {
      const use = document.createElement('button');
      use.type = 'button';
      use.className = 'small set-baseline';
      use.dataset.role = 'admin';
      use.textContent = `Use run ${b.offered}`;
      use.setAttribute('aria-label', `Use run ${b.offered} as the baseline of ${name}`);
      use.addEventListener('click', () => setBaseline({ id: b.offered, job_id: b.job }));
      p.append(' ', use);
    }
  } else {
    p.append(`Baseline of ${name}: run ${b.run}${b.config ? ` (config ${b.config})` : ''}. `);
    const clr = document.createElement('button');
    clr.type = 'button';
    clr.id = 'baseline-clear';
    clr.className = 'small danger';
    clr.dataset.role = 'admin';
    clr.textContent = 'Clear baseline';
    clr.addEventListener('click', async () => {
      if (!(await confirmDlg(`Clear the baseline of ${name}? Its next runs get no canary verdict until a new one is set.`))) return;
      if ((await act('Clear baseline', () => api.clearBaseline(b.job))) !== undefined) loadBaseline(b.job);
    });
    p.append(clr);
  }
  box.replaceChildren(p);
  renderVerdict(); // its head says whether the current run is judged
  renderControls();
}

async function setBaseline(run) {
  const job = jobOf(run.job_id);
  const r = await act('Set baseline', () => api.setBaseline(run.job_id, run.id));
  if (r === undefined) return;
  toast(`Run ${run.id} is now the baseline of ${job ? job.name : `job ${run.job_id}`}.`);
  if (S.previewJob !== run.job_id) showPreview(run.job_id);
  else loadBaseline(run.job_id);
}

// ---------- wiring ----------

function bind() {
  $('#login-form').addEventListener('submit', onLogin);
  $('#login-dlg').addEventListener('cancel', (ev) => ev.preventDefault());
  $('#logout').addEventListener('click', onLogout);
  $('#reconnect-now').addEventListener('click', () => stream.start());
  const machine = (label, name) => () => act(label, () => api.machineAction(name)).then(() => loadMachine());
  $('#btn-home').addEventListener('click', machine('Home', 'home'));
  $('#fix-home').addEventListener('click', machine('Home', 'home'));
  $('#btn-unlock').addEventListener('click', machine('Unlock', 'unlock'));
  $('#fix-unlock').addEventListener('click', machine('Unlock', 'unlock'));
  $('#btn-hold').addEventListener('click', machine('Feed hold', 'hold'));
  for (const id of ['#btn-resume', '#fix-resume', '#fix-door-resume']) $(id).addEventListener('click', machine('Resume', 'resume'));
  $('#btn-reset').addEventListener('click', async () => {
    if (await confirmDlg('Soft-reset the board? Motion stops at once and an active run is aborted.')) machine('Soft reset', 'reset')();
  });
  const runAct = (label, action) => async () => {
    if (!S.run) return;
    if (action === 'abort' && !(await confirmDlg(`Abort run ${S.run.id}? The router is switched off and the run cannot be resumed.`))) return;
    const r = await act(label, () => api.runAction(S.run.id, action));
    if (r) setRun(r);
  };
  $('#run-pause').addEventListener('click', runAct('Pause', 'pause'));
  $('#run-resume').addEventListener('click', runAct('Resume', 'resume'));
  $('#run-abort').addEventListener('click', runAct('Abort', 'abort'));
  $('#prompt-resume').addEventListener('click', async () => { closePrompt(); await runAct('Resume', 'resume')(); });
  $('#prompt-abort').addEventListener('click', async () => { closePrompt(); await runAct('Abort', 'abort')(); });
  $('#prompt-close').addEventListener('click', () => $('#prompt-dlg').close());
  for (const row of $$('.ov')) {
    for (const b of $$('button', row)) {
      b.addEventListener('click', () => {
        const o = { target: row.dataset.target, op: b.dataset.op };
        act(`Override ${o.target} ${o.op}`, () => stream.send({ cmd: 'override', override: o }).catch((err) => {
          if (err.message === 'not connected') return api.override(o.target, o.op);
          throw err;
        }));
      });
    }
  }
  const drop = $('#drop');
  $('#file').addEventListener('change', (ev) => { const f = ev.target.files[0]; if (f) upload(f); ev.target.value = ''; });
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ROLES[S.role] < ROLES.operator) { toast('Uploading needs the operator role.', 'error'); return; }
    const f = ev.dataTransfer.files[0];
    if (f) upload(f);
  });
  for (const b of $$('.zero')) b.addEventListener('click', () => zero(b.dataset.axis));
  $('#wcs').addEventListener('change', (ev) => { ev.target.dataset.chosen = '1'; renderOffsets(); });
  $('#btn-probe').addEventListener('click', probeReference);
  for (const b of $$('.pv-view')) {
    b.addEventListener('click', () => {
      for (const o of $$('.pv-view')) o.setAttribute('aria-pressed', String(o === b));
      preview.setView(b.dataset.view);
      $('#pv-canvas').setAttribute('aria-label', b.dataset.view === '3d' ? '3D view of the toolpath (isometric)' : 'Top view of the toolpath');
    });
  }
  $('#relay-on').addEventListener('click', () => relaySwitch('on'));
  $('#relay-off').addEventListener('click', () => relaySwitch('off'));
  bindJog();
  // The elapsed time and ETA tick between progress events.
  setInterval(() => { if (S.run?.state === 'running') renderRun(); }, 1000);
}

async function main() {
  preview = new Preview($('#pv-canvas'));
  bind();
  renderConn();
  renderRun();
  if (await checkSession()) stream.start();
  else if (!$('#login-dlg').open) {
    // The daemon did not answer: keep trying through the stream.
    S.user = S.user || { name: '', role: 'viewer' };
    renderConn();
    stream.start();
  }
}

main();
