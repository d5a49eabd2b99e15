// The connection: open the current server's WebSocket, log in on its INFO,
// keep it alive, and when it is lost go on to the next server at once
// (failover.rs), holding what is posted meanwhile (outbox.rs). DISCONNECTED
// only when every server has failed; LIVE again once logged in somewhere
// and subscribed again.
use super::{clear, timer, Ping, PingFor, Session, State, HANDSHAKE_MAX_MS};
use crate::abi;
use crate::config::Auth;
use crate::failover;
use crate::nats;
use crate::outbox;
use crate::replies::Reply;

impl Session {
    /// Opens `next`, or the servers after it, until one can be opened;
    /// when none can, the outage is total.
    pub(super) fn try_servers(&mut self, mut next: Option<String>, mut reason: String) {
        while let Some(url) = next {
            match self.open_connection(&url) {
                Ok(()) => return,
                Err(e) => {
                    reason = e;
                    next = self.servers.failed();
                }
            }
        }
        self.outage(&reason);
    }

    pub(super) fn open_connection(&mut self, url: &str) -> Result<(), String> {
        self.state = State::Opening;
        self.parser.reset();
        self.sent_connect = false;
        self.pings.clear();
        self.keepalive_out = false;
        self.log(1, &format!("opening {}", url));
        // No subprotocol: nats-server's WebSocket does not name one, and a
        // client that asks for one fails the handshake when none comes back.
        match abi::open(url, &[]) {
            Ok(conn) => {
                self.conn = Some(conn);
                self.handshake_timer = timer(HANDSHAKE_MAX_MS.min(self.ping_ms()));
                Ok(())
            }
            Err(e) => {
                self.conn = None;
                if self.servers.refuse(url) {
                    self.log(3, &format!("the host will not open {} (announced by the server, not in the descriptor's connect list): {}", url, e));
                }
                Err(format!("cannot open {}: {}", url, e))
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
            self.log(1, &format!("connected to {}, waiting for INFO", self.servers.current()));
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
    pub(super) fn drop_connection(&mut self, reason: &str) {
        if let Some(conn) = self.conn.take() {
            abi::close(conn);
        }
        self.connection_lost(reason);
    }

    /// The current server failed or was lost: the next one, at once.
    pub(super) fn connection_lost(&mut self, reason: &str) {
        match self.state {
            State::Refused | State::Closed => return,
            State::Draining => {
                self.finish_delete(&format!("the connection was lost before the server confirmed it ({})", reason));
                return;
            }
            _ => {}
        }
        self.stop_timers();
        self.discard_output();
        self.parser.reset();
        self.subs.connection_lost();
        self.pings.clear();
        self.keepalive_out = false;
        let repeats = self.outbox.connection_lost();
        self.log(3, &format!("lost {}: {}; {} unconfirmed publication(s) to repeat", self.servers.current(), reason, repeats));
        self.state = State::Waiting;
        let next = self.servers.failed();
        self.try_servers(next, reason.to_string());
    }

    /// Every server failed: DISCONNECTED (once per outage), and another
    /// round after a backoff. Messages keep being held meanwhile.
    pub(super) fn outage(&mut self, reason: &str) {
        self.state = State::Waiting;
        let delay = self.servers.backoff();
        self.log(3, &format!("no NATS server reachable ({}); retrying in {} ms", reason, delay));
        if !self.outage_reported {
            self.outage_reported = true;
            self.live_reported = false;
            self.post_status("DISCONNECTED", Some(reason), Some("PF_ERR_CONNECT"));
        }
        self.reconnect_timer = timer(delay);
    }

    pub(super) fn login_refused(&mut self, reason: &str) {
        self.log(4, &format!("login refused: {}; not retrying", reason));
        self.state = State::Refused;
        self.stop_timers();
        self.discard_output();
        if let Some(conn) = self.conn.take() {
            abi::close(conn);
        }
        self.post_status("DISCONNECTED", Some(reason), Some("PF_ERR_LOGIN"));
        self.answer_all_held(503, "the NATS server refused the stub's login");
    }

    /// Logged in: what was held, in order, and every subscription again,
    /// in runs from the flush at the end of this call on (each PONG lets
    /// the next run go); LIVE once they are all confirmed.
    pub(super) fn logged_in(&mut self) {
        self.state = State::Live;
        self.servers.logged_in();
        self.outage_reported = false;
        clear(&mut self.handshake_timer);
        let wanted = self.subs.connection_up();
        let max = self.max_payload();
        let answers = &mut self.answers;
        let written = self.outbox.write_held(&mut self.out, max, |message| {
            if let Some(reply) = Reply::of_message(message) {
                answers.push(reply.answer(413, Some(outbox::too_large(message.len(), max))));
            }
        });
        self.log(2, &format!("logged in to {}; {} subscription(s) to make, {} held publication(s) sent", self.servers.current(), wanted, written));
        if self.subs.resynced() {
            self.report_live();
        }
        self.ping_timer = timer(self.ping_ms());
    }

    pub(super) fn report_live(&mut self) {
        if !self.live_reported {
            self.live_reported = true;
            self.post_status("LIVE", None, None);
        }
    }

    pub(super) fn ping(&mut self, purpose: PingFor) {
        self.out.extend_from_slice(nats::PING);
        self.pings.push_back(Ping { mark: self.outbox.ping_mark(), purpose });
    }

    pub(super) fn ping_ms(&self) -> u32 {
        self.cfg.ping_sec.saturating_mul(1000)
    }

    pub(super) fn max_payload(&self) -> usize {
        self.server_max_payload.map_or(self.cfg.max_message_bytes, |max| max.min(self.cfg.max_message_bytes))
    }

    pub(super) fn info(&mut self, json: &str) {
        if let Some(max) = nats::info_max_payload(json) {
            self.server_max_payload = Some(max);
        }
        // Over a WebSocket nats-server lists its nodes' WebSocket listeners
        // in connect_urls; ws_connect_urls where a server sends both.
        let announced = nats::info_list(json, "ws_connect_urls").or_else(|| nats::info_list(json, "connect_urls"));
        if let Some(announced) = announced {
            let urls = failover::announced_urls(announced, self.servers.current());
            let new = self.servers.learn(urls);
            if !new.is_empty() {
                self.log(1, &format!("the server announces {}", new.join(", ")));
            }
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
            self.ping(PingFor::Login);
        }
    }

    pub(super) fn pong(&mut self) {
        let ping = match self.pings.pop_front() {
            Some(ping) => ping,
            None => return,
        };
        self.outbox.confirmed(ping.mark);
        match ping.purpose {
            PingFor::Login => {
                if self.state == State::Connecting {
                    self.logged_in();
                }
            }
            PingFor::Subscribed(upto) => {
                let resyncing = !self.subs.resynced();
                let mut done: Vec<(Reply, u64)> = Vec::new();
                let refused = self.subs.confirm(upto, &mut done);
                self.answer_subscribes(done);
                if refused > 1 {
                    self.log(3, &format!("the server refused {} subscription(s) (permissions)", refused));
                }
                if resyncing && self.subs.resynced() {
                    self.log(2, &format!("subscribed again to {} subject(s)", self.subs.count()));
                    self.report_live();
                }
            }
            PingFor::Published => {}
            PingFor::KeepAlive => self.keepalive_out = false,
            PingFor::Drain => {
                if self.state == State::Draining {
                    self.finish_delete("not confirmed by the server");
                }
            }
        }
    }

    pub(super) fn server_error(&mut self, text: &str) {
        let lower = text.to_ascii_lowercase();
        if lower.contains("authorization violation") || lower.contains("authentication expired") || lower.contains("authentication revoked") {
            if self.state == State::Connecting {
                self.login_refused(&format!("the server refused the login: {}", text));
            } else {
                self.drop_connection(&format!("server error: {}", text));
            }
        } else if lower.starts_with("permissions violation for subscription") {
            // The connection stays up; only that subscription is refused,
            // and the SUBSCRIBEs naming it are answered 403 with the PONG
            // that follows. One line in full; the PONG's log counts the rest.
            let count = quoted(text).map_or(0, |subject| self.subs.refuse(&subject));
            if count <= 1 {
                self.log(3, &format!("server: {}", text));
            }
        } else if lower.starts_with("permissions violation for publish") {
            // The connection stays up; the publication is answered.
            self.log(3, &format!("server: {}", text));
            if let Some(refused) = quoted(text).and_then(|subject| self.outbox.refused(&subject)) {
                if let Some(reply) = Reply::of_message(&refused) {
                    self.answers.push(reply.answer(500, Some(format!("the NATS server refused it: {}", text))));
                }
            }
        } else if lower.starts_with("permissions violation") || lower.starts_with("invalid subject") {
            self.log(3, &format!("server: {}", text));
        } else {
            // Everything else is followed by the server closing the connection.
            self.drop_connection(&format!("server error: {}", text));
        }
    }
}

/// The first "…" quoted part of a server error (the subject it is about).
fn quoted(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let len = text.get(start..)?.find('"')?;
    text.get(start..start + len).map(str::to_string)
}
