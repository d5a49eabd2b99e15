// Just enough CBOR (RFC 8949) for messages: a bounds-checked reader that
// walks items without building a tree (so inbound payloads and outbound
// messages travel byte for byte), and a writer for what the stub makes.
// Every read is checked; bad input is an Err, never a panic.

pub type Result<T> = std::result::Result<T, &'static str>;

// Deeper nesting than this is refused rather than risking the small wasm stack.
const MAX_DEPTH: u32 = 64;
const BREAK: u8 = 0xff;

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// An item's head: major type, additional info, and its argument (0 for an
/// indefinite length, which `ai == 31` tells apart).
struct Head {
    major: u8,
    ai: u8,
    arg: u64,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let end = (self.pos as u64).checked_add(n).ok_or("length overflows")?;
        if end > self.buf.len() as u64 {
            return Err("truncated item");
        }
        let bytes = self.buf.get(self.pos..end as usize).ok_or("truncated item")?;
        self.pos = end as usize;
        Ok(bytes)
    }

    fn head(&mut self) -> Result<Head> {
        let first = *self.take(1)?.first().ok_or("truncated item")?;
        let (major, ai) = (first >> 5, first & 0x1f);
        let width = match ai {
            0..=23 => return Ok(Head { major, ai, arg: ai as u64 }),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 if matches!(major, 2 | 3 | 4 | 5 | 7) => return Ok(Head { major, ai, arg: 0 }),
            _ => return Err("reserved additional information"),
        };
        let mut arg = 0u64;
        for b in self.take(width)? {
            arg = (arg << 8) | *b as u64;
        }
        Ok(Head { major, ai, arg })
    }

    fn at_break(&mut self) -> bool {
        if self.peek() == Some(BREAK) {
            self.pos += 1;
            return true;
        }
        false
    }

    /// The bytes of the next whole item.
    pub fn item(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        self.skip(0)?;
        self.buf.get(start..self.pos).ok_or("truncated item")
    }

    fn skip(&mut self, depth: u32) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        let h = self.head()?;
        match h.major {
            0 | 1 => Ok(()),
            2 | 3 if h.ai == 31 => {
                // Chunks of the same major type, definite length, up to a break.
                while !self.at_break() {
                    let chunk = self.head()?;
                    if chunk.major != h.major || chunk.ai == 31 {
                        return Err("bad chunk in an indefinite string");
                    }
                    self.take(chunk.arg)?;
                }
                Ok(())
            }
            2 | 3 => self.take(h.arg).map(|_| ()),
            4 | 5 => {
                let per_entry = if h.major == 5 { 2 } else { 1 };
                if h.ai == 31 {
                    while !self.at_break() {
                        for _ in 0..per_entry {
                            self.skip(depth + 1)?;
                        }
                    }
                } else {
                    // Each item takes at least a byte, so a huge count runs
                    // out of input and fails instead of looping long.
                    let mut left = h.arg;
                    while left > 0 {
                        for _ in 0..per_entry {
                            self.skip(depth + 1)?;
                        }
                        left -= 1;
                    }
                }
                Ok(())
            }
            6 => self.skip(depth + 1),
            _ if h.ai == 31 => Err("break outside an indefinite item"),
            _ => Ok(()),
        }
    }

    /// Array header: Some(count) or None for indefinite; Err if not an array.
    fn array_header(&mut self) -> Result<Option<u64>> {
        let h = self.head()?;
        if h.major != 4 {
            return Err("not an array");
        }
        Ok(if h.ai == 31 { None } else { Some(h.arg) })
    }
}

/// The items of a CBOR array that fills all of `bytes`.
pub fn array_items(bytes: &[u8]) -> Result<Vec<&[u8]>> {
    let mut r = Reader::new(bytes);
    let mut items = Vec::new();
    match r.array_header()? {
        None => {
            while !r.at_break() {
                items.push(r.item()?);
            }
        }
        Some(n) => {
            let mut left = n;
            while left > 0 {
                items.push(r.item()?);
                left -= 1;
            }
        }
    }
    if !r.at_end() {
        return Err("bytes after the array");
    }
    Ok(items)
}

/// A map's entries with text keys, each value as its item bytes; entries
/// with other keys are passed over. Err if `bytes` is not exactly one map.
pub fn map_entries(bytes: &[u8]) -> Result<Vec<(String, &[u8])>> {
    let mut r = Reader::new(bytes);
    let h = r.head()?;
    if h.major != 5 {
        return Err("not a map");
    }
    let mut entries = Vec::new();
    let mut left = h.arg;
    loop {
        if h.ai == 31 {
            if r.at_break() {
                break;
            }
        } else if left == 0 {
            break;
        } else {
            left -= 1;
        }
        let key = r.item()?;
        let value = r.item()?;
        if let Some(key) = text(key) {
            entries.push((key, value));
        }
    }
    if !r.at_end() {
        return Err("bytes after the map");
    }
    Ok(entries)
}

pub fn lookup<'a>(entries: &[(String, &'a [u8])], key: &str) -> Option<&'a [u8]> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// The text of an item that is exactly one (valid UTF-8) text string.
pub fn text(item: &[u8]) -> Option<String> {
    let mut r = Reader::new(item);
    let h = r.head().ok()?;
    if h.major != 3 {
        return None;
    }
    let mut bytes = Vec::new();
    if h.ai == 31 {
        while !r.at_break() {
            let chunk = r.head().ok()?;
            if chunk.major != 3 || chunk.ai == 31 {
                return None;
            }
            bytes.extend_from_slice(r.take(chunk.arg).ok()?);
        }
    } else {
        bytes.extend_from_slice(r.take(h.arg).ok()?);
    }
    if !r.at_end() {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// An unsigned integer item.
pub fn uint(item: &[u8]) -> Option<u64> {
    let mut r = Reader::new(item);
    let h = r.head().ok()?;
    if h.major != 0 || !r.at_end() {
        return None;
    }
    Some(h.arg)
}

/// null or undefined.
pub fn is_nil(item: &[u8]) -> bool {
    item == [0xf6] || item == [0xf7]
}

#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    fn head(&mut self, major: u8, n: u64) {
        let m = major << 5;
        if n < 24 {
            self.buf.push(m | n as u8);
        } else if n <= 0xff {
            self.buf.extend_from_slice(&[m | 24, n as u8]);
        } else if n <= 0xffff {
            self.buf.push(m | 25);
            self.buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            self.buf.push(m | 26);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(m | 27);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
    }

    pub fn uint(&mut self, n: u64) -> &mut Self {
        self.head(0, n);
        self
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.head(3, s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    pub fn array(&mut self, n: usize) -> &mut Self {
        self.head(4, n as u64);
        self
    }

    pub fn map(&mut self, n: usize) -> &mut Self {
        self.head(5, n as u64);
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.buf.push(0xf6);
        self
    }

    /// One item that is already CBOR.
    pub fn raw(&mut self, item: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(item);
        self
    }
}
