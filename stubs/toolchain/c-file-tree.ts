// The files a C build reads, for a compiler that cannot see this machine's
// file system (@yowasp/clang runs over an in-memory tree): the sources and
// the headers their #include lines reach, placed under one mount point at
// the paths they have below their common folder.
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, posix, relative, resolve, sep } from 'node:path';

export type Tree = { [name: string]: Tree | Uint8Array };

export interface CFileTree {
  /** The compiler's whole file system: the files under the mount point. */
  tree: Tree;
  /** Where a file of this machine is in the tree. */
  inTree(path: string): string;
  /** A compiler message with the tree's paths put back as this machine's. */
  fromTree(text: string): string;
}

// Where the files sit in the compiler's file system; @yowasp/clang puts its
// own headers and libraries under /usr, so not a path of this machine.
const MOUNT = '/protofly-c';
// Quoted includes are searched beside the including file, then in the -I
// folders; angled ones in the -I folders only (clang's own come with it).
const INCLUDE = /^([ \t]*#[ \t]*include[ \t]*)(?:"([^"]+)"|<([^>]+)>)/gm;

interface Found {
  text: string;
  /** Includes to point at their header's place in the tree: the directive at `offset`, `length` long. */
  rewrites: Array<{ offset: number; length: number; directive: string; header: string }>;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

async function gather(sources: string[], includeDirs: string[]): Promise<Map<string, Found>> {
  const found = new Map<string, Found>();
  const queue = [...sources];
  while (queue.length) {
    const file = queue.pop()!;
    if (found.has(file)) continue;
    // A missing file stays out: clang names it better than we would. Read
    // as latin1, a character a byte, so a rewritten file (below) keeps every
    // other byte as it was.
    const text = await readFile(file, 'latin1').catch(() => null);
    if (text === null) continue;
    const entry: Found = { text, rewrites: [] };
    found.set(file, entry);
    // An include inside a comment or an #if branch is taken too: a header
    // too many in the tree costs nothing.
    for (const match of text.matchAll(INCLUDE)) {
      const [, directive, quoted, angled] = match;
      const name = Buffer.from(quoted ?? angled, 'latin1').toString('utf8');
      const dirs = quoted ? [dirname(file), ...includeDirs] : includeDirs;
      for (const dir of dirs) {
        const header = resolve(dir, name);
        if (!(await isFile(header))) continue;
        queue.push(header);
        // @yowasp/clang's file system reads '..' as '.', so "../x/y.h" would
        // not be found: such an include names the header's place instead.
        if (name.split(/[\\/]/).includes('..')) entry.rewrites.push({ offset: match.index, length: match[0].length, directive, header });
        break;
      }
    }
  }
  return found;
}

function commonFolder(paths: string[]): string {
  let root = dirname(paths[0]);
  const inside = (path: string) => {
    const rel = relative(root, path);
    return !rel.startsWith('..') && !isAbsolute(rel);
  };
  while (!paths.every(inside)) {
    if (dirname(root) === root) throw new Error(`the C build's files share no folder (${paths.join(', ')})`);
    root = dirname(root);
  }
  return root;
}

function rewritten({ text, rewrites }: Found, inTree: (path: string) => string): Uint8Array {
  let out = '';
  let at = 0;
  for (const { offset, length, directive, header } of rewrites) {
    out += `${text.slice(at, offset)}${directive}"${Buffer.from(inTree(header), 'utf8').toString('latin1')}"`;
    at = offset + length;
  }
  return Buffer.from(out + text.slice(at), 'latin1');
}

export async function cFileTree(sources: string[], includeDirs: string[]): Promise<CFileTree> {
  const files = await gather(sources, includeDirs);
  const root = commonFolder([...sources, ...includeDirs, ...files.keys()]);
  const parts = (path: string) => relative(root, path).split(sep).filter(Boolean);
  const inTree = (path: string) => posix.join(MOUNT, ...parts(path));
  const tree: Tree = {};
  for (const [path, found] of files) {
    const names = parts(path);
    let dir = tree;
    for (const name of names.slice(0, -1)) dir = (dir[name] ??= {}) as Tree;
    dir[names.at(-1)!] = rewritten(found, inTree);
  }
  const rootWithSep = root.endsWith(sep) ? root : root + sep;
  return {
    tree: { [MOUNT.slice(1)]: tree },
    inTree,
    fromTree: (text) => text.replaceAll(`${MOUNT}/`, rootWithSep),
  };
}
