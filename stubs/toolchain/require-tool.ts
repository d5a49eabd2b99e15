// A compiler the toolchain runs from Debian's packages: missing, it is named
// with how to install it, instead of a bare ENOENT from execFile.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Resolves if `path --version` runs; `what` reads "C stubs need clang". */
export async function requireTool(path: string, what: string, installHint: string): Promise<void> {
  try {
    await run(path, ['--version']);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') throw new Error(`${what} at ${path}: ${installHint}`);
    throw error;
  }
}
