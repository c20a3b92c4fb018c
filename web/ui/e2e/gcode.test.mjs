// gcode.test.mjs: the preview's G-code reader (js/gcode.js), which needs
// no browser: arcs by centre and by radius, units, distance modes, bounds.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse, Kind } from '../js/gcode.js';

const near = (a, b, what, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a}, want ${b}`);

describe('gcode.parse', () => {
  const cases = [
    { name: 'rapid then cut', src: 'G0 X10 Y0\nG1 X10 Y5 F100', segs: 2, min: [0, 0], max: [10, 5], kinds: [Kind.RAPID, Kind.CUT] },
    { name: 'inches scale to mm', src: 'G20\nG1 X1 Y2', segs: 1, min: [0, 0], max: [25.4, 50.8] },
    { name: 'incremental moves add up', src: 'G91\nG1 X5\nG1 X5 Y-2', segs: 2, min: [0, -2], max: [10, 0] },
    { name: 'comments are ignored', src: 'G1 X3 (X99) ; Y99\n(G1 X50)', segs: 1, min: [0, 0], max: [3, 0] },
    // A clockwise half circle from (0,0) to (10,0) about (5,0) passes y=+5.
    { name: 'G2 half circle by centre', src: 'G2 X10 Y0 I5 J0', min: [0, 0], max: [10, 5] },
    // Counter-clockwise it passes y=-5.
    { name: 'G3 half circle by centre', src: 'G3 X10 Y0 I5 J0', min: [0, -5], max: [10, 0] },
    // G2 R1 from (0,0) to (1,1): GRBL puts the centre at (1,0), so the arc bulges to x<1, y>0: bounds stay in the unit square.
    { name: 'G2 quarter circle by radius', src: 'G2 X1 Y1 R1', min: [0, 0], max: [1, 1], mid: [1 - Math.SQRT1_2, Math.SQRT1_2] },
    // Chords of at most 0.5 mm stay within 0.01 mm of a 5 mm circle.
    { name: 'full circle', src: 'G0 X5\nG2 X5 Y0 I-5 J0', min: [-5, -5], max: [5, 5], tol: 0.01 },
    { name: 'G53 and G92 words are not moves', src: 'G53 G0 Z-1\nG92 X100\nG1 X1', segs: 1, min: [0, 0], max: [1, 0] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = parse(c.src);
      if (c.segs !== undefined) assert.equal(p.kinds.length, c.segs, 'segments');
      if (c.kinds) assert.deepEqual([...p.kinds], c.kinds);
      near(p.bounds.min[0], c.min[0], 'min x', c.tol);
      near(p.bounds.min[1], c.min[1], 'min y', c.tol);
      near(p.bounds.max[0], c.max[0], 'max x', c.tol);
      near(p.bounds.max[1], c.max[1], 'max y', c.tol);
      if (c.mid) {
        const n = p.kinds.length;
        const j = Math.floor(n / 2) * 4;
        // The chord end nearest the middle of the arc.
        near(Math.round(p.segs[j] * 100) / 100, Math.round(c.mid[0] * 100) / 100, 'mid x');
        near(Math.round(p.segs[j + 1] * 100) / 100, Math.round(c.mid[1] * 100) / 100, 'mid y');
      }
    });
  }

  it('records the source line of every segment and the position after each line', () => {
    const p = parse('G21\nG0 X1\n\nG1 Y2');
    assert.deepEqual([...p.lines], [2, 4]);
    assert.deepEqual([...p.ends.slice(9, 12)], [1, 2, 0]);
    assert.equal(p.lineCount, 4);
  });

  it('keeps Z per segment, and spreads a helix\'s Z over its chords', () => {
    const p = parse('G0 Z5\nG1 X10 Z-1 F100\nG2 X10 Y0 I-5 J0 Z-3');
    assert.deepEqual([...p.zs.slice(0, 4)], [0, 5, 5, -1]);
    const n = p.kinds.length;
    near(p.zs[2 * (n - 1) + 1], -3, 'helix end Z');
    const mid = Math.floor((n - 2) / 2) + 2;
    near(p.zs[2 * mid], -2, 'helix Z halfway round', 0.05);
  });

  it('an empty program has empty bounds', () => {
    assert.equal(parse('; nothing\n%\n').bounds.empty, true);
  });
});
