// Built components (npm run build:stubs). Tests use the real thing.
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../build/stubs/', import.meta.url));
export const builtStub = (name: string) => `${dir}${name}.wasm`;
