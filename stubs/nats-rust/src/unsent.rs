// What the host would not send yet (CONTRACT.md, "Outbound"): `send`
// answers `err` with a reason starting `congested:` when too many bytes
// already wait on the socket; that frame was not sent and the connection
// stays open. NATS is one byte stream, so what follows must wait behind it:
// every write goes through here, in order, and is sent from the front as
// far as the host takes it. The session retries on a short timer and, past
// MAX_BYTES waiting, answers new messages 503 rather than growing.
use std::collections::VecDeque;

/// Frames handed to the host are at most this; a split may fall anywhere.
pub const FRAME_LIMIT: usize = 256 * 1024;
/// Past this many bytes waiting, new messages are refused (503).
pub const MAX_BYTES: usize = 1 << 20;

#[derive(Default)]
pub struct Unsent {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
}

pub enum Sent {
    /// Nothing waits any more.
    All,
    /// The host is congested; the rest waits (the reason, for a log).
    Congested(String),
    /// Any other error: the connection is going.
    Failed(String),
}

impl Unsent {
    /// Queues `bytes` behind whatever waits, in frames of at most FRAME_LIMIT.
    pub fn push(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        self.bytes += bytes.len();
        let mut rest = bytes.as_slice();
        // A small write joins the last frame rather than making its own.
        if let Some(last) = self.frames.back_mut() {
            let room = FRAME_LIMIT.saturating_sub(last.len()).min(rest.len());
            last.extend_from_slice(rest.get(..room).unwrap_or(&[]));
            rest = rest.get(room..).unwrap_or(&[]);
        }
        for frame in rest.chunks(FRAME_LIMIT) {
            self.frames.push_back(frame.to_vec());
        }
    }

    /// Sends `bytes` behind whatever waits. With nothing waiting (the usual
    /// case) they go to the host from where they are, uncopied, and only
    /// what the host refuses is queued.
    pub fn send_after(&mut self, bytes: &[u8], mut send: impl FnMut(&[u8]) -> Result<(), String>) -> Sent {
        if !self.frames.is_empty() {
            self.push(bytes.to_vec());
            return self.send(send);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let (frame, after) = rest.split_at(rest.len().min(FRAME_LIMIT));
            match send(frame) {
                Ok(()) => rest = after,
                Err(e) if e.starts_with("congested:") => {
                    self.push(rest.to_vec());
                    return Sent::Congested(e);
                }
                Err(e) => return Sent::Failed(e),
            }
        }
        Sent::All
    }

    /// Sends from the front until nothing waits or `send` fails; a frame
    /// leaves the queue only once the host took it.
    pub fn send(&mut self, mut send: impl FnMut(&[u8]) -> Result<(), String>) -> Sent {
        while let Some(frame) = self.frames.front() {
            match send(frame) {
                Ok(()) => {
                    self.bytes -= frame.len();
                    self.frames.pop_front();
                }
                Err(e) if e.starts_with("congested:") => return Sent::Congested(e),
                Err(e) => return Sent::Failed(e),
            }
        }
        Sent::All
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Why a message of `len` more bytes cannot wait, if it cannot: while
    /// the host is congested, no more than MAX_BYTES wait here.
    pub fn full(&self, len: usize) -> Option<String> {
        if !self.frames.is_empty() && self.bytes + len > MAX_BYTES {
            Some(format!("congested: {} bytes already wait to be sent to the NATS server", self.bytes))
        } else {
            None
        }
    }

    /// The connection is gone; what waited for it goes with it (the
    /// outbox keeps every publication until confirmed, and repeats it).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }
}
