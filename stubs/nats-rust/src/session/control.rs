// Control messages from the runtime (`to` is the stub URL): SUBSCRIBE and
// UNSUBSCRIBE (subscriptions.rs keeps what is wanted), and DELETE, which
// ends the session for good: UNSUB everything, a PING to learn the server
// has every PUB (bounded wait), close, answer 200.
use super::{clear, timer, PingFor, Session, State, DRAIN_MAX_MS};
use crate::abi;
use crate::cbor;
use crate::nats;
use crate::replies::{id_text, Reply};
use crate::subscriptions;

impl Session {
    pub(super) fn control(&mut self, entries: &[(String, &[u8])]) {
        let kind = cbor::lookup(entries, "type").and_then(cbor::text).unwrap_or_default();
        let subscribe = match kind.as_str() {
            "SUBSCRIBE" => true,
            "UNSUBSCRIBE" => false,
            "DELETE" => return self.delete(Reply::of(entries)),
            _ => return,
        };
        if matches!(self.state, State::Draining | State::Closed) {
            self.log(3, &format!("ignoring {} {}: the stub has been deleted", kind, id_text(entries)));
            return;
        }
        let mut skipped = 0;
        let subjects = match subscriptions::resources(entries, &self.cfg.subject_prefix, &mut skipped) {
            Some(subjects) => subjects,
            None => {
                self.log(3, &format!("skipping {} {}: body.resources must be a list of addresses", kind, id_text(entries)));
                return;
            }
        };
        if skipped > 0 {
            self.log(3, &format!("skipping {} resource(s) in {} {}: not scheme://host/path addresses", skipped, kind, id_text(entries)));
        }
        let live = self.state == State::Live;
        if subscribe {
            let new = self.subs.subscribe(subjects, Reply::of(entries));
            if live && !new.is_empty() {
                for (subject, sid) in &new {
                    self.out.extend_from_slice(&nats::sub(subject, *sid));
                }
                self.log(2, &format!("subscribing to {} subject(s)", new.len()));
                self.ping(PingFor::Subscribed(new.into_iter().map(|(s, _)| s).collect()));
            }
            self.subs.answer_ready(&[], &mut self.answers);
        } else {
            for sid in self.subs.unsubscribe(subjects) {
                if live {
                    self.out.extend_from_slice(&nats::unsub(sid));
                }
            }
        }
    }

    /// NATS keeps nothing for a client once it is gone, so ending the
    /// session is: UNSUB everything, a PING to learn the server has every
    /// PUB (bounded wait), close.
    pub(super) fn delete(&mut self, reply: Option<Reply>) {
        self.deletes.extend(reply);
        match self.state {
            State::Draining => {}
            State::Live => {
                self.state = State::Draining;
                for (_, sid) in self.subs.all() {
                    self.out.extend_from_slice(&nats::unsub(sid));
                }
                self.ping(PingFor::Drain);
                clear(&mut self.ping_timer);
                self.drain_timer = timer(DRAIN_MAX_MS);
                self.log(2, &format!("DELETE: draining {} unconfirmed publication(s)", self.outbox.unconfirmed()));
            }
            _ => self.finish_delete("no NATS server was connected when the stub was deleted"),
        }
    }

    pub(super) fn finish_delete(&mut self, unconfirmed_reason: &str) {
        self.state = State::Closed;
        self.stop_timers();
        self.out.clear();
        if let Some(conn) = self.conn.take() {
            abi::close(conn);
        }
        let left = self.answer_all_held(503, unconfirmed_reason);
        self.log(2, &format!("deleted: connection closed, {} publication(s) answered 503", left));
        for reply in std::mem::take(&mut self.deletes) {
            self.answers.push(reply.answer(200, None));
        }
    }

    pub(super) fn answer_all_held(&mut self, code: u64, reason: &str) -> usize {
        let all = self.outbox.take_all();
        let count = all.len();
        for o in all {
            if let Some(reply) = o.reply {
                self.answers.push(reply.answer(code, Some(reason.to_string())));
            }
        }
        count
    }
}
