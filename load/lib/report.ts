/** The results table (Markdown, also printed), the raw JSON, and an SVG bar chart (PNG when ImageMagick is real). */
import { spawnSync } from 'node:child_process';
import type { Row } from '../scenarios/types.js';

function fmt(x: number | undefined, unit: string): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  if (unit === '×') return `${x.toFixed(2)}×`;
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function markdownTable(rows: readonly Row[]): string {
  const head =
    '| id | metric | unit | gateway | baseline | ratio | target | result | note |\n|---|---|---|---:|---:|---:|---|---|---|';
  const lines = rows.map((r) => {
    const verdict = r.ok === undefined ? '' : r.ok ? 'met' : '**missed**';
    return `| ${r.id} | ${r.metric} | ${r.unit} | ${fmt(r.gateway, r.unit)} | ${fmt(r.baseline, r.unit)} | ${r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.target} | ${verdict} | ${r.note ?? ''} |`;
  });
  return [head, ...lines].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface ChartBar {
  group: string;
  label: string;
  value: number;
  color: string;
}

/**
 * Horizontal grouped bars, one panel per entry (each with its own scale), plain SVG 1.1 with system fonts so
 * ImageMagick's built-in renderer can convert it.
 */
export function svgChart(
  title: string,
  subtitle: string,
  panels: { title: string; unit: string; bars: ChartBar[] }[],
): string {
  const width = 900;
  const labelW = 330;
  const barH = 18;
  const gap = 6;
  const plotW = width - labelW - 130;
  let y = 70;
  const parts: string[] = [];
  for (const panel of panels) {
    parts.push(`<text x="20" y="${y}" font-size="15" font-weight="bold">${esc(panel.title)}</text>`);
    y += 14;
    const max = Math.max(...panel.bars.map((b) => b.value), 1e-9);
    let lastGroup = '';
    for (const b of panel.bars) {
      if (b.group !== lastGroup) {
        y += 8;
        lastGroup = b.group;
      }
      const w = Math.max(1, (b.value / max) * plotW);
      parts.push(
        `<text x="${labelW - 8}" y="${y + barH - 5}" font-size="12" text-anchor="end">${esc(`${b.group} · ${b.label}`)}</text>`,
      );
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color}"/>`);
      parts.push(
        `<text x="${labelW + w + 6}" y="${y + barH - 5}" font-size="12">${esc(`${fmt(b.value, panel.unit)} ${panel.unit}`)}</text>`,
      );
      y += barH + gap;
    }
    y += 30;
  }
  const height = y;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="30" font-size="18" font-weight="bold">${esc(title)}</text>`,
    `<text x="20" y="50" font-size="12" fill="#555">${esc(subtitle)}</text>`,
    ...parts,
    `</svg>`,
  ].join('\n');
}

/** SVG → PNG with ImageMagick's `convert`, when the real one is installed (not the machine's stand-in). */
export function svgToPng(svgFile: string, pngFile: string): boolean {
  const version = spawnSync('convert', ['-version'], { encoding: 'utf8' });
  if (version.status !== 0 || !/ImageMagick \d/.test(version.stdout)) return false;
  const r = spawnSync('convert', ['-density', '110', svgFile, pngFile], { encoding: 'utf8' });
  return r.status === 0;
}
