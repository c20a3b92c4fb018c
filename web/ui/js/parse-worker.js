// parse-worker.js: parses G-code for the preview off the page's main
// thread (a 4 MB program takes about half a second on a desktop, several
// on a Pi), and hands the typed arrays back without copying.

import { parse } from './gcode.js';

self.onmessage = (ev) => {
  const { id, text } = ev.data;
  try {
    const p = parse(text);
    self.postMessage({ id, p }, [p.segs.buffer, p.zs.buffer, p.kinds.buffer, p.lines.buffer, p.ends.buffer]);
  } catch (err) {
    self.postMessage({ id, error: String(err && err.message ? err.message : err) });
  }
};
