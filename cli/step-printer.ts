// Shows a deploy as it happens: one line per step with its time.
import type { Runtime } from '../kernel/runtime.ts';

export function printSteps(runtime: Runtime, label: string, write: (line: string) => void): void {
  runtime.hooks.step.tap('StepPrinter', (event) => {
    if (event.phase === 'end') write(`  ${label}  ${event.hook.padEnd(17)} ${event.ms.toFixed(1).padStart(8)} ms`);
    if (event.phase === 'error') write(`  ${label}  ${event.hook.padEnd(17)} failed: ${(event.error as Error)?.message ?? event.error}`);
  });
  runtime.hooks.step.tap('StepPrinterPath', (event) => {
    if (event.phase !== 'end' || event.hook !== 'instantiate' || event.parent) return;
    const stub = runtime.registry.get(event.domain);
    if (stub?.path) write(`  ${label}  path ${stub.path.kind}${stub.path.declined ? ` (direct path declined: ${stub.path.declined})` : ''}`);
  });
  runtime.hooks.status.tap('StepPrinter', (stub, value) => {
    const reason = stub.statusBody.reason ? ` (${stub.statusBody.reason})` : '';
    write(`  ${label}  status ${value}${reason}  ${stub.stubURL}`);
  });
}
