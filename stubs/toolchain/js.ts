// JavaScript/TypeScript stubs: esbuild bundles the entry and its npm imports
// into one ES module, then componentize-js embeds it in StarlingMonkey.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { componentize, type ComponentizeOptions } from '@bytecodealliance/componentize-js';
import type { BuildComponent } from './manifest.ts';
import { WIT_PATH } from './paths.ts';

// Every WASI feature is off: a stub gets the `host` interface and nothing
// else, so the component must import no WASI interface at all.
const DISABLED_FEATURES = ['random', 'stdio', 'clocks', 'http', 'fetch-event'] as const;

export const buildComponent: BuildComponent = async (stubDir, manifest) => {
  if (!manifest.entry) throw new Error(`${manifest.name}: stub.json needs "entry" for lang js`);
  const work = await mkdtemp(join(tmpdir(), `protofly-${manifest.name}-`));
  try {
    const bundled = join(work, 'stub.js');
    await build({
      entryPoints: [join(stubDir, manifest.entry)],
      outfile: bundled,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2022',
      external: ['protofly:*'],
      logLevel: 'warning',
    });
    // componentize-js reads a WIT *path* through its own WASI filesystem, which
    // fails here ("No such file"); handing it the WIT text avoids the lookup.
    const { component } = await componentize({
      sourcePath: bundled,
      witWorld: await readFile(WIT_PATH, 'utf8'),
      worldName: 'protostub',
      disableFeatures: [...DISABLED_FEATURES],
    } as ComponentizeOptions);
    return { component };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
};
