import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cFileTree, type Tree } from '../../stubs/toolchain/c-file-tree.ts';

const work = await mkdtemp(join(tmpdir(), 'protofly-c-tree-'));
test.after.always(() => rm(work, { recursive: true, force: true }));

async function files(layout: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(work, 'case-'));
  for (const [path, text] of Object.entries(layout)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

const text = (tree: Tree, path: string) => {
  const file = path.split('/').reduce<Tree | Uint8Array | undefined>((dir, name) => (dir as Tree | undefined)?.[name], tree);
  return file instanceof Uint8Array ? Buffer.from(file).toString('utf8') : undefined;
};

test('the tree holds the sources and the headers their includes reach, beside them or in an -I folder', async (t) => {
  const root = await files({
    'stub/stub.c': '#include "local.h"\n  #  include <glue.h>\nint main;\n',
    'stub/local.h': '#include "deeper/more.h"\n',
    'stub/deeper/more.h': '',
    'stub/unused.h': '',
    'glue/glue.h': '#include <stddef.h>\n',
  });
  const built = await cFileTree([join(root, 'stub/stub.c')], [join(root, 'glue')]);
  const inside = built.tree['protofly-c'] as Tree;
  t.deepEqual(Object.keys(inside).sort(), ['glue', 'stub']);
  t.deepEqual(Object.keys(inside.stub as Tree).sort(), ['deeper', 'local.h', 'stub.c'], 'a header nothing includes stays out');
  t.is(text(inside, 'stub/stub.c'), '#include "local.h"\n  #  include <glue.h>\nint main;\n', 'a source is given as it is');
  t.is(built.inTree(join(root, 'glue')), '/protofly-c/glue');
  t.is(built.fromTree('/protofly-c/stub/stub.c:3:5: error'), `${join(root, 'stub/stub.c')}:3:5: error`);
});

test('an include that climbs out of its folder names its header\'s place, as the compiler\'s file system reads ".." as "."', async (t) => {
  const root = await files({
    'stubs/trap/trap.c': '#include "../common/common.h"  // shared\n#include "trap.h"\n',
    'stubs/trap/trap.h': '',
    'stubs/common/common.h': '#include "../echo/echo.h"\n',
    'stubs/echo/echo.h': '',
  });
  const built = await cFileTree([join(root, 'stubs/trap/trap.c')], []);
  const inside = built.tree['protofly-c'] as Tree;
  t.is(text(inside, 'trap/trap.c'), '#include "/protofly-c/common/common.h"  // shared\n#include "trap.h"\n');
  t.is(text(inside, 'common/common.h'), '#include "/protofly-c/echo/echo.h"\n');
  t.is(text(inside, 'echo/echo.h'), '');
});
