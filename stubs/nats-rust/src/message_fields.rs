// The fields of a message the stub acts on (`to`, `type`, `from`, `id`),
// read in place. cbor::map_entries would do, but it makes a String of every
// key and cbor::text one of every value: several allocations a message, on
// the path every message takes both ways. Here a key is compared where it
// lies and a text value is borrowed; only a chunked (indefinite-length) text,
// which no runtime writes, is copied, by cbor::text.
use std::borrow::Cow;

use crate::cbor::{self, Reader};

#[derive(Default)]
pub struct Fields<'a> {
    /// Each as its item bytes; the first of a repeated key counts, as with
    /// cbor::lookup.
    to: Option<&'a [u8]>,
    kind: Option<&'a [u8]>,
    from: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
}

/// An item's head: major type, and its argument with the head's length,
/// or None for an indefinite length.
fn head(item: &[u8]) -> Option<(u8, Option<(u64, usize)>)> {
    let first = *item.first()?;
    let (major, ai) = (first >> 5, first & 0x1f);
    let width = match ai {
        0..=23 => return Some((major, Some((ai as u64, 1)))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => return Some((major, None)),
        _ => return None,
    };
    let arg = item.get(1..1 + width)?.iter().fold(0u64, |n, b| (n << 8) | *b as u64);
    Some((major, Some((arg, 1 + width))))
}

/// The text of an item that is exactly one text string, borrowed when it
/// is one chunk.
pub fn text(item: &[u8]) -> Option<Cow<'_, str>> {
    match head(item)? {
        (3, Some((len, at))) if (item.len() - at) as u64 == len => std::str::from_utf8(item.get(at..)?).ok().map(Cow::Borrowed),
        (3, None) => cbor::text(item).map(Cow::Owned),
        _ => None,
    }
}

impl<'a> Fields<'a> {
    /// Err unless `bytes` is exactly one well-formed map (every value is
    /// walked, as map_entries does).
    pub fn read(bytes: &'a [u8]) -> Result<Fields<'a>, &'static str> {
        let (major, count) = head(bytes).ok_or("reserved additional information")?;
        if major != 5 {
            return Err("not a map");
        }
        let mut rest = bytes.get(count.map_or(1, |(_, at)| at)..).ok_or("truncated item")?;
        let mut left = count.map(|(n, _)| n);
        let mut fields = Fields::default();
        loop {
            match left.as_mut() {
                None if rest.first() == Some(&0xff) => {
                    rest = rest.get(1..).unwrap_or(&[]);
                    break;
                }
                None => {}
                Some(0) => break,
                Some(n) => *n -= 1,
            }
            let key = Reader::new(rest).item()?;
            rest = rest.get(key.len()..).unwrap_or(&[]);
            let value = Reader::new(rest).item()?;
            rest = rest.get(value.len()..).unwrap_or(&[]);
            let slot = match text(key).as_deref() {
                Some("to") => &mut fields.to,
                Some("type") => &mut fields.kind,
                Some("from") => &mut fields.from,
                Some("id") => &mut fields.id,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        if !rest.is_empty() {
            return Err("bytes after the map");
        }
        Ok(fields)
    }

    pub fn to(&self) -> Option<Cow<'a, str>> {
        self.to.and_then(text)
    }

    pub fn kind(&self) -> Option<Cow<'a, str>> {
        self.kind.and_then(text)
    }

    pub fn from(&self) -> Option<Cow<'a, str>> {
        self.from.and_then(text)
    }

    /// The id as CBOR, byte for byte (any type).
    pub fn id(&self) -> Option<&'a [u8]> {
        self.id
    }

    /// The id as text, for logs.
    pub fn id_text(&self) -> String {
        self.id.and_then(text).map_or_else(|| "?".to_string(), Cow::into_owned)
    }
}
