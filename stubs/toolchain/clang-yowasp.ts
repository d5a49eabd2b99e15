// @yowasp/clang: Clang and LLD compiled to WebAssembly, run inside this
// process over an in-memory file system, so C stubs build where there is
// nothing but Node. An optional peer dependency: most users build no C stub,
// and the compiler is ≈100 MiB.
import type { CJob, Clang } from './c-job.ts';
import { cFileTree } from './c-file-tree.ts';

/** The version this repository builds and tests with (package.json's devDependencies and optional peerDependencies say the same). */
export const YOWASP_CLANG = { name: '@yowasp/clang', version: '22.0.0-git20542-10' };
export const YOWASP_INSTALL = `npm install --save-dev ${YOWASP_CLANG.name}@${YOWASP_CLANG.version}`;

type YowaspModule = typeof import('@yowasp/clang');

const OUTPUT = 'core.wasm';

async function build(yowasp: YowaspModule, job: CJob): Promise<Uint8Array> {
  const files = await cFileTree(job.sources, job.includeDirs);
  const chunks: Uint8Array[] = [];
  const collect = (bytes: Uint8Array | null) => { if (bytes) chunks.push(bytes.slice()); };
  const messages = () => files.fromTree(Buffer.concat(chunks).toString('utf8').trim());
  // One driver run compiles every source and links: each tool it runs is a
  // new instance of the compiler, and there is no PATH (so no wasm-opt) for
  // a -O to find, which is why Debian's clang compiles and links apart.
  const args = [
    ...job.compileFlags,
    ...job.includeDirs.map((dir) => `-I${files.inTree(dir)}`),
    ...job.linkFlags,
    '-o', `/${OUTPUT}`,
    ...job.sources.map(files.inTree),
  ];
  // Loads the compiler first: clang's own runs would print "fetched N%"
  // lines as its 100 MiB are read.
  await yowasp.runLLVM(undefined, {}, { fetchProgress: () => {} });
  let out;
  try {
    out = await yowasp.commands.clang(args, files.tree, { stdout: collect, stderr: collect, decodeASCII: false });
  } catch (error) {
    if (!(error instanceof yowasp.Exit)) throw error;
    throw new Error(`${job.stub}: clang (${YOWASP_CLANG.name}) failed\n${messages()}`);
  }
  if (messages()) console.warn(messages());  // warnings: -Wall is there to be read
  const core = out?.[OUTPUT];
  if (!(core instanceof Uint8Array)) throw new Error(`${job.stub}: clang (${YOWASP_CLANG.name}) wrote no ${OUTPUT}\n${messages()}`);
  return core;
}

/** @yowasp/clang if it is installed where protofly runs, else undefined. */
export async function yowaspClang(): Promise<Clang | undefined> {
  let yowasp: YowaspModule;
  try {
    yowasp = await import('@yowasp/clang');
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  // The package exports its version without declaring it.
  const version = (yowasp as { version?: string }).version ?? 'unknown version';
  return { name: `${YOWASP_CLANG.name} ${version} (clang in WebAssembly)`, build: (job) => build(yowasp, job) };
}
