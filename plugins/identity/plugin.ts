// The Identity Module's part in the deploy: credentials for the domain's
// login, handed to the stub in its init config.
import type { Plugin } from '../../kernel/runtime.ts';
import type { Credentials } from '../../kernel/schemas.ts';
import type { DeployContext } from '../../kernel/types.ts';

export interface IdentityOptions {
  /** Credentials by domain name (`example.com`, `127.0.0.1:8080`). */
  credentials?: Record<string, Credentials>;
  /** Asked when the map has nothing for a domain (a login page, a vault…). */
  lookup?: (domain: string, context: DeployContext) => Promise<Credentials | null | undefined> | Credentials | null | undefined;
}

export function identityPlugin(options: IdentityOptions = {}): Plugin {
  const known = new Map(Object.entries(options.credentials ?? {}));
  return {
    name: 'IdentityPlugin',
    apply(runtime) {
      runtime.hooks.credentials.tapPromise('IdentityPlugin', async (context) => {
        const name = context.domain.name;
        return known.get(name) ?? (await options.lookup?.(name, context)) ?? null;
      });
    },
  };
}
