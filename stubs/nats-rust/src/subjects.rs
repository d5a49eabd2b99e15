// Address → NATS subject, as fixed in stubs/CONTRACT.md ("Addresses and
// topics"): `scheme://host/a/b` → `<prefix>.<scheme>.<host>.a.b`.
//
// NATS splits subjects on `.`, gives `*` and `>` meaning as wildcards and
// ends a protocol line at whitespace, so in every token those characters,
// ASCII control characters and `%` itself are percent-encoded (`%2E`, `%2A`,
// `%3E`, `%20`, `%25`, …). An empty token (empty host, `//` or a trailing
// `/` in the path) becomes `%` alone, which no encoded token can equal, since
// NATS refuses empty tokens. Distinct addresses so get distinct subjects.

/// Longer subjects are refused: with SUB/PUB around them they must stay
/// well inside nats-server's 4 KiB control line.
pub const MAX_SUBJECT: usize = 1024;

fn needs_escape(c: char) -> bool {
    matches!(c, '.' | '*' | '>' | '%') || c <= ' ' || c == '\u{7f}'
}

fn push_token(out: &mut String, token: &str) {
    if token.is_empty() {
        out.push('%');
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for c in token.chars() {
        if needs_escape(c) {
            // needs_escape only holds for ASCII, so c fits one byte.
            let b = c as u32 as u8;
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        } else {
            out.push(c);
        }
    }
}

/// None when `address` is not `scheme://…` or its subject would be too long.
pub fn address_to_subject(prefix: &str, address: &str) -> Option<String> {
    let sep = address.find("://")?;
    if sep == 0 {
        return None;
    }
    let scheme = address.get(..sep)?;
    let rest = address.get(sep + 3..)?;
    let (host, path) = match rest.find('/') {
        Some(slash) => (rest.get(..slash)?, Some(rest.get(slash + 1..)?)),
        None => (rest, None),
    };
    let mut subject = String::with_capacity(prefix.len() + address.len() + 8);
    if !prefix.is_empty() {
        subject.push_str(prefix);
        subject.push('.');
    }
    push_token(&mut subject, scheme);
    subject.push('.');
    push_token(&mut subject, host);
    if let Some(path) = path {
        for segment in path.split('/') {
            subject.push('.');
            push_token(&mut subject, segment);
        }
    }
    if subject.len() > MAX_SUBJECT {
        return None;
    }
    Some(subject)
}

/// A prefix must itself be a plain subject (dot-separated, no empty
/// tokens, no wildcards, no whitespace), or empty for none.
pub fn valid_prefix(prefix: &str) -> bool {
    prefix.is_empty()
        || (prefix.len() <= 256
            && prefix.split('.').all(|t| !t.is_empty() && !t.chars().any(|c| matches!(c, '*' | '>') || c <= ' ' || c == '\u{7f}')))
}
