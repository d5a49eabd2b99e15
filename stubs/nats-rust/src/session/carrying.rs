// Carrying messages: a message for a remote address is published as it is
// (CBOR, byte for byte) on the subject of its `to`, held while no server is
// connected, or answered when it cannot be carried (CONTRACT.md, "A stub
// never drops a message silently"). Inbound publications are posted to the
// bus once checked to be messages, all those of a frame in one batch.
//
// This is the path every message takes, so it allocates nothing per
// message: fields are read in place (message_fields.rs), the subject of the
// last `to` is kept, publications are kept as the bytes written
// (outbox.rs), payloads go into the batch as they came (cbor_batch.rs).
use super::control::{to_self, Tally};
use super::{Session, State};
use crate::cbor;
use crate::message_fields::Fields;
use crate::outbox;
use crate::replies::Reply;
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
            let fields = match Fields::read(item) {
                Ok(fields) => fields,
                Err(e) => {
                    self.log(3, &format!("skipping a message that is not a map: {}", e));
                    continue;
                }
            };
            let to = match fields.to() {
                Some(to) => to,
                None => {
                    self.log(3, &format!("skipping message {} without a string \"to\"", fields.id_text()));
                    continue;
                }
            };
            if to_self(&to, &self.cfg.stub_url) {
                self.to_stub(item, &to, &fields, &mut tally);
            } else {
                self.carry(item, &to, &fields);
            }
        }
        self.log_tally(&tally);
    }

    /// A message the stub cannot carry is answered to its sender; a
    /// RESPONSE (or a message without a sender) only logged.
    pub(super) fn refuse(&mut self, fields: &Fields, code: u64, reason: String) {
        self.log(3, &format!("cannot carry message {}: {}", fields.id_text(), reason));
        if let Some(reply) = Reply::of(fields) {
            self.answers.push(reply.answer(code, Some(reason)));
        }
    }

    pub(super) fn carry(&mut self, item: &[u8], to: &str, fields: &Fields) {
        match self.state {
            State::Draining | State::Closed => return self.refuse(fields, 503, "the stub has been deleted".into()),
            State::Refused => return self.refuse(fields, 503, "the NATS server refused the stub's login".into()),
            _ => {}
        }
        // A hyperty's messages mostly go to one address after another.
        if self.last_subject.as_ref().map_or(true, |(last, _)| last != to) {
            match subjects::address_to_subject(&self.cfg.subject_prefix, to) {
                Some(subject) => self.last_subject = Some((to.to_string(), subject)),
                None => return self.refuse(fields, 500, format!("\"{}\" is not a scheme://host/path address", to)),
            }
        }
        // Checked before the message is copied anywhere.
        let max = self.max_payload();
        if item.len() > max {
            return self.refuse(fields, 413, outbox::too_large(item.len(), max));
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
            return self.refuse(fields, 503, reason);
        }
        // The message goes out as the runtime encoded it, byte for byte.
        let subject = self.last_subject.as_ref().map_or("", |(_, subject)| subject.as_str());
        self.outbox.hold(subject, item);
        if self.state == State::Live {
            self.outbox.write_held(&mut self.out, max, |_| {});
        }
    }

    /// An inbound payload is posted only if it is one CBOR map with text
    /// type and from; others are logged and skipped.
    pub(super) fn deliverable(&self, subject: &[u8], payload: &[u8]) -> bool {
        match check_message(payload) {
            Ok(()) => true,
            Err(why) => {
                self.log(3, &format!("skipping a message on {}: {}", String::from_utf8_lossy(subject), why));
                false
            }
        }
    }
}

/// A payload is posted only if it is one CBOR map with text type and from.
fn check_message(payload: &[u8]) -> Result<(), String> {
    let fields = Fields::read(payload).map_err(|e| format!("not one CBOR map ({})", e))?;
    if fields.kind().is_none() || fields.from().is_none() {
        return Err("not a message (needs text type and from)".to_string());
    }
    Ok(())
}
