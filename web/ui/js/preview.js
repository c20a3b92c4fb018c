// preview.js: draws a parsed program (gcode.js) on a canvas, in top view
// or in a 3D isometric view (X to the lower right, Y to the upper right, Z
// up): cuts solid, rapids dashed, the machine's travel as a dotted
// rectangle (from GRBL's $130/$131 and the work offset, at Z 0), and the
// tool's live position. Everything is in work coordinates, mm.

import { Kind } from './gcode.js';

/** css reads a colour from the page's custom properties. */
function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#000';
}

// The isometric projection: 30° axes.
const COS30 = Math.cos(Math.PI / 6);
const SIN30 = 0.5;

/** project maps work coordinates to the drawing plane for a view. */
function project(view, x, y, z) {
  if (view === '3d') return [(x - y) * COS30, (x + y) * SIN30 + z];
  return [x, y];
}

/**
 * Preview owns one canvas. setProgram(parsed|null), setTravel({x,y,wco}|null),
 * setTool([x,y,z]|null) and setView('top'|'3d') each redraw.
 */
export class Preview {
  constructor(canvas) {
    this.canvas = canvas;
    this.prog = null;
    this.travel = null;
    this.tool = null;
    this.doneLine = 0;
    this.view = 'top';
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setProgram(p) { this.prog = p; this.doneLine = 0; this.draw(); }
  setTravel(t) { this.travel = t; this.draw(); }
  setTool(t) { this.tool = t; this.draw(); }
  setView(v) { this.view = v === '3d' ? '3d' : 'top'; this.draw(); }
  setDoneLine(n) { if (n !== this.doneLine) { this.doneLine = n; this.draw(); } }

  /** travelRect returns the travel in work coordinates, or null. */
  travelRect() {
    const t = this.travel;
    if (!t || !(t.x > 0) || !(t.y > 0)) return null;
    const wx = t.wco ? t.wco[0] : 0;
    const wy = t.wco ? t.wco[1] : 0;
    // GRBL's machine coordinates run from 0 at the homed corner to -$13x.
    return { x0: -t.x - wx, y0: -t.y - wy, x1: -wx, y1: -wy };
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    const g = c.getContext('2d');
    g.clearRect(0, 0, w, h);
    const tr = this.travelRect();
    const view = this.view;
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    const add3 = (x, y, z) => {
      const [u, v] = project(view, x, y, z);
      x0 = Math.min(x0, u); y0 = Math.min(y0, v); x1 = Math.max(x1, u); y1 = Math.max(y1, v);
    };
    const b = this.prog && !this.prog.bounds.empty ? this.prog.bounds : null;
    if (b) {
      for (const x of [b.min[0], b.max[0]]) for (const y of [b.min[1], b.max[1]]) for (const z of [b.min[2], b.max[2]]) add3(x, y, z);
    }
    if (tr) { add3(tr.x0, tr.y0, 0); add3(tr.x1, tr.y1, 0); add3(tr.x0, tr.y1, 0); add3(tr.x1, tr.y0, 0); }
    if (this.tool) add3(this.tool[0], this.tool[1], this.tool[2] || 0);
    if (!Number.isFinite(x0)) return;
    const pad = 12 * dpr;
    const spanX = Math.max(x1 - x0, 1);
    const spanY = Math.max(y1 - y0, 1);
    const k = Math.min((w - 2 * pad) / spanX, (h - 2 * pad) / spanY);
    const ox = pad + ((w - 2 * pad) - spanX * k) / 2;
    const oy = pad + ((h - 2 * pad) - spanY * k) / 2;
    // P maps work coordinates to canvas pixels.
    const P = (x, y, z = 0) => {
      const [u, v] = project(view, x, y, z);
      return [ox + (u - x0) * k, h - (oy + (v - y0) * k)];
    };
    const line = (a, c) => { g.moveTo(a[0], a[1]); g.lineTo(c[0], c[1]); };

    if (tr) {
      g.setLineDash([2 * dpr, 3 * dpr]);
      g.strokeStyle = css('--travel');
      g.lineWidth = dpr;
      g.beginPath();
      const cs = [P(tr.x0, tr.y0), P(tr.x1, tr.y0), P(tr.x1, tr.y1), P(tr.x0, tr.y1)];
      cs.forEach((c, i) => line(c, cs[(i + 1) % 4]));
      g.stroke();
    }
    // Work origin: a cross in top view, the three axes in 3D.
    g.setLineDash([]);
    g.strokeStyle = css('--muted');
    g.lineWidth = dpr;
    g.beginPath();
    const o = P(0, 0, 0);
    const a = 6 * dpr / k;
    if (view === '3d') {
      line(o, P(3 * a, 0, 0)); line(o, P(0, 3 * a, 0)); line(o, P(0, 0, 3 * a));
    } else {
      line(P(-a, 0), P(a, 0)); line(P(0, -a), P(0, a));
    }
    g.stroke();

    const p = this.prog;
    if (p) {
      const cut = css('--cut');
      const rapid = css('--rapid');
      for (const kind of [Kind.RAPID, Kind.CUT]) {
        g.setLineDash(kind === Kind.RAPID ? [4 * dpr, 4 * dpr] : []);
        g.lineWidth = (kind === Kind.RAPID ? 1 : 1.5) * dpr;
        for (const done of [false, true]) {
          g.strokeStyle = kind === Kind.RAPID ? rapid : cut;
          g.globalAlpha = done ? 0.35 : 1;
          g.beginPath();
          for (let i = 0; i < p.kinds.length; i++) {
            if (p.kinds[i] !== kind || (p.lines[i] <= this.doneLine) !== done) continue;
            const j = i * 4;
            const z0 = p.zs ? p.zs[i * 2] : 0;
            const z1 = p.zs ? p.zs[i * 2 + 1] : 0;
            line(P(p.segs[j], p.segs[j + 1], z0), P(p.segs[j + 2], p.segs[j + 3], z1));
          }
          g.stroke();
        }
      }
      g.globalAlpha = 1;
    }
    if (this.tool) {
      g.setLineDash([]);
      g.strokeStyle = css('--tool');
      g.lineWidth = 3 * dpr;
      g.beginPath();
      const t = P(this.tool[0], this.tool[1], this.tool[2] || 0);
      g.arc(t[0], t[1], 6 * dpr, 0, 2 * Math.PI);
      g.stroke();
    }
  }
}

/**
 * fits compares the program's bounds with the travel (both in work
 * coordinates) and returns the axes that leave it, e.g. ["X max"].
 */
export function outside(bounds, rect) {
  if (!rect || bounds.empty) return [];
  const out = [];
  if (bounds.min[0] < rect.x0 - 1e-6) out.push('X min');
  if (bounds.max[0] > rect.x1 + 1e-6) out.push('X max');
  if (bounds.min[1] < rect.y0 - 1e-6) out.push('Y min');
  if (bounds.max[1] > rect.y1 + 1e-6) out.push('Y max');
  return out;
}
