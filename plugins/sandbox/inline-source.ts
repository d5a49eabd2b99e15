// A component carried inside its descriptor (reTHINK's `"sourcePackageURL":
// "/sourcePackage"`), base64-encoded. Text that is not base64 is refused
// here; the hash is checked after decoding, as for a download.

/** Bytes the text decodes to, known before decoding it. */
export function inlineSourceSize(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

type NodeBuffer = { from(text: string, encoding: 'base64'): Uint8Array };

/** The bytes, or undefined when the text is not base64. */
export function decodeInlineSource(base64: string): Uint8Array | undefined {
  // Node would also take base64url's - and _; browsers would not.
  if (base64.length % 4 !== 0 || base64.includes('-') || base64.includes('_')) return undefined;
  const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;
  if (nodeBuffer) {
    // Node skips what is not base64 instead of failing: fewer bytes than the
    // length promises gives it away. A copy: small buffers share a pool.
    const decoded = nodeBuffer.from(base64, 'base64');
    return decoded.length === inlineSourceSize(base64) ? new Uint8Array(decoded) : undefined;
  }
  let binary: string;
  try {
    binary = atob(base64);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
