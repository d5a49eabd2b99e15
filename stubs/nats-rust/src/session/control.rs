// Messages to the stub itself (its URL or below, CONTRACT.md). Control
// messages come from the runtime (`from` its URL, `to` the stub URL):
// SUBSCRIBE and UNSUBSCRIBE (subscriptions.rs keeps what is wanted and
// writes it in bounded runs), and DELETE, which ends the session for good:
// a PING to learn the server has every PUB (bounded wait), close, answer
// 200. Anything else addressed to the stub is answered 400.
//
// The runtime hands over up to 64 control messages of 256 addresses in one
// call. A call takes on at most ADDRESSES_PER_CALL of them; the messages
// after that wait, in order, for a timer that fires at once, so no call
// the control traffic causes takes long (CONTRACT.md, "Back-end requests
// are bounded").
use super::{clear, timer, PingFor, Session, State, DRAIN_MAX_MS};
use crate::abi;
use crate::cbor;
use crate::message_fields::Fields;
use crate::replies::Reply;
use crate::subjects;

// Measured in V8 (parse, map inserts, the waiter): about half a
// microsecond an address, so a call's share takes about a millisecond.
const ADDRESSES_PER_CALL: usize = 2048;

/// What one host call's control messages asked, for one log line: a storm
/// of 100,000 addresses logs counts, not addresses.
#[derive(Default)]
pub(super) struct Tally {
    subscribes: usize,
    addresses: usize,
    new_subjects: usize,
    unsubscribes: usize,
    dropped_subjects: usize,
}

/// The subjects of a control message's `body.resources`; None when it has
/// no such list. Resources that are not addresses are counted in `skipped`.
fn resources(item: &[u8], prefix: &str, skipped: &mut usize) -> Option<Vec<String>> {
    let entries = cbor::map_entries(item).ok()?;
    let body = cbor::map_entries(cbor::lookup(&entries, "body")?).ok()?;
    let items = cbor::array_items(cbor::lookup(&body, "resources")?).ok()?;
    let mut subjects = Vec::with_capacity(items.len());
    for item in items {
        match cbor::text(item).and_then(|a| subjects::address_to_subject(prefix, &a)) {
            Some(subject) => subjects.push(subject),
            None => *skipped += 1,
        }
    }
    Some(subjects)
}

const NOT_UNDERSTOOD: &str =
    "not understood: the NATS stub takes SUBSCRIBE, UNSUBSCRIBE and DELETE from its runtime at its own address, nothing else";

/// The stub URL, or an address below it.
pub(super) fn to_self(to: &str, stub_url: &str) -> bool {
    to.strip_prefix(stub_url).map_or(false, |rest| rest.is_empty() || rest.starts_with('/'))
}

impl Session {
    /// A message addressed to the stub itself: the runtime's control
    /// messages are taken; anything else is answered 400 (a RESPONSE, which
    /// is never answered, only logged).
    pub(super) fn to_stub(&mut self, item: &[u8], to: &str, fields: &Fields, tally: &mut Tally) {
        let runtime = to == self.cfg.stub_url && fields.from().as_deref() == Some(self.cfg.runtime_url.as_str());
        let control = matches!(fields.kind().as_deref(), Some("SUBSCRIBE" | "UNSUBSCRIBE" | "DELETE"));
        if runtime && control {
            return self.control(item, fields, tally);
        }
        self.log(3, &format!("message {} to the stub itself: {}", fields.id_text(), NOT_UNDERSTOOD));
        if let Some(reply) = Reply::of(fields) {
            self.answers.push(reply.answer(400, Some(NOT_UNDERSTOOD.into())));
        }
    }

    /// A control message handed over by the runtime: a DELETE at once
    /// (what comes after it is answered 503), the others now or, past this
    /// call's share, behind those already waiting.
    pub(super) fn control(&mut self, item: &[u8], fields: &Fields, tally: &mut Tally) {
        if fields.kind().as_deref() == Some("DELETE") {
            if !self.deferred.is_empty() {
                self.log(3, &format!("DELETE: {} waiting SUBSCRIBE/UNSUBSCRIBE message(s) dropped", self.deferred.len()));
                self.deferred.clear();
            }
            return self.delete(Reply::of(fields));
        }
        if self.deferred.is_empty() && tally.addresses < ADDRESSES_PER_CALL {
            self.subscription_change(item, fields, tally);
        } else {
            self.deferred.push_back(item.to_vec());
        }
    }

    /// The control messages that waited, as many as one call takes on.
    pub(super) fn control_deferred(&mut self) {
        let mut tally = Tally::default();
        while tally.addresses < ADDRESSES_PER_CALL {
            let item = match self.deferred.pop_front() {
                Some(item) => item,
                None => break,
            };
            // They were maps when they came; only a change of state could
            // make one unreadable now, and there is none.
            if let Ok(fields) = Fields::read(&item) {
                self.subscription_change(&item, &fields, &mut tally);
            }
        }
        self.log_tally(&tally);
    }

    fn subscription_change(&mut self, item: &[u8], fields: &Fields, tally: &mut Tally) {
        let kind = fields.kind().unwrap_or_default();
        let subscribe = match kind.as_ref() {
            "SUBSCRIBE" => true,
            "UNSUBSCRIBE" => false,
            _ => return,
        };
        if matches!(self.state, State::Draining | State::Closed) {
            self.log(3, &format!("ignoring {} {}: the stub has been deleted", kind, fields.id_text()));
            return;
        }
        let mut skipped = 0;
        let subjects = match resources(item, &self.cfg.subject_prefix, &mut skipped) {
            Some(subjects) => subjects,
            None => {
                self.log(3, &format!("skipping {} {}: body.resources must be a list of addresses", kind, fields.id_text()));
                return;
            }
        };
        tally.addresses += subjects.len() + skipped;
        if skipped > 0 {
            self.log(3, &format!("skipping {} resource(s) in {} {}: not scheme://host/path addresses", skipped, kind, fields.id_text()));
        }
        // Nothing is written here: the flush at the end of the call writes
        // the next runs (subscriptions.rs), so any number of addresses
        // costs this call a map insert or removal each.
        if subscribe {
            let mut done: Vec<(Reply, u64)> = Vec::new();
            tally.subscribes += 1;
            tally.new_subjects += self.subs.subscribe(subjects, Reply::of(fields), &mut done);
            self.answer_subscribes(done);
        } else {
            tally.unsubscribes += 1;
            tally.dropped_subjects += self.subs.unsubscribe(subjects);
        }
    }

    pub(super) fn log_tally(&self, tally: &Tally) {
        if tally.subscribes + tally.unsubscribes > 0 {
            self.log(
                2,
                &format!(
                    "{} SUBSCRIBE(s): {} new subject(s); {} UNSUBSCRIBE(s): {} subject(s) dropped; {} wanted; {} control message(s) waiting",
                    tally.subscribes,
                    tally.new_subjects,
                    tally.unsubscribes,
                    tally.dropped_subjects,
                    self.subs.count(),
                    self.deferred.len()
                ),
            );
        }
    }

    /// SUBSCRIBE control messages whose subjects the server confirmed (200)
    /// or refused (403).
    pub(super) fn answer_subscribes(&mut self, done: Vec<(Reply, u64)>) {
        self.answers.extend(done.into_iter().map(|(reply, code)| reply.answer(code, None)));
    }

    /// The next runs of SUBs and UNSUBs, each followed by the PING whose
    /// PONG confirms it, as far as the runs unanswered allow.
    pub(super) fn write_subscription_runs(&mut self) {
        while let Some(run) = self.subs.next_run(&mut self.out) {
            self.ping(PingFor::Subscribed(run.upto));
        }
    }

    /// NATS keeps nothing for a client once it is gone, so ending the
    /// session is a PING to learn the server has every PUB (bounded wait),
    /// then closing, which ends every subscription at the server at once:
    /// no UNSUBs, however many there are. Publications that arrive
    /// meanwhile are still delivered.
    pub(super) fn delete(&mut self, reply: Option<Reply>) {
        self.deletes.extend(reply);
        match self.state {
            State::Draining => {}
            State::Live => {
                self.state = State::Draining;
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
        self.discard_output();
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
        let answers = &mut self.answers;
        self.outbox.take_all(|message| {
            if let Some(reply) = Reply::of_message(message) {
                answers.push(reply.answer(code, Some(reason.to_string())));
            }
        })
    }
}
