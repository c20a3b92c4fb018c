// chart.js: two tiny SVG charts, no library: a line chart with an optional
// horizontal limit line (Z drift), and a baseline-vs-run range chart for a
// canary metric. Both return an <svg> element with a text alternative.

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) {
  if (!Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/**
 * lineChart plots points [{x, y}] with an optional symmetric limit (±limit
 * drawn as dashed lines). label names the chart for screen readers.
 */
export function lineChart({ points, limit, label, xLabel = '', yLabel = '', width = 480, height = 200 }) {
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label });
  svg.append(el('title', {}, label));
  const L = 48; const R = 8; const T = 10; const B = 28;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  let ymin = Math.min(0, ...ys);
  let ymax = Math.max(0, ...ys);
  if (limit > 0) { ymin = Math.min(ymin, -limit * 1.1); ymax = Math.max(ymax, limit * 1.1); }
  if (ymax - ymin < 1e-9) { ymax += 1; ymin -= 1; }
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs, xmin + 1);
  const X = (x) => L + ((x - xmin) / (xmax - xmin)) * (width - L - R);
  const Y = (y) => T + (1 - (y - ymin) / (ymax - ymin)) * (height - T - B);
  svg.append(el('line', { class: 'axis', x1: L, x2: width - R, y1: Y(0), y2: Y(0) }));
  svg.append(el('line', { class: 'axis', x1: L, x2: L, y1: T, y2: height - B }));
  for (const v of [ymin, 0, ymax]) svg.append(el('text', { x: L - 4, y: Y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
  svg.append(el('text', { x: L, y: height - 8 }, fmt(xmin)));
  svg.append(el('text', { x: width - R, y: height - 8, 'text-anchor': 'end' }, `${fmt(xmax)} ${xLabel}`));
  svg.append(el('text', { x: L + 4, y: T + 10 }, yLabel));
  if (limit > 0) {
    for (const v of [limit, -limit]) svg.append(el('line', { class: 'limit', x1: L, x2: width - R, y1: Y(v), y2: Y(v) }));
    svg.append(el('text', { x: width - R, y: Y(limit) - 4, 'text-anchor': 'end' }, `limit ±${fmt(limit)}`));
  }
  if (points.length) {
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join('');
    svg.append(el('path', { class: 'series', d }));
    for (const p of points) {
      const over = limit > 0 && Math.abs(p.y) > limit;
      // Points over the limit are squares, not only a different colour.
      svg.append(over
        ? el('rect', { x: X(p.x) - 4, y: Y(p.y) - 4, width: 8, height: 8, class: 'limit', fill: 'currentColor' })
        : el('circle', { cx: X(p.x), cy: Y(p.y), r: 3, class: 'exp' }));
    }
  }
  return svg;
}

/**
 * rangeChart draws baseline (control) and run (experiment) statistics of
 * one metric as two min–max bars with the mean marked.
 */
export function rangeChart({ control, experiment, label, width = 320, height = 64 }) {
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label });
  svg.append(el('title', {}, label));
  const vals = [control.min, control.max, experiment.min, experiment.max].filter(Number.isFinite);
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (!vals.length) { lo = 0; hi = 1; }
  if (hi - lo < 1e-12) { hi += 1; lo -= 1; }
  const L = 70; const R = 10;
  const X = (v) => L + ((v - lo) / (hi - lo)) * (width - L - R);
  [['baseline', control, 'ctrl', 8], ['run', experiment, 'exp', 32]].forEach(([name, s, cls, y]) => {
    svg.append(el('text', { x: 0, y: y + 12 }, name));
    if (!Number.isFinite(s.min) || !Number.isFinite(s.max)) {
      svg.append(el('text', { x: L, y: y + 12 }, 'no data'));
      return;
    }
    svg.append(el('rect', { class: cls, x: X(s.min), y, width: Math.max(2, X(s.max) - X(s.min)), height: 16, rx: 3, opacity: 0.6 }));
    if (Number.isFinite(s.mean)) svg.append(el('rect', { x: X(s.mean) - 1.5, y: y - 2, width: 3, height: 20, fill: 'currentColor' }));
  });
  svg.append(el('text', { x: L, y: height - 2 }, fmt(lo)));
  svg.append(el('text', { x: width - R, y: height - 2, 'text-anchor': 'end' }, fmt(hi)));
  return svg;
}
