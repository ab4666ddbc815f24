// The pieces of the reports' SVG charts (compare-report.ts, bench-report.ts): one look for every chart —
// the same fonts, colours, grid and legend — written as plain strings, no chart library.

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round axis maximum and a tick step: 1, 2 or 5 × 10^n. */
export function niceScale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 1, step: 1 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step: Math.max(step, 1) };
}

/** Horizontal grid lines from 0 to `top` every `step`, labelled on the left; `y` maps a value to a y coordinate. */
export function yGrid(left: number, right: number, top: number, step: number, y: (value: number) => number, label = (v: number) => String(v)): string[] {
  const parts: string[] = [];
  for (let v = 0; v <= top; v += step) {
    parts.push(`<line x1="${left}" x2="${right}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`);
    parts.push(`<text x="${left - 8}" y="${y(v) + 4}" class="tick" text-anchor="end">${label(v)}</text>`);
  }
  return parts;
}

/** A row of colour keys, `spacing` apart, from (x, y) — y is the text's baseline. */
export function legend(items: { label: string; color: string }[], x: number, y: number, spacing: number): string {
  return items
    .map(
      ({ label, color }, i) =>
        `<rect x="${x + i * spacing}" y="${y - 6}" width="14" height="4" fill="${color}"/><text x="${x + i * spacing + 20}" y="${y}" class="legend">${esc(label)}</text>`,
    )
    .join('\n');
}

/** The document: size, the shared stylesheet, a white background, the heading at (x, 20), then the body. */
export function svgDocument(width: number, height: number, headingX: number, heading: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
  .title { font-size: 13px; font-weight: 600; fill: #212529; }
  .heading { font-size: 15px; font-weight: 700; fill: #212529; }
  .legend { font-size: 12px; fill: #343a40; }
  .tick { font-size: 10px; fill: #868e96; }
  .grid { stroke: #f1f3f5; }
  .axis { stroke: #adb5bd; }
  .fault { stroke: #495057; stroke-dasharray: 4 3; }
  .fault-label { font-size: 10px; fill: #495057; }
  .note { font-size: 11px; fill: #495057; }
  .bound { stroke: #495057; stroke-dasharray: 6 4; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${headingX}" y="20" class="heading">${esc(heading)}</text>
${body}
</svg>
`;
}
