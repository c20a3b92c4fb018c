// panel.test.mjs: the control panel in real Chromium against the Go
// harness (web/ui/harness_test.go), at a 1920 px screen and a 360 px phone.
// Run through `go test ./web/ui -run TestBrowser`, which starts the harness.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { launch, watchConsole, control, until, URL_, SHOTS, CORPUS } from './browser.mjs';

const INVALID = path.join(CORPUS, 'gcodetools_longmill-line_invalid_gcode.nc');
const VALID = path.join(CORPUS, 'cambam_Gates_combined_R12.nc');
const USER = process.env.KERF_USER || '';
const PASS = process.env.KERF_PASS || '';

const VIEWPORTS = [
  { name: 'desktop', width: 1920, height: 1080 },
  { name: 'phone', width: 360, height: 740 },
];

for (const vp of VIEWPORTS) {
  describe(`panel at ${vp.width} px`, { concurrency: false }, () => {
    let browser;
    let page;
    let con;
    let runID;
    // Sticky bars would be painted mid-page in a full-page capture.
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${vp.width}-${name}.png`), fullPage: true, style: '.top, #banners { position: static !important; }' });
    const visible = (sel) => page.locator(sel).isVisible();

    before(async () => {
      browser = await launch({ width: vp.width, height: vp.height });
      page = await browser.context.newPage();
      con = watchConsole(page);
      // Expected API answers chromium logs as failed loads.
      con.allow({ status: 404, path: '/api/v1/auth/me' }); // a daemon without login sessions
      con.allow({ status: 401, path: '/api/v1/auth/me' }); // not logged in yet
      con.allow({ status: 422, path: '/api/v1/jobs' }); // the upload GRBL would reject
      con.allow({ status: 404, path: '/baseline' }); // a job without a baseline
      // The harness starts each viewport from an idle machine.
      await control.machine({ state: 'Idle', wpos: [0, 0, 0], alarm: null });
    });

    after(async () => {
      await browser?.close();
    });

    it('loads and logs in', async () => {
      await page.goto(URL_);
      if (USER) {
        await page.locator('#login-dlg').waitFor({ state: 'visible' });
        await shot('login');
        await page.fill('#login-user', USER);
        await page.fill('#login-pass', 'wrong-password-here');
        con.allow({ status: 401, path: '/api/v1/auth/login' });
        await page.click('#login-submit');
        await page.locator('#login-error').filter({ hasText: /wrong user name or password/i }).waitFor();
        await page.fill('#login-pass', PASS);
        await page.click('#login-submit');
        await page.locator('#login-dlg').waitFor({ state: 'hidden' });
        await page.locator('#whoami').filter({ hasText: `${USER} (operator)` }).waitFor();
      } else {
        await page.locator('#whoami').filter({ hasText: /\(admin\)/ }).waitFor();
      }
      await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
      await page.locator('#machine-state').filter({ hasText: 'State: Idle' }).waitFor();
      assert.equal(await page.locator('#wpos-x').textContent(), '0.000');
      assert.equal(await visible('#logout'), Boolean(USER));
    });

    it('shows the diagnostics of a dropped file GRBL would reject, with line numbers', async () => {
      // Dropped on the drop zone, as from a file manager.
      const content = await readFile(INVALID, 'latin1');
      const dt = await page.evaluateHandle((text) => {
        const d = new DataTransfer();
        d.items.add(new File([text], 'longmill-line_invalid_gcode.nc', { type: 'text/plain' }));
        return d;
      }, content);
      await page.dispatchEvent('#drop', 'dragover', { dataTransfer: dt });
      assert.equal(await page.locator('#drop.over').count(), 1, 'the drop zone highlights on dragover');
      await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
      const box = page.locator('#upload-result .diags[role=alert]');
      await box.waitFor();
      await box.locator('li.sev-error').first().waitFor();
      const first = await box.locator('li.sev-error').first().textContent();
      assert.match(first, /^line \d+(, col \d+)?: /, `diagnostic "${first}" names its line`);
      assert.match(await box.textContent(), /was refused: GRBL would reject it/);
      await shot('upload-error');
    });

    it('uploads a valid file, checks it and previews it', async () => {
      await page.setInputFiles('#file', VALID);
      await page.locator('#upload-result .diags.ok').waitFor();
      assert.match(await page.locator('#upload-result').textContent(), /checked, \d+ lines, 0 errors/);
      const row = page.locator('#job-table tbody tr', { hasText: 'Gates_combined' }).first();
      await row.waitFor();
      assert.equal((await row.locator('.badge').textContent()).trim().length > 0, true);
      // The travel comes from $130/$131 and the work offset.
      await page.locator('#pv-info').filter({ hasText: /Bounds \(work mm\): X.*(Fits|Leaves) the machine travel/ }).waitFor();
    });

    it('zeroes the work offsets per axis and all at once', async () => {
      await control.machine({ state: 'Idle', mpos: [-140, -80, -10], wpos: [10, 10, -5], wco: [-150, -90, -5] });
      await page.locator('#wpos-x').filter({ hasText: /^10\.000$/ }).waitFor();
      await page.locator('#wcs-info').filter({ hasText: /In use: G54\. G54 origin at machine/ }).waitFor();
      const zeros = (c) => c.filter((x) => x.startsWith('zero '));
      const n = zeros(await control.calls()).length;
      await page.click('.zero[data-axis="X"]');
      await page.locator('#wpos-x').filter({ hasText: /^0\.000$/ }).waitFor();
      assert.equal(await page.locator('#wpos-y').textContent(), '10.000', 'Y untouched');
      await page.click('#zero-all');
      await page.locator('#wpos-z').filter({ hasText: /^0\.000$/ }).waitFor();
      const calls = await until(control.calls, (c) => zeros(c).length >= n + 2, 'two zero calls');
      assert.deepEqual(zeros(calls).slice(-2), ['zero G54 X0', 'zero G54 X0 Y0 Z0']);
      await page.locator('#wcs-info').filter({ hasText: 'G54 origin at machine -140.000, -80.000, -10.000 mm' }).waitFor();
      await shot('machine');
    });

    it('probes the Z reference, and says so when the daemon cannot', async () => {
      const probes = (c) => c.filter((x) => x === 'probe').length;
      const n = probes(await control.calls());
      await page.click('#btn-probe');
      await page.locator('#probe-result').filter({ hasText: /machine Z -42\.318 mm \(reference -42\.305 mm\): drift -13 µm/ }).waitFor();
      assert.equal(probes(await control.calls()), n + 1);
      await control.features({ probe: false });
      con.allow({ status: 404, path: '/api/v1/machine/probe' }); // an older daemon
      try {
        await page.click('#btn-probe');
        await page.locator('#probe-result').filter({ hasText: 'Probing the reference is not available on this daemon.' }).waitFor();
        assert.equal(await page.locator('#btn-probe').isDisabled(), true);
      } finally {
        await control.features({});
      }
    });

    it('switches the router in drive mode, with confirmation to switch it on', async () => {
      const relay = { mode: 'drive', commanded: false, sensed: null };
      await control.machine({ relay });
      await control.publish('relay.state', relay);
      await page.locator('#relay-note').filter({ hasText: 'Router commanded off' }).waitFor();
      await page.click('#relay-on');
      await page.locator('#confirm-dlg').waitFor({ state: 'visible' });
      assert.match(await page.locator('#confirm-text').textContent(), /Switch the router ON/);
      await page.click('#confirm-ok');
      await page.locator('#relay-note').filter({ hasText: 'Router commanded on' }).waitFor();
      assert.equal(await page.locator('#relay-cmd').textContent(), 'On');
      await page.click('#relay-off');
      await page.locator('#relay-note').filter({ hasText: 'Router commanded off' }).waitFor();
      const calls = await control.calls();
      assert.deepEqual(calls.filter((c) => c.startsWith('relay ')).slice(-2), ['relay on', 'relay off']);
      // Back to sense mode: the panel cannot switch the router there.
      const sense = { mode: 'sense', commanded: null, sensed: false };
      await control.machine({ relay: sense });
      await control.publish('relay.state', sense);
      await page.locator('#relay-note').filter({ hasText: /sense mode/ }).waitFor();
      assert.equal(await page.locator('#relay-on').isDisabled(), true);
    });

    it('starts the job; jog is disabled with the reason while it runs', async () => {
      const row = page.locator('#job-table tbody tr', { hasText: 'Gates_combined' }).first();
      const starts = (c) => c.filter((x) => x.startsWith('start job '));
      const n = starts(await control.calls()).length; // the calls log is shared by both viewports
      await row.getByRole('button', { name: /^Start / }).click();
      await page.locator('#run-state').filter({ hasText: 'running' }).waitFor();
      const calls = await until(control.calls, (c) => starts(c).length > n, 'the start call');
      runID = starts(calls).at(-1).split(' ')[4];
      await page.locator('#jog-reason').filter({ hasText: /disabled while run .* is running/ }).waitFor();
      for (const b of await page.locator('.jogb').all()) assert.equal(await b.isDisabled(), true);
      assert.equal(await page.locator('#run-pause').isEnabled(), true);
      assert.equal(await page.locator('#zero-all').isDisabled(), true);
      assert.match(await page.locator('#zero-reason').textContent(), /Zeroing is disabled while run .* is running/);
      assert.equal(await page.locator('#btn-probe').isDisabled(), true);
    });

    it('moves progress, the source line and the DRO from websocket events', async () => {
      await control.machine({ state: 'Run', wpos: [12.5, 3.25, -1], mpos: [-137.5, -86.75, -6], active_run: runID });
      // The runner's ProgressEvent.
      await control.publish('run.progress', { run: runID, job: '0001', lines: 15960, last_sent: 430, last_acked: 420, last_executed: 400, elapsed_ms: 30000, eta_ms: 1167000 });
      await page.locator('#run-line').filter({ hasText: /^400$/ }).waitFor();
      const pct = Number(await page.locator('#run-pct').textContent());
      assert.ok(pct > 0 && pct < 100, `progress ${pct}% between 0 and 100`);
      assert.notEqual((await page.locator('#run-src').textContent()).trim(), '—');
      await page.locator('#wpos-x').filter({ hasText: '12.500' }).waitFor();
      assert.equal(await page.locator('#mpos-y').textContent(), '-86.750');
      assert.match(await page.locator('#run-eta').textContent(), /^19:2\d$/, 'the runner\'s ETA (19:27), counting down');
      assert.match(await page.locator('#run-elapsed').textContent(), /^0:3\d$/);
      // The daemon reports overrides of 0 until GRBL has sent them (after a
      // reset): unknown, not 0 %.
      await control.publish('machine.status', { state: 'Run', overrides: { feed: 0, rapid: 0, spindle: 0 } });
      await page.locator('#ov-feed').filter({ hasText: /^—$/ }).waitFor();
      assert.equal(await page.locator('#ov-rapid').textContent(), '—');
      await control.publish('machine.status', { state: 'Run', overrides: { feed: 120, rapid: 100, spindle: 100 } });
      await page.locator('#ov-feed').filter({ hasText: /^120%$/ }).waitFor();
      await shot('running');
    });

    it('shows M6 and M0 stops as dialogs and resumes from them', async () => {
      const dlg = page.locator('#prompt-dlg');
      const resumes = (c) => c.filter((x) => x === `run ${runID} running`).length;
      for (const [reason, title] of [
        ['tool change at line 420: load tool 2, then resume', 'Tool change'], // the runner's words
        ['paused by M0 at line 480', 'Program pause'],
      ]) {
        await control.pause(runID, reason);
        await dlg.waitFor({ state: 'visible' });
        assert.equal(await page.locator('#prompt-h').textContent(), title);
        assert.equal(await page.locator('#prompt-text').textContent(), reason);
        if (title === 'Tool change') await shot('tool-change');
        const n = resumes(await control.calls());
        await page.click('#prompt-resume');
        await dlg.waitFor({ state: 'hidden' });
        await until(control.calls, (c) => resumes(c) > n, 'the resume call');
        await page.locator('#run-state').filter({ hasText: 'running' }).waitFor();
      }
      // A prompt event (for a runner that publishes one) opens it too.
      await control.publish('run.prompt', { run: runID, kind: 'tool_change', line: 500, tool: 3 });
      await dlg.waitFor({ state: 'visible' });
      assert.match(await dlg.textContent(), /Line 500: change to tool 3/);
      await page.click('#prompt-close');
      await dlg.waitFor({ state: 'hidden' });
    });

    it('pauses and resumes the run', async () => {
      await page.click('#run-pause');
      await page.locator('#run-state').filter({ hasText: 'paused' }).waitFor();
      await page.locator('#banner-hold').waitFor({ state: 'visible' });
      // Paused, the ETA is the runner's last (19:27), as the elapsed time
      // is its last: not the checker's blend (19:37 here).
      assert.equal(await page.locator('#run-eta').textContent(), '19:27');
      await page.click('#run-resume');
      await page.locator('#run-state').filter({ hasText: 'running' }).waitFor();
      const calls = await control.calls();
      assert.ok(calls.includes(`run ${runID} paused`) && calls.includes(`run ${runID} running`), calls.join('; '));
    });

    it('draws Z drift and the canary verdict', async () => {
      for (const [i, dz] of [0.01, 0.02, -0.015, 0.06].entries()) {
        await control.publish('run.drift', { run: runID, checkpoint: i + 1, line: 100 * (i + 1), dz_mm: dz, limit_mm: 0.05 });
      }
      // Events apply in order: the fourth (over the limit) comes last.
      await page.locator('#drift-body').filter({ hasText: /over the limit.*0\.060 mm/ }).waitFor();
      await page.locator('#drift-body svg.chart').waitFor();
      assert.equal(await page.locator('#drift-body svg .limit').count() >= 2, true);
      await control.publish('run.verdict', { run: runID, line: 200, verdict: { score: { score: 88, classification: 'Pass' }, results: {} } });
      await control.publish('run.verdict', {
        run: runID,
        line: 400,
        verdict: {
          judgeName: 'NetflixACAJudge-v1.0',
          score: { score: 91.7, classification: 'Pass', classificationReason: '' },
          results: {
            spindle_load: { classification: 'Pass', critical: false, controlMetadata: { stats: { min: 1, max: 3, mean: 2 } }, experimentMetadata: { stats: { min: 1.2, max: 3.1, mean: 2.1 } } },
            feed_error: { classification: 'High', critical: true, controlMetadata: { stats: { min: 0, max: 1, mean: 0.5 } }, experimentMetadata: { stats: { min: 0.5, max: 2, mean: 1.4 } }, resultMetadata: { ratio: 2.8 } },
          },
        },
      });
      await page.locator('#canary-body').filter({ hasText: /Pass score 91\.7/ }).waitFor();
      assert.equal(await page.locator('#canary-body .metrics li').count(), 2);
      // Two live verdicts: the score-over-time chart is drawn.
      await page.locator('#canary-body svg[aria-label^="Canary score over the run"]').waitFor();
      await shot('verdict');
    });

    it('aborts the run after confirmation and lists it in the history', async () => {
      await page.click('#run-abort');
      await page.locator('#confirm-dlg').waitFor({ state: 'visible' });
      await page.click('#confirm-ok');
      await page.locator('#run-state').filter({ hasText: 'aborted' }).waitFor();
      const row = page.locator('#hist-table tbody tr', { hasText: runID });
      await row.waitFor();
      assert.match(await row.textContent(), /aborted/);
      assert.match(await row.locator('a').getAttribute('href'), new RegExp(`/api/v1/runs/${runID}/telemetry\\?format=csv`));
      await page.locator('#jog-reason').waitFor({ state: 'hidden' });
    });

    it('starts from a line after confirmation', async () => {
      const row = page.locator('#job-table tbody tr', { hasText: 'Gates_combined' }).first();
      const from120 = (c) => c.filter((x) => / from 120$/.test(x));
      const n = from120(await control.calls()).length;
      await row.locator('input.from-line').fill('120');
      await row.getByRole('button', { name: /^Start / }).click();
      await page.locator('#confirm-dlg').waitFor({ state: 'visible' });
      assert.match(await page.locator('#confirm-text').textContent(), /from line 120/);
      await page.click('#confirm-ok');
      const calls = await until(control.calls, (c) => from120(c).length > n, 'a start from line 120');
      const id = from120(calls).at(-1).split(' ')[4];
      await page.locator('#run-state').filter({ hasText: 'running' }).waitFor();
      await page.locator('#run-title').filter({ hasText: `Run ${id} ` }).waitFor();
      await page.click('#run-abort');
      await page.click('#confirm-ok');
      await page.locator('#run-state').filter({ hasText: 'aborted' }).waitFor();
    });

    it('offers a completed run as the baseline, which only an admin may set', async () => {
      const row = page.locator('#job-table tbody tr', { hasText: 'Gates_combined' }).first();
      const jobID = await row.getAttribute('data-job');
      const starts = (c) => c.filter((x) => x.startsWith(`start job ${jobID} `));
      const n = starts(await control.calls()).length;
      await row.locator('input.from-line').fill('0');
      await row.getByRole('button', { name: /^Start / }).click();
      const calls = await until(control.calls, (c) => starts(c).length > n, 'the start call');
      const id = starts(calls).at(-1).split(' ')[4];
      await page.locator('#run-state').filter({ hasText: 'running' }).waitFor();
      await control.finish(id);
      await page.locator('#run-state').filter({ hasText: 'completed' }).waitFor();
      // The last line comes from the stored run (run.state events carry none).
      await page.locator('#run-line').filter({ hasText: /^15960$/ }).waitFor();
      const set = page.getByRole('button', { name: `Use run ${id} as the baseline of its job` });
      await set.waitFor();
      assert.equal(await set.isDisabled(), true, 'an operator cannot set a baseline');
      assert.equal(await set.getAttribute('title'), 'Needs the admin role');
      await page.locator('#baseline').filter({ hasText: 'has no baseline' }).waitFor();
      const offered = page.locator('#baseline button.set-baseline');
      assert.match(await offered.textContent(), /^Use run \w+$/);
      assert.equal(await offered.isDisabled(), true);
    });

    it('previews a job from the daemon\'s copy of its program', async () => {
      // A fresh page has no program text of its own.
      await page.reload();
      await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
      const row = page.locator('#job-table tbody tr', { hasText: 'Gates_combined' }).first();
      await row.locator('button.linkish').click();
      await page.locator('#pv-info').filter({ hasText: /Bounds \(work mm\): X/ }).waitFor();
      // The 3D (isometric) view draws the same program differently.
      const top = await page.locator('#pv-canvas').evaluate((c) => c.toDataURL());
      await page.click('.pv-view[data-view="3d"]');
      assert.equal(await page.locator('.pv-view[data-view="3d"]').getAttribute('aria-pressed'), 'true');
      assert.match(await page.locator('#pv-canvas').getAttribute('aria-label'), /3D view/);
      const iso = await page.locator('#pv-canvas').evaluate((c) => c.toDataURL());
      assert.notEqual(iso, top, 'the 3D view differs from the top view');
      await shot('preview-3d');
      await page.click('.pv-view[data-view="top"]');
    });

    it('shows the alarm banner; its unlock button calls the API', async () => {
      await control.machine({ state: 'Alarm', alarm: { code: 1, text: 'Hard limit triggered.', clear: 'Re-home: position was lost.' } });
      const banner = page.locator('#banner-alarm');
      await banner.waitFor({ state: 'visible' });
      assert.match(await banner.textContent(), /ALARM 1:.*Hard limit triggered/);
      assert.match(await page.locator('#jog-reason').textContent(), /alarm/);
      await shot('alarm');
      const before = (await control.calls()).filter((c) => c === 'unlock').length;
      await page.click('#fix-unlock');
      await until(control.calls, (c) => c.filter((x) => x === 'unlock').length > before, 'the unlock call');
      await banner.waitFor({ state: 'hidden' });
      await page.locator('#machine-state').filter({ hasText: 'State: Idle' }).waitFor();
    });

    it('jogs by a step and continuously, cancelling on release', async () => {
      await page.check('input[name=step][value="10"]');
      const x10 = (c) => c.filter((x) => x.startsWith('jog ') && /"x":10\b/.test(x)).length;
      const nx = x10(await control.calls());
      await page.click('.jogb[data-jog="X+1"]');
      await until(control.calls, (c) => x10(c) > nx, 'a 10 mm X jog');
      await page.check('input[name=step][value="cont"]');
      const b = page.locator('.jogb[data-jog="Y-1"]');
      const box = await b.boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      // To the end of the travel: machine Y -86.75 of 180 mm, less the 0.5 mm margin.
      const ycont = (c) => c.filter((x) => /"y":-92\.75\b/.test(x)).length;
      const ny = ycont(await control.calls());
      await page.mouse.down();
      await until(control.calls, (c) => ycont(c) > ny, 'a continuous Y- jog to the travel end');
      const n = (await control.calls()).filter((c) => c === 'jog_cancel').length;
      await page.mouse.up();
      await until(control.calls, (c) => c.filter((x) => x === 'jog_cancel').length > n, 'the jog cancel on release');
      await page.check('input[name=step][value="1"]');
    });

    it('shows connection lost, then resumes the stream with ?since=', async () => {
      const transient = { any: /(status of 503|WebSocket connection|ERR_CONNECTION|ERR_EMPTY_RESPONSE|net::)/ };
      con.allow(transient);
      await control.offline();
      await page.locator('#banner-conn').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#btn-home').isDisabled(), true);
      await shot('connection-lost');
      // Published while the panel is cut off: it must arrive on resume.
      await control.machine({ state: 'Idle', wpos: [42, 7, 1.5] });
      await control.online();
      await page.locator('#banner-conn').waitFor({ state: 'hidden', timeout: 15000 });
      await page.locator('#wpos-x').filter({ hasText: '42.000' }).waitFor();
      const qs = await control.wsQueries();
      assert.match(qs[qs.length - 1], /since=\d+/, `last websocket query ${qs[qs.length - 1]}`);
      con.disallow(transient);
      await shot('main');
    });

    it('had no console errors', () => {
      assert.deepEqual(con.errors, []);
    });
  });
}
