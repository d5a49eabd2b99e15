// Publications on their way to the server. While no server is connected
// they are held, in order and bounded (CONTRACT.md, "Delivery across
// back-end faults"). Once written they are kept until a PONG shows the
// server has them: the server answers PINGs in order, after the PUBs
// before them. A connection lost before that PONG costs a repeat on the
// next connection, not a loss; receivers drop repeats by (from, id).
//
// Each publication is kept as the PUB operation that carries it (line,
// payload, CRLF), one after another in one buffer: writing one is a copy
// into the connection's output, confirming a PONG's worth is moving an
// offset, and nothing is allocated per message. Whom to answer about one
// that cannot be carried is read from its payload, on that rare path.
use std::collections::VecDeque;

use crate::nats;

struct Entry {
    /// The bytes of its PUB operation in `ops`.
    len: usize,
    /// Where its payload starts in the operation, and its size.
    payload_at: usize,
    payload_len: usize,
    /// Answered already (refused by the server, over its limit): never written again.
    answered: bool,
}

// Past this many bytes held, new messages are refused like a full queue.
const HELD_BYTES: usize = 64 << 20;
// Confirmed operations are cut from the front of the buffer once they are
// this many bytes and half of it; until then an offset steps over them.
const COMPACT_BYTES: usize = 64 * 1024;
const KEEP_BYTES: usize = 1 << 20;

pub struct Outbox {
    /// The PUB operations of `entries`, in order, from `start`.
    ops: Vec<u8>,
    start: usize,
    entries: VecDeque<Entry>,
    /// The number of `entries[0]`; every publication has one, counting up.
    first: u64,
    /// The number of the last one written to the current connection (first - 1: none).
    written: u64,
    /// Where in `ops` the ones not yet written start.
    written_end: usize,
    /// The number of the last one a PING was written after.
    pinged: u64,
    /// Not yet written (held), and their payload bytes.
    held: usize,
    held_bytes: usize,
    max_held: usize,
}

impl Outbox {
    pub fn new(max_held: usize) -> Self {
        Outbox {
            ops: Vec::new(),
            start: 0,
            entries: VecDeque::new(),
            first: 1,
            written: 0,
            written_end: 0,
            pinged: 0,
            held: 0,
            held_bytes: 0,
            max_held,
        }
    }

    /// Why a message of `len` bytes cannot be held, if it cannot.
    pub fn full(&self, len: usize) -> Option<String> {
        if self.held >= self.max_held {
            Some(format!("no NATS server connected and {} messages already waiting", self.held))
        } else if self.held_bytes + len > HELD_BYTES {
            Some(format!("no NATS server connected and {} bytes already waiting", self.held_bytes))
        } else {
            None
        }
    }

    /// Keeps a message until `write_held` writes it (`full` said there is room).
    pub fn hold(&mut self, subject: &str, payload: &[u8]) {
        let at = self.ops.len();
        let payload_at = nats::publish(&mut self.ops, subject, payload) - at;
        self.entries.push_back(Entry { len: self.ops.len() - at, payload_at, payload_len: payload.len(), answered: false });
        self.held += 1;
        self.held_bytes += payload.len();
    }

    /// Writes what is held, in order; what is over the server's limit is
    /// not written but handed to `over` (its payload), to be answered 413.
    /// Returns how many were written.
    pub fn write_held(&mut self, out: &mut Vec<u8>, max_payload: usize, mut over: impl FnMut(&[u8])) -> usize {
        let mut count = 0;
        let skip = (self.written + 1 - self.first) as usize;
        let mut at = self.written_end;
        for entry in self.entries.iter_mut().skip(skip) {
            let op = self.ops.get(at..at + entry.len).unwrap_or(&[]);
            if !entry.answered {
                if entry.payload_len > max_payload {
                    entry.answered = true;
                    over(op.get(entry.payload_at..entry.payload_at + entry.payload_len).unwrap_or(&[]));
                } else {
                    out.extend_from_slice(op);
                    count += 1;
                }
            }
            at += entry.len;
            self.written += 1;
        }
        self.written_end = at;
        self.held = 0;
        self.held_bytes = 0;
        count
    }

    /// PUBs were written since the last PING, and how many.
    pub fn unpinged(&self) -> u64 {
        self.written - self.pinged
    }

    /// A PING is being written: its PONG will confirm every PUB so far.
    pub fn ping_mark(&mut self) -> u64 {
        self.pinged = self.written;
        self.written
    }

    pub fn confirmed(&mut self, upto: u64) {
        let upto = upto.min(self.written);
        while self.first <= upto {
            match self.entries.pop_front() {
                Some(entry) => self.start += entry.len,
                None => break,
            }
            self.first += 1;
        }
        if self.entries.is_empty() {
            self.ops.clear();
            // What an outage held (up to HELD_BYTES) is not kept reserved.
            if self.ops.capacity() > KEEP_BYTES {
                self.ops = Vec::new();
            }
            self.start = 0;
            self.written_end = 0;
        } else if self.start >= COMPACT_BYTES && self.start * 2 >= self.ops.len() {
            self.ops.drain(..self.start);
            self.written_end -= self.start;
            self.start = 0;
        }
    }

    /// The server refused a publication to `subject`: it is the oldest
    /// unconfirmed one to that subject, since the server reports in order.
    /// Returns its payload, to answer.
    pub fn refused(&mut self, subject: &str) -> Option<Vec<u8>> {
        let written = (self.written + 1 - self.first) as usize;
        let mut at = self.start;
        for entry in self.entries.iter_mut().take(written) {
            let op = self.ops.get(at..at + entry.len).unwrap_or(&[]);
            at += entry.len;
            // The operation starts `PUB <subject> `.
            let named = op.get(4..4 + subject.len()) == Some(subject.as_bytes()) && op.get(4 + subject.len()) == Some(&b' ');
            if named && !entry.answered {
                entry.answered = true;
                return Some(op.get(entry.payload_at..entry.payload_at + entry.payload_len).unwrap_or(&[]).to_vec());
            }
        }
        None
    }

    /// The connection is gone: what it did not confirm is held again, in
    /// front of what was held, to be published again. Returns how many.
    pub fn connection_lost(&mut self) -> usize {
        let written = (self.written + 1 - self.first) as usize;
        let mut count = 0;
        for entry in self.entries.iter().take(written).filter(|e| !e.answered) {
            count += 1;
            self.held_bytes += entry.payload_len;
        }
        self.held += count;
        self.written = self.first - 1;
        self.pinged = self.written;
        self.written_end = self.start;
        count
    }

    pub fn unconfirmed(&self) -> usize {
        (self.written + 1 - self.first) as usize
    }

    /// Everything still in hand (unconfirmed first, then held), emptied;
    /// `each` gets each payload, for answering.
    pub fn take_all(&mut self, mut each: impl FnMut(&[u8])) -> usize {
        let mut count = 0;
        let mut at = self.start;
        for entry in self.entries.iter() {
            if !entry.answered {
                count += 1;
                each(self.ops.get(at + entry.payload_at..at + entry.payload_at + entry.payload_len).unwrap_or(&[]));
            }
            at += entry.len;
        }
        self.first += self.entries.len() as u64;
        self.entries.clear();
        self.ops.clear();
        self.start = 0;
        self.written = self.first - 1;
        self.written_end = 0;
        self.pinged = self.written;
        self.held = 0;
        self.held_bytes = 0;
        count
    }
}

pub fn too_large(len: usize, limit: usize) -> String {
    format!("the message is {} bytes; at most {} can be published", len, limit)
}
