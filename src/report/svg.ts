// Charts as standalone SVG strings (no scripts, no external fonts or images), so the same file is
// inlined in the HTML page, linked from the Markdown, and rendered to PNG.

export const FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
export const SERIES_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
/** Ladder stages 0–4, red to green. */
export const STAGE_COLORS = ['#c0392b', '#e67e22', '#f1c40f', '#9ccc65', '#2e7d32'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const fmt = (x: number) => (Math.round(x * 100) / 100).toString();

function svgOpen(width: number, height: number, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="${escapeXml(FONT)}">`
    + `<title>${escapeXml(title)}</title><rect width="${width}" height="${height}" fill="#ffffff"/>`
    + `<text x="16" y="24" font-size="15" font-weight="bold" fill="#222">${escapeXml(title)}</text>`;
}

function truncate(label: string, max: number): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

/** One row per run, each a 100% stacked bar of shares (percent) in the given categories. */
export function stackedBarChart(options: {
  title: string;
  rows: { label: string; values: number[] }[];
  categories: string[];
  colors: string[];
}): string {
  const { title, rows, categories, colors } = options;
  const width = 760;
  const left = 170;
  const right = 24;
  const barH = 26;
  const gap = 12;
  const top = 64;
  const plotW = width - left - right;
  const height = top + rows.length * (barH + gap) + 40;
  let out = svgOpen(width, height, title);
  // Legend
  let lx = 16;
  categories.forEach((c, i) => {
    out += `<rect x="${lx}" y="36" width="12" height="12" fill="${colors[i]}"/><text x="${lx + 17}" y="46" font-size="12" fill="#333">${escapeXml(c)}</text>`;
    lx += 24 + c.length * 7;
  });
  rows.forEach((row, r) => {
    const y = top + r * (barH + gap);
    out += `<text x="${left - 8}" y="${y + barH / 2 + 4}" font-size="12" text-anchor="end" fill="#222">${escapeXml(truncate(row.label, 24))}</text>`;
    const total = row.values.reduce((a, b) => a + b, 0) || 1;
    let x = left;
    row.values.forEach((v, i) => {
      const w = (plotW * v) / total;
      if (w <= 0) return;
      out += `<rect x="${fmt(x)}" y="${y}" width="${fmt(w)}" height="${barH}" fill="${colors[i]}"><title>${escapeXml(`${row.label}: ${categories[i]} ${v.toFixed(1)}%`)}</title></rect>`;
      if (w > 34) out += `<text x="${fmt(x + w / 2)}" y="${y + barH / 2 + 4}" font-size="11" text-anchor="middle" fill="${i <= 1 ? '#fff' : '#111'}">${v.toFixed(0)}%</text>`;
      x += w;
    });
  });
  const axisY = top + rows.length * (barH + gap) + 2;
  for (let t = 0; t <= 100; t += 25) {
    const x = left + (plotW * t) / 100;
    out += `<line x1="${fmt(x)}" y1="${axisY}" x2="${fmt(x)}" y2="${axisY + 5}" stroke="#666"/><text x="${fmt(x)}" y="${axisY + 18}" font-size="11" text-anchor="middle" fill="#555">${t}%</text>`;
  }
  return `${out}</svg>`;
}

/** Grouped horizontal bars with interval whiskers: one group per metric, one bar per run. */
export function intervalBarChart(options: {
  title: string;
  metrics: string[];
  series: { label: string; values: (number | null)[]; cis: ([number, number] | null)[] }[];
  max: number;
  unit: string;
}): string {
  const { title, metrics, series, max, unit } = options;
  const width = 760;
  const left = 130;
  const right = 80;
  const barH = 16;
  const groupGap = 18;
  const plotW = width - left - right;
  let legendRows = 1;
  let lx = 16;
  for (const s of series) {
    const w = 24 + Math.min(s.label.length, 28) * 7;
    if (lx + w > width - 16) { legendRows++; lx = 16; }
    lx += w;
  }
  const top = 44 + legendRows * 18 + 8;
  const groupH = series.length * barH + groupGap;
  const height = top + metrics.length * groupH + 30;
  let out = svgOpen(width, height, title);
  lx = 16;
  let ly = 36;
  series.forEach((s, i) => {
    const w = 24 + Math.min(s.label.length, 28) * 7;
    if (lx + w > width - 16) { ly += 18; lx = 16; }
    out += `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${SERIES_COLORS[i % SERIES_COLORS.length]}"/><text x="${lx + 17}" y="${ly + 10}" font-size="12" fill="#333">${escapeXml(truncate(s.label, 28))}</text>`;
    lx += w;
  });
  const xOf = (v: number) => left + (plotW * Math.max(0, Math.min(v, max))) / max;
  const bottom = top + metrics.length * groupH - groupGap + 4;
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    const x = xOf(v);
    out += `<line x1="${fmt(x)}" y1="${top - 4}" x2="${fmt(x)}" y2="${bottom}" stroke="#e3e3e3"/>`;
    out += `<text x="${fmt(x)}" y="${bottom + 16}" font-size="11" text-anchor="middle" fill="#555">${max === 1 ? v.toFixed(2) : `${v.toFixed(0)}${unit}`}</text>`;
  }
  metrics.forEach((m, g) => {
    const y0 = top + g * groupH;
    out += `<text x="${left - 8}" y="${y0 + (series.length * barH) / 2 + 4}" font-size="12" text-anchor="end" fill="#222">${escapeXml(m)}</text>`;
    series.forEach((s, i) => {
      const y = y0 + i * barH;
      const v = s.values[g];
      const color = SERIES_COLORS[i % SERIES_COLORS.length];
      if (v === null) {
        out += `<text x="${left + 4}" y="${y + barH - 4}" font-size="11" fill="#888">n/a</text>`;
        return;
      }
      out += `<rect x="${left}" y="${y + 2}" width="${fmt(Math.max(xOf(v) - left, 0.5))}" height="${barH - 4}" fill="${color}" fill-opacity="0.85"><title>${escapeXml(`${s.label}: ${m} ${v.toFixed(max === 1 ? 3 : 1)}${max === 1 ? '' : unit}`)}</title></rect>`;
      const ci = s.cis[g];
      let labelX = xOf(v);
      if (ci) {
        const [a, b] = [xOf(ci[0]), xOf(ci[1])];
        const cy = y + barH / 2;
        out += `<line x1="${fmt(a)}" y1="${cy}" x2="${fmt(b)}" y2="${cy}" stroke="#222" stroke-width="1.3"/><line x1="${fmt(a)}" y1="${cy - 4}" x2="${fmt(a)}" y2="${cy + 4}" stroke="#222" stroke-width="1.3"/><line x1="${fmt(b)}" y1="${cy - 4}" x2="${fmt(b)}" y2="${cy + 4}" stroke="#222" stroke-width="1.3"/>`;
        labelX = Math.max(labelX, b);
      }
      out += `<text x="${fmt(labelX + 5)}" y="${y + barH - 4}" font-size="11" fill="#333">${max === 1 ? v.toFixed(3) : `${v.toFixed(1)}${unit}`}</text>`;
    });
  });
  return `${out}</svg>`;
}

/** pass@k against k (log-spaced positions), one line per run. */
export function lineChart(options: { title: string; xs: number[]; series: { label: string; values: (number | null)[] }[]; xLabel: string }): string {
  const { title, xs, series, xLabel } = options;
  const width = 760;
  const height = 320;
  const left = 60;
  const right = 180;
  const top = 44;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  let out = svgOpen(width, height, title);
  const xOf = (i: number) => left + (xs.length === 1 ? plotW / 2 : (plotW * i) / (xs.length - 1));
  const yOf = (v: number) => top + plotH - (plotH * v) / 100;
  for (let t = 0; t <= 100; t += 25) {
    out += `<line x1="${left}" y1="${fmt(yOf(t))}" x2="${left + plotW}" y2="${fmt(yOf(t))}" stroke="#e3e3e3"/><text x="${left - 6}" y="${fmt(yOf(t) + 4)}" font-size="11" text-anchor="end" fill="#555">${t}%</text>`;
  }
  xs.forEach((k, i) => { out += `<text x="${fmt(xOf(i))}" y="${top + plotH + 16}" font-size="11" text-anchor="middle" fill="#555">${k}</text>`; });
  out += `<text x="${left + plotW / 2}" y="${height - 12}" font-size="12" text-anchor="middle" fill="#333">${escapeXml(xLabel)}</text>`;
  series.forEach((s, si) => {
    const color = SERIES_COLORS[si % SERIES_COLORS.length];
    const pts = s.values.map((v, i) => (v === null ? null : [xOf(i), yOf(v)] as const)).filter((p): p is readonly [number, number] => p !== null);
    if (pts.length > 1) out += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ')}"/>`;
    for (const [x, y] of pts) out += `<circle cx="${fmt(x)}" cy="${fmt(y)}" r="3.5" fill="${color}"/>`;
    out += `<rect x="${width - right + 14}" y="${top + si * 18}" width="12" height="12" fill="${color}"/><text x="${width - right + 31}" y="${top + si * 18 + 10}" font-size="12" fill="#333">${escapeXml(truncate(s.label, 20))}</text>`;
  });
  return `${out}</svg>`;
}

/** One (step, value) point of a training curve. */
export interface StepPoint {
  x: number;
  y: number;
}

/** One metric of one run in a panel of `stepLineChart`. */
export interface StepSeries {
  /** The run's label: the legend entry of its colour, and the polylines' `data-run`. */
  run: string;
  /** The metric's name: the polylines' `data-series`. */
  series: string;
  color: string;
  /** stroke-dasharray telling apart several metrics in one panel; absent: solid. */
  dash?: string;
  /** Every logged value. */
  raw: StepPoint[];
  /** A moving average of `raw`: drawn bold over a thin `raw`. Absent: `raw` alone, bold with markers (sparse or scheduled values). */
  smoothed?: StepPoint[];
}

/** One plot of `stepLineChart`: its own y axis, the chart's shared step axis. */
export interface StepPanel {
  label: string;
  series: StepSeries[];
  /** Values the y axis always covers (e.g. 0 for rates), besides the data. */
  yIncludes?: number[];
}

/** About four round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k, at least `minStep`). */
export function niceTicks(lo: number, hi: number, target = 4, minStep = 0): { lo: number; hi: number; step: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const raw = (hi - lo) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(minStep, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude);
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = first; t <= last + step * 1e-6; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return { lo: first, hi: last, step, ticks };
}

/** A tick label with as many decimals as the tick step needs. */
function tickLabel(value: number, step: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1e5 || step < 1e-4) return value.toExponential(1).replace('e+', 'e');
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

/** Words wrapped into lines of at most about `width` characters. */
function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Legend entries laid out left to right, wrapping; returns the markup and the y below the last row. */
function legendRows(entries: { label: string; swatch: (x: number, y: number) => string }[], y0: number, width: number): { markup: string; bottom: number } {
  let markup = '';
  let x = 16;
  let y = y0;
  for (const e of entries) {
    const w = 40 + Math.min(e.label.length, 34) * 6.6;
    if (x + w > width - 16 && x > 16) { x = 16; y += 18; }
    markup += `${e.swatch(x, y)}<text x="${x + 28}" y="${y + 10}" font-size="12" fill="#333">${escapeXml(truncate(e.label, 34))}</text>`;
    x += w;
  }
  return { markup, bottom: entries.length ? y + 22 : y0 };
}

/** [min, max] of the values (without spreading them into arguments: curves can be long), or `empty`. */
function extent(values: number[], empty: [number, number]): [number, number] {
  if (values.length === 0) return empty;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

const points = (pts: StepPoint[], xOf: (x: number) => number, yOf: (y: number) => number) => pts.map((p) => `${fmt(xOf(p.x))},${fmt(yOf(p.y))}`).join(' ');

/**
 * Curves over training steps: one panel per metric group (each with its own y axis, all on one step
 * axis), one colour per run, dashes for a panel's second and third metric. Each series is one
 * `<polyline data-run data-series data-kind="raw">` (thin under a moving average, or bold with markers
 * when it has none) plus, when smoothed, one `<polyline … data-kind="smoothed">`.
 */
export function stepLineChart(options: {
  title: string;
  panels: StepPanel[];
  runs: { label: string; color: string }[];
  /** The dash legend: which metric each line style is. */
  styles?: { label: string; dash?: string }[];
  /** A line under the legend (e.g. what thin and bold lines are). */
  note?: string;
  xLabel?: string;
}): string {
  const { title, panels, runs, styles = [], note, xLabel = 'step' } = options;
  const width = 760;
  const left = 66;
  const right = 20;
  const plotW = width - left - right;
  const panelHead = 20;
  const plotH = 130;
  const panelFoot = 30;
  const runLegend = legendRows(runs.map((r) => ({ label: r.label, swatch: (x, y) => `<line x1="${x}" y1="${y + 6}" x2="${x + 22}" y2="${y + 6}" stroke="${r.color}" stroke-width="3"/>` })), 36, width);
  const styleLegend = legendRows(styles.map((s) => ({ label: s.label, swatch: (x, y) => `<line x1="${x}" y1="${y + 6}" x2="${x + 22}" y2="${y + 6}" stroke="#444" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>` })), runLegend.bottom, width);
  let top = styleLegend.bottom;
  let head = runLegend.markup + styleLegend.markup;
  if (note) {
    const lines = wrapText(note, 112);
    lines.forEach((line, i) => { head += `<text x="16" y="${top + 10 + i * 15}" font-size="11.5" fill="#666">${escapeXml(line)}</text>`; });
    top += 5 + 15 * lines.length;
  }
  const height = top + panels.length * (panelHead + plotH + panelFoot) + 18;
  let out = svgOpen(width, height, title) + head;
  const [xMin, xMax] = extent(panels.flatMap((p) => p.series.flatMap((s) => s.raw.map((q) => q.x))), [0, 1]);
  const [x0, x1] = xMax > xMin ? [xMin, xMax] : [xMin - 1, xMax + 1];
  const xTicks = niceTicks(x0, x1, 6, 1);
  const xOf = (x: number) => left + (plotW * (x - x0)) / (x1 - x0);
  panels.forEach((panel, pi) => {
    const py = top + pi * (panelHead + plotH + panelFoot);
    const plotTop = py + panelHead;
    const [yMin, yMax] = extent([...panel.series.flatMap((s) => s.raw.map((q) => q.y)), ...(panel.yIncludes ?? [])], [0, 1]);
    const yt = niceTicks(yMin, yMax, 4);
    const yOf = (y: number) => plotTop + plotH - (plotH * (y - yt.lo)) / (yt.hi - yt.lo);
    out += `<g data-panel="${escapeXml(panel.label)}"><text x="${left}" y="${py + 14}" font-size="12.5" font-weight="bold" fill="#333">${escapeXml(panel.label)}</text>`;
    for (const t of yt.ticks) {
      out += `<line x1="${left}" y1="${fmt(yOf(t))}" x2="${left + plotW}" y2="${fmt(yOf(t))}" stroke="#e3e3e3"/><text x="${left - 6}" y="${fmt(yOf(t) + 4)}" font-size="11" text-anchor="end" fill="#555">${tickLabel(t, yt.step)}</text>`;
    }
    out += `<line x1="${left}" y1="${plotTop + plotH}" x2="${left + plotW}" y2="${plotTop + plotH}" stroke="#888"/>`;
    for (const t of xTicks.ticks) {
      if (t < x0 - 1e-9 || t > x1 + 1e-9) continue;
      out += `<line x1="${fmt(xOf(t))}" y1="${plotTop + plotH}" x2="${fmt(xOf(t))}" y2="${plotTop + plotH + 4}" stroke="#888"/><text x="${fmt(xOf(t))}" y="${plotTop + plotH + 16}" font-size="11" text-anchor="middle" fill="#555">${tickLabel(t, xTicks.step)}</text>`;
    }
    if (pi === panels.length - 1) out += `<text x="${left + plotW / 2}" y="${plotTop + plotH + 30}" font-size="12" text-anchor="middle" fill="#333">${escapeXml(xLabel)}</text>`;
    for (const s of panel.series) {
      const attrs = `data-run="${escapeXml(s.run)}" data-series="${escapeXml(s.series)}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}`;
      const tip = `<title>${escapeXml(`${s.run}: ${s.series}`)}</title>`;
      if (s.smoothed) {
        out += `<polyline fill="none" stroke="${s.color}" stroke-width="1" stroke-opacity="0.4" ${attrs} data-kind="raw" points="${points(s.raw, xOf, yOf)}">${tip}</polyline>`;
        out += `<polyline fill="none" stroke="${s.color}" stroke-width="2.4" ${attrs} data-kind="smoothed" points="${points(s.smoothed, xOf, yOf)}">${tip}</polyline>`;
      } else {
        out += `<polyline fill="none" stroke="${s.color}" stroke-width="2" ${attrs} data-kind="raw" points="${points(s.raw, xOf, yOf)}">${tip}</polyline>`;
        if (s.raw.length <= 60) for (const q of s.raw) out += `<circle cx="${fmt(xOf(q.x))}" cy="${fmt(yOf(q.y))}" r="2.6" fill="${s.color}"/>`;
      }
    }
    out += '</g>';
  });
  return `${out}</svg>`;
}

/**
 * Shares over steps as stacked areas, one panel per run, the last category at the bottom (so each
 * boundary is the share that reached at least that category). Each area is one
 * `<path data-run data-category>`.
 */
export function stackedAreaChart(options: {
  title: string;
  panels: { run: string; xs: number[]; shares: number[][] }[];
  categories: string[];
  colors: string[];
  note?: string;
  xLabel?: string;
}): string {
  const { title, panels, categories, colors, note, xLabel = 'step' } = options;
  const width = 760;
  const left = 66;
  const right = 20;
  const plotW = width - left - right;
  const panelHead = 20;
  const plotH = 110;
  const panelFoot = 26;
  const legend = legendRows(categories.map((c, i) => ({ label: c, swatch: (x, y) => `<rect x="${x + 5}" y="${y}" width="12" height="12" fill="${colors[i]}"/>` })), 36, width);
  let top = legend.bottom;
  let head = legend.markup;
  if (note) {
    const lines = wrapText(note, 112);
    lines.forEach((line, i) => { head += `<text x="16" y="${top + 10 + i * 15}" font-size="11.5" fill="#666">${escapeXml(line)}</text>`; });
    top += 5 + 15 * lines.length;
  }
  const height = top + panels.length * (panelHead + plotH + panelFoot) + 18;
  let out = svgOpen(width, height, title) + head;
  const [xMin, xMax] = extent(panels.flatMap((p) => p.xs), [0, 1]);
  const [x0, x1] = xMax > xMin ? [xMin, xMax] : [xMin - 1, xMax + 1];
  const xTicks = niceTicks(x0, x1, 6, 1);
  const xOf = (x: number) => left + (plotW * (x - x0)) / (x1 - x0);
  panels.forEach((panel, pi) => {
    const py = top + pi * (panelHead + plotH + panelFoot);
    const plotTop = py + panelHead;
    const yOf = (share: number) => plotTop + plotH - plotH * share;
    out += `<g data-panel="${escapeXml(panel.run)}"><text x="${left}" y="${py + 14}" font-size="12.5" font-weight="bold" fill="#333">${escapeXml(panel.run)}</text>`;
    // One step alone is drawn as a narrow band around it.
    const xs = panel.xs.length === 1 ? [panel.xs[0], panel.xs[0]] : panel.xs;
    const shares = panel.shares.length === 1 ? [panel.shares[0], panel.shares[0]] : panel.shares;
    const pxs = panel.xs.length === 1 ? [xOf(xs[0]) - 3, xOf(xs[0]) + 3] : xs.map(xOf);
    const below = shares.map(() => 0);
    for (let c = categories.length - 1; c >= 0; c--) {
      const above = shares.map((row, i) => below[i] + (row[c] ?? 0));
      const upper = pxs.map((x, i) => `${fmt(x)},${fmt(yOf(above[i]))}`);
      const lower = pxs.map((x, i) => `${fmt(x)},${fmt(yOf(below[i]))}`).reverse();
      out += `<path d="M${upper.join('L')}L${lower.join('L')}Z" fill="${colors[c]}" data-run="${escapeXml(panel.run)}" data-category="${escapeXml(categories[c])}"><title>${escapeXml(`${panel.run}: ${categories[c]}`)}</title></path>`;
      above.forEach((v, i) => { below[i] = v; });
    }
    for (let t = 0; t <= 100; t += 25) {
      out += `<line x1="${left - 4}" y1="${fmt(yOf(t / 100))}" x2="${left}" y2="${fmt(yOf(t / 100))}" stroke="#888"/><text x="${left - 6}" y="${fmt(yOf(t / 100) + 4)}" font-size="11" text-anchor="end" fill="#555">${t}%</text>`;
    }
    for (const t of xTicks.ticks) {
      if (t < x0 - 1e-9 || t > x1 + 1e-9) continue;
      out += `<line x1="${fmt(xOf(t))}" y1="${plotTop + plotH}" x2="${fmt(xOf(t))}" y2="${plotTop + plotH + 4}" stroke="#888"/><text x="${fmt(xOf(t))}" y="${plotTop + plotH + 16}" font-size="11" text-anchor="middle" fill="#555">${tickLabel(t, xTicks.step)}</text>`;
    }
    if (pi === panels.length - 1) out += `<text x="${left + plotW / 2}" y="${plotTop + plotH + 28}" font-size="12" text-anchor="middle" fill="#333">${escapeXml(xLabel)}</text>`;
    out += '</g>';
  });
  return `${out}</svg>`;
}
