/**
 * A small self-contained line chart in SVG (no dependency): linear axes with "nice" ticks,
 * one polyline per series (optionally dashed, with point markers), a legend, and a <title>
 * tooltip on every marker. Used for the distribution-time-against-N picture.
 */

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color: string;
  dashed?: boolean;
  markers?: boolean;
  /** Vertical ranges drawn at each point (e.g. min..max over repetitions). */
  ranges?: Array<[number, number, number]>;
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** x values to put ticks at (default: nice ticks). */
  xTicks?: number[];
  width?: number;
  height?: number;
  yMax?: number;
  /** Logarithmic y axis (ticks 1-2-5 x 10^k between yMin and yMax). */
  logY?: { yMin: number; yMax: number };
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Ticks at 1, 2 or 5 x 10^k covering [0, max]. */
export function niceTicks(max: number, target = 6): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1]! < max) out.push(Number((out[out.length - 1]! + step).toPrecision(12)));
  return out;
}

/** 1-2-5 ticks in [min, max] for a log axis. */
export function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(Number(v.toPrecision(12)));
    }
  }
  return out;
}

const num = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1));

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 860;
  const H = o.height ?? 460;
  const m = { left: 70, right: 290, top: o.subtitle ? 62 : 44, bottom: 56 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const allX = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const allY = o.series.flatMap((s) => [...s.points.map((p) => p[1]), ...(s.ranges ?? []).map((r) => r[2])]);
  const xMax = Math.max(...allX, ...(o.xTicks ?? []));
  const yTicks = o.logY
    ? logTicks(o.logY.yMin, o.logY.yMax)
    : niceTicks(o.yMax ?? Math.max(...allY.filter(Number.isFinite)));
  const yMax = o.logY ? o.logY.yMax : yTicks[yTicks.length - 1]!;
  const yMin = o.logY ? o.logY.yMin : 0;
  const xTicks = o.xTicks ?? niceTicks(xMax);
  const xTop = Math.max(xMax, xTicks[xTicks.length - 1]!);
  const X = (x: number): number => m.left + (x / xTop) * pw;
  const Y = (y: number): number => {
    const v = Math.min(Math.max(y, yMin), yMax);
    const frac = o.logY ? Math.log(v / yMin) / Math.log(yMax / yMin) : v / yMax;
    return m.top + ph - frac * ph;
  };
  const f = (v: number): string => v.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${m.left}" y="22" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  if (o.subtitle) out.push(`<text x="${m.left}" y="40" fill="#555">${esc(o.subtitle)}</text>`);
  // grid + y ticks
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" y1="${f(Y(t))}" x2="${m.left + pw}" y2="${f(Y(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 8}" y="${f(Y(t) + 4)}" text-anchor="end" fill="#333">${num(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(
      `<line x1="${f(X(t))}" y1="${m.top + ph}" x2="${f(X(t))}" y2="${m.top + ph + 5}" stroke="#333"/>`
    );
    out.push(`<text x="${f(X(t))}" y="${m.top + ph + 19}" text-anchor="middle" fill="#333">${num(t)}</text>`);
  }
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(
    `<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`
  );
  // series
  out.push(`<g clip-path="url(#plot)">`);
  out.push(
    `<clipPath id="plot"><rect x="${m.left}" y="${m.top - 6}" width="${pw + 6}" height="${ph + 6}"/></clipPath>`
  );
  for (const s of o.series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    const d = pts.map((p) => `${f(X(p[0]))},${f(Y(p[1]))}`).join(' ');
    out.push(
      `<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`
    );
    for (const r of s.ranges ?? []) {
      out.push(
        `<line x1="${f(X(r[0]))}" y1="${f(Y(r[1]))}" x2="${f(X(r[0]))}" y2="${f(Y(r[2]))}" stroke="${s.color}" stroke-width="1.5"/>`
      );
    }
    if (s.markers) {
      for (const p of pts) {
        out.push(
          `<circle cx="${f(X(p[0]))}" cy="${f(Y(p[1]))}" r="4" fill="${s.color}"><title>${esc(`${s.name}: N=${p[0]}, ${p[1].toFixed(1)} s`)}</title></circle>`
        );
      }
    }
  }
  out.push(`</g>`);
  // legend
  const lx = m.left + pw + 18;
  o.series.forEach((s, i) => {
    const y = m.top + 10 + i * 22;
    out.push(
      `<line x1="${lx}" y1="${y}" x2="${lx + 26}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`
    );
    if (s.markers) out.push(`<circle cx="${lx + 13}" cy="${y}" r="4" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 32}" y="${y + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
