// Publications on their way to the server. While no server is connected
// they are held, in order and bounded (CONTRACT.md, "Delivery across
// back-end faults"). Once written they are kept until a PONG shows the
// server has them: the server answers PINGs in order, after the PUBs
// before them. A connection lost before that PONG costs a repeat on the
// next connection, not a loss; receivers drop repeats by (from, id).
use std::collections::VecDeque;

use crate::nats;
use crate::replies::{Answer, Reply};

pub struct Outgoing {
    pub subject: String,
    /// The message as the runtime encoded it, byte for byte.
    pub payload: Vec<u8>,
    /// Whom to tell if it cannot be carried (None for a RESPONSE).
    pub reply: Option<Reply>,
}

// Past this many bytes held, new messages are refused like a full queue.
const HELD_BYTES: usize = 64 << 20;

pub struct Outbox {
    held: VecDeque<Outgoing>,
    held_bytes: usize,
    max_held: usize,
    /// Written to the current connection, numbered, not yet confirmed.
    unconfirmed: VecDeque<(u64, Outgoing)>,
    /// Number of the last PUB written.
    written: u64,
    /// Number of the last PUB a PING was written after.
    pinged: u64,
}

impl Outbox {
    pub fn new(max_held: usize) -> Self {
        Outbox { held: VecDeque::new(), held_bytes: 0, max_held, unconfirmed: VecDeque::new(), written: 0, pinged: 0 }
    }

    /// Why a message of `len` bytes cannot be held, if it cannot.
    pub fn full(&self, len: usize) -> Option<String> {
        if self.held.len() >= self.max_held {
            Some(format!("no NATS server connected and {} messages already waiting", self.held.len()))
        } else if self.held_bytes + len > HELD_BYTES {
            Some(format!("no NATS server connected and {} bytes already waiting", self.held_bytes))
        } else {
            None
        }
    }

    /// Keeps a message until a connection is ready (`full` said there is room).
    pub fn hold(&mut self, o: Outgoing) {
        self.held_bytes += o.payload.len();
        self.held.push_back(o);
    }

    pub fn write(&mut self, out: &mut Vec<u8>, o: Outgoing) {
        nats::publish(out, &o.subject, &o.payload);
        self.written += 1;
        self.unconfirmed.push_back((self.written, o));
    }

    /// Writes what was held, in order; what is now over the server's limit
    /// is answered 413 instead. Returns how many were written.
    pub fn write_held(&mut self, out: &mut Vec<u8>, max_payload: usize, answers: &mut Vec<Answer>) -> usize {
        let mut count = 0;
        while let Some(o) = self.held.pop_front() {
            if o.payload.len() > max_payload {
                if let Some(reply) = o.reply {
                    answers.push(reply.answer(413, Some(too_large(o.payload.len(), max_payload))));
                }
                continue;
            }
            self.write(out, o);
            count += 1;
        }
        self.held_bytes = 0;
        count
    }

    /// PUBs were written since the last PING.
    pub fn needs_ping(&self) -> bool {
        self.written > self.pinged
    }

    /// A PING is being written: its PONG will confirm every PUB so far.
    pub fn ping_mark(&mut self) -> u64 {
        self.pinged = self.written;
        self.written
    }

    pub fn confirmed(&mut self, upto: u64) {
        while self.unconfirmed.front().map_or(false, |(n, _)| *n <= upto) {
            self.unconfirmed.pop_front();
        }
    }

    /// The server refused a publication to `subject`: it is the oldest
    /// unconfirmed one to that subject, since the server reports in order.
    pub fn refused(&mut self, subject: &str) -> Option<Outgoing> {
        let at = self.unconfirmed.iter().position(|(_, o)| o.subject == subject)?;
        self.unconfirmed.remove(at).map(|(_, o)| o)
    }

    /// The connection is gone: what it did not confirm goes back in front
    /// of what is held, to be published again. Returns how many.
    pub fn connection_lost(&mut self) -> usize {
        let count = self.unconfirmed.len();
        while let Some((_, o)) = self.unconfirmed.pop_back() {
            self.held_bytes += o.payload.len();
            self.held.push_front(o);
        }
        count
    }

    pub fn unconfirmed(&self) -> usize {
        self.unconfirmed.len()
    }

    /// Everything still in hand (unconfirmed first, then held), for answering.
    pub fn take_all(&mut self) -> Vec<Outgoing> {
        let mut all: Vec<Outgoing> = self.unconfirmed.drain(..).map(|(_, o)| o).collect();
        all.extend(self.held.drain(..));
        self.held_bytes = 0;
        all
    }
}

pub fn too_large(len: usize, limit: usize) -> String {
    format!("the message is {} bytes; at most {} can be published", len, limit)
}
