//! A reTHINK protocol stub for NATS: the NATS client protocol over a
//! WebSocket, behind the protostub world (stubs/wit/protostub.wit) and
//! stubs/CONTRACT.md. Built without cargo or crates by stubs/toolchain/rust.ts.

// The protostub glue every Rust stub shares (stubs/rust/); `protofly stub
// new --lang rust` copies the same files into a new stub's src/.
#[path = "../../rust/abi.rs"]
mod abi;
#[path = "../../rust/cbor.rs"]
mod cbor;
mod cbor_batch;
mod config;
mod failover;
mod message_fields;
mod nats;
mod outbox;
mod parser;
mod replies;
mod session;
mod subjects;
mod subscriptions;
mod unsent;

use session::Session;

// One instance runs one stub, and the runtime never calls into a stub while
// one of its calls runs (it queues such calls), so a plain static does. The
// BUSY flag turns a host that broke that rule into a logged, dropped call
// rather than two live borrows of the session.
static mut SESSION: Option<Session> = None;
static mut BUSY: bool = false;

fn with_session(what: &str, body: impl FnOnce(&mut Session)) {
    if unsafe { BUSY } {
        abi::log(4, &format!("nats: {} arrived inside another call; dropped", what));
        return;
    }
    match unsafe { SESSION.as_mut() } {
        Some(session) => {
            unsafe { BUSY = true };
            body(session);
            session.flush();
            unsafe { BUSY = false };
        }
        None => abi::log(3, &format!("nats: {} before init; ignored", what)),
    }
}

pub(crate) fn init(config: &[u8]) -> Result<(), String> {
    if unsafe { SESSION.is_some() } {
        return Err("init called twice".into());
    }
    let config = config::parse(config)?;
    unsafe { SESSION = Some(Session::new(config)) };
    with_session("init", |s| s.start());
    Ok(())
}

pub(crate) fn on_messages(batch: &[u8]) {
    with_session("on-messages", |s| s.on_messages(batch));
}

pub(crate) fn on_open(conn: u32) {
    with_session("on-open", |s| s.on_open(conn));
}

pub(crate) fn on_frame(conn: u32, frame: &[u8]) {
    with_session("on-frame", |s| s.on_frame(conn, frame));
}

pub(crate) fn on_close(conn: u32, reason: &str) {
    with_session("on-close", |s| s.on_close(conn, reason));
}

pub(crate) fn on_timer(id: u32) {
    with_session("on-timer", |s| s.on_timer(id));
}
