// The network a stub may reach is what its descriptor declares. A plain
// string prefix would let `ws://host:80` match `ws://host:8080`, so the
// check compares scheme, host and port exactly and the path as a prefix.

export function isAllowed(url: string, connect: readonly string[]): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') return false;
  if (target.username || target.password) return false;
  return connect.some((entry) => {
    let allowed: URL;
    try {
      allowed = new URL(entry);
    } catch {
      return false;
    }
    if (allowed.protocol !== target.protocol || allowed.host !== target.host) return false;
    const base = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
    return target.pathname === allowed.pathname || target.pathname.startsWith(base) || allowed.pathname === '/';
  });
}
