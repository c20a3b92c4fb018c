// browser.mjs: the harness tests' helpers: chromium (chromium.mjs) and the
// Go harness's control plane.

import { SHOTS, CORPUS, launch, watchConsole } from './chromium.mjs';

export { SHOTS, CORPUS, launch, watchConsole };
export const URL_ = process.env.KERF_URL;
export const CONTROL = process.env.KERF_CONTROL;

if (!URL_ || !CONTROL) {
  throw new Error('KERF_URL and KERF_CONTROL are not set: run these tests with `go test ./web/ui -run TestBrowser`');
}

async function call(method, p, body) {
  const res = await fetch(CONTROL + p, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`control ${method} ${p}: HTTP ${res.status}: ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** The harness's control plane (see harness_test.go). */
export const control = {
  publish: (topic, data) => call('POST', '/publish', { topic, data }),
  machine: (status) => call('POST', '/machine', status),
  run: (r) => call('POST', '/run', r),
  pause: (run, reason) => call('POST', '/pause', { run, reason }),
  calls: () => call('GET', '/calls'),
  wsQueries: () => call('GET', '/ws'),
  offline: () => call('POST', '/offline'),
  online: () => call('POST', '/online'),
  features: (f) => call('POST', '/features', { probe: true, relay: true, baseline: true, ...f }),
  finish: (run) => call('POST', '/finish', { run }),
  canary: (job) => call('POST', '/canary', { job }),
};

/** until polls fn (a control-plane read) until pred holds, up to 10 s. */
export async function until(fn, pred, what) {
  const end = Date.now() + 10000;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}
