// stream.js: the websocket event stream (GET /api/v1/ws) with automatic
// resume. The stream remembers the last sequence number it delivered and
// reconnects with ?since=SEQ, so events published while the connection was
// down are replayed; a "gap" message (the daemon no longer buffers them)
// is passed on so the panel reloads what it mirrors.

const BACKOFF_MIN = 500;
const BACKOFF_MAX = 5000;

/**
 * EventStream owns one websocket at a time. Handlers:
 *   onEvent({seq, time, topic, data}), onGap(msg), onOpen(), onLost(reason).
 * send(cmd) sends a client command ({cmd, jog|override}) and resolves with
 * the reply (rejects with the reply's error).
 */
export class EventStream {
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.lastSeq = 0;
    this.ws = null;
    this.open = false;
    this.stopped = false;
    this.backoff = BACKOFF_MIN;
    this.timer = null;
    this.pending = new Map();
    this.nextID = 1;
  }

  /** start connects (again) now. */
  start() {
    this.stopped = false;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) return;
    const u = new URL(this.url, location.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.lastSeq > 0) u.searchParams.set('since', String(this.lastSeq));
    const ws = new WebSocket(u);
    this.ws = ws;
    ws.onmessage = (m) => this.message(m.data);
    ws.onclose = (ev) => this.closed(ws, ev);
    // onerror is always followed by onclose, which handles it.
    ws.onerror = () => {};
  }

  /** stop closes the socket and does not reconnect. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'panel closed');
  }

  message(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    switch (m.type) {
      case 'hello':
        this.open = true;
        this.backoff = BACKOFF_MIN;
        this.h.onOpen?.(m);
        break;
      case 'event':
        if (m.seq <= this.lastSeq) return; // replayed twice: already applied
        this.lastSeq = m.seq;
        this.h.onEvent?.(m);
        break;
      case 'gap':
        this.lastSeq = m.latest || this.lastSeq;
        this.h.onGap?.(m);
        break;
      case 'reply': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m);
        else p.reject(Object.assign(new Error(m.error?.message || 'command failed'), { code: m.error?.code }));
        break;
      }
    }
  }

  closed(ws, ev) {
    if (this.ws !== ws) return;
    this.ws = null;
    const was = this.open;
    this.open = false;
    for (const p of this.pending.values()) p.reject(new Error('connection lost before the reply'));
    this.pending.clear();
    if (this.stopped) return;
    this.h.onLost?.({ code: ev.code, reason: ev.reason, wasOpen: was });
    this.timer = setTimeout(() => { this.timer = null; this.start(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
  }

  /** send runs a command over the socket; rejects when it is not open. */
  send(cmd) {
    if (!this.open || !this.ws) return Promise.reject(new Error('not connected'));
    const id = `c${this.nextID++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, ...cmd }));
    });
  }
}
