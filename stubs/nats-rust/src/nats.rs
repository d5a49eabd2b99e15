// The NATS client protocol (text lines ending in CRLF, payloads counted in
// bytes): encoders for what the client sends, and readers for the server's
// INFO. What the server sends is read by parser.rs.

/// The server's `max_payload` from its INFO JSON, if it gives one.
pub fn info_max_payload(info: &str) -> Option<usize> {
    let at = info.find("\"max_payload\"")?;
    let after = info.get(at + "\"max_payload\"".len()..)?.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
    // At most nine digits, as the parser takes sizes (no overflow).
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

/// A list of strings from the server's INFO JSON (`connect_urls`,
/// `ws_connect_urls`), if it gives one. INFO is flat JSON written by the
/// server; this reads just that shape, and at most 64 entries.
pub fn info_list(info: &str, key: &str) -> Option<Vec<String>> {
    let quoted = format!("\"{}\"", key);
    let at = info.find(&quoted)?;
    let mut rest = info.get(at + quoted.len()..)?.trim_start().strip_prefix(':')?.trim_start().strip_prefix('[')?;
    let mut list = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.starts_with(']') {
            return Some(list);
        }
        rest = rest.strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => value.push(chars.next()?.1),
                (_, c) => value.push(c),
            }
        };
        rest = rest.get(end + 1..)?.trim_start();
        if list.len() < 64 {
            list.push(value);
        }
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with(']') {
            return None;
        }
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

pub enum Login<'a> {
    Anonymous,
    User(&'a str, Option<&'a str>),
    Token(&'a str),
}

pub fn connect(login: Login) -> Vec<u8> {
    // verbose off: no +OK per operation; the PING after CONNECT is answered
    // only once the login succeeded, which is how we learn it did.
    // echo off: the stub never wants its own publications back.
    let mut json = String::from("{\"verbose\":false,\"pedantic\":false,\"echo\":false");
    match login {
        Login::Anonymous => {}
        Login::User(user, pass) => {
            json.push_str(",\"user\":");
            json_string(&mut json, user);
            if let Some(pass) = pass {
                json.push_str(",\"pass\":");
                json_string(&mut json, pass);
            }
        }
        Login::Token(token) => {
            json.push_str(",\"auth_token\":");
            json_string(&mut json, token);
        }
    }
    json.push_str(",\"protocol\":1,\"lang\":\"protofly-rust\",\"version\":\"0.1.0\"}");
    format!("CONNECT {}\r\n", json).into_bytes()
}

pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";

pub fn write_sub(out: &mut Vec<u8>, subject: &str, sid: u64) {
    out.extend_from_slice(format!("SUB {} {}\r\n", subject, sid).as_bytes());
}

pub fn write_unsub(out: &mut Vec<u8>, sid: u64) {
    out.extend_from_slice(format!("UNSUB {}\r\n", sid).as_bytes());
}

/// `PUB <subject> <size>` and the payload; returns where in `out` the
/// payload starts. Written without formatting: this runs once a message.
pub fn publish(out: &mut Vec<u8>, subject: &str, payload: &[u8]) -> usize {
    out.extend_from_slice(b"PUB ");
    out.extend_from_slice(subject.as_bytes());
    out.push(b' ');
    write_decimal(out, payload.len());
    out.extend_from_slice(b"\r\n");
    let at = out.len();
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
    at
}

fn write_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or(&[]));
}
