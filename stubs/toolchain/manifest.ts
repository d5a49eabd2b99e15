/** What `stubs/<name>/stub.json` says about a stub: enough to build it. */
export interface StubManifest {
  /** File name of the built component: `build/stubs/<name>.wasm`. */
  name: string;
  /** Which toolchain builds it (`stubs/toolchain/<lang>.ts`). */
  lang: 'js' | 'c' | 'rust' | 'as';
  /** js: the module that exports `stub` (TypeScript or JavaScript); rust: the crate root. */
  entry?: string;
  /** c: source files relative to the stub's folder; as: its entry files (the glue's are added unless it carries its own). */
  sources?: string[];
  /** Test-only stubs (hostile, echo) are built but not served by default. */
  fixture?: boolean;
  description?: string;
  /** Kit stubs: what `protofly stub build` puts in the descriptor it prints. */
  version?: string;
  configuration?: Record<string, unknown>;
  connect?: string[];
}

/** What a toolchain made of a stub folder. */
export interface BuiltComponent {
  component: Uint8Array;
  /** Which compiler made it, when a toolchain can use more than one ("Debian clang version 14.0.6"). */
  compiler?: string;
}

/** A toolchain turns one stub folder into a WebAssembly component. */
export type BuildComponent = (stubDir: string, manifest: StubManifest) => Promise<BuiltComponent>;
