// dist/: ESM for Node (index.js, cli.js) with type declarations.
import typescript from '@rollup/plugin-typescript';

const external = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0');

export default {
  input: { index: 'index.ts', cli: 'cli/main.ts' },
  external,
  output: { dir: 'dist', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
  plugins: [
    typescript({
      tsconfig: './tsconfig.json',
      noEmit: false,
      declaration: true,
      declarationDir: 'dist',
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      include: ['index.ts', 'kernel/**/*.ts', 'plugins/**/*.ts', 'domain/**/*.ts', 'cli/**/*.ts'],
      exclude: ['test/**', 'bench/**', 'stubs/**', 'examples/**'],
    }),
  ],
  onwarn(warning, warn) {
    if (warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
};
