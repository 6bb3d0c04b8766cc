import { escapeXml } from './svg.js';
import type { Table } from './tables.js';

const mdCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function tableToMarkdown(t: Table): string {
  const lines = [`## ${t.title}`, ''];
  if (t.note) lines.push(t.note, '');
  if (t.rows.length === 0) return lines.join('\n');
  lines.push(`| ${t.headers.map(mdCell).join(' | ')} |`, `|${t.headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const row of t.rows) lines.push(`| ${row.map(mdCell).join(' | ')} |`);
  lines.push('');
  return lines.join('\n');
}

export function tableToHtml(t: Table): string {
  const head = `<h2 id="${t.id}">${escapeXml(t.title)}</h2>${t.note ? `<p class="note">${escapeXml(t.note)}</p>` : ''}`;
  if (t.rows.length === 0) return `<section>${head}</section>`;
  const ths = t.headers.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const trs = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${escapeXml(c)}</th>` : `<td>${cellHtml(c)}</td>`)).join('')}</tr>`).join('\n');
  return `<section>${head}<div class="scroll"><table data-table="${t.id}"><thead><tr>${ths}</tr></thead><tbody>\n${trs}\n</tbody></table></div></section>`;
}

/** "63.0 [53.0, 72.0]" as the value with its interval on a second, smaller line. */
function cellHtml(text: string): string {
  const m = /^(\S+) (\[[^\]]*\])(.*)$/.exec(text);
  if (!m) return escapeXml(text);
  return `${escapeXml(m[1])}<br><span class="ci">${escapeXml(m[2])}${escapeXml(m[3])}</span>`;
}

export interface Chart {
  id: string;
  title: string;
  svg: string;
}

const CSS = `
body{font-family:'DejaVu Sans','Liberation Sans',Arial,Helvetica,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{background:#1d2b3a;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9d3df;font-size:13px}
main{max-width:1180px;margin:0 auto;padding:12px 28px 40px}
section{background:#fff;border:1px solid #e0e4ea;border-radius:6px;padding:6px 18px 14px;margin:16px 0}
h2{font-size:17px;margin:12px 0 6px}
p.note{font-size:12.5px;color:#56606e;margin:2px 0 10px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:5px 9px;border-bottom:1px solid #eceff3;text-align:right;white-space:nowrap}
thead th{background:#f0f3f7;font-weight:600;border-bottom:2px solid #d5dbe3}
tbody th,thead th:first-child{text-align:left}
tbody tr:hover{background:#fafbfd}
span.ci{font-size:11px;color:#6b7482}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid #e0e4ea;border-radius:6px;padding:8px}
figure svg{width:100%;height:auto;display:block}
figcaption{font-size:12px;color:#56606e;padding:4px 2px 0}
`;

/** One self-contained page: inline CSS, inline SVG charts, no scripts, no external requests. */
export function reportHtml(options: { title: string; subtitle: string; tables: Table[]; charts: Chart[] }): string {
  const { title, subtitle, tables, charts } = options;
  const [main, ...rest] = tables;
  const figures = charts.map((c) => `<figure id="chart-${c.id}" data-chart="${c.id}">${c.svg}<figcaption>${escapeXml(c.title)} — also charts/${c.id}.svg and charts/${c.id}.png</figcaption></figure>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeXml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeXml(title)}</h1><p>${escapeXml(subtitle)}</p></header>
<main>
${main ? tableToHtml(main) : ''}
<section><h2 id="charts">Charts</h2><div class="charts">
${figures}
</div></section>
${rest.map(tableToHtml).join('\n')}
</main>
</body>
</html>
`;
}
