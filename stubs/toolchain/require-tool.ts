// A compiler the toolchain runs from Debian's packages: missing, it is named
// with how to install it, instead of a bare ENOENT from execFile.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The first line `path --version` prints, or undefined if there is no such program to run. */
export async function toolVersion(path: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(path, ['--version']);
    return stdout.split('\n')[0].trim() || path;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') return undefined;
    throw error;
  }
}

/** Resolves if `path --version` runs; `what` reads "C stubs need clang". */
export async function requireTool(path: string, what: string, installHint: string): Promise<void> {
  if (!(await toolVersion(path))) throw new Error(`${what} at ${path}: ${installHint}`);
}
