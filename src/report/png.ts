import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';

const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts'];

/** True when some TrueType/OpenType font is installed where resvg looks (text needs one). */
export function systemFontsAvailable(): boolean {
  const walk = (dir: string, depth: number): boolean => {
    if (depth > 4 || !existsSync(dir)) return false;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile() && /\.(ttf|otf|ttc)$/i.test(entry.name)) return true;
      if (entry.isDirectory() && walk(join(dir, entry.name), depth + 1)) return true;
    }
    return false;
  };
  return FONT_DIRS.some((d) => walk(d, 0));
}

/** Renders an SVG string to PNG with resvg (Rust, shipped as a prebuilt npm package), at `scale`×. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    background: '#ffffff',
  });
  return Buffer.from(resvg.render().asPng());
}
