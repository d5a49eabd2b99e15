// Check (f): a real runtime deploys the stub from a loopback catalogue, the
// whole seed flow (descriptor, hash, worker sandbox, credentials), and the
// stub must report LIVE to it.
import { createRuntime } from '../../index.ts';
import { startCatalogue } from '../../domain/catalogue.ts';
import { describe, isProtoflyError } from '../../kernel/errors.ts';
import { fail, pass, type Check } from './types.ts';

export const GOES_LIVE = 'goes-live';

export interface LiveSetup {
  componentPath: string;
  configuration: Record<string, unknown>;
  connect: string[];
  /** Only for the report: the back-end it was checked against. */
  brokerURL?: string;
  user?: string;
  password?: string;
  timeoutMs: number;
  /** Deploy through the direct path (true) or jco (false), as the other checks ran. */
  directPath: boolean;
}

export async function checkGoesLive(setup: LiveSetup): Promise<Check> {
  const catalogue = await startCatalogue({
    entries: { default: { component: setup.componentPath, configuration: setup.configuration, connect: setup.connect } },
  });
  const credentials = setup.user ? { [catalogue.domain]: { username: setup.user, password: setup.password ?? '' } } : {};
  const runtime = createRuntime({
    identity: { credentials }, liveTimeoutMs: setup.timeoutMs, cacheDir: false, directPath: setup.directPath ? undefined : false,
  });
  const started = performance.now();
  try {
    const stub = await runtime.deployStub(catalogue.origin);
    const ms = Math.round(performance.now() - started);
    if (stub.status !== 'LIVE') return fail(GOES_LIVE, `deployed, but its status is ${stub.status}`);
    return pass(GOES_LIVE, `LIVE in ${ms} ms when deployed by a runtime${setup.brokerURL ? ` against ${setup.brokerURL}` : ' (no back-end given)'}`);
  } catch (error) {
    return fail(GOES_LIVE, isProtoflyError(error) ? `${error.code}: ${error.message}` : describe(error));
  } finally {
    await runtime.close();
    await catalogue.close();
  }
}
