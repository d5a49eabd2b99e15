// `npm run build:stubs`: builds every stub under stubs/<name>/stub.json into
// build/stubs/<name>.wasm, skipping those whose inputs have not changed.
// Usage: build.ts [--force] [name…]
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildStubDir } from './toolchain/build-dir.ts';
import type { StubManifest } from './toolchain/manifest.ts';
import { BUILD_DIR, REPO_DIR, STUBS_DIR } from './toolchain/paths.ts';

export { buildStubDir } from './toolchain/build-dir.ts';

// What a stub's build depends on besides its own folder.
const SHARED_INPUTS: Record<StubManifest['lang'], string[]> = {
  js: ['wit', 'toolchain/js.ts'],
  // Which clang built it is not an input: Debian's and @yowasp/clang's are
  // given the same sources and flags.
  c: ['wit', 'toolchain/c.ts', 'toolchain/c-job.ts', 'toolchain/c-file-tree.ts', 'toolchain/clang-native.ts', 'toolchain/clang-yowasp.ts', 'c'],
  rust: ['wit', 'toolchain/rust.ts', 'rust'],
  as: ['wit', 'toolchain/as.ts', 'toolchain/as-compile.ts', 'toolchain/as-world-exports.ts', 'as'],
};

async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => null);
  if (!info) return [];
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(entries
    .filter((e) => !['node_modules', 'build', 'dist'].includes(e.name))
    .map((e) => filesUnder(join(path, e.name))));
  return nested.flat().sort();
}

async function inputsDigest(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await Promise.all(paths.map(filesUnder))).flat()) {
    hash.update(relative(REPO_DIR, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

export async function listStubs(): Promise<Array<{ dir: string; manifest: StubManifest }>> {
  const entries = await readdir(STUBS_DIR, { withFileTypes: true });
  const found = [];
  for (const entry of entries.filter((e) => e.isDirectory())) {
    const dir = join(STUBS_DIR, entry.name);
    const text = await readFile(join(dir, 'stub.json'), 'utf8').catch(() => null);
    if (text) found.push({ dir, manifest: JSON.parse(text) as StubManifest });
  }
  return found;
}

export async function buildStubs(names: string[] = [], force = false): Promise<string[]> {
  await mkdir(BUILD_DIR, { recursive: true });
  const built: string[] = [];
  for (const { dir, manifest } of await listStubs()) {
    if (names.length && !names.includes(manifest.name)) continue;
    const digest = await inputsDigest([
      dir,
      ...SHARED_INPUTS[manifest.lang].map((p) => join(STUBS_DIR, p)),
      // Sources may live outside the stub's folder (shared fixture code).
      ...(manifest.sources ?? []).map((source) => join(dir, source)),
    ]);
    const out = join(BUILD_DIR, `${manifest.name}.wasm`);
    const stamp = join(BUILD_DIR, `${manifest.name}.inputs`);
    const previous = await readFile(stamp, 'utf8').catch(() => '');
    if (!force && previous === digest && (await stat(out).catch(() => null))) continue;
    const started = performance.now();
    const { component, compiler } = await buildStubDir(dir, manifest);
    await writeFile(out, component);
    await writeFile(stamp, digest);
    const ms = Math.round(performance.now() - started);
    const by = compiler ? `, ${compiler}` : '';
    console.log(`built ${relative(REPO_DIR, out)} (${manifest.lang}, ${(component.length / 1024).toFixed(0)} KiB, ${ms} ms${by})`);
    built.push(out);
  }
  return built;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  buildStubs(args.filter((a) => !a.startsWith('--')), args.includes('--force')).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
