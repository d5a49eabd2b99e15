// Address ↔ MQTT topic, as fixed in stubs/CONTRACT.md:
// `scheme://host/path` → `<prefix><scheme>/<host>/<path>`, with the
// characters MQTT gives meaning to (+ #), NUL, and % itself percent-encoded.

const ESCAPES: Record<string, string> = { '%': '%25', '+': '%2B', '#': '%23', '\0': '%00' };

const SPECIAL = /[%+#\0]/;

export function addressToTopic(prefix: string, address: string): string | null {
  const rest = topicAfterPrefix(address);
  return rest === null ? null : prefix + rest;
}

/**
 * The topic of `address` without the prefix, or null when it is not a
 * `scheme://host/path` address. Most addresses need no escape, and then it
 * costs one string: string work is dear in the interpreter, and a
 * subscription storm maps 100,000 addresses.
 */
export function topicAfterPrefix(address: string): string | null {
  if (!isAddress(address)) return null;
  if (!SPECIAL.test(address)) return address.replace('://', '/');
  const sep = address.indexOf('://');
  const mapped = address.slice(0, sep) + '/' + address.slice(sep + 3);
  return mapped.replace(/[%+#\0]/g, (c) => ESCAPES[c] ?? c);
}

/**
 * Whether `address` has a scheme and `://`. The scheme holds no `/` (none
 * does in a URL), so two addresses never share a topic and the stub may
 * keep subscriptions by address.
 */
export function isAddress(address: string): boolean {
  const sep = address.indexOf('://');
  return sep > 0 && address.lastIndexOf('/', sep) < 0;
}

export function topicToAddress(prefix: string, topic: string): string | null {
  if (!topic.startsWith(prefix)) return null;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const address = rest.slice(0, slash) + '://' + rest.slice(slash + 1);
  return address.replace(/%(25|2B|23|00)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
