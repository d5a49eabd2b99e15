// The stub's one session: its state, the host's calls into it, timers and
// the flush at the end of every call. One NATS connection at a time, over
// one WebSocket; the parts of its work live in session/:
//   connection.rs  handshake, keepalive, failover to the next server
//   carrying.rs    messages out (published, held, answered) and in
//   control.rs     SUBSCRIBE / UNSUBSCRIBE / DELETE from the runtime
// and the state they keep in failover.rs, outbox.rs, subscriptions.rs and
// unsent.rs; what the stub posts for itself is built in replies.rs.
use std::collections::VecDeque;

use crate::abi;
use crate::cbor_batch::CborBatch;
use crate::config::Config;
use crate::failover::Servers;
use crate::nats;
use crate::outbox::Outbox;
use crate::parser::{Op, Parser};
use crate::replies::{self, Answer, Reply};
use crate::subscriptions::Subscriptions;
use crate::unsent::{Sent, Unsent};

mod carrying;
mod connection;
mod control;

#[derive(PartialEq, Clone, Copy)]
enum State {
    /// Between rounds of attempts (or before the first).
    Waiting,
    /// The WebSocket is being opened.
    Opening,
    /// Open; waiting for INFO, then for the PONG that confirms our CONNECT.
    Connecting,
    Live,
    /// A DELETE came: waiting for the PONG that confirms what was published.
    Draining,
    /// The server refused our credentials: we stay down.
    Refused,
    /// Deleted: the connection is closed for good.
    Closed,
}

/// Why we sent a PING. The server answers PINGs in order, so each PONG
/// belongs to the oldest PING still unanswered.
enum PingFor {
    Login,
    /// A run of SUBs and UNSUBs: every sid up to this one is confirmed.
    Subscribed(u64),
    Published,
    KeepAlive,
    Drain,
}

struct Ping {
    /// The PONG confirms every PUB up to this one (outbox.rs).
    mark: u64,
    purpose: PingFor,
}

// An open or a login that takes longer than this is given up on.
const HANDSHAKE_MAX_MS: u32 = 10_000;
// A DELETE waits this long for the server to confirm what was published;
// the runtime stops the stub after 1 s by default (undeployGraceMs).
const DRAIN_MAX_MS: u32 = 500;
// A send the host refused as congested is tried again after this; the
// contract asks for a timer, and the socket drains in milliseconds.
const SEND_RETRY_MS: u32 = 20;
// PUBs are confirmed by the PONG to a PING written after them. A PING goes
// once this many PUBs were written since the last one, or this long after
// the first of them: a PING after every call that published cost a PONG,
// and so a call into the stub, for every message when they come one at a
// time. The bounds keep what a lost connection makes us repeat small, and
// within what the runtime replays into a restarted stub (bus.replayTail, 256).
const PUBS_PER_PING: u64 = 64;
const CONFIRM_MS: u32 = 5;
// A buffer grown past this by a burst is not kept for the next call.
const KEEP_OUT_BYTES: usize = 1 << 20;

pub struct Session {
    cfg: Config,
    state: State,
    conn: Option<u32>,
    parser: Parser,
    sent_connect: bool,
    servers: Servers,
    subs: Subscriptions<Reply>,
    outbox: Outbox,
    pings: VecDeque<Ping>,
    keepalive_out: bool,
    /// What this call wrote; at its end it goes behind what waits unsent.
    out: Vec<u8>,
    /// What this call received, for one post at its end.
    inbound: CborBatch,
    /// The last `to` published to, and its subject.
    last_subject: Option<(String, String)>,
    unsent: Unsent,
    /// SUBSCRIBE / UNSUBSCRIBE messages past one call's share (control.rs).
    deferred: VecDeque<Vec<u8>>,
    /// RESPONSEs to post at the end of this call.
    answers: Vec<Answer>,
    /// The last server's INFO max_payload.
    server_max_payload: Option<usize>,
    /// One DISCONNECTED per outage, however many rounds it takes.
    outage_reported: bool,
    live_reported: bool,
    /// DELETE messages to answer once the connection is closed.
    deletes: Vec<Reply>,
    reconnect_timer: Option<u32>,
    handshake_timer: Option<u32>,
    ping_timer: Option<u32>,
    drain_timer: Option<u32>,
    send_timer: Option<u32>,
    confirm_timer: Option<u32>,
    control_timer: Option<u32>,
    status_seq: u64,
}

impl Session {
    pub fn new(cfg: Config) -> Self {
        let servers = Servers::new(cfg.servers.clone());
        let outbox = Outbox::new(cfg.max_queued);
        Session {
            cfg,
            state: State::Waiting,
            conn: None,
            parser: Parser::default(),
            sent_connect: false,
            servers,
            subs: Subscriptions::new(),
            outbox,
            pings: VecDeque::new(),
            keepalive_out: false,
            out: Vec::new(),
            inbound: CborBatch::default(),
            last_subject: None,
            unsent: Unsent::default(),
            deferred: VecDeque::new(),
            answers: Vec::new(),
            server_max_payload: None,
            outage_reported: false,
            live_reported: false,
            deletes: Vec::new(),
            reconnect_timer: None,
            handshake_timer: None,
            ping_timer: None,
            drain_timer: None,
            send_timer: None,
            confirm_timer: None,
            control_timer: None,
            status_seq: 0,
        }
    }

    pub fn start(&mut self) {
        let first = self.servers.restart();
        self.try_servers(first, "no server configured".to_string());
    }

    // ---- timers ----

    pub fn on_timer(&mut self, id: u32) {
        if self.reconnect_timer == Some(id) {
            self.reconnect_timer = None;
            if self.state == State::Waiting {
                let first = self.servers.restart();
                self.try_servers(first, "no server configured".to_string());
            }
        } else if self.handshake_timer == Some(id) {
            self.handshake_timer = None;
            if matches!(self.state, State::Opening | State::Connecting) {
                self.drop_connection("no answer from the server during the handshake");
            }
        } else if self.drain_timer == Some(id) {
            self.drain_timer = None;
            if self.state == State::Draining {
                self.finish_delete(&format!("not confirmed by the server within {} ms of the DELETE", DRAIN_MAX_MS));
            }
        } else if self.control_timer == Some(id) {
            self.control_timer = None;
            self.control_deferred();
        } else if self.send_timer == Some(id) {
            // The flush at the end of this call sends what waits.
            self.send_timer = None;
        } else if self.confirm_timer == Some(id) {
            self.confirm_timer = None;
            if self.state == State::Live && self.outbox.unpinged() > 0 {
                self.ping(PingFor::Published);
            }
        } else if self.ping_timer == Some(id) {
            self.ping_timer = None;
            if self.state != State::Live {
                return;
            }
            if self.keepalive_out {
                let reason = format!("no PONG from the server within {} s", self.cfg.ping_sec);
                self.drop_connection(&reason);
                return;
            }
            self.ping(PingFor::KeepAlive);
            self.keepalive_out = true;
            self.ping_timer = timer(self.ping_ms());
        }
    }

    fn stop_timers(&mut self) {
        clear(&mut self.reconnect_timer);
        clear(&mut self.handshake_timer);
        clear(&mut self.ping_timer);
        clear(&mut self.drain_timer);
        clear(&mut self.send_timer);
        clear(&mut self.confirm_timer);
    }

    /// What was written for a connection that is gone, or going.
    fn discard_output(&mut self) {
        self.out.clear();
        self.unsent.clear();
    }

    // ---- inbound ----

    pub fn on_frame(&mut self, conn: u32, frame: &[u8]) {
        if self.conn != Some(conn) || !matches!(self.state, State::Connecting | State::Live | State::Draining) {
            return;
        }
        // The parser lends out views of what it holds while the operations
        // change the session; it is put back unless one of them ended the
        // connection (a refused login, a server error), whose next one
        // starts with a parser of its own.
        let mut parser = std::mem::take(&mut self.parser);
        let parsed = parser.push(frame, |op| {
            self.handle(op);
            self.conn == Some(conn)
        });
        if self.conn == Some(conn) {
            self.parser = parser;
        }
        self.inbound.post(abi::post);
        if let Err(e) = parsed {
            if self.conn == Some(conn) {
                self.log(3, &format!("malformed data from the server: {}", e));
                self.drop_connection(&format!("malformed data from the server: {}", e));
            }
        }
    }

    fn handle(&mut self, op: Op) {
        match op {
            Op::Info(json) => self.info(&json),
            Op::Ping => self.out.extend_from_slice(nats::PONG),
            Op::Pong => self.pong(),
            Op::Ok => {
                // Only a verbose server says +OK; after CONNECT it means the same as our PONG.
                if self.state == State::Connecting && self.sent_connect {
                    self.logged_in();
                }
            }
            Op::Err(text) => self.server_error(&text),
            Op::Msg { subject, payload } => {
                if matches!(self.state, State::Live | State::Draining) && self.deliverable(subject, payload) {
                    self.inbound.push(payload);
                }
            }
        }
    }

    // ---- host helpers ----

    fn post_status(&mut self, value: &str, reason: Option<&str>, code: Option<&str>) {
        self.status_seq += 1;
        replies::post_status(&self.cfg.stub_url, self.status_seq, value, reason, code);
    }

    /// Called once at the end of every host→stub call: the next runs of
    /// SUBs (each with its PING), a PING after the PUBs written when none
    /// is on the way (its PONG confirms them), what was written, in one
    /// send, then the answers.
    pub fn flush(&mut self) {
        if !self.deferred.is_empty() && self.control_timer.is_none() {
            self.control_timer = timer(0);
        }
        if self.state == State::Live {
            self.write_subscription_runs();
            let unpinged = self.outbox.unpinged();
            if unpinged >= PUBS_PER_PING {
                self.ping(PingFor::Published);
            } else if unpinged > 0 && self.confirm_timer.is_none() {
                self.confirm_timer = timer(CONFIRM_MS);
            }
        }
        if let Some(conn) = self.conn {
            let was_congested = self.unsent.bytes() > 0;
            match self.unsent.send_after(&self.out, |frame| abi::send(conn, frame)) {
                Sent::All => {
                    clear(&mut self.send_timer);
                    if was_congested {
                        self.log(2, "the connection takes writes again");
                    }
                }
                Sent::Congested(reason) => {
                    if !was_congested {
                        self.log(3, &format!("{}; {} bytes wait, retrying every {} ms", reason, self.unsent.bytes(), SEND_RETRY_MS));
                    }
                    if self.send_timer.is_none() {
                        self.send_timer = timer(SEND_RETRY_MS);
                    }
                }
                Sent::Failed(e) => self.drop_connection(&format!("send failed: {}", e)),
            }
        }
        // Whatever a drop wrote belongs to a connection that is gone.
        self.out.clear();
        if self.out.capacity() > KEEP_OUT_BYTES {
            self.out = Vec::new();
        }
        let answers = std::mem::take(&mut self.answers);
        replies::post_answers(&self.cfg.stub_url, &answers);
    }

    pub fn log(&self, level: u8, text: &str) {
        abi::log(level, &format!("nats {}: {}", self.cfg.stub_url, text));
    }
}

fn timer(ms: u32) -> Option<u32> {
    match abi::set_timer(ms) {
        0 => None,
        id => Some(id),
    }
}

fn clear(slot: &mut Option<u32>) {
    if let Some(id) = slot.take() {
        abi::clear_timer(id);
    }
}

