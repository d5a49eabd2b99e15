// Shows a deploy as it happens: one line per step with its time, and under
// it the sub-steps it was made of (download, compile, signature…).
import type { Runtime } from '../kernel/runtime.ts';
import type { StepEvent } from '../kernel/types.ts';

// Sub-steps that are checks: their line says it passed.
const CHECKS = new Set(['signature', 'integrity']);

export function printSteps(runtime: Runtime, label: string, write: (line: string) => void): void {
  // A sub-step ends before the step it is part of: its line waits for that
  // step's, by stub (one runtime deploys several at once) and step.
  const waiting = new Map<string, string[]>();
  runtime.hooks.step.tap('StepPrinter', (event) => {
    if (event.phase === 'start') return;
    if (event.parent) {
      const key = `${stubOf(event)} ${event.parent}`;
      waiting.set(key, [...waiting.get(key) ?? [], subStepLine(label, event)]);
      return;
    }
    if (event.phase === 'end') write(`  ${label}  ${event.hook.padEnd(17)} ${event.ms.toFixed(1).padStart(8)} ms`);
    if (event.phase === 'error') write(`  ${label}  ${event.hook.padEnd(17)} failed: ${(event.error as Error)?.message ?? event.error}`);
    const key = `${stubOf(event)} ${event.hook}`;
    for (const line of waiting.get(key) ?? []) write(line);
    waiting.delete(key);
    // The deploy ends here: what its later steps had begun is not theirs to show.
    if (event.phase === 'error') for (const other of waiting.keys()) if (other.startsWith(`${stubOf(event)} `)) waiting.delete(other);
  });
  runtime.hooks.step.tap('StepPrinterPath', (event) => {
    if (event.phase !== 'end' || event.hook !== 'instantiate' || event.parent) return;
    const stub = runtime.registry.get(event.domain, event.name);
    if (stub?.path) write(`  ${label}  path ${stub.path.kind}${stub.path.declined ? ` (direct path declined: ${stub.path.declined})` : ''}`);
  });
  runtime.hooks.status.tap('StepPrinter', (stub, value) => {
    const reason = stub.statusBody.reason ? ` (${stub.statusBody.reason})` : '';
    write(`  ${label}  status ${value}${reason}  ${stub.stubURL}`);
  });
}

const stubOf = (event: StepEvent) => `${event.domain}#${event.name ?? 'default'}`;

// Indented under its step, its time in the same column as the steps'.
function subStepLine(label: string, event: StepEvent): string {
  if (event.phase === 'error') {
    const error = event.error as { code?: string; message?: string } | undefined;
    return `  ${label}    ${event.hook} ✗ ${error?.code ? `${error.code}: ` : ''}${error?.message ?? event.error}`;
  }
  const name = CHECKS.has(event.hook) ? `${event.hook} ✓` : event.hook;
  return `  ${label}    ${name.padEnd(15)} ${event.ms.toFixed(1).padStart(8)} ms`;
}

