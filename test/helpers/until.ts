// Waiting for readiness, not for a fixed time: polls a condition until it
// holds, failing with what was awaited after a bound.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `check()` holds, checked every `every` ms; rejects after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000, every = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(every);
  }
}
