// The NATS client protocol (text lines ending in CRLF, payloads counted in
// bytes): encoders for what the client sends, and a streaming parser for
// what the server sends, since one WebSocket frame may hold a part of an
// operation or several of them.

/// Inbound payloads larger than this are refused as malformed.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// nats-server's own default; INFO lines listing a cluster can get long.
const MAX_LINE: usize = 64 * 1024;

pub enum Op {
    Info(String),
    Msg { subject: String, payload: Vec<u8> },
    Ping,
    Pong,
    Ok,
    Err(String),
}

#[derive(Default)]
pub struct Parser {
    pending: Vec<u8>,
}

fn find_lf(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

fn parse_size(token: &[u8]) -> Option<usize> {
    if token.is_empty() || token.len() > 9 || !token.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(token.iter().fold(0usize, |n, b| n * 10 + (b - b'0') as usize))
}

fn words(line: &[u8]) -> Vec<&[u8]> {
    line.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty()).collect()
}

/// Printable and short, for logs about input we could not read.
fn excerpt(bytes: &[u8]) -> String {
    let cut = bytes.get(..40).unwrap_or(bytes);
    String::from_utf8_lossy(cut).chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

// After the operation name: one separator, then the rest of the line.
fn rest_of(line: &[u8], name_len: usize) -> String {
    let rest = line.get(name_len..).unwrap_or(&[]);
    String::from_utf8_lossy(rest).trim().to_string()
}

impl Parser {
    pub fn reset(&mut self) {
        self.pending = Vec::new();
    }

    /// Appends a frame and moves every complete operation into `ops`. An Err
    /// means the stream is not NATS (the operations before it are still in
    /// `ops`); the connection is unusable after it.
    pub fn push(&mut self, frame: &[u8], ops: &mut Vec<Op>) -> Result<(), String> {
        self.pending.extend_from_slice(frame);
        let mut used = 0usize;
        let result = loop {
            let rest = self.pending.get(used..).unwrap_or(&[]);
            let lf = match find_lf(rest) {
                Some(lf) => lf,
                None if rest.len() > MAX_LINE => break Err("protocol line too long".to_string()),
                None => break Ok(()),
            };
            if lf > MAX_LINE {
                break Err("protocol line too long".to_string());
            }
            let raw_line = rest.get(..lf).unwrap_or(&[]);
            let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
            let after_line = lf + 1;
            let parts = words(line);
            let name = match parts.first() {
                Some(name) => name.to_ascii_uppercase(),
                None => {
                    used += after_line; // a bare CRLF carries nothing
                    continue;
                }
            };
            let op = match name.as_slice() {
                b"PING" => Op::Ping,
                b"PONG" => Op::Pong,
                b"+OK" => Op::Ok,
                b"-ERR" => Op::Err(rest_of(line, 4).trim_matches('\'').to_string()),
                b"INFO" => Op::Info(rest_of(line, 4)),
                b"MSG" | b"HMSG" => {
                    // MSG <subject> <sid> [reply-to] <size>
                    // HMSG <subject> <sid> [reply-to] <header size> <total size>
                    let headers = name.as_slice() == b"HMSG";
                    let counts = if headers { 2 } else { 1 };
                    let args = parts.len().saturating_sub(1);
                    if args < 2 + counts || args > 3 + counts {
                        break Err(format!("malformed {}: \"{}\"", excerpt(&name), excerpt(line)));
                    }
                    let sizes: Vec<Option<usize>> = parts.iter().skip(parts.len() - counts).map(|t| parse_size(t)).collect();
                    let (header_size, total) = match (headers, sizes.as_slice()) {
                        (false, [Some(total)]) => (0, *total),
                        (true, [Some(h), Some(total)]) if h <= total => (*h, *total),
                        _ => break Err(format!("bad size in \"{}\"", excerpt(line))),
                    };
                    if total > MAX_PAYLOAD {
                        break Err(format!("payload of {} bytes exceeds the {} byte limit", total, MAX_PAYLOAD));
                    }
                    let end = after_line + total;
                    if rest.len() < end + 2 {
                        break Ok(()); // the payload is still on its way
                    }
                    if rest.get(end..end + 2) != Some(b"\r\n".as_slice()) {
                        break Err("payload not followed by CRLF".to_string());
                    }
                    let subject = String::from_utf8_lossy(parts.get(1).copied().unwrap_or(&[])).into_owned();
                    // Headers (we never ask for them) are passed over.
                    let payload = rest.get(after_line + header_size..end).unwrap_or(&[]).to_vec();
                    ops.push(Op::Msg { subject, payload });
                    used += end + 2;
                    continue;
                }
                _ => break Err(format!("unknown operation \"{}\"", excerpt(line))),
            };
            ops.push(op);
            used += after_line;
        };
        // Only an incomplete operation stays behind.
        if result.is_ok() {
            self.pending.drain(..used.min(self.pending.len()));
        } else {
            self.pending = Vec::new();
        }
        result
    }
}

/// The server's `max_payload` from its INFO JSON, if it gives one.
pub fn info_max_payload(info: &str) -> Option<usize> {
    let at = info.find("\"max_payload\"")?;
    let after = info.get(at + "\"max_payload\"".len()..)?.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
    parse_size(digits.as_bytes())
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

pub fn publish(out: &mut Vec<u8>, subject: &str, payload: &[u8]) {
    out.extend_from_slice(format!("PUB {} {}\r\n", subject, payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}
