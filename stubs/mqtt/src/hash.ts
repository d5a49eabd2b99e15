// A short stable hash for the MQTT client id: the same stub on the same
// runtime gets the same id across restarts, and the broker drops a stale
// session of ours rather than keeping two.
function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// 'pf-' + 16 hex digits = 19 characters, within MQTT 3.1.1's 23.
export function clientIdFor(runtimeURL: string, stubURL: string): string {
  const key = `${runtimeURL}\n${stubURL}`;
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return `pf-${hex(fnv1a(key, 0x811c9dc5))}${hex(fnv1a(key, 0x2f6b1e3d))}`;
}
