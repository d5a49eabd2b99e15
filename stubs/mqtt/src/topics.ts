// Address ↔ MQTT topic, as fixed in stubs/CONTRACT.md:
// `scheme://host/path` → `<prefix><scheme>/<host>/<path>`, with the
// characters MQTT gives meaning to (+ #), NUL, and % itself percent-encoded.

const ESCAPES: Record<string, string> = { '%': '%25', '+': '%2B', '#': '%23', '\0': '%00' };

export function addressToTopic(prefix: string, address: string): string | null {
  const sep = address.indexOf('://');
  if (sep <= 0) return null;
  const mapped = address.slice(0, sep) + '/' + address.slice(sep + 3);
  return prefix + mapped.replace(/[%+#\0]/g, (c) => ESCAPES[c] ?? c);
}

export function topicToAddress(prefix: string, topic: string): string | null {
  if (!topic.startsWith(prefix)) return null;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const address = rest.slice(0, slash) + '://' + rest.slice(slash + 1);
  return address.replace(/%(25|2B|23|00)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
