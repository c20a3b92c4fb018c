// preview.js: draws a parsed program (gcode.js) in top view on a canvas:
// cuts solid, rapids dashed, the machine's travel as a dotted rectangle
// (from GRBL's $130/$131 and the work offset), and the tool's live
// position. Everything is in work coordinates, mm.

import { Kind } from './gcode.js';

/** css reads a colour from the page's custom properties. */
function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#000';
}

/**
 * Preview owns one canvas. setProgram(parsed|null), setTravel({x,y,wco}|null),
 * setTool([x,y,z]|null) each redraw.
 */
export class Preview {
  constructor(canvas) {
    this.canvas = canvas;
    this.prog = null;
    this.travel = null;
    this.tool = null;
    this.doneLine = 0;
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setProgram(p) { this.prog = p; this.doneLine = 0; this.draw(); }
  setTravel(t) { this.travel = t; this.draw(); }
  setTool(t) { this.tool = t; this.draw(); }
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
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    const add = (x, y) => { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); };
    if (this.prog && !this.prog.bounds.empty) {
      add(this.prog.bounds.min[0], this.prog.bounds.min[1]);
      add(this.prog.bounds.max[0], this.prog.bounds.max[1]);
    }
    if (tr) { add(tr.x0, tr.y0); add(tr.x1, tr.y1); }
    if (this.tool) add(this.tool[0], this.tool[1]);
    if (!Number.isFinite(x0)) return;
    const pad = 12 * dpr;
    const spanX = Math.max(x1 - x0, 1);
    const spanY = Math.max(y1 - y0, 1);
    const k = Math.min((w - 2 * pad) / spanX, (h - 2 * pad) / spanY);
    const ox = pad + ((w - 2 * pad) - spanX * k) / 2;
    const oy = pad + ((h - 2 * pad) - spanY * k) / 2;
    const X = (x) => ox + (x - x0) * k;
    const Y = (y) => h - (oy + (y - y0) * k);

    if (tr) {
      g.setLineDash([2 * dpr, 3 * dpr]);
      g.strokeStyle = css('--travel');
      g.lineWidth = dpr;
      g.strokeRect(X(tr.x0), Y(tr.y1), (tr.x1 - tr.x0) * k, (tr.y1 - tr.y0) * k);
    }
    // Work origin cross.
    g.setLineDash([]);
    g.strokeStyle = css('--muted');
    g.lineWidth = dpr;
    g.beginPath();
    g.moveTo(X(0) - 6 * dpr, Y(0)); g.lineTo(X(0) + 6 * dpr, Y(0));
    g.moveTo(X(0), Y(0) - 6 * dpr); g.lineTo(X(0), Y(0) + 6 * dpr);
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
            g.moveTo(X(p.segs[j]), Y(p.segs[j + 1]));
            g.lineTo(X(p.segs[j + 2]), Y(p.segs[j + 3]));
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
      g.arc(X(this.tool[0]), Y(this.tool[1]), 6 * dpr, 0, 2 * Math.PI);
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
