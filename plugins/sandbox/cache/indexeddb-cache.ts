// The component cache in a browser: IndexedDB, one record per source hash,
// so a second visit deploys without downloading or transpiling again.
import type { TranspiledComponent } from '../component-instance.ts';
import type { ComponentCache } from './component-cache.ts';

const STORE = 'components';

export function indexedDbCache(name = 'protofly'): ComponentCache {
  let db: Promise<IDBDatabase> | undefined;
  const open = () => {
    db ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return db;
  };
  const run = async <T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> => {
    try {
      const store = (await open()).transaction(STORE, mode).objectStore(STORE);
      return await new Promise<T>((resolve, reject) => {
        const request = action(store);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    } catch {
      // Private browsing, quota: the cache is an optimisation, never a failure.
      return undefined;
    }
  };
  return {
    async has(hash) {
      return ((await run('readonly', (s) => s.count(hash))) ?? 0) > 0;
    },
    async get(hash) {
      return run<TranspiledComponent>('readonly', (s) => s.get(hash));
    },
    async put(hash, component) {
      await run('readwrite', (s) => s.put(component, hash));
    },
  };
}
