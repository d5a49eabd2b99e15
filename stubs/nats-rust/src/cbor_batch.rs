// What one `post` carries: the messages of one host call under one CBOR array
// header (CONTRACT.md, "Batch"). Each inbound payload is already one
// message's CBOR, so it is appended as it is; the header, whose size depends
// on the count, is written last into room kept in front. The buffer is kept
// from call to call, so a frame of MSGs costs one copy of each payload and no
// allocation.
use crate::cbor;

/// The longest array header: one byte and an 8-byte count.
const HEAD_ROOM: usize = 9;
/// A buffer grown past this by a large batch is not kept for the next one.
const KEEP_BYTES: usize = 1 << 20;

#[derive(Default)]
pub struct CborBatch {
    buf: Vec<u8>,
    count: usize,
    head: cbor::Writer,
}

impl CborBatch {
    /// Appends one message's CBOR.
    pub fn push(&mut self, item: &[u8]) {
        if self.buf.is_empty() {
            self.buf.resize(HEAD_ROOM, 0);
        }
        self.buf.extend_from_slice(item);
        self.count += 1;
    }

    /// Hands the array to `post`, if it holds anything, and empties it.
    pub fn post(&mut self, post: impl FnOnce(&[u8])) {
        if self.count > 0 {
            self.head.buf.clear();
            self.head.array(self.count);
            let start = HEAD_ROOM.saturating_sub(self.head.buf.len());
            if let Some(room) = self.buf.get_mut(start..HEAD_ROOM) {
                room.copy_from_slice(&self.head.buf);
            }
            post(self.buf.get(start..).unwrap_or(&[]));
        }
        self.count = 0;
        self.buf.clear();
        if self.buf.capacity() > KEEP_BYTES {
            self.buf = Vec::new();
        }
    }
}
