// sim.test.mjs: the control panel against the REAL daemon — `kerf serve
// --sim` composed in-process by cmd's TestPanelOnSim (the simulated 3018
// PRO behind the real grbl.Conn, runner, store, canary judge, relay and
// web.Server) — at the width in KERF_WIDTH (1280 or 360 px). Nothing here
// is scripted: every state the page shows comes from the simulated board
// through the daemon. Run it with `go test ./cmd -run TestPanelOnSim -v`;
// it is not one of web/ui's harness tests (TestBrowser lists e2e/*.test.mjs).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { launch, watchConsole, SHOTS, CORPUS } from '../chromium.mjs';

const URL_ = process.env.KERF_URL;
const ADMIN = process.env.KERF_ADMIN;
const PASS = process.env.KERF_PASS;
const WIDTH = Number(process.env.KERF_WIDTH || 1280);
if (!URL_ || !ADMIN || !PASS) {
  throw new Error('KERF_URL, KERF_ADMIN and KERF_PASS are not set: run these tests with `go test ./cmd -run TestPanelOnSim`');
}

// The one corpus file that fits the 3018 PRO's travel from its G54: inch
// units, 207 lines, slow feeds (minutes of work, aborted part-way).
const MAIN = path.join(CORPUS, 'ugs_no_spaces.gcode');
// The short job judged by the canary: the router on (drive mode: the
// relay closes), a plunge and eight laps of a 40 × 20 mm rectangle at one
// feed, stepping 0.5 mm in Y each lap: 40 lines, about 75 s of machine
// time, under 8 s at the daemon's simulator speed. The whole program is in
// GRBL's buffers within the first laps and the planner drains over the
// last ones: a clean rerun must still pass. (It was aborted about every
// other time, "planner_fill (Low, critical)", while planner_fill was pooled
// over windows of the same demand whatever their fill; now the pool is
// limited to windows of the same baseline fill, runmetrics.PoolBand, and
// jobs/runner's TestCanaryDrainingTail keeps the case.)
const SHORT_NAME = 'canary-laps.nc';
const SHORT_LINES = 40;
const SHORT = (() => {
  const l = ['G21 G90', 'G0 Z5', 'G0 X5 Y5', 'M3 S10000', 'G1 Z-1 F600'];
  for (let i = 1; i <= 8; i++) l.push('G1 X45 F1500', 'G1 Y25', 'G1 X5', `G1 Y${5 + i * 0.5}`);
  l.push('G0 Z5', 'M5', 'M30');
  return `${l.join('\n')}\n`;
})();

// The machine, not the page, sets the pace: homing, a run, a hold.
const MACHINE = { timeout: 60000 };
// Sticky bars would be painted mid-page in a full-page capture.
const STATIC = '.top, #banners { position: static !important; }';

/** dur is how the panel writes a duration. */
function dur(ms) {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

describe(`the panel on the simulator at ${WIDTH} px`, { concurrency: false }, () => {
  let browser;
  let page;
  let con;
  let mainJob; // the daemon's record of the uploaded corpus file
  let mainRun;
  let shortJob;
  let baselineRun;
  let judgedRun;
  /** shot saves a full-page screenshot of a view, checking first that no card's content spills out of it. */
  const shot = async (name) => {
    const spills = await page.evaluate(() => [...document.querySelectorAll('.card')]
      .filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => `#${c.id}: ${c.scrollWidth} px of content in ${c.clientWidth} px`));
    assert.deepEqual(spills, [], `${name}: cards whose content is wider than they are`);
    await page.screenshot({ path: path.join(SHOTS, `sim-${WIDTH}-${name}.png`), fullPage: true, style: STATIC });
  };
  /** get reads the daemon's API with the page's session. */
  const get = async (p) => {
    const res = await page.request.get(URL_ + p);
    assert.equal(res.status(), 200, `GET ${p}: ${await res.text()}`);
    return res.json();
  };
  const dro = () => page.evaluate(() => ['x', 'y', 'z'].map((a) => document.querySelector(`#mpos-${a}`).textContent).join(' '));
  /** moved waits until the machine position differs from from. */
  const moved = (from) => page.waitForFunction((f) => {
    const now = ['x', 'y', 'z'].map((a) => document.querySelector(`#mpos-${a}`).textContent).join(' ');
    return !now.includes('—') && now !== f;
  }, from, MACHINE);
  /**
   * still collects the DRO at the next n renders of a status report (the
   * daemon publishes one per poll, 5 a second): a held machine's are all
   * the same.
   */
  const still = (n) => page.evaluate((count) => new Promise((resolve, reject) => {
    const read = () => `${document.querySelector('#machine-state').textContent} ${['x', 'y', 'z'].map((a) => document.querySelector(`#mpos-${a}`).textContent).join(' ')}`;
    const seen = [];
    const obs = new MutationObserver(() => {
      seen.push(read());
      if (seen.length >= count) { obs.disconnect(); clearTimeout(timer); resolve(seen); }
    });
    // renderMachine rewrites the pill's text on every report.
    obs.observe(document.querySelector('#machine-state'), { childList: true, characterData: true, subtree: true });
    const timer = setTimeout(() => { obs.disconnect(); reject(new Error(`only ${seen.length} status reports in 30 s: ${seen.join('; ')}`)); }, 30000);
  }), n);
  const jobRow = (name) => page.locator('#job-table tbody tr', { hasText: name }).first();
  /** start clicks a job's Start button and returns the run the daemon started. */
  async function start(job) {
    const before = new Set((await get('/api/v1/runs?limit=50')).map((r) => r.id));
    await jobRow(job.name).getByRole('button', { name: `Start ${job.name}` }).click();
    // The card shows the new run once the daemon answers (the last run of
    // the same job may still be there until then).
    const title = await page.waitForFunction(([name, old]) => {
      const m = /^Run (\w+) of (.+)$/.exec(document.querySelector('#run-title').textContent);
      return m && m[2] === name && !old.includes(m[1]) && m[1];
    }, [job.name, [...before]]);
    return title.jsonValue();
  }
  /** homeIfAlarmed clears the homing alarm with the banner's one-click fix. */
  async function homeIfAlarmed() {
    const banner = page.locator('#banner-alarm');
    if (!(await banner.isVisible())) return false;
    await page.click('#fix-home');
    await page.locator('#machine-state').filter({ hasText: /^State: Idle$/ }).waitFor(MACHINE);
    await banner.waitFor({ state: 'hidden' });
    return true;
  }

  before(async () => {
    browser = await launch(WIDTH < 640 ? { width: WIDTH, height: 740 } : { width: WIDTH, height: 900 });
    page = await browser.context.newPage();
    con = watchConsole(page);
    con.allow({ status: 401, path: '/api/v1/auth/me' }); // not logged in yet
  });

  after(async () => { await browser?.close(); });

  it('logs in through the login form', async () => {
    await page.goto(URL_);
    await page.locator('#login-dlg').waitFor({ state: 'visible' });
    await page.fill('#login-user', ADMIN);
    await page.fill('#login-pass', PASS);
    await page.click('#login-submit');
    await page.locator('#login-dlg').waitFor({ state: 'hidden' });
    await page.locator('#whoami').filter({ hasText: `${ADMIN} (admin)` }).waitFor();
    await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
  });

  it('homes the simulated 3018 PRO from the alarm banner', async () => {
    // Homing is enabled ($22=1): the board starts locked in alarm.
    await page.locator('#machine-state').filter({ hasText: /^State: (Alarm|Idle)$/ }).waitFor(MACHINE);
    const port = await page.locator('#port').textContent();
    assert.equal(port, 'sim:3018pro');
    assert.equal(await page.locator('#machine-state').textContent(), 'State: Alarm', 'a homing machine starts in alarm');
    await page.locator('#banner-alarm').waitFor({ state: 'visible' });
    assert.match(await page.locator('#jog-reason').textContent(), /alarm/);
    await shot('alarm');
    assert.ok(await homeIfAlarmed());
    // Homed: the machine position is its pull-off corner, the work position
    // is relative to the simulator's G54.
    const m = await get('/api/v1/machine');
    assert.equal(m.homed, true);
    await page.locator('#mpos-x').filter({ hasText: m.mpos[0].toFixed(3) }).waitFor();
    await page.locator('#wpos-y').filter({ hasText: m.wpos[1].toFixed(3) }).waitFor();
    assert.equal(await page.locator('#relay-cmd').textContent(), 'Off');
    await page.locator('#jog-reason').waitFor({ state: 'hidden' });
    await shot('machine');
  });

  it('uploads a corpus file and shows the daemon\'s check summary', async () => {
    await page.setInputFiles('#file', MAIN);
    const box = page.locator('#upload-result .diags.ok');
    await box.waitFor();
    const row = jobRow('ugs_no_spaces.gcode');
    await row.waitFor();
    mainJob = await get(`/api/v1/jobs/${await row.getAttribute('data-job')}`);
    const chk = mainJob.check;
    const text = (await readFile(MAIN, 'latin1')).split('\n');
    assert.equal(mainJob.lines, text.at(-1) === '' ? text.length - 1 : text.length, 'the daemon counts the file\'s lines');
    assert.equal(chk.streamable, true);
    assert.equal(await box.textContent(),
      `✔ ugs_no_spaces.gcode: checked, ${mainJob.lines} lines, ${chk.errors} errors, ${chk.warnings} warnings, about ${dur(chk.estimated_seconds * 1000)}.`);
    assert.equal(await row.locator('td.num').textContent(), String(mainJob.lines));
    assert.equal(await row.locator('.badge').textContent(), chk.warnings ? `${chk.warnings} warnings` : 'OK');
    // The preview's bounds (the browser's parse) are the checker's work bounds.
    const b = chk.bounds.work;
    const f = (i) => `${b.min[i].toFixed(1)} to ${b.max[i].toFixed(1)}`;
    await page.locator('#pv-info').filter({ hasText: `Bounds (work mm): X ${f(0)}, Y ${f(1)}, Z ${f(2)}.` }).waitFor();
    await page.locator('#pv-info').filter({ hasText: 'Fits the machine travel' }).waitFor();
    await shot('jobs');
  });

  it('starts the job: the DRO and the progress move', async () => {
    const at = await dro();
    mainRun = await start(mainJob);
    await page.locator('#run-state').filter({ hasText: /^running$/ }).waitFor(MACHINE);
    await moved(at);
    await page.locator('#machine-state').filter({ hasText: /^State: Run$/ }).waitFor(MACHINE);
    assert.equal(await page.locator('#run-total').textContent(), String(mainJob.lines));
    // Progress: the executed line climbs, and the percentage with it.
    await page.waitForFunction(() => Number(document.querySelector('#run-line').textContent) > 0, null, MACHINE);
    const line = Number(await page.locator('#run-line').textContent());
    await page.waitForFunction((l) => Number(document.querySelector('#run-line').textContent) > l
      && Number(document.querySelector('#run-pct').textContent) > 0, line, MACHINE);
    await moved(await dro());
    assert.notEqual((await page.locator('#run-src').textContent()).trim(), '—');
    // Jogging waits for the run; the preview is the running job's.
    assert.match(await page.locator('#jog-reason').textContent(), new RegExp(`disabled while run ${mainRun} is running`));
    await page.locator('#pv-name').filter({ hasText: 'ugs_no_spaces.gcode' }).waitFor();
    // The job has no baseline: the run is not judged, and the card says so.
    await page.locator('#canary-run').filter({ hasText: `Run ${mainRun} of ugs_no_spaces.gcode: not judged, its job has no baseline.` }).waitFor();
    await shot('running');
  });

  it('pauses: the panel shows Hold and the position stops', async () => {
    await page.click('#run-pause');
    await page.locator('#run-state').filter({ hasText: /^paused$/ }).waitFor(MACHINE);
    // Hold:1 while decelerating, Hold (Hold:0) once stopped.
    await page.locator('#machine-state').filter({ hasText: /^State: Hold$/ }).waitFor(MACHINE);
    await page.locator('#banner-hold').waitFor({ state: 'visible' });
    const eta = await page.locator('#run-eta').textContent();
    const seen = await still(4);
    assert.deepEqual(seen, Array(4).fill(seen[0]), 'four status reports in Hold, one position');
    assert.match(seen[0], /^State: Hold /);
    // The ETA stands still while paused (the runner's own grows with the
    // paused time: the panel keeps the one from running).
    assert.match(eta, /^\d+:\d\d$/);
    assert.equal(await page.locator('#run-eta').textContent(), eta, 'the ETA while paused');
    const run = await get(`/api/v1/runs/${mainRun}`);
    assert.equal(run.state, 'paused');
    await shot('paused');
  });

  it('resumes: Run again, and it moves', async () => {
    const held = await dro();
    await page.click('#run-resume');
    await page.locator('#run-state').filter({ hasText: /^running$/ }).waitFor(MACHINE);
    await moved(held);
    await page.locator('#banner-hold').waitFor({ state: 'hidden' });
    assert.equal((await get(`/api/v1/runs/${mainRun}`)).state, 'running');
  });

  it('aborts: the run ends aborted and the router is off', async () => {
    await page.click('#run-abort');
    await page.locator('#confirm-dlg').waitFor({ state: 'visible' });
    assert.match(await page.locator('#confirm-text').textContent(), new RegExp(`Abort run ${mainRun}\\?`));
    await page.click('#confirm-ok');
    await page.locator('#run-state').filter({ hasText: /^aborted$/ }).waitFor(MACHINE);
    const run = await get(`/api/v1/runs/${mainRun}`);
    assert.equal(run.state, 'aborted');
    assert.equal(await page.locator('#relay-cmd').textContent(), 'Off');
    assert.equal((await get('/api/v1/relay')).commanded, false, 'the daemon\'s relay is off');
    // The abort reset the board, which clears its overrides: until GRBL
    // reports them again they are unknown, never "0%".
    for (const ov of ['#ov-feed', '#ov-spindle', '#ov-rapid']) assert.match(await page.locator(ov).textContent(), /^([1-9]\d*%|—)$/, ov);
    const row = page.locator('#hist-table tbody tr').filter({ has: page.locator('td', { hasText: new RegExp(`^${mainRun}$`) }) });
    await row.waitFor();
    assert.match(await row.textContent(), /aborted/);
    await page.locator('#jog-reason').filter({ hasText: /disabled while run/ }).waitFor({ state: 'hidden' });
    await shot('aborted');
  });

  it('runs a short job to completion and makes it the baseline', async () => {
    // An abort mid-motion resets the board: it may want homing again.
    await page.locator('#machine-state').filter({ hasText: /^State: (Alarm|Idle)$/ }).waitFor(MACHINE);
    await homeIfAlarmed();
    // Dropped on the drop zone, as from a file manager.
    const dt = await page.evaluateHandle(([name, text]) => {
      const d = new DataTransfer();
      d.items.add(new File([text], name, { type: 'text/plain' }));
      return d;
    }, [SHORT_NAME, SHORT]);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    await page.locator('#upload-result .diags.ok').filter({ hasText: `${SHORT_NAME}: checked, ${SHORT_LINES} lines, 0 errors` }).waitFor();
    shortJob = await get(`/api/v1/jobs/${await jobRow(SHORT_NAME).getAttribute('data-job')}`);
    baselineRun = await start(shortJob);
    // Drive mode: the program's M3 closes the relay.
    await page.locator('#relay-cmd').filter({ hasText: /^On$/ }).waitFor(MACHINE);
    await page.locator('#run-state').filter({ hasText: /^completed$/ }).waitFor(MACHINE);
    await page.locator('#run-line').filter({ hasText: new RegExp(`^${SHORT_LINES}$`) }).waitFor();
    await page.locator('#relay-cmd').filter({ hasText: /^Off$/ }).waitFor();
    // The canary card offers the completed run as the baseline.
    const use = page.getByRole('button', { name: `Use run ${baselineRun} as the baseline of ${SHORT_NAME}` });
    await use.click();
    await page.locator('#baseline').filter({ hasText: `Baseline of ${SHORT_NAME}: run ${baselineRun}.` }).waitFor();
    const bl = await get(`/api/v1/jobs/${shortJob.id}/baseline`);
    assert.equal(bl.baseline?.run_id ?? bl.baseline?.run, baselineRun);
  });

  it('runs it again, judged against the baseline, and shows its canary report', async () => {
    judgedRun = await start(shortJob);
    await page.locator('#canary-run').filter({ hasText: `Run ${judgedRun} of ${SHORT_NAME}, judged live.` }).waitFor(MACHINE);
    await page.locator('#run-state').filter({ hasText: /^(completed|aborted|failed)$/ }).waitFor(MACHINE);
    const run = await get(`/api/v1/runs/${judgedRun}`);
    assert.equal(run.state, 'completed', `the judged run ended ${run.state}: ${run.reason}`);
    assert.ok(run.summary?.verdict?.score, `run ${judgedRun} has a stored verdict: ${JSON.stringify(run.summary)}`);
    const rep = await get(`/api/v1/runs/${judgedRun}/canary`);
    assert.equal(rep.baseline, baselineRun);
    await assertReport(rep);
    await shot('canary-live');
    // After a reload, the history's Report opens the same report.
    await page.reload();
    await page.locator('#conn-state').filter({ hasText: 'Live' }).waitFor();
    const row = page.locator('#hist-table tbody tr').filter({ has: page.locator('td', { hasText: new RegExp(`^${judgedRun}$`) }) });
    await row.getByRole('button', { name: `Canary report of run ${judgedRun}` }).click();
    await assertReport(rep);
    // The card's baseline row is the reported run's job's.
    await page.locator('#baseline').filter({ hasText: `Baseline of ${SHORT_NAME}: run ${baselineRun}.` }).waitFor();
    await page.locator('#pv-name').filter({ hasText: SHORT_NAME }).waitFor();
    await shot('canary');
  });

  /** assertReport checks the canary card against the daemon's report. */
  async function assertReport(rep) {
    const v = rep.verdict;
    const card = page.locator('#canary-body');
    await page.locator('#canary-run').filter({ hasText: `Run ${rep.run} of ${SHORT_NAME} against baseline run ${rep.baseline}, judged ${rep.live ? 'live' : 'from its stored telemetry'}.` }).waitFor();
    await card.locator('.verdict').filter({ hasText: `${v.score.classification} score ${v.score.score.toFixed(1)} / 100` }).waitFor();
    const names = Object.keys(v.results);
    assert.ok(names.length > 0, 'the verdict judged some metrics');
    assert.equal(await card.locator('.metrics li').count(), names.length);
    for (const name of names) {
      const m = v.results[name];
      const li = card.locator(`.metrics li[data-metric="${name}"]`);
      assert.equal(await li.locator('.badge').textContent(), m.classification, name);
      const ratio = m.resultMetadata?.ratio;
      if (Number.isFinite(ratio)) assert.match(await li.textContent(), new RegExp(`ratio ${ratio.toFixed(2).replace('.', '\\.')}`), name);
      assert.equal(await li.locator(`svg[aria-label="${name}: baseline vs run"]`).count(), 1, `${name}: range chart`);
    }
  }

  it('had no console errors', () => {
    assert.deepEqual(con.errors, []);
  });
});
