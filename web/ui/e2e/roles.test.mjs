// roles.test.mjs: a viewer watches but cannot command: every control that
// changes the machine or a job is disabled and says why.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, watchConsole, URL_ } from './browser.mjs';

const VIEWER = process.env.KERF_VIEWER || '';
const PASS = process.env.KERF_PASS || '';

describe('a viewer', { skip: !VIEWER && 'the harness has no viewer (KERF_VIEWER)' }, () => {
  let browser;
  let page;
  let con;

  before(async () => {
    browser = await launch({ width: 1280, height: 900 });
    page = await browser.context.newPage();
    con = watchConsole(page);
    con.allow({ status: 401, path: '/api/v1/auth/me' });
    con.allow({ status: 404, path: '/baseline' }); // a job without a baseline
  });

  after(async () => { await browser?.close(); });

  it('logs in and sees the machine with the controls disabled', async () => {
    await page.goto(URL_);
    await page.locator('#login-dlg').waitFor({ state: 'visible' });
    await page.fill('#login-user', VIEWER);
    await page.fill('#login-pass', PASS);
    await page.click('#login-submit');
    await page.locator('#whoami').filter({ hasText: `${VIEWER} (viewer)` }).waitFor();
    await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
    for (const sel of ['#btn-home', '#btn-unlock', '#btn-reset', '.ov button >> nth=0', '#file', '#zero-all', '.zero[data-axis="X"]', '#btn-probe', '#relay-on', '#relay-off']) {
      assert.equal(await page.locator(sel).isDisabled(), true, `${sel} disabled for a viewer`);
    }
    assert.equal(await page.locator('#btn-home').getAttribute('title'), 'Needs the operator role');
    assert.match(await page.locator('#jog-reason').textContent(), /operator role/);
    assert.match(await page.locator('#zero-reason').textContent(), /Zeroing needs the operator role/);
    for (const b of await page.locator('#job-table .start-job').all()) assert.equal(await b.isDisabled(), true);
  });

  it('logs out', async () => {
    await page.click('#logout');
    await page.locator('#login-dlg').waitFor({ state: 'visible' });
  });

  it('had no console errors', () => {
    assert.deepEqual(con.errors, []);
  });
});
