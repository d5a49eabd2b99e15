// The readable form of the figures: one section per benchmark, each row a
// figure with its spread, its ceiling and the ratio between them.
import type { Figure, Spread } from './stats.ts';

/** Three significant digits, with k/M for large rates. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${round3(value / 1e9)}G`;
  if (abs >= 1e6) return `${round3(value / 1e6)}M`;
  if (abs >= 1e4) return `${round3(value / 1e3)}k`;
  return round3(value);
}

function round3(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function spread(s: Spread): string {
  return `${formatNumber(s.min)}–${formatNumber(s.max)}`;
}

// Rates read as "share of the ceiling", times and sizes as "times the ceiling".
function ratio(f: Figure): string {
  if (!Number.isFinite(f.ratio)) return String(f.ratio);
  const digits = f.ratio >= 10 ? 0 : f.ratio >= 0.1 ? 2 : 4;
  return `${f.ratio.toFixed(digits)}×`;
}

export function renderTable(figures: readonly Figure[]): string {
  const header = ['figure', 'value', 'unit', 'min–max', 'n', 'ceiling', 'ceiling value', 'min–max', 'ratio'];
  const lines: string[] = [];
  const benches = [...new Set(figures.map((f) => f.bench))];
  for (const bench of benches) {
    const rows = figures.filter((f) => f.bench === bench).map((f) => [
      f.name + (f.better === 'higher' ? ' ↑' : ' ↓'),
      formatNumber(f.value.median),
      f.unit,
      spread(f.value),
      String(f.value.runs),
      f.ceiling.name,
      formatNumber(f.ceiling.value.median),
      spread(f.ceiling.value),
      ratio(f),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const numeric = new Set([1, 3, 4, 6, 7, 8]);
    const line = (cells: string[]) => cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
    lines.push(`## ${bench}`, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));
    const notes = figures.filter((f) => f.bench === bench && f.note);
    for (const f of notes) lines.push(`   ${f.name}: ${f.note}`);
    lines.push('');
  }
  lines.push('↑ higher is better (ratio = share of the ceiling reached); ↓ lower is better (ratio = times the ceiling).');
  lines.push('value and ceiling are medians over n runs; min–max is their spread.');
  return lines.join('\n');
}
