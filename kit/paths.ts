import { fileURLToPath } from 'node:url';

// Both kit/*.ts (run by tsx) and the bundled dist/*.js sit one folder below
// the package root, so the same relative URL finds the root from either.
export const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));
export const TEMPLATES_DIR = fileURLToPath(new URL('../kit/templates/', import.meta.url));
/** The C glue a C skeleton carries a copy of. */
export const C_GLUE_DIR = fileURLToPath(new URL('../stubs/c/', import.meta.url));
export const C_GLUE_FILES = ['protostub.h', 'protostub.c', 'cbor.h', 'cbor.c'];
export const RUST_GLUE_DIR = fileURLToPath(new URL('../stubs/rust/', import.meta.url));
export const RUST_GLUE_FILES = ['abi.rs', 'cbor.rs'];
export const AS_GLUE_DIR = fileURLToPath(new URL('../stubs/as/', import.meta.url));
export const AS_GLUE_FILES = ['protostub.ts', 'cbor.ts', 'utf8.ts', 'status.ts'];
