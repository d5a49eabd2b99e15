// A streaming parser for what the NATS server sends (text lines ending in
// CRLF, MSG payloads counted in bytes). One WebSocket frame may hold a part
// of an operation or several of them, so what a frame leaves unfinished
// waits here for the next one.
//
// Operations are handed over as views of the frame (or of what waited), not
// copies: a frame of a hundred MSGs costs no allocation per MSG, and a
// payload is copied once, into the batch posted to the bus.

/// Inbound payloads larger than this are refused as malformed.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// nats-server's own default; INFO lines listing a cluster can get long.
const MAX_LINE: usize = 64 * 1024;
/// HMSG has the most words: the name and five arguments.
const MAX_WORDS: usize = 6;

pub enum Op<'a> {
    Info(String),
    /// The subject and the payload (headers, which we never ask for, passed over).
    Msg { subject: &'a [u8], payload: &'a [u8] },
    Ping,
    Pong,
    Ok,
    Err(String),
}

#[derive(Default)]
pub struct Parser {
    /// The start of an operation the frames so far did not finish.
    pending: Vec<u8>,
}

fn parse_size(token: &[u8]) -> Option<usize> {
    if token.is_empty() || token.len() > 9 || !token.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(token.iter().fold(0usize, |n, b| n * 10 + (b - b'0') as usize))
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

/// The first operation in `data` and how many bytes it took (blank lines
/// before it included); None while it is incomplete.
fn next_op(data: &[u8]) -> Result<Option<(Op<'_>, usize)>, String> {
    let mut at = 0usize;
    loop {
        let rest = data.get(at..).unwrap_or(&[]);
        let lf = match rest.iter().position(|&b| b == b'\n') {
            Some(lf) if lf > MAX_LINE => return Err("protocol line too long".to_string()),
            Some(lf) => lf,
            None if rest.len() > MAX_LINE => return Err("protocol line too long".to_string()),
            None => return Ok(None),
        };
        let raw_line = rest.get(..lf).unwrap_or(&[]);
        let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let after_line = lf + 1;
        let mut words: [&[u8]; MAX_WORDS] = [&[]; MAX_WORDS];
        let mut count = 0usize;
        for word in line.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty()) {
            if let Some(slot) = words.get_mut(count) {
                *slot = word;
            }
            count += 1;
        }
        if count == 0 {
            at += after_line; // a bare CRLF carries nothing
            continue;
        }
        let name = words[0];
        let is = |op: &str| name.eq_ignore_ascii_case(op.as_bytes());
        let op = if is("PING") {
            Op::Ping
        } else if is("PONG") {
            Op::Pong
        } else if is("+OK") {
            Op::Ok
        } else if is("-ERR") {
            Op::Err(rest_of(line, 4).trim_matches('\'').to_string())
        } else if is("INFO") {
            Op::Info(rest_of(line, 4))
        } else if is("MSG") || is("HMSG") {
            // MSG <subject> <sid> [reply-to] <size>
            // HMSG <subject> <sid> [reply-to] <header size> <total size>
            let headers = is("HMSG");
            let counts = if headers { 2 } else { 1 };
            let args = count - 1;
            if args < 2 + counts || args > 3 + counts {
                return Err(format!("malformed {}: \"{}\"", excerpt(&name.to_ascii_uppercase()), excerpt(line)));
            }
            let size = |i: usize| words.get(i).and_then(|w| parse_size(w));
            let (header_size, total) = match (headers, size(count - counts), size(count - 1)) {
                (false, Some(total), _) => (0, total),
                (true, Some(h), Some(total)) if h <= total => (h, total),
                _ => return Err(format!("bad size in \"{}\"", excerpt(line))),
            };
            if total > MAX_PAYLOAD {
                return Err(format!("payload of {} bytes exceeds the {} byte limit", total, MAX_PAYLOAD));
            }
            let end = after_line + total;
            if rest.len() < end + 2 {
                return Ok(None); // the payload is still on its way
            }
            if rest.get(end..end + 2) != Some(b"\r\n".as_slice()) {
                return Err("payload not followed by CRLF".to_string());
            }
            let payload = rest.get(after_line + header_size..end).unwrap_or(&[]);
            return Ok(Some((Op::Msg { subject: words[1], payload }, at + end + 2)));
        } else {
            return Err(format!("unknown operation \"{}\"", excerpt(line)));
        };
        return Ok(Some((op, at + after_line)));
    }
}

impl Parser {
    pub fn reset(&mut self) {
        self.pending = Vec::new();
    }

    /// Hands every complete operation of what waited and `frame` to `each`,
    /// in order, for as long as it answers true. An Err means the stream is
    /// not NATS (the operations before it were handed over); the connection
    /// is unusable after it.
    pub fn push(&mut self, frame: &[u8], mut each: impl FnMut(Op<'_>) -> bool) -> Result<(), String> {
        let mut joined = std::mem::take(&mut self.pending);
        // Most frames end on an operation's end: they are read where they
        // lie, and only an unfinished tail is copied.
        let from_frame = joined.is_empty();
        if !from_frame {
            joined.extend_from_slice(frame);
        }
        let data: &[u8] = if from_frame { frame } else { &joined };
        let mut used = 0usize;
        let result = loop {
            match next_op(data.get(used..).unwrap_or(&[])) {
                Ok(Some((op, len))) => {
                    used += len;
                    if !each(op) {
                        break Ok(());
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if result.is_err() {
            return result;
        }
        if from_frame {
            joined.extend_from_slice(frame.get(used..).unwrap_or(&[]));
        } else {
            joined.drain(..used.min(joined.len()));
        }
        self.pending = joined;
        result
    }
}
