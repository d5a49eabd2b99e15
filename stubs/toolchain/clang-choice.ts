// Which clang builds C stubs: Debian's when clang and wasm-ld are installed
// (native, fast), else @yowasp/clang when the project has it (nothing but
// Node), else an error naming both ways to get one.
// PROTOFLY_CLANG=yowasp asks for @yowasp/clang even where Debian's clang is
// (how the tests build with it here); PROTOFLY_CLANG=<path> names the clang
// to run, with no fallback.
import type { Clang } from './c-job.ts';
import { nativeClang } from './clang-native.ts';
import { YOWASP_CLANG, YOWASP_INSTALL, yowaspClang } from './clang-yowasp.ts';

/** An explicit path: another clang earlier on PATH may lack the wasm32 target or wasm-ld. */
export const DEBIAN_CLANG = '/usr/bin/clang';
const APT_INSTALL = 'apt-get install clang lld';

async function choose(setting: string | undefined, debianClang: string): Promise<Clang> {
  if (setting === 'yowasp') {
    const yowasp = await yowaspClang();
    if (!yowasp) throw new Error(`PROTOFLY_CLANG=yowasp, but ${YOWASP_CLANG.name} is not installed: ${YOWASP_INSTALL}`);
    return yowasp;
  }
  const native = await nativeClang(setting || debianClang);
  if ('build' in native) return native;
  if (setting) throw new Error(`PROTOFLY_CLANG=${setting}, but ${native.missing}: \`${APT_INSTALL}\` installs Debian's, or PROTOFLY_CLANG=yowasp uses ${YOWASP_CLANG.name}`);
  const yowasp = await yowaspClang();
  if (yowasp) return { ...yowasp, name: `${yowasp.name}; ${native.missing}` };
  throw new Error(`C stubs need clang and wasm-ld: ${native.missing}, and ${YOWASP_CLANG.name} is not installed. Either \`${APT_INSTALL}\` (Debian's, fast) or \`${YOWASP_INSTALL}\` (clang in WebAssembly, nothing but Node)`);
}

const chosen = new Map<string, Promise<Clang>>();

/** The clang for this process's C builds (setting: PROTOFLY_CLANG, '' as unset); looked for once, a failed look again next time. */
export function chooseClang(setting = process.env.PROTOFLY_CLANG, debianClang = DEBIAN_CLANG): Promise<Clang> {
  const key = `${setting ?? ''}\0${debianClang}`;
  let found = chosen.get(key);
  if (!found) {
    found = choose(setting, debianClang);
    chosen.set(key, found);
    found.catch(() => chosen.delete(key));
  }
  return found;
}
