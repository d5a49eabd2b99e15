// The report as people read it: one PASS/FAIL/SKIP line per check.
import type { ConformanceReport } from './types.ts';

export function formatReport(report: ConformanceReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => `${c.skipped ? 'SKIP' : c.ok ? 'PASS' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}`);
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push('', failed ? `${failed} of ${report.checks.length} checks failed: ${report.component}` : `conformant: ${report.component}`);
  if (report.path) lines.push(`(checked through the ${report.path} path)`);
  return lines.join('\n');
}
