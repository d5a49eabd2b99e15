// The connection state machine: one NATS connection over one WebSocket at a
// time, reopened with backoff until the server refuses the login.
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::abi;
use crate::cbor;
use crate::config::{Auth, Config};
use crate::nats::{self, Op, Parser};
use crate::subjects;

#[derive(PartialEq, Clone, Copy)]
enum State {
    /// Between attempts (or before the first).
    Waiting,
    /// The WebSocket is being opened.
    Opening,
    /// Open; waiting for INFO, then for the PONG that confirms our CONNECT.
    Connecting,
    Live,
    /// The server refused our credentials: we stay down.
    Refused,
}

/// Why we sent a PING. The server answers PINGs in order, so each PONG
/// belongs to the oldest PING still unanswered.
enum PingFor {
    Login,
    Subscribed(Vec<String>),
    KeepAlive,
}

struct Outgoing {
    subject: String,
    payload: Vec<u8>,
}

/// A SUBSCRIBE control message waiting for its subjects to be confirmed.
struct Awaiting {
    id: Option<Vec<u8>>,
    to: String,
    subjects: Vec<String>,
}

const QUEUE_LIMIT: usize = 10_000;
const QUEUE_BYTES: usize = 64 << 20;
const BACKOFF_FIRST_MS: u32 = 250;
const BACKOFF_MAX_MS: u32 = 10_000;
// An open or a login that takes longer than this is given up on.
const HANDSHAKE_MAX_MS: u32 = 10_000;
// What one host→stub call writes is sent in frames of at most this; NATS is
// a byte stream, so a split may fall anywhere.
const FRAME_LIMIT: usize = 256 * 1024;

pub struct Session {
    cfg: Config,
    state: State,
    conn: Option<u32>,
    parser: Parser,
    sent_connect: bool,
    /// subject → sid: what local listeners want, kept across reconnects.
    wanted: BTreeMap<String, u32>,
    next_sid: u32,
    /// Subjects the server has confirmed on this connection.
    confirmed: BTreeSet<String>,
    awaiting: Vec<Awaiting>,
    pings: VecDeque<PingFor>,
    keepalive_out: bool,
    queue: VecDeque<Outgoing>,
    queued_bytes: usize,
    out: Vec<u8>,
    max_payload_out: usize,
    backoff_ms: u32,
    /// One DISCONNECTED per outage, however many retries it takes.
    outage_reported: bool,
    reconnect_timer: Option<u32>,
    handshake_timer: Option<u32>,
    ping_timer: Option<u32>,
    status_seq: u64,
}

impl Session {
    pub fn new(cfg: Config) -> Self {
        Session {
            cfg,
            state: State::Waiting,
            conn: None,
            parser: Parser::default(),
            sent_connect: false,
            wanted: BTreeMap::new(),
            next_sid: 1,
            confirmed: BTreeSet::new(),
            awaiting: Vec::new(),
            pings: VecDeque::new(),
            keepalive_out: false,
            queue: VecDeque::new(),
            queued_bytes: 0,
            out: Vec::new(),
            max_payload_out: nats::MAX_PAYLOAD,
            backoff_ms: BACKOFF_FIRST_MS,
            outage_reported: false,
            reconnect_timer: None,
            handshake_timer: None,
            ping_timer: None,
            status_seq: 0,
        }
    }

    pub fn start(&mut self) {
        self.open_connection();
    }

    // ---- connection lifecycle ----

    fn open_connection(&mut self) {
        self.state = State::Opening;
        self.parser.reset();
        self.sent_connect = false;
        self.pings.clear();
        self.keepalive_out = false;
        self.log(1, &format!("opening {}", self.cfg.url));
        // No subprotocol: nats-server's WebSocket does not name one, and a
        // client that asks for one fails the handshake when none comes back.
        match abi::open(&self.cfg.url, &[]) {
            Ok(conn) => {
                self.conn = Some(conn);
                self.handshake_timer = timer(HANDSHAKE_MAX_MS.min(self.ping_ms()));
            }
            Err(e) => {
                self.conn = None;
                self.connection_lost(&format!("cannot open {}: {}", self.cfg.url, e));
            }
        }
    }

    pub fn on_open(&mut self, conn: u32) {
        if self.conn != Some(conn) {
            // A socket we already gave up on came up late.
            abi::close(conn);
            return;
        }
        if self.state == State::Opening {
            self.state = State::Connecting;
            self.log(1, &format!("connected to {}, waiting for INFO", self.cfg.url));
        }
    }

    pub fn on_close(&mut self, conn: u32, reason: &str) {
        if self.conn != Some(conn) {
            return;
        }
        self.conn = None;
        self.connection_lost(if reason.is_empty() { "connection closed" } else { reason });
    }

    /// Abandons the current socket ourselves.
    fn drop_connection(&mut self, reason: &str) {
        if let Some(conn) = self.conn.take() {
            abi::close(conn);
        }
        self.connection_lost(reason);
    }

    fn connection_lost(&mut self, reason: &str) {
        if self.state == State::Refused {
            return;
        }
        self.stop_timers();
        self.out.clear();
        self.parser.reset();
        self.confirmed.clear();
        self.pings.clear();
        self.keepalive_out = false;
        self.log(3, &format!("connection lost: {}; retrying in {} ms", reason, self.backoff_ms));
        if !self.outage_reported {
            self.outage_reported = true;
            self.post_status("DISCONNECTED", Some(reason), Some("PF_ERR_CONNECT"));
        }
        self.state = State::Waiting;
        self.reconnect_timer = timer(self.backoff_ms);
        self.backoff_ms = self.backoff_ms.saturating_mul(2).min(BACKOFF_MAX_MS);
    }

    fn login_refused(&mut self, reason: &str) {
        self.log(4, &format!("login refused: {}; not retrying", reason));
        self.state = State::Refused;
        self.stop_timers();
        self.out.clear();
        if let Some(conn) = self.conn.take() {
            abi::close(conn);
        }
        self.post_status("DISCONNECTED", Some(reason), Some("PF_ERR_LOGIN"));
    }

    fn become_live(&mut self) {
        self.state = State::Live;
        self.backoff_ms = BACKOFF_FIRST_MS;
        self.outage_reported = false;
        clear(&mut self.handshake_timer);
        self.log(2, &format!("LIVE on {}", self.cfg.url));
        self.post_status("LIVE", None, None);
        // Subscriptions go out before the queued publications, so a reply
        // to one of those can already reach us.
        if !self.wanted.is_empty() {
            let all: Vec<(String, u32)> = self.wanted.iter().map(|(s, sid)| (s.clone(), *sid)).collect();
            for (subject, sid) in &all {
                self.out.extend_from_slice(&nats::sub(subject, *sid));
            }
            self.confirm(all.into_iter().map(|(s, _)| s).collect());
        }
        self.flush_queue();
        self.ping_timer = timer(self.ping_ms());
    }

    fn ping_ms(&self) -> u32 {
        self.cfg.ping_sec.saturating_mul(1000)
    }

    // ---- timers ----

    pub fn on_timer(&mut self, id: u32) {
        if self.reconnect_timer == Some(id) {
            self.reconnect_timer = None;
            if self.state == State::Waiting {
                self.open_connection();
            }
        } else if self.handshake_timer == Some(id) {
            self.handshake_timer = None;
            if matches!(self.state, State::Opening | State::Connecting) {
                self.drop_connection("no answer from the server during the handshake");
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
            self.out.extend_from_slice(nats::PING);
            self.pings.push_back(PingFor::KeepAlive);
            self.keepalive_out = true;
            self.ping_timer = timer(self.ping_ms());
        }
    }

    fn stop_timers(&mut self) {
        clear(&mut self.reconnect_timer);
        clear(&mut self.handshake_timer);
        clear(&mut self.ping_timer);
    }

    // ---- inbound ----

    pub fn on_frame(&mut self, conn: u32, frame: &[u8]) {
        if self.conn != Some(conn) || !matches!(self.state, State::Connecting | State::Live) {
            return;
        }
        let mut ops = Vec::new();
        let parsed = self.parser.push(frame, &mut ops);
        let mut delivered: Vec<Vec<u8>> = Vec::new();
        for op in ops {
            // An operation may have ended the connection (refused login).
            if self.conn != Some(conn) {
                break;
            }
            self.handle(op, &mut delivered);
        }
        if !delivered.is_empty() {
            let mut batch = cbor::Writer::new();
            batch.array(delivered.len());
            for payload in &delivered {
                batch.raw(payload);
            }
            abi::post(&batch.buf);
        }
        if let Err(e) = parsed {
            if self.conn == Some(conn) {
                self.log(3, &format!("malformed data from the server: {}", e));
                self.drop_connection(&format!("malformed data from the server: {}", e));
            }
        }
    }

    fn handle(&mut self, op: Op, delivered: &mut Vec<Vec<u8>>) {
        match op {
            Op::Info(json) => {
                if let Some(max) = nats::info_max_payload(&json) {
                    self.max_payload_out = max;
                }
                if self.state == State::Connecting && !self.sent_connect {
                    self.sent_connect = true;
                    let login = match &self.cfg.auth {
                        Auth::None => nats::Login::Anonymous,
                        Auth::User { username, password } => nats::Login::User(username, password.as_deref()),
                        Auth::Token(token) => nats::Login::Token(token),
                    };
                    let connect = nats::connect(login);
                    self.out.extend_from_slice(&connect);
                    self.out.extend_from_slice(nats::PING);
                    self.pings.push_back(PingFor::Login);
                }
            }
            Op::Ping => self.out.extend_from_slice(nats::PONG),
            Op::Pong => match self.pings.pop_front() {
                Some(PingFor::Login) => {
                    if self.state == State::Connecting {
                        self.become_live();
                    }
                }
                Some(PingFor::Subscribed(subjects)) => {
                    for subject in subjects {
                        if self.wanted.contains_key(&subject) {
                            self.confirmed.insert(subject);
                        }
                    }
                    self.answer_controls(&[]);
                }
                Some(PingFor::KeepAlive) => self.keepalive_out = false,
                None => {}
            },
            Op::Ok => {
                // Only a verbose server says +OK; after CONNECT it means the same as our PONG.
                if self.state == State::Connecting && self.sent_connect {
                    self.become_live();
                }
            }
            Op::Err(text) => self.server_error(&text),
            Op::Msg { subject, payload } => {
                if self.state != State::Live {
                    return;
                }
                match check_message(&payload) {
                    Ok(()) => delivered.push(payload),
                    Err(why) => self.log(3, &format!("skipping a message on {}: {}", subject, why)),
                }
            }
        }
    }

    fn server_error(&mut self, text: &str) {
        let lower = text.to_ascii_lowercase();
        if lower.contains("authorization violation") || lower.contains("authentication expired") || lower.contains("authentication revoked") {
            if self.state == State::Connecting {
                self.login_refused(&format!("the server refused the login: {}", text));
            } else {
                self.drop_connection(&format!("server error: {}", text));
            }
        } else if lower.starts_with("permissions violation for subscription") {
            // The connection stays up; only that subscription is refused.
            self.log(3, &format!("server: {}", text));
            let refused: Vec<String> = quoted(text).into_iter().collect();
            for subject in &refused {
                self.wanted.remove(subject);
            }
            self.answer_controls(&refused);
        } else if lower.starts_with("permissions violation") || lower.starts_with("invalid subject") {
            self.log(3, &format!("server: {}", text));
        } else {
            // Everything else is followed by the server closing the connection.
            self.drop_connection(&format!("server error: {}", text));
        }
    }

    // ---- outbound ----

    pub fn on_messages(&mut self, batch: &[u8]) {
        let items = match cbor::array_items(batch) {
            Ok(items) => items,
            Err(e) => {
                self.log(3, &format!("skipping a batch that is not a CBOR array: {}", e));
                return;
            }
        };
        for item in items {
            let entries = match cbor::map_entries(item) {
                Ok(entries) => entries,
                Err(e) => {
                    self.log(3, &format!("skipping a message that is not a map: {}", e));
                    continue;
                }
            };
            let to = match cbor::lookup(&entries, "to").and_then(cbor::text) {
                Some(to) => to,
                None => {
                    self.log(3, &format!("skipping message {} without a string \"to\"", id_text(&entries)));
                    continue;
                }
            };
            if to == self.cfg.stub_url {
                self.control(&entries);
            } else {
                self.carry(item, &to, &entries);
            }
        }
    }

    fn carry(&mut self, item: &[u8], to: &str, entries: &[(String, &[u8])]) {
        let subject = match subjects::address_to_subject(&self.cfg.subject_prefix, to) {
            Some(subject) => subject,
            None => {
                self.log(3, &format!("skipping message {}: \"{}\" is not a scheme://host/path address", id_text(entries), to));
                return;
            }
        };
        if item.len() > self.max_payload_out {
            self.log(4, &format!("skipping message {}: {} bytes, the server takes at most {}", id_text(entries), item.len(), self.max_payload_out));
            return;
        }
        // The message goes out as the runtime encoded it, byte for byte.
        if self.state == State::Live && self.queue.is_empty() {
            nats::publish(&mut self.out, &subject, item);
            return;
        }
        if self.queue.len() >= QUEUE_LIMIT || self.queued_bytes + item.len() > QUEUE_BYTES {
            self.log(4, &format!("outbound queue full; dropping message {} to {}", id_text(entries), to));
            return;
        }
        self.queued_bytes += item.len();
        self.queue.push_back(Outgoing { subject, payload: item.to_vec() });
    }

    fn flush_queue(&mut self) {
        while let Some(o) = self.queue.pop_front() {
            nats::publish(&mut self.out, &o.subject, &o.payload);
        }
        self.queued_bytes = 0;
    }

    fn control(&mut self, entries: &[(String, &[u8])]) {
        let kind = cbor::lookup(entries, "type").and_then(cbor::text).unwrap_or_default();
        let subscribe = match kind.as_str() {
            "SUBSCRIBE" => true,
            "UNSUBSCRIBE" => false,
            _ => return,
        };
        let resources = cbor::lookup(entries, "body")
            .and_then(|body| cbor::map_entries(body).ok())
            .and_then(|body| cbor::lookup(&body, "resources").and_then(|r| cbor::array_items(r).ok()));
        let resources = match resources {
            Some(resources) => resources,
            None => {
                self.log(3, &format!("skipping {} {}: body.resources must be a list of addresses", kind, id_text(entries)));
                return;
            }
        };
        let mut subjects_of_message = Vec::new();
        let mut changed = Vec::new();
        for resource in resources {
            let subject = cbor::text(resource).and_then(|a| subjects::address_to_subject(&self.cfg.subject_prefix, &a));
            let subject = match subject {
                Some(subject) => subject,
                None => {
                    self.log(3, &format!("skipping a resource in {} {}: not a scheme://host/path address", kind, id_text(entries)));
                    continue;
                }
            };
            if subscribe {
                if !self.wanted.contains_key(&subject) {
                    let sid = self.next_sid;
                    self.next_sid = self.next_sid.wrapping_add(1).max(1);
                    self.wanted.insert(subject.clone(), sid);
                    changed.push((subject.clone(), sid));
                }
                subjects_of_message.push(subject);
            } else if let Some(sid) = self.wanted.remove(&subject) {
                self.confirmed.remove(&subject);
                changed.push((subject, sid));
            }
        }
        if subscribe {
            if let Some(from) = cbor::lookup(entries, "from").and_then(cbor::text) {
                let id = cbor::lookup(entries, "id").map(|id| id.to_vec());
                self.awaiting.push(Awaiting { id, to: from, subjects: subjects_of_message });
            }
        }
        if self.state == State::Live && !changed.is_empty() {
            for (subject, sid) in &changed {
                let line = if subscribe { nats::sub(subject, *sid) } else { nats::unsub(*sid) };
                self.out.extend_from_slice(&line);
            }
            if subscribe {
                self.log(2, &format!("subscribing to {} subject(s)", changed.len()));
                self.confirm(changed.into_iter().map(|(s, _)| s).collect());
            }
        }
        self.answer_controls(&[]);
    }

    /// NATS does not acknowledge SUB; a PING after it is answered only once
    /// the server has processed it, so that PONG is the confirmation.
    fn confirm(&mut self, subjects: Vec<String>) {
        self.out.extend_from_slice(nats::PING);
        self.pings.push_back(PingFor::Subscribed(subjects));
    }

    /// Answers each waiting SUBSCRIBE whose subjects are all confirmed (200),
    /// or one of whose subjects the server refused (403).
    fn answer_controls(&mut self, refused: &[String]) {
        let mut answers = Vec::new();
        let confirmed = &self.confirmed;
        self.awaiting.retain(|waiting| {
            let denied = waiting.subjects.iter().any(|s| refused.contains(s));
            if denied || waiting.subjects.iter().all(|s| confirmed.contains(s)) {
                answers.push((waiting.id.clone(), waiting.to.clone(), if denied { 403 } else { 200 }));
                false
            } else {
                true
            }
        });
        if answers.is_empty() {
            return;
        }
        let mut w = cbor::Writer::new();
        w.array(answers.len());
        for (id, to, code) in &answers {
            w.map(5).text("id");
            match id {
                Some(id) => w.raw(id),
                None => w.null(),
            };
            w.text("type").text("RESPONSE");
            w.text("from").text(&self.cfg.stub_url);
            w.text("to").text(to);
            w.text("body").map(1).text("code").uint(*code);
        }
        abi::post(&w.buf);
    }

    // ---- host helpers ----

    fn post_status(&mut self, value: &str, reason: Option<&str>, code: Option<&str>) {
        self.status_seq += 1;
        let url = &self.cfg.stub_url;
        let mut w = cbor::Writer::new();
        w.array(1).map(5);
        w.text("id").text(&format!("{}/status#{}", url, self.status_seq));
        w.text("type").text("UPDATE");
        w.text("from").text(url);
        w.text("resource").text(&format!("{}/status", url));
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

    /// Called once at the end of every host→stub call.
    pub fn flush(&mut self) {
        let conn = match self.conn {
            Some(conn) if !self.out.is_empty() => conn,
            _ => {
                self.out.clear();
                return;
            }
        };
        let out = std::mem::take(&mut self.out);
        for frame in out.chunks(FRAME_LIMIT) {
            if let Err(e) = abi::send(conn, frame) {
                self.drop_connection(&format!("send failed: {}", e));
                break;
            }
        }
        // Whatever a drop wrote belongs to a connection that is gone.
        self.out.clear();
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

/// The first "…" quoted part of a server error (the subject it is about).
fn quoted(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let len = text.get(start..)?.find('"')?;
    text.get(start..start + len).map(str::to_string)
}

fn id_text(entries: &[(String, &[u8])]) -> String {
    cbor::lookup(entries, "id").and_then(cbor::text).unwrap_or_else(|| "?".to_string())
}

/// A payload is posted only if it is one CBOR map with text type and from.
fn check_message(payload: &[u8]) -> Result<(), String> {
    let entries = cbor::map_entries(payload).map_err(|e| format!("not one CBOR map ({})", e))?;
    let has_text = |key: &str| cbor::lookup(&entries, key).and_then(cbor::text).is_some();
    if !has_text("type") || !has_text("from") {
        return Err("not a message (needs text type and from)".to_string());
    }
    Ok(())
}
