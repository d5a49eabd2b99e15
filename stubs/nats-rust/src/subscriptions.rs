// What local listeners want from the server (CONTRACT.md, SUBSCRIBE and
// UNSUBSCRIBE control messages): subject → sid, kept across reconnects and
// servers, and the SUBSCRIBE messages waiting for the server to confirm.
// NATS does not acknowledge SUB; the PONG to a PING sent after it is the
// confirmation, since the server answers only once it has processed the SUB.
use std::collections::{BTreeMap, BTreeSet};

use crate::cbor;
use crate::replies::{Answer, Reply};
use crate::subjects;

pub struct Subscriptions {
    wanted: BTreeMap<String, u32>,
    next_sid: u32,
    /// Subjects the server has confirmed on this connection.
    confirmed: BTreeSet<String>,
    /// SUBSCRIBE control messages and the subjects each waits for.
    awaiting: Vec<(Reply, Vec<String>)>,
}

/// The subjects of a control message's `body.resources`; None when it has
/// no such list. Resources that are not addresses are counted in `skipped`.
pub fn resources(entries: &[(String, &[u8])], prefix: &str, skipped: &mut usize) -> Option<Vec<String>> {
    let body = cbor::map_entries(cbor::lookup(entries, "body")?).ok()?;
    let items = cbor::array_items(cbor::lookup(&body, "resources")?).ok()?;
    let mut subjects = Vec::new();
    for item in items {
        match cbor::text(item).and_then(|a| subjects::address_to_subject(prefix, &a)) {
            Some(subject) => subjects.push(subject),
            None => *skipped += 1,
        }
    }
    Some(subjects)
}

impl Subscriptions {
    pub fn new() -> Self {
        Subscriptions { wanted: BTreeMap::new(), next_sid: 1, confirmed: BTreeSet::new(), awaiting: Vec::new() }
    }

    /// Wants `subjects`; returns those that are new, with their sids. The
    /// SUBSCRIBE is answered once all of its subjects are confirmed.
    pub fn subscribe(&mut self, subjects: Vec<String>, reply: Option<Reply>) -> Vec<(String, u32)> {
        let mut new = Vec::new();
        for subject in &subjects {
            if !self.wanted.contains_key(subject) {
                let sid = self.next_sid;
                self.next_sid = self.next_sid.wrapping_add(1).max(1);
                self.wanted.insert(subject.clone(), sid);
                new.push((subject.clone(), sid));
            }
        }
        if let Some(reply) = reply {
            self.awaiting.push((reply, subjects));
        }
        new
    }

    /// No longer wants `subjects`; returns the sids to UNSUB.
    pub fn unsubscribe(&mut self, subjects: Vec<String>) -> Vec<u32> {
        let mut sids = Vec::new();
        for subject in subjects {
            if let Some(sid) = self.wanted.remove(&subject) {
                self.confirmed.remove(&subject);
                sids.push(sid);
            }
        }
        sids
    }

    /// Everything wanted, to subscribe again on a new connection.
    pub fn all(&self) -> Vec<(String, u32)> {
        self.wanted.iter().map(|(s, sid)| (s.clone(), *sid)).collect()
    }

    pub fn confirm(&mut self, subjects: Vec<String>, answers: &mut Vec<Answer>) {
        for subject in subjects {
            if self.wanted.contains_key(&subject) {
                self.confirmed.insert(subject);
            }
        }
        self.answer_ready(&[], answers);
    }

    /// The server refused these subjects (a permissions violation).
    pub fn refuse(&mut self, refused: &[String], answers: &mut Vec<Answer>) {
        for subject in refused {
            self.wanted.remove(subject);
        }
        self.answer_ready(refused, answers);
    }

    pub fn connection_lost(&mut self) {
        self.confirmed.clear();
    }

    /// Answers each waiting SUBSCRIBE whose subjects are all confirmed (200),
    /// or one of whose subjects the server refused (403).
    pub fn answer_ready(&mut self, refused: &[String], answers: &mut Vec<Answer>) {
        let confirmed = &self.confirmed;
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.awaiting).into_iter().partition(|(_, subjects)| {
            subjects.iter().any(|s| refused.contains(s)) || subjects.iter().all(|s| confirmed.contains(s))
        });
        self.awaiting = waiting;
        for (reply, subjects) in done {
            let denied = subjects.iter().any(|s| refused.contains(s));
            answers.push(reply.answer(if denied { 403 } else { 200 }, None));
        }
    }
}
