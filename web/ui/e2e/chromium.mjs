// chromium.mjs: starts Debian's chromium through playwright-core with a
// fresh profile, and collects a page's console errors. Shared by the
// harness tests (browser.mjs) and the tests against the real daemon
// (daemon/sim.test.mjs).

import { chromium } from 'playwright-core';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SHOTS = process.env.KERF_SHOTS || path.join(tmpdir(), 'kerf-shots');
export const CORPUS = path.resolve(process.env.KERF_CORPUS || '../../testdata/corpus/open');

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
