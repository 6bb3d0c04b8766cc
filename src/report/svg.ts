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
