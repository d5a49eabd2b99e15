// Standard base64 (RFC 4648 §4, with padding) for keys and signatures in text
// form. Decoding is strict: a key or signature has exactly one spelling, so
// two texts that differ never name the same bytes (atob alone would accept
// whitespace, missing padding and stray low bits).

const SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The bytes of a canonical base64 text, or undefined if it is not one. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!SHAPE.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  // Padding bits must be zero: "AB==" and "AA==" would otherwise both be [0].
  return toBase64(bytes) === text ? bytes : undefined;
}
