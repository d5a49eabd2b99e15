// What the stub posts for itself: its status (CONTRACT.md, "Status") and
// the RESPONSEs that answer control messages and messages it cannot carry
// ("A stub never drops a message silently").
use crate::abi;
use crate::cbor;
use crate::message_fields::Fields;

/// Whom to answer about a message: its id (as CBOR, byte for byte) and its
/// sender.
pub struct Reply {
    id: Option<Vec<u8>>,
    to: String,
}

pub struct Answer {
    reply: Reply,
    code: u64,
    reason: Option<String>,
}

impl Reply {
    /// None for a RESPONSE (two dead ends answering each other would
    /// ping-pong) and for a message without a text `from`.
    pub fn of(fields: &Fields) -> Option<Reply> {
        if fields.kind().as_deref() == Some("RESPONSE") {
            return None;
        }
        let to = fields.from()?.into_owned();
        Some(Reply { id: fields.id().map(<[u8]>::to_vec), to })
    }

    /// Whom to answer about a message kept as its CBOR (outbox.rs).
    pub fn of_message(message: &[u8]) -> Option<Reply> {
        Reply::of(&Fields::read(message).ok()?)
    }

    pub fn answer(self, code: u64, reason: Option<String>) -> Answer {
        Answer { reply: self, code, reason }
    }
}

/// One batch of `{ id, type: RESPONSE, from: stubURL, to, body: { code, reason? } }`.
pub fn post_answers(stub_url: &str, answers: &[Answer]) {
    if answers.is_empty() {
        return;
    }
    let mut w = cbor::Writer::new();
    w.array(answers.len());
    for a in answers {
        w.map(5).text("id");
        match &a.reply.id {
            Some(id) => w.raw(id),
            None => w.null(),
        };
        w.text("type").text("RESPONSE");
        w.text("from").text(stub_url);
        w.text("to").text(&a.reply.to);
        w.text("body").map(1 + a.reason.is_some() as usize).text("code").uint(a.code);
        if let Some(reason) = &a.reason {
            w.text("reason").text(reason);
        }
    }
    abi::post(&w.buf);
}

/// `{ id, type: UPDATE, from: stubURL, resource: <stubURL>/status, body: { value, reason?, code? } }`
pub fn post_status(stub_url: &str, seq: u64, value: &str, reason: Option<&str>, code: Option<&str>) {
    let mut w = cbor::Writer::new();
    w.array(1).map(5);
    w.text("id").text(&format!("{}/status#{}", stub_url, seq));
    w.text("type").text("UPDATE");
    w.text("from").text(stub_url);
    w.text("resource").text(&format!("{}/status", stub_url));
    w.text("body").map(1 + reason.is_some() as usize + code.is_some() as usize);
    w.text("value").text(value);
    if let Some(reason) = reason {
        w.text("reason").text(reason);
    }
    if let Some(code) = code {
        w.text("code").text(code);
    }
    abi::post(&w.buf);
}
