// What the C toolchain asks of a clang, whichever one it is (Debian's, or
// @yowasp/clang's in WebAssembly): clang-choice.ts picks one.

/** One C stub's build: its files and the flags it is built with. */
export interface CJob {
  /** The stub's name, for messages. */
  stub: string;
  /** Absolute paths of the .c files, compiled and linked together. */
  sources: string[];
  /** Folders searched for headers (-I). */
  includeDirs: string[];
  compileFlags: string[];
  linkFlags: string[];
}

/** A clang that turns a CJob into a core module. */
export interface Clang {
  /** Who builds, as the build result names it: "Debian clang version 14.0.6 (/usr/bin/clang)". */
  name: string;
  build(job: CJob): Promise<Uint8Array>;
}
