// admin.test.mjs: an admin manages a job's baseline — sets a completed run
// as the baseline from the history, sees it in the canary card, clears it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, watchConsole, control, until, URL_, SHOTS, CORPUS } from './browser.mjs';

const ADMIN = process.env.KERF_ADMIN || '';
const PASS = process.env.KERF_PASS || '';
const PROGRAM = path.join(CORPUS, 'cambam_Gates_combined_R12.nc');

describe('an admin', { skip: !ADMIN && 'the harness has no admin (KERF_ADMIN)' }, () => {
  let browser;
  let page;
  let con;

  before(async () => {
    browser = await launch({ width: 1280, height: 900 });
    page = await browser.context.newPage();
    con = watchConsole(page);
    con.allow({ status: 401, path: '/api/v1/auth/me' });
    await control.machine({ state: 'Idle', alarm: null });
  });

  after(async () => { await browser?.close(); });

  it('logs in', async () => {
    await page.goto(URL_);
    await page.locator('#login-dlg').waitFor({ state: 'visible' });
    await page.fill('#login-user', ADMIN);
    await page.fill('#login-pass', PASS);
    await page.click('#login-submit');
    await page.locator('#whoami').filter({ hasText: `${ADMIN} (admin)` }).waitFor();
    await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
  });

  it('sets a completed run as the job\'s baseline and clears it', async () => {
    await page.setInputFiles('#file', PROGRAM);
    await page.locator('#upload-result .diags.ok').waitFor();
    const row = page.locator('#job-table tbody tr', { hasText: 'Gates_combined' }).first();
    const jobID = await row.getAttribute('data-job');
    const starts = (c) => c.filter((x) => x.startsWith(`start job ${jobID} `));
    const n = starts(await control.calls()).length;
    await row.getByRole('button', { name: /^Start / }).click();
    const calls = await until(control.calls, (c) => starts(c).length > n, 'the start call');
    const id = starts(calls).at(-1).split(' ')[4];
    await control.finish(id);
    await page.locator('#run-state').filter({ hasText: 'completed' }).waitFor();
    // The canary card offers the completed run; the history has it too.
    await page.locator('#baseline').filter({ hasText: 'has no baseline' }).waitFor();
    await page.getByRole('button', { name: `Use run ${id} as the baseline of its job` }).click();
    await page.locator('#baseline').filter({ hasText: `Baseline of cambam_Gates_combined_R12.nc: run ${id}.` }).waitFor();
    assert.ok((await control.calls()).includes(`baseline job ${jobID} run ${id}`));
    await page.screenshot({ path: path.join(SHOTS, '1280-baseline.png'), fullPage: true, style: '.top, #banners { position: static !important; }' });
    await page.click('#baseline-clear');
    await page.locator('#confirm-dlg').waitFor({ state: 'visible' });
    assert.match(await page.locator('#confirm-text').textContent(), /Clear the baseline of cambam_Gates_combined_R12\.nc/);
    await page.click('#confirm-ok');
    await page.locator('#baseline').filter({ hasText: 'has no baseline' }).waitFor();
    assert.ok((await control.calls()).includes(`baseline job ${jobID} cleared`));
  });

  it('had no console errors', () => {
    assert.deepEqual(con.errors, []);
  });
});
