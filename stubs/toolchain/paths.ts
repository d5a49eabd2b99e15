import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// This module runs from stubs/toolchain/ (tsx) and bundled into dist/ (the
// CLI's `stub build`), at different depths: the package root is the nearest
// folder above that holds the WIT.
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'stubs', 'wit', 'protostub.wit'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no stubs/wit/protostub.wit above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

export const REPO_DIR = packageRoot();
export const STUBS_DIR = join(REPO_DIR, 'stubs');
export const WIT_PATH = join(STUBS_DIR, 'wit', 'protostub.wit');
/** Built components land here, never in git. */
export const BUILD_DIR = join(REPO_DIR, 'build', 'stubs');
