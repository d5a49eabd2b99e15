// Descriptor versions, ordered as semver orders them (semver.org, §11), so
// an update can tell a newer stub from an older one served again.

interface Parsed {
  core: [number, number, number];
  pre: string[];
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function parse(version: string): Parsed | undefined {
  const match = SEMVER.exec(version.trim());
  if (!match) return undefined;
  return { core: [Number(match[1]), Number(match[2]), Number(match[3])], pre: match[4] ? match[4].split('.') : [] };
}

/**
 * Negative when `a` comes before `b`, positive after, 0 when equal in
 * precedence (build metadata does not count); undefined when either is not
 * semver, as nothing can be said about their order.
 */
export function compareVersions(a: string, b: string): number | undefined {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] - y.core[i];
  // A pre-release comes before its release.
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const order = compareIdentifier(x.pre[i], y.pre[i]);
    if (order !== 0) return order;
  }
  return x.pre.length - y.pre.length;
}

function compareIdentifier(a: string, b: string): number {
  const numeric = /^\d+$/;
  const an = numeric.test(a);
  const bn = numeric.test(b);
  if (an && bn) return Number(a) - Number(b);
  if (an !== bn) return an ? -1 : 1; // numeric identifiers come first
  return a < b ? -1 : a > b ? 1 : 0;
}
