// gcode.js: a small G-code reader for the toolpath preview. It follows
// what moves the tool in the XY top view — G0/G1 lines, G2/G3 arcs (centre
// I/J or radius R, in G17), G90/G91 distance modes, G20/G21 units, G53
// machine-coordinate moves — and ignores everything else (the daemon's
// checker is the authority on whether GRBL accepts a program; this only
// draws it). Coordinates are work coordinates in mm.

const RAPID = 0;
const CUT = 1;

/** Kinds of a segment. */
export const Kind = Object.freeze({ RAPID, CUT });

/** Strips comments: parentheses and everything after ';'. */
function stripComments(line) {
  if (!line.includes('(') && !line.includes(';')) return line;
  let out = '';
  let depth = 0;
  for (const ch of line) {
    if (ch === ';' && depth === 0) break;
    if (ch === '(') { depth++; continue; }
    if (ch === ')') { if (depth > 0) depth--; continue; }
    if (depth === 0) out += ch;
  }
  return out;
}

const WORD = /([A-Za-z])\s*([-+]?(?:\d+\.?\d*|\.\d+))/g;

/**
 * parse reads a program and returns
 *   { segs: Float64Array [x0,y0,x1,y1,...], zs: Float64Array [z0,z1,...] per segment,
 *     kinds: Uint8Array, lines: Int32Array,
 *     ends: Float64Array [x,y,z per source line: the position after it],
 *     bounds: {min:[x,y,z], max:[x,y,z], empty}, lineCount }
 * The arrays are typed so a worker can transfer them without copying.
 * Arcs are flattened into chords no longer than about 0.5 mm (at most 720
 * per arc). Each segment records its 1-based source line.
 */
export function parse(text) {
  const segs = [];
  const zs = [];
  const kinds = [];
  const lines = [];
  const pos = [0, 0, 0];
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  let motion = RAPID; // 0, 1, 2, 3
  let absolute = true;
  let scale = 1; // G20: 25.4
  let plane = 17;
  const src = text.split(/\r?\n|\r/);
  const ends = new Float64Array(src.length * 3);
  const end = (li) => { ends[li * 3] = pos[0]; ends[li * 3 + 1] = pos[1]; ends[li * 3 + 2] = pos[2]; };

  const grow = (p) => {
    for (let i = 0; i < 3; i++) {
      if (p[i] < min[i]) min[i] = p[i];
      if (p[i] > max[i]) max[i] = p[i];
    }
  };
  const seg = (x0, y0, x1, y1, kind, ln, z0, z1) => {
    segs.push(x0, y0, x1, y1);
    zs.push(z0, z1);
    kinds.push(kind);
    lines.push(ln);
  };

  for (let li = 0; li < src.length; li++) {
    const ln = li + 1;
    const code = stripComments(src[li]).trim();
    end(li);
    if (!code || code[0] === '%' || code[0] === '$') continue;
    const words = {};
    const gs = [];
    let m;
    WORD.lastIndex = 0;
    while ((m = WORD.exec(code)) !== null) {
      const letter = m[1].toUpperCase();
      const val = parseFloat(m[2]);
      if (letter === 'G') gs.push(val);
      else words[letter] = val;
    }
    let machineCoords = false;
    for (const g of gs) {
      switch (g) {
        case 0: case 1: case 2: case 3: motion = g; break;
        case 17: case 18: case 19: plane = g; break;
        case 20: scale = 25.4; break;
        case 21: scale = 1; break;
        case 90: absolute = true; break;
        case 91: absolute = false; break;
        case 53: machineCoords = true; break;
        case 38.2: case 38.3: case 38.4: case 38.5: motion = -1; break;
        case 80: motion = -1; break;
      }
    }
    // G4, G10, G28, G30, G92 use axis words for something else.
    if (gs.some((g) => g === 4 || g === 10 || g === 28 || g === 30 || g === 92 || g === 28.1 || g === 30.1 || g === 92.1)) continue;
    const has = 'X' in words || 'Y' in words || 'Z' in words;
    if (!has || motion < 0) continue;
    if (machineCoords) {
      // A G53 move is in machine coordinates, which the preview does not
      // know; it is almost always a retract to a safe Z, so skip it.
      continue;
    }
    const target = [pos[0], pos[1], pos[2]];
    ['X', 'Y', 'Z'].forEach((a, i) => {
      if (a in words) target[i] = (absolute ? 0 : pos[i]) + words[a] * scale;
    });
    grow(pos);
    if ((motion === 2 || motion === 3) && plane === 17) {
      // Helical arcs move Z evenly along the chords.
      const chords = [];
      arc(pos, target, words, scale, motion === 2, (x0, y0, x1, y1) => chords.push([x0, y0, x1, y1]));
      const dz = (target[2] - pos[2]) / chords.length;
      chords.forEach(([x0, y0, x1, y1], i) => {
        seg(x0, y0, x1, y1, CUT, ln, pos[2] + i * dz, pos[2] + (i + 1) * dz);
        grow([x1, y1, target[2]]);
      });
    } else {
      seg(pos[0], pos[1], target[0], target[1], motion === 0 ? RAPID : CUT, ln, pos[2], target[2]);
    }
    grow(target);
    pos[0] = target[0]; pos[1] = target[1]; pos[2] = target[2];
    end(li);
  }
  const empty = !Number.isFinite(min[0]);
  return {
    segs: Float64Array.from(segs),
    zs: Float64Array.from(zs),
    kinds: Uint8Array.from(kinds),
    lines: Int32Array.from(lines),
    ends,
    bounds: empty ? { min: [0, 0, 0], max: [0, 0, 0], empty } : { min, max, empty },
    lineCount: src.length,
  };
}

/** arc flattens an XY arc from p to t; cw for G2. */
function arc(p, t, words, scale, cw, emit) {
  let cx;
  let cy;
  if ('R' in words) {
    const r = words.R * scale;
    const dx = t[0] - p[0];
    const dy = t[1] - p[1];
    const d = Math.hypot(dx, dy);
    if (d === 0 || Math.abs(r) < d / 2 - 1e-6) { emit(p[0], p[1], t[0], t[1]); return; }
    const h = Math.sqrt(Math.max(r * r - (d * d) / 4, 0));
    // GRBL: positive R takes the short arc, negative the long one.
    let s = cw ? -1 : 1;
    if (r < 0) s = -s;
    cx = (p[0] + t[0]) / 2 - (s * h * dy) / d;
    cy = (p[1] + t[1]) / 2 + (s * h * dx) / d;
  } else {
    cx = p[0] + (words.I || 0) * scale;
    cy = p[1] + (words.J || 0) * scale;
  }
  const r = Math.hypot(p[0] - cx, p[1] - cy);
  const a0 = Math.atan2(p[1] - cy, p[0] - cx);
  const a1 = Math.atan2(t[1] - cy, t[0] - cx);
  let sweep = a1 - a0;
  if (cw) { if (sweep >= -1e-9) sweep -= 2 * Math.PI; } else if (sweep <= 1e-9) sweep += 2 * Math.PI;
  const n = Math.min(720, Math.max(2, Math.ceil((Math.abs(sweep) * r) / 0.5)));
  let x0 = p[0];
  let y0 = p[1];
  for (let i = 1; i <= n; i++) {
    const a = a0 + (sweep * i) / n;
    const x1 = i === n ? t[0] : cx + r * Math.cos(a);
    const y1 = i === n ? t[1] : cy + r * Math.sin(a);
    emit(x0, y0, x1, y1);
    x0 = x1; y0 = y1;
  }
}
