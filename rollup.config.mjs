// dist/: ESM for Node (index.js, cli.js, stub-worker.js) with type
// declarations, and dist/browser/: the page's bundle (protofly.js, its
// stub-worker.js, and jco's transpiler, loaded on a cold deploy only).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

const external = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0');
const sources = ['*.ts', 'kernel/**/*.ts', 'plugins/**/*.ts', 'domain/**/*.ts', 'cli/**/*.ts', 'kit/**/*.ts', 'stubs/*.ts', 'stubs/toolchain/*.ts'];

function onwarn(warning, warn) {
  if (warning.code === 'CIRCULAR_DEPENDENCY') return;
  // Sources import './x.ts' (run as-is by tsx and ava); rollup resolves
  // those itself, so the import-rewriting that would silence TS5096 is off:
  // it would wrap our one dynamic import (the stub glue) in a helper.
  if (warning.message?.includes('TS5096')) return;
  // jco's transpiler bundles wasm-bindgen style code that uses `this` at top level.
  if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'EVAL' || warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
  warn(warning);
}

// jco's transpiler fetches its own core modules beside the chunk that holds it.
function jcoTranspilerAssets() {
  const require = createRequire(import.meta.url);
  // The package exports no package.json; its component entry lives in vendor/.
  const vendor = dirname(require.resolve('@bytecodealliance/jco-transpile/component'));
  return {
    name: 'jco-transpiler-assets',
    generateBundle() {
      for (const file of ['js-component-bindgen-component.core.wasm', 'js-component-bindgen-component.core2.wasm']) {
        this.emitFile({ type: 'asset', fileName: file, source: readFileSync(join(vendor, file)) });
      }
    },
  };
}

// jco's transpiler reads its core modules with node:fs when it thinks it runs
// in Node; in a page it fetches them. The browser bundle gets no Node built-in.
function noNodeBuiltins() {
  return {
    name: 'no-node-builtins',
    resolveId: (id) => (id.startsWith('node:') ? `\0browser-stub:${id}` : null),
    load: (id) => (id.startsWith('\0browser-stub:')
      ? `const missing = () => { throw new Error('${'$'}{id.slice(14)} is not available in a browser'); };
export const readFile = missing; export default {};`
      : null),
  };
}

const ts = (options = {}) => typescript({
  tsconfig: './tsconfig.json',
  noEmit: false,
  allowImportingTsExtensions: true,
  rewriteRelativeImportExtensions: false,
  include: sources,
  exclude: ['test/**', 'bench/**', 'stubs/*/src/**', 'examples/**'],
  ...options,
});

export default [
  {
    // stub-worker: the worker sandbox's entry, found beside the code that spawns it.
    input: {
      index: 'index.ts', cli: 'cli/main.ts', 'stub-worker': 'plugins/sandbox/worker/node-entry.ts',
      'conformance-worker': 'kit/conformance/worker-entry.ts',
      // asc runs in a worker of its own (stubs/toolchain/as.ts says why).
      'as-compile': 'stubs/toolchain/as-compile.ts',
    },
    external,
    output: { dir: 'dist', format: 'es', sourcemap: true, chunkFileNames: '[name]-[hash].js' },
    plugins: [ts({ declaration: true, declarationDir: 'dist' })],
    onwarn,
  },
  {
    input: { protofly: 'browser.ts', 'stub-worker': 'plugins/sandbox/worker/browser-entry.ts' },
    output: {
      dir: 'dist/browser', format: 'es', sourcemap: true,
      entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js',
      // The transpiler is loaded on a cold deploy only: a chunk of its own.
      // Its packages only: a module of ours named for jco stays with the code
      // that imports it (in the chunk, it would run the transpiler's setup).
      manualChunks: (id) => (/[\\/]node_modules[\\/]@bytecodealliance[\\/](jco|preview2-shim)/.test(id) ? 'jco-transpiler' : undefined),
      plugins: [terser({ module: true })],
    },
    plugins: [
      noNodeBuiltins(),
      nodeResolve({ browser: true, exportConditions: ['browser', 'module', 'import', 'default'], preferBuiltins: false }),
      commonjs(),
      ts({ declaration: false, outDir: 'dist/browser', sourceMap: true }),
      jcoTranspilerAssets(),
    ],
    onwarn,
  },
];
