// Trust on first use in a page: the keys domains first signed with, in
// IndexedDB. Where IndexedDB is refused (private browsing), the page keeps
// them in memory for its own life: trust on first use then lasts a visit.
import { pfError } from '../../kernel/errors.ts';
import { isKeyList, memoryKeyStore, type KeyStore } from './key-store.ts';

const STORE = 'keys';

export function indexedDbKeyStore(name = 'protofly-trust'): KeyStore {
  const fallback = memoryKeyStore();
  let db: Promise<IDBDatabase | undefined> | undefined;
  const open = () => (db ??= new Promise((resolve) => {
    try {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  }));
  const run = <T>(database: IDBDatabase, mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>) =>
    new Promise<T>((resolve, reject) => {
      const request = action(database.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  return {
    async get(domain) {
      const database = await open();
      if (!database) return fallback.get(domain);
      const value = await run<unknown>(database, 'readonly', (store) => store.get(domain));
      if (value === undefined || isKeyList(value)) return value;
      throw pfError('PF_ERR_SIGNATURE_KEY_INVALID', [`the keys remembered for ${domain} in IndexedDB "${name}" are damaged`]);
    },
    async set(domain, keys) {
      const database = await open();
      if (!database) return fallback.set(domain, keys);
      await run(database, 'readwrite', (store) => store.put([...keys], domain));
    },
  };
}
