import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const STUBS_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_DIR = join(STUBS_DIR, '..');
export const WIT_PATH = join(STUBS_DIR, 'wit', 'protostub.wit');
/** Built components land here, never in git. */
export const BUILD_DIR = join(REPO_DIR, 'build', 'stubs');
