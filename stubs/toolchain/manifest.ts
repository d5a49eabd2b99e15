/** What `stubs/<name>/stub.json` says about a stub: enough to build it. */
export interface StubManifest {
  /** File name of the built component: `build/stubs/<name>.wasm`. */
  name: string;
  /** Which toolchain builds it (`stubs/toolchain/<lang>.ts`). */
  lang: 'js' | 'c' | 'rust';
  /** js: the module that exports `stub` (TypeScript or JavaScript); rust: the crate root. */
  entry?: string;
  /** c: source files relative to the stub's folder. */
  sources?: string[];
  /** Test-only stubs (hostile, echo) are built but not served by default. */
  fixture?: boolean;
  description?: string;
  /** Kit stubs: what `protofly stub build` puts in the descriptor it prints. */
  version?: string;
  configuration?: Record<string, unknown>;
  connect?: string[];
}

/** A toolchain turns one stub folder into a WebAssembly component. */
export type BuildComponent = (stubDir: string, manifest: StubManifest) => Promise<Uint8Array>;
