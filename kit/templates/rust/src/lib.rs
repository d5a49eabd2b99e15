//! {{name}}: a protofly protocol stub in Rust, built by `protofly stub build`
//! with Debian's rustc for wasm32 and no crates. As generated it goes LIVE at
//! init, answers the runtime's SUBSCRIBE and DELETE control messages, answers
//! anything else addressed to itself with 400 and echoes every other message;
//! replace `handle` with your protocol. `abi.rs` and `cbor.rs` are protofly's
//! glue (the host interface, the canonical ABI, a bounds-checked CBOR codec).
#![allow(dead_code)]

mod abi;
mod cbor;

// One instance runs one stub and the runtime never calls into it while one
// of its calls runs, so plain statics do.
static mut STUB_URL: Option<String> = None;
// Control messages come from here.
static mut RUNTIME_URL: Option<String> = None;
static mut STATUS_COUNT: u64 = 0;

pub(crate) fn init(config: &[u8]) -> Result<(), String> {
    let entries = cbor::map_entries(config).map_err(|_| "config is not a CBOR map".to_string())?;
    let url = cbor::lookup(&entries, "stubURL").and_then(cbor::text).ok_or_else(|| "config has no stubURL".to_string())?;
    let runtime = cbor::lookup(&entries, "runtimeURL").and_then(cbor::text).ok_or_else(|| "config has no runtimeURL".to_string())?;
    post_status(&url, "LIVE");
    abi::log(2, "{{name}} live");
    unsafe {
        STUB_URL = Some(url);
        RUNTIME_URL = Some(runtime);
    }
    Ok(())
}

// The status message of stubs/CONTRACT.md, exactly.
fn post_status(url: &str, value: &str) {
    let n = unsafe {
        STATUS_COUNT += 1;
        STATUS_COUNT
    };
    let mut w = cbor::Writer::new();
    w.array(1).map(5)
        .text("id").text(&format!("{}/status#{}", url, n))
        .text("type").text("UPDATE")
        .text("from").text(url)
        .text("resource").text(&format!("{}/status", url))
        .text("body").map(1).text("value").text(value);
    abi::post(&w.buf);
}

pub(crate) fn on_messages(batch: &[u8]) {
    let (url, runtime) = match unsafe { (STUB_URL.as_deref(), RUNTIME_URL.as_deref()) } {
        (Some(url), Some(runtime)) => (url, runtime),
        _ => return,
    };
    let items = match cbor::array_items(batch) {
        Ok(items) => items,
        Err(why) => {
            abi::log(3, &format!("{{name}}: batch skipped ({})", why));
            return;
        }
    };
    let replies: Vec<Vec<u8>> = items.into_iter().filter_map(|item| handle(url, runtime, item)).collect();
    if replies.is_empty() {
        return;
    }
    let mut w = cbor::Writer::new();
    w.array(replies.len());
    for reply in &replies {
        w.raw(reply);
    }
    abi::post(&w.buf);
}

/// The stub URL, or an address below it (CONTRACT.md).
fn to_self(to: &str, url: &str) -> bool {
    to.strip_prefix(url).map_or(false, |rest| rest.is_empty() || rest.starts_with('/'))
}

/// One message from the bus; the reply to post, if any. A message it cannot
/// answer (no id, no text from) is skipped, never a trap.
fn handle(url: &str, runtime: &str, item: &[u8]) -> Option<Vec<u8>> {
    let entries = cbor::map_entries(item).ok()?;
    let id = cbor::lookup(&entries, "id")?;
    let kind = cbor::lookup(&entries, "type").and_then(cbor::text)?;
    let from = cbor::lookup(&entries, "from").and_then(cbor::text)?;
    let to = cbor::lookup(&entries, "to").and_then(cbor::text);
    // Replies are never answered, so two stubs cannot ping-pong forever.
    if kind == "RESPONSE" {
        return None;
    }
    let mut w = cbor::Writer::new();
    if let Some(to) = to.as_deref().filter(|to| to_self(to, url)) {
        // Control messages come from the runtime, to the stub URL exactly.
        // With no back-end, a subscription is confirmed at once and there is
        // no session to end; a real stub answers when its back-end has.
        let control = from == runtime && to == url;
        w.map(5)
            .text("id").raw(id)
            .text("type").text("RESPONSE")
            .text("from").text(url)
            .text("to").text(&from)
            .text("body");
        match kind.as_str() {
            "SUBSCRIBE" | "DELETE" if control => w.map(1).text("code").uint(200),
            "UNSUBSCRIBE" if control => return None, // needs no answer
            // Anything else addressed to the stub: answered, never silence.
            _ => w.map(2).text("code").uint(400).text("reason").text("not understood"),
        };
        return Some(w.buf);
    }
    let to = to?;
    let body = cbor::lookup(&entries, "body");
    w.map(if body.is_some() { 5 } else { 4 })
        .text("id").raw(id)
        .text("type").text("RESPONSE")
        .text("from").text(&to)
        .text("to").text(&from);
    if let Some(body) = body {
        w.text("body").raw(body);
    }
    Some(w.buf)
}

pub(crate) fn on_open(_conn: u32) {}
pub(crate) fn on_frame(_conn: u32, _frame: &[u8]) {}
pub(crate) fn on_close(_conn: u32, _reason: &str) {}
pub(crate) fn on_timer(_id: u32) {}
