// The component cache in Node: one folder per source hash under a cache
// directory, written to a temporary name and renamed, so a reader never sees
// half an entry.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cacheKey, type CachedComponent, type ComponentCache } from './component-cache.ts';

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'protofly', 'components');
}

export function fileCache(dir: string = defaultCacheDir()): ComponentCache {
  const entry = (hash: string) => join(dir, cacheKey(hash));
  return {
    async has(hash) {
      return (await stat(join(entry(hash), 'glue.js')).catch(() => null)) !== null;
    },
    async get(hash) {
      try {
        const folder = entry(hash);
        const glue = await readFile(join(folder, 'glue.js'), 'utf8');
        const cores: Record<string, Uint8Array> = {};
        for (const name of await readdir(join(folder, 'cores'))) cores[name] = new Uint8Array(await readFile(join(folder, 'cores', name)));
        const meta = JSON.parse(await readFile(join(folder, 'meta.json'), 'utf8').catch(() => '{}')) as Pick<CachedComponent, 'direct' | 'declined' | 'reason'>;
        return { glue, cores, ...meta };
      } catch {
        return undefined;
      }
    },
    async put(hash, component) {
      const folder = entry(hash);
      const temporary = `${folder}.${process.pid}.${Date.now()}.tmp`;
      try {
        await mkdir(join(temporary, 'cores'), { recursive: true });
        for (const [name, bytes] of Object.entries(component.cores)) await writeFile(join(temporary, 'cores', name), bytes);
        await writeFile(join(temporary, 'meta.json'), JSON.stringify({ direct: component.direct, declined: component.declined, reason: component.reason }));
        // glue.js last: its presence is what `has` looks for.
        await writeFile(join(temporary, 'glue.js'), component.glue);
        await rename(temporary, folder);
      } catch {
        // Another process stored it first, or the disk is read-only: the
        // cache is an optimisation, never a reason to fail a deploy.
        await rm(temporary, { recursive: true, force: true });
      }
    },
  };
}
