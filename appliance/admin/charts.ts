/**
 * The dashboard's charts as inline SVG, drawn on the server from the
 * counters: a line chart for a series over time and horizontal bars for
 * counts by name. Presentation attributes only (no style attribute, no
 * script), so the CSP's default-src 'self' lets them render.
 */
import { escapeHtml } from "./html.ts";

const WIDTH = 360;
const HEIGHT = 120;
const PAD = 24;

/** A line chart of `values` (oldest first), titled, with its maximum on the axis. */
export function lineChart(title: string, values: readonly number[]): string {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? (WIDTH - 2 * PAD) / (values.length - 1) : 0;
  const points = values.map((value, i) => {
    const x = PAD + i * step;
    const y = HEIGHT - PAD - (value / max) * (HEIGHT - 2 * PAD);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }).join(" ");
  return `<svg class="chart" role="img" width="${WIDTH}" height="${HEIGHT}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title>` +
    `<text x="${PAD}" y="14" font-size="12">${escapeHtml(title)}</text>` +
    `<line x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${
      HEIGHT - PAD
    }" stroke="#8c959f"/>` +
    `<text x="${WIDTH - PAD}" y="14" font-size="11" text-anchor="end">max ${max}</text>` +
    (values.length === 0
      ? `<text x="${PAD}" y="${HEIGHT / 2}" font-size="11">no data yet</text>`
      : `<polyline fill="none" stroke="#0969da" stroke-width="2" points="${points}"/>`) +
    `</svg>`;
}

/** Horizontal bars, one per name, longest first. */
export function barChart(title: string, counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 12);
  const max = Math.max(1, ...entries.map(([, count]) => count));
  const rowHeight = 18;
  const height = 24 + Math.max(1, entries.length) * rowHeight;
  const labelWidth = 120;
  const bars = entries.map(([name, count], i) => {
    const y = 22 + i * rowHeight;
    const width = Math.max(1, (count / max) * (WIDTH - labelWidth - 50));
    return `<text x="0" y="${y + 12}" font-size="11">${escapeHtml(name)}</text>` +
      `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="14" fill="#0969da"/>` +
      `<text x="${labelWidth + width + 4}" y="${y + 12}" font-size="11">${count}</text>`;
  }).join("");
  return `<svg class="chart" role="img" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title>` +
    `<text x="0" y="14" font-size="12">${escapeHtml(title)}</text>` +
    (entries.length === 0 ? `<text x="0" y="34" font-size="11">none yet</text>` : bars) +
    `</svg>`;
}
