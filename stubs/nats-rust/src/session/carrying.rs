// Carrying messages: a message for a remote address is published as it is
// (CBOR, byte for byte) on the subject of its `to`, held while no server is
// connected, or answered when it cannot be carried (CONTRACT.md, "A stub
// never drops a message silently"). Inbound publications are posted to the
// bus once checked to be messages.
use super::control::Tally;
use super::{Session, State};
use crate::cbor;
use crate::outbox::{self, Outgoing};
use crate::replies::{id_text, Reply};
use crate::subjects;

impl Session {
    pub fn on_messages(&mut self, batch: &[u8]) {
        let items = match cbor::array_items(batch) {
            Ok(items) => items,
            Err(e) => {
                self.log(3, &format!("skipping a batch that is not a CBOR array: {}", e));
                return;
            }
        };
        let mut tally = Tally::default();
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
                self.control(item, &entries, &mut tally);
            } else {
                self.carry(item, &to, &entries);
            }
        }
        self.log_tally(&tally);
    }

    /// A message the stub cannot carry is answered to its sender; a
    /// RESPONSE (or a message without a sender) only logged.
    pub(super) fn refuse(&mut self, entries: &[(String, &[u8])], code: u64, reason: String) {
        self.log(3, &format!("cannot carry message {}: {}", id_text(entries), reason));
        if let Some(reply) = Reply::of(entries) {
            self.answers.push(reply.answer(code, Some(reason)));
        }
    }

    pub(super) fn carry(&mut self, item: &[u8], to: &str, entries: &[(String, &[u8])]) {
        match self.state {
            State::Draining | State::Closed => return self.refuse(entries, 503, "the stub has been deleted".into()),
            State::Refused => return self.refuse(entries, 503, "the NATS server refused the stub's login".into()),
            _ => {}
        }
        let subject = match subjects::address_to_subject(&self.cfg.subject_prefix, to) {
            Some(subject) => subject,
            None => return self.refuse(entries, 500, format!("\"{}\" is not a scheme://host/path address", to)),
        };
        // Checked before the message is copied anywhere.
        let max = self.max_payload();
        if item.len() > max {
            return self.refuse(entries, 413, outbox::too_large(item.len(), max));
        }
        // Held while no server is connected; while one is but the host
        // holds back our writes (unsent.rs), bounded there: either way a
        // full buffer is answered 503 rather than grown.
        let full = if self.state == State::Live {
            self.unsent.full(self.out.len() + item.len())
        } else {
            self.outbox.full(item.len())
        };
        if let Some(reason) = full {
            return self.refuse(entries, 503, reason);
        }
        // The message goes out as the runtime encoded it, byte for byte.
        let o = Outgoing { subject, payload: item.to_vec(), reply: Reply::of(entries) };
        if self.state == State::Live {
            self.outbox.write(&mut self.out, o);
        } else {
            self.outbox.hold(o);
        }
    }

    /// An inbound payload is posted only if it is one CBOR map with text
    /// type and from; others are logged and skipped.
    pub(super) fn deliverable(&self, subject: &str, payload: &[u8]) -> bool {
        match check_message(payload) {
            Ok(()) => true,
            Err(why) => {
                self.log(3, &format!("skipping a message on {}: {}", subject, why));
                false
            }
        }
    }
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
