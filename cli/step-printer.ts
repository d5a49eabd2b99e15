// Shows a deploy as it happens: one line per step with its time.
import type { Runtime } from '../kernel/runtime.ts';

export function printSteps(runtime: Runtime, label: string, write: (line: string) => void): void {
  runtime.hooks.step.tap('StepPrinter', (event) => {
    if (event.phase === 'end') write(`  ${label}  ${event.hook.padEnd(17)} ${event.ms.toFixed(1).padStart(8)} ms`);
    if (event.phase === 'error') write(`  ${label}  ${event.hook.padEnd(17)} failed: ${(event.error as Error)?.message ?? event.error}`);
  });
  runtime.hooks.status.tap('StepPrinter', (stub, value) => {
    const reason = stub.statusBody.reason ? ` (${stub.statusBody.reason})` : '';
    write(`  ${label}  status ${value}${reason}  ${stub.stubURL}`);
  });
}
