// browser.mjs: starts Debian's chromium through playwright-core with a
// fresh profile, and talks to the Go harness's control plane.

import { chromium } from 'playwright-core';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const URL_ = process.env.KERF_URL;
export const CONTROL = process.env.KERF_CONTROL;
export const SHOTS = process.env.KERF_SHOTS || path.join(tmpdir(), 'kerf-shots');
export const CORPUS = path.resolve(process.env.KERF_CORPUS || '../../testdata/corpus/open');

if (!URL_ || !CONTROL) {
  throw new Error('KERF_URL and KERF_CONTROL are not set: run these tests with `go test ./web/ui -run TestBrowser`');
}

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** launch returns {context, close} for a fresh user-data-dir. */
export async function launch(viewport) {
  const dir = await mkdtemp(path.join(tmpdir(), 'kerf-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.KERF_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport,
    timeout: 60000,
  });
  context.setDefaultTimeout(10000);
  await mkdir(SHOTS, { recursive: true });
  return {
    context,
    async close() {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * watchConsole collects console errors and page errors. Failed HTTP calls
 * are logged by chromium as console errors too; those the test expects
 * (statuses the API answers on purpose) are listed in allowed as
 * {status, path} and ignored.
 */
export function watchConsole(page) {
  const errors = [];
  const allowed = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const url = msg.location()?.url || '';
    const m = /status of (\d+)/.exec(text);
    if (m && allowed.some((a) => a.status === Number(m[1]) && url.includes(a.path))) return;
    if (allowed.some((a) => a.any && a.any.test(text))) return;
    errors.push(`console error: ${text} (${url})`);
  });
  return { errors, allow: (a) => allowed.push(a), disallow: (a) => allowed.splice(allowed.indexOf(a), 1) };
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
