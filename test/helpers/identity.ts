// An Identity Module the test controls: it hands out whatever password the
// test sets now, and counts how often the runtime asks (the `credentials`
// step runs again when a back-end refuses a login after LIVE).
import type { Plugin } from '../../kernel/runtime.ts';

export function changingIdentity(username: string, password: { current: string }) {
  const asked = { count: 0 };
  const plugin: Plugin = {
    name: 'TestIdentity',
    apply(rt) {
      rt.hooks.credentials.tapPromise({ name: 'TestIdentity', stage: -10 }, async () => {
        asked.count++;
        return { username, password: password.current };
      });
    },
  };
  return { plugin, asked };
}
