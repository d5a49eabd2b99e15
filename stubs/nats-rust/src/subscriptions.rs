// What local listeners want from the server (CONTRACT.md, SUBSCRIBE and
// UNSUBSCRIBE control messages), how far the current connection has got
// with it, and the SUBSCRIBE messages waiting for the server to confirm.
//
// Every subject wanted gets a sid from one counter that only grows, kept
// across reconnects and servers. SUBs are written in sid order: on a new
// connection from the first sid on, afterwards for each new subject, which
// always has the highest sid. So what a connection has written is one
// number (every sid up to it), and so is what it has confirmed: NATS does
// not acknowledge SUB, but the server answers a PING only once it has
// processed what came before, so the PONG to the PING after a run of SUBs
// confirms every sid up to the run's last.
//
// A waiting SUBSCRIBE is filed under the highest sid it names; a
// confirmation takes the waiters filed up to it and no others, so the work
// it does is what it answers. Generic over the reply, it needs nothing
// but std and nats.rs, so its tests run on the host (tests/host.rs).
//
// Runs are bounded (CONTRACT.md, "Back-end requests are bounded"): at most
// RUN_LINES lines and RUN_BYTES bytes, then a PING, and no more than
// RUNS_OUT of them unanswered. 100,000 subjects on a new connection so go
// out as the server takes them (nats-server takes about 100 SUBs a
// millisecond) instead of as one 6 MB write that the host's outbound bound
// (4 MiB) would refuse.
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound::{Excluded, Unbounded};
use std::rc::Rc;

const RUN_LINES: usize = 256;
const RUN_BYTES: usize = 64 * 1024;
const RUNS_OUT: usize = 4;
// "SUB " + " " + a u64 sid + CRLF, around the subject.
const SUB_OVERHEAD: usize = 4 + 1 + 20 + 2;

pub struct Subscriptions<R> {
    sids: HashMap<Rc<str>, u64>,
    /// The same, by sid: the order SUBs are written in.
    subjects: BTreeMap<u64, Rc<str>>,
    next_sid: u64,
    /// Waiting SUBSCRIBEs by the highest sid each names.
    awaiting: BTreeMap<u64, Vec<Waiter<R>>>,
    /// Sids the server refused that a waiting SUBSCRIBE may name.
    refused: BTreeSet<u64>,
    /// Refusals since the last confirmation, for a log line that counts them.
    refusals: usize,
    link: Option<Link>,
}

struct Waiter<R> {
    reply: R,
    sids: Vec<u64>,
}

/// The current connection's progress through `subjects`.
struct Link {
    /// Every sid up to this was written (or dropped before it was).
    written: u64,
    /// Every sid up to this is confirmed.
    confirmed: u64,
    /// Sids written on this connection and no longer wanted.
    unsubs: VecDeque<u64>,
    runs_out: usize,
    /// The highest sid when the connection came up: once it is confirmed,
    /// everything wanted before is subscribed again.
    resync_to: u64,
}

/// One run written: its PING's PONG confirms every sid up to `upto`.
pub struct Run {
    pub upto: u64,
    pub subs: usize,
    pub unsubs: usize,
}

impl<R> Subscriptions<R> {
    pub fn new() -> Self {
        Subscriptions {
            sids: HashMap::new(),
            subjects: BTreeMap::new(),
            next_sid: 1,
            awaiting: BTreeMap::new(),
            refused: BTreeSet::new(),
            refusals: 0,
            link: None,
        }
    }

    pub fn count(&self) -> usize {
        self.sids.len()
    }

    fn confirmed(&self) -> u64 {
        self.link.as_ref().map_or(0, |link| link.confirmed)
    }

    /// Wants `subjects`; returns how many are new. The SUBSCRIBE's reply
    /// is answered (into `answers`, with 200) at once if every subject is
    /// already confirmed, else once they are.
    pub fn subscribe(&mut self, subjects: Vec<String>, reply: Option<R>, answers: &mut Vec<(R, u64)>) -> usize {
        let mut new = 0;
        let mut sids = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let sid = match self.sids.get(subject.as_str()) {
                Some(&sid) => sid,
                None => {
                    let sid = self.next_sid;
                    self.next_sid += 1;
                    let subject: Rc<str> = Rc::from(subject);
                    self.sids.insert(subject.clone(), sid);
                    self.subjects.insert(sid, subject);
                    new += 1;
                    sid
                }
            };
            sids.push(sid);
        }
        if let Some(reply) = reply {
            let last = sids.iter().copied().max().unwrap_or(0);
            let waiter = Waiter { reply, sids };
            if last <= self.confirmed() {
                answers.push(self.answer(waiter));
            } else {
                self.awaiting.entry(last).or_insert_with(Vec::new).push(waiter);
            }
        }
        new
    }

    /// No longer wants `subjects`; returns how many were wanted. Their
    /// UNSUBs go out with the next run, if this connection subscribed them.
    pub fn unsubscribe(&mut self, subjects: Vec<String>) -> usize {
        let mut count = 0;
        for subject in subjects {
            if let Some(sid) = self.sids.remove(subject.as_str()) {
                self.subjects.remove(&sid);
                count += 1;
                if let Some(link) = self.link.as_mut().filter(|link| sid <= link.written) {
                    link.unsubs.push_back(sid);
                }
            }
        }
        count
    }

    /// The server refused a subscription to `subject` (a permissions
    /// violation). It is no longer wanted; SUBSCRIBEs naming it are
    /// answered 403 when their confirmation comes, since the server reports
    /// before it answers the PING after the SUB. Returns the refusals since
    /// the last confirmation (1: the first, worth logging in full).
    pub fn refuse(&mut self, subject: &str) -> usize {
        if let Some(sid) = self.sids.remove(subject) {
            self.subjects.remove(&sid);
            if !self.awaiting.is_empty() {
                self.refused.insert(sid);
            }
        }
        self.refusals += 1;
        self.refusals
    }

    /// A connection is up: everything wanted is to be subscribed again, in
    /// runs. Returns how many subjects that is.
    pub fn connection_up(&mut self) -> usize {
        let last = self.next_sid - 1;
        self.link = Some(Link { written: 0, confirmed: 0, unsubs: VecDeque::new(), runs_out: 0, resync_to: last });
        self.refusals = 0;
        self.sids.len()
    }

    /// Waiting SUBSCRIBEs stay; the next connection confirms them.
    pub fn connection_lost(&mut self) {
        self.link = None;
    }

    /// Everything wanted when the connection came up is subscribed again.
    pub fn resynced(&self) -> bool {
        self.link.as_ref().map_or(false, |link| link.confirmed >= link.resync_to)
    }

    /// Writes the next run of UNSUBs and SUBs into `out`, when there is
    /// one and fewer than RUNS_OUT are unanswered; the caller writes the
    /// PING after it.
    pub fn next_run(&mut self, out: &mut Vec<u8>) -> Option<Run> {
        let last_sid = self.next_sid - 1;
        let link = self.link.as_mut()?;
        if link.runs_out >= RUNS_OUT || (link.unsubs.is_empty() && link.written >= last_sid) {
            return None;
        }
        let start = out.len();
        let mut run = Run { upto: link.written, subs: 0, unsubs: 0 };
        while run.unsubs < RUN_LINES {
            match link.unsubs.pop_front() {
                Some(sid) => crate::nats::write_unsub(out, sid),
                None => break,
            }
            run.unsubs += 1;
        }
        let mut walk = self.subjects.range((Excluded(link.written), Unbounded)).peekable();
        // A run covers every sid up to the next one it leaves for later, or
        // every sid there is: sids dropped before they were written too,
        // which a waiting SUBSCRIBE may still name.
        loop {
            let (sid, subject) = match walk.peek() {
                Some(&(&sid, subject)) => (sid, subject),
                None => {
                    run.upto = last_sid;
                    break;
                }
            };
            if run.unsubs + run.subs >= RUN_LINES || out.len() - start + subject.len() + SUB_OVERHEAD > RUN_BYTES {
                run.upto = sid - 1;
                break;
            }
            crate::nats::write_sub(out, subject, sid);
            run.subs += 1;
            walk.next();
        }
        link.written = link.written.max(run.upto);
        link.runs_out += 1;
        Some(run)
    }

    /// The PONG to a run's PING: every sid up to `upto` is confirmed, and
    /// the SUBSCRIBEs waiting for that are answered. Returns the refusals
    /// the server reported since the last confirmation.
    pub fn confirm(&mut self, upto: u64, answers: &mut Vec<(R, u64)>) -> usize {
        let confirmed = match self.link.as_mut() {
            Some(link) => {
                link.runs_out = link.runs_out.saturating_sub(1);
                link.confirmed = link.confirmed.max(upto);
                link.confirmed
            }
            None => return 0,
        };
        while let Some(&first) = self.awaiting.keys().next() {
            if first > confirmed {
                break;
            }
            for waiter in self.awaiting.remove(&first).unwrap_or_default() {
                answers.push(self.answer(waiter));
            }
        }
        if self.awaiting.is_empty() {
            self.refused.clear();
        }
        std::mem::replace(&mut self.refusals, 0)
    }

    fn answer(&self, waiter: Waiter<R>) -> (R, u64) {
        let denied = !self.refused.is_empty() && waiter.sids.iter().any(|sid| self.refused.contains(sid));
        (waiter.reply, if denied { 403 } else { 200 })
    }
}
