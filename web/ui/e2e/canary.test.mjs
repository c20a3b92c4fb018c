// canary.test.mjs: the canary report of a run with a baseline, at a
// 1920 px screen and a 360 px phone. The harness plays a judged run
// (POST /canary): its baseline is set through the daemon's canary routes,
// its verdicts come from the real judge (jobs/canary) as run.verdict
// events while it runs and from GET /api/v1/runs/{id}/canary once it has
// ended. Also the run.warning banners and the relay's last switch.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, watchConsole, control, URL_, SHOTS, CORPUS } from './browser.mjs';

const USER = process.env.KERF_USER || '';
const PASS = process.env.KERF_PASS || '';
const PROGRAM = path.join(CORPUS, 'cambam_Gates_combined_R12.nc');

const VIEWPORTS = [
  { name: 'desktop', width: 1920, height: 1080 },
  { name: 'phone', width: 360, height: 740 },
];

// Sticky bars would be painted mid-page in a full-page or element capture.
const STATIC = '.top, #banners { position: static !important; }';

/** score is how the panel writes a verdict's score. */
const score = (v) => `score ${v.score.score.toFixed(1)} / 100`;

for (const vp of VIEWPORTS) {
  describe(`canary report at ${vp.width} px`, { concurrency: false }, () => {
    let browser;
    let page;
    let con;
    let rep; // the played run's jobs.CanaryReport
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${vp.width}-${name}.png`), fullPage: true, style: STATIC });

    /** assertReport checks the canary card against the report's verdict. */
    async function assertReport() {
      const card = page.locator('#canary-body');
      const v = rep.verdict;
      await card.locator('.verdict').filter({ hasText: `${v.score.classification} ${score(v)}` }).waitFor();
      const names = Object.keys(v.results);
      assert.equal(await card.locator('.metrics li').count(), names.length);
      for (const name of names) {
        const m = v.results[name];
        const row = card.locator(`.metrics li[data-metric="${name}"]`);
        assert.equal(await row.locator('.badge').textContent(), m.classification, name);
        const ratio = m.resultMetadata?.ratio;
        if (Number.isFinite(ratio)) assert.match(await row.textContent(), new RegExp(`ratio ${ratio.toFixed(2).replace('.', '\\.')}`), name);
        assert.equal(await row.locator(`svg[aria-label="${name}: baseline vs run"]`).count(), 1, `${name}: range chart`);
      }
      // Metrics that did not pass are listed first.
      assert.equal(await card.locator('.metrics li').first().getAttribute('data-metric'), 'segment_duration_ms');
    }

    before(async () => {
      browser = await launch({ width: vp.width, height: vp.height });
      page = await browser.context.newPage();
      con = watchConsole(page);
      con.allow({ status: 401, path: '/api/v1/auth/me' }); // not logged in yet
      await control.machine({ state: 'Idle', alarm: null });
    });

    after(async () => { await browser?.close(); });

    it('logs in and uploads a job', async () => {
      await page.goto(URL_);
      if (USER) {
        await page.locator('#login-dlg').waitFor({ state: 'visible' });
        await page.fill('#login-user', USER);
        await page.fill('#login-pass', PASS);
        await page.click('#login-submit');
      }
      await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
      await page.setInputFiles('#file', PROGRAM);
      await page.locator('#upload-result .diags.ok').waitFor();
    });

    it('follows a judged run live: score over time, warning, final report', async () => {
      const jobID = await page.locator('#job-table tbody tr', { hasText: 'Gates_combined' }).first().getAttribute('data-job');
      rep = await control.canary(jobID);
      assert.equal(rep.verdict.score.classification, 'Marginal', 'the harness plays a Marginal run');
      await page.locator('#run-title').filter({ hasText: `Run ${rep.run} ` }).waitFor();
      await page.locator('#run-state').filter({ hasText: 'completed' }).waitFor();
      // Once ended, the report names the baseline it was judged against.
      await page.locator('#canary-run').filter({ hasText: `Run ${rep.run} of cambam_Gates_combined_R12.nc against baseline run ${rep.baseline}, judged live.` }).waitFor();
      await assertReport();
      // Six run-so-far verdicts: the score over time, by source line.
      await page.locator('#canary-body svg[aria-label^="Canary score over the run"]').waitFor();
      // The Marginal verdict is a warning, naming the metric.
      const warn = page.locator('#warnings .warning', { hasText: `Run ${rep.run}: canary Marginal, ${score(rep.verdict).replace(' / 100', '')}` });
      await warn.waitFor();
      assert.match(await warn.textContent(), /segment_duration_ms High · ratio \d\.\d\d/);
      await shot('canary-live');
      await page.screenshot({ path: path.join(SHOTS, `${vp.width}-warning.png`) });
      await page.locator('#canary').screenshot({ path: path.join(SHOTS, `${vp.width}-canary-live-card.png`), style: STATIC });
      await warn.getByRole('button', { name: /^Dismiss the warning/ }).click();
      await warn.waitFor({ state: 'detached' });
    });

    it('opens the run\'s report from the history after a reload', async () => {
      await page.reload();
      await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
      const row = page.locator('#hist-table tbody tr', { hasText: 'Gates_combined' }).filter({ has: page.locator('td', { hasText: new RegExp(`^${rep.run}$`) }) });
      await row.getByRole('button', { name: `Canary report of run ${rep.run}` }).click();
      await page.locator('#canary-run').filter({ hasText: `against baseline run ${rep.baseline}` }).waitFor();
      await assertReport();
      // The events are gone after a reload: no score-over-time chart.
      assert.equal(await page.locator('#canary-body svg[aria-label^="Canary score over the run"]').count(), 0);
      await page.locator('#canary').screenshot({ path: path.join(SHOTS, `${vp.width}-canary-report.png`), style: STATIC });
      await shot('canary');
    });

    it('shows a spindle-override warning until dismissed', async () => {
      const message = 'spindle override 80 %: the router relay\'s SSR is now driven by PWM';
      await control.publish('run.warning', { run: rep.run, job: 1, line: 120, message });
      const warn = page.locator('#warnings .warning', { hasText: `Run ${rep.run}, line 120: ${message}` });
      await warn.waitFor();
      assert.equal(await warn.getAttribute('role'), 'alert');
      await warn.getByRole('button', { name: /^Dismiss the warning/ }).click();
      await warn.waitFor({ state: 'detached' });
      assert.equal(await page.locator('#warnings .warning').count(), 0);
    });

    it('shows the relay\'s last switch: confirmed with its latency, or a mismatch', async () => {
      const time = new Date().toISOString();
      await control.publish('relay.state', { kind: 'sensed', mode: 'sense', commanded: true, sensed: true,
        last_switch: { time, on: true, reason: 'M3 at line 12', sensed: true, confirmed: true, latency_ns: 120e6 } });
      await page.locator('#relay-last').filter({ hasText: /^On at .+ \(M3 at line 12\): confirmed after 120 ms$/ }).waitFor();
      await control.publish('relay.state', { kind: 'mismatch', mode: 'sense', commanded: false, sensed: true,
        last_switch: { time, on: false, reason: 'M5 at line 390', sensed: true, confirmed: false, mismatch: true, latency_ns: 0 } });
      await page.locator('#relay-last.bad').filter({ hasText: /^Off at .+ \(M5 at line 390\): ⚠ MISMATCH: the sense input did not follow$/ }).waitFor();
      await page.locator('#machine').screenshot({ path: path.join(SHOTS, `${vp.width}-relay-last.png`), style: STATIC });
    });

    it('had no console errors', () => {
      assert.deepEqual(con.errors, []);
    });
  });
}
