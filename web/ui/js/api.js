// api.js: the panel's HTTP client for kerf's /api/v1. Every failure is an
// APIError carrying the HTTP status and the API's error code and message
// ({"error":{"code","message","details"}}), so callers branch on codes.

/** An API failure: status 0 means the daemon could not be reached. */
export class APIError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Reads a cookie by name ("" when absent). */
function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

/**
 * Client for the API. onUnauthorized is called on any 401 so the panel can
 * ask for a login; the failing call still rejects.
 */
export class API {
  constructor({ base = '/api/v1', onUnauthorized = () => {} } = {}) {
    this.base = base;
    this.onUnauthorized = onUnauthorized;
  }

  /** request sends one call; body is JSON unless it is FormData. */
  async request(method, path, body, { allow401 = false } = {}) {
    const headers = { Accept: 'application/json' };
    const csrf = cookie('kerf_csrf');
    if (csrf) headers['X-CSRF-Token'] = csrf;
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(this.base + path, { method, headers, body: payload, credentials: 'same-origin' });
    } catch (err) {
      throw new APIError(0, 'network', `${method} ${path}: the daemon did not answer (${err.message})`);
    }
    if (res.status === 204) return null;
    const type = res.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
    if (res.ok) return data;
    const e = data && data.error ? data.error : {};
    const err = new APIError(res.status, e.code || `http_${res.status}`,
      e.message || `${method} ${path}: HTTP ${res.status}`, e.details);
    if (res.status === 401 && !allow401) this.onUnauthorized(err);
    throw err;
  }

  get(path, opts) { return this.request('GET', path, undefined, opts); }
  post(path, body, opts) { return this.request('POST', path, body, opts); }
  put(path, body) { return this.request('PUT', path, body); }
  del(path) { return this.request('DELETE', path); }

  me() { return this.get('/auth/me', { allow401: true }); }
  login(username, password) { return this.post('/auth/login', { username, password }, { allow401: true }); }
  logout() { return this.post('/auth/logout'); }

  machine() { return this.get('/machine'); }
  settings() { return this.get('/machine/settings'); }
  machineAction(name) { return this.post(`/machine/${name}`); }
  jog(j) { return this.post('/machine/jog', j); }
  override(target, op) { return this.post('/machine/override', { target, op }); }

  jobs() { return this.get('/jobs?limit=100'); }
  job(id) { return this.get(`/jobs/${id}`); }
  deleteJob(id) { return this.del(`/jobs/${id}`); }
  upload(file) {
    const fd = new FormData();
    fd.append('file', file, file.name);
    return this.post('/jobs', fd);
  }
  start(id, fromLine) { return this.post(`/jobs/${id}/start`, fromLine > 0 ? { from_line: fromLine } : {}); }

  runs(query = '') { return this.get(`/runs${query}`); }
  run(id) { return this.get(`/runs/${id}`); }
  runAction(id, action) { return this.post(`/runs/${id}/${action}`); }
  telemetryURL(id) { return `${this.base}/runs/${id}/telemetry?format=csv`; }

  /** gcode fetches a job's program text (text/plain; ETag = its SHA-256). */
  gcode(id) { return this.request('GET', `/jobs/${id}/gcode`); }

  offsets() { return this.get('/machine/offsets'); }
  zero(req) { return this.post('/machine/offsets', req); }
  probe() { return this.post('/machine/probe', {}); }
  relay() { return this.get('/relay'); }
  relayAction(onOff) { return this.post(`/relay/${onOff}`); }
  baseline(jobID) { return this.get(`/jobs/${jobID}/baseline`); }
  setBaseline(jobID, runID) { return this.put(`/jobs/${jobID}/baseline`, { run: runID }); }
  clearBaseline(jobID) { return this.del(`/jobs/${jobID}/baseline`); }
  /** canaryReport is a run's verdict against its baseline (jobs.CanaryReport). */
  canaryReport(runID) { return this.get(`/runs/${runID}/canary`); }
}

/**
 * missing reports whether err says the daemon has no such endpoint (an
 * older daemon): 501, or a 404 for the route itself rather than for a
 * resource it names.
 */
export function missing(err) {
  return err instanceof APIError && (err.status === 501 || err.status === 405 ||
    (err.status === 404 && /no API route/i.test(err.message)));
}
