// subscriptions.rs: bounded runs, confirmations that answer exactly the
// SUBSCRIBEs they cover, and what a new connection makes again.
use crate::subscriptions::{Run, Subscriptions};

type Subs = Subscriptions<&'static str>;

fn subjects(from: usize, count: usize) -> Vec<String> {
    (from..from + count).map(|i| format!("protofly.hyperty.example%2Eorg.storm-{}", i)).collect()
}

fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out).split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// Every run allowed now, each written into its own buffer.
fn runs(subs: &mut Subs) -> Vec<(Run, Vec<u8>)> {
    let mut all = Vec::new();
    loop {
        let mut out = Vec::new();
        match subs.next_run(&mut out) {
            Some(run) => all.push((run, out)),
            None => return all,
        }
    }
}

#[test]
fn a_storm_goes_out_in_runs_of_at_most_256_subs_and_four_unanswered() {
    let mut subs = Subs::new();
    let mut answers = Vec::new();
    for i in 0..391 {
        subs.subscribe(subjects(i * 256, 256), Some("ctl"), &mut answers);
    }
    assert!(answers.is_empty(), "nothing is confirmed before a connection");
    assert_eq!(subs.connection_up(), 391 * 256);
    let mut written = 0;
    let mut pongs = 0;
    loop {
        let batch = runs(&mut subs);
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 4);
        for (run, out) in &batch {
            assert!(run.subs <= 256 && out.len() <= 64 * 1024);
            assert_eq!(lines(out).len(), run.subs);
            written += run.subs;
        }
        for (run, _) in batch {
            pongs += 1;
            subs.confirm(run.upto, &mut answers);
        }
    }
    assert_eq!(written, 391 * 256);
    assert_eq!(pongs, 391);
    assert_eq!(answers.len(), 391, "each SUBSCRIBE answered once");
    assert!(answers.iter().all(|(_, code)| *code == 200));
    assert!(subs.resynced());
}

#[test]
fn long_subjects_keep_a_run_within_64_kib() {
    let mut subs = Subs::new();
    let long: Vec<String> = (0..256).map(|i| format!("p.{}.{}", "x".repeat(1000), i)).collect();
    subs.subscribe(long, None, &mut Vec::new());
    subs.connection_up();
    let batch = runs(&mut subs);
    assert!(batch.len() > 1);
    assert!(batch.iter().all(|(_, out)| out.len() <= 64 * 1024));
    assert_eq!(batch.iter().map(|(run, _)| run.subs).sum::<usize>(), 256);
}

#[test]
fn a_subscribe_is_answered_by_the_pong_after_its_subs_and_not_before() {
    let mut subs = Subs::new();
    let mut answers = Vec::new();
    subs.connection_up();
    subs.subscribe(subjects(0, 2), Some("first"), &mut answers);
    let first = runs(&mut subs);
    subs.subscribe(subjects(1, 2), Some("second"), &mut answers);
    let second = runs(&mut subs);
    assert_eq!(lines(&second[0].1), vec!["SUB protofly.hyperty.example%2Eorg.storm-2 3".to_string()], "only the new subject");
    assert!(answers.is_empty());
    subs.confirm(first[0].0.upto, &mut answers);
    assert_eq!(answers, vec![("first", 200)]);
    subs.confirm(second[0].0.upto, &mut answers);
    assert_eq!(answers, vec![("first", 200), ("second", 200)]);
    subs.subscribe(subjects(0, 3), Some("known"), &mut answers);
    assert_eq!(answers.last(), Some(&("known", 200)), "already confirmed: answered at once");
    assert!(runs(&mut subs).is_empty());
}

#[test]
fn unsub_goes_out_only_for_what_this_connection_subscribed() {
    let mut subs = Subs::new();
    let mut answers = Vec::new();
    subs.connection_up();
    subs.subscribe(subjects(0, 1), None, &mut answers);
    let first = runs(&mut subs);
    subs.confirm(first[0].0.upto, &mut answers);
    // Written, then dropped: UNSUB. Asked and dropped before any run: nothing.
    subs.subscribe(subjects(1, 1), Some("asked-then-dropped"), &mut answers);
    subs.unsubscribe(subjects(0, 2));
    let batch = runs(&mut subs);
    assert_eq!(batch.len(), 1);
    assert_eq!(lines(&batch[0].1), vec!["UNSUB 1".to_string()]);
    subs.confirm(batch[0].0.upto, &mut answers);
    assert_eq!(answers, vec![("asked-then-dropped", 200)], "a waiter naming a dropped subject is still answered");
    assert_eq!(subs.count(), 0);
}

#[test]
fn a_refused_subject_answers_403_to_the_subscribes_naming_it() {
    let mut subs = Subs::new();
    let mut answers = Vec::new();
    subs.connection_up();
    subs.subscribe(subjects(0, 2), Some("names-the-refused"), &mut answers);
    subs.subscribe(subjects(5, 1), Some("other"), &mut answers);
    let batch = runs(&mut subs);
    assert_eq!(subs.refuse(&subjects(1, 1)[0]), 1);
    assert_eq!(subs.confirm(batch[0].0.upto, &mut answers), 1, "one refusal since the last confirmation");
    assert_eq!(answers, vec![("names-the-refused", 403), ("other", 200)]);
    assert_eq!(subs.count(), 2, "the refused subject is no longer wanted");
    // Asked again later, it is a new subscription and may be accepted.
    subs.subscribe(subjects(1, 1), Some("again"), &mut answers);
    let batch = runs(&mut subs);
    subs.confirm(batch[0].0.upto, &mut answers);
    assert_eq!(answers.last(), Some(&("again", 200)));
}

#[test]
fn a_new_connection_makes_everything_again_with_the_same_sids_and_answers_what_waited() {
    let mut subs = Subs::new();
    let mut answers = Vec::new();
    subs.connection_up();
    subs.subscribe(subjects(0, 300), Some("cut-off"), &mut answers);
    let lost = runs(&mut subs);
    assert_eq!(lost.len(), 2);
    subs.confirm(lost[0].0.upto, &mut answers);
    subs.connection_lost();
    assert!(answers.is_empty());
    assert!(!subs.resynced());
    subs.connection_up();
    let again = runs(&mut subs);
    let all: Vec<String> = again.iter().flat_map(|(_, out)| lines(out)).collect();
    assert_eq!(all.len(), 300);
    assert_eq!(all[0], "SUB protofly.hyperty.example%2Eorg.storm-0 1");
    assert_eq!(all[299], "SUB protofly.hyperty.example%2Eorg.storm-299 300");
    subs.confirm(again[0].0.upto, &mut answers);
    assert!(answers.is_empty() && !subs.resynced());
    subs.confirm(again[1].0.upto, &mut answers);
    assert_eq!(answers, vec![("cut-off", 200)]);
    assert!(subs.resynced());
}

#[test]
fn nothing_wanted_is_resynced_at_once() {
    let mut subs = Subs::new();
    subs.connection_up();
    assert!(subs.resynced());
    assert!(runs(&mut subs).is_empty());
    let mut answers = Vec::new();
    subs.subscribe(Vec::new(), Some("empty"), &mut answers);
    assert_eq!(answers, vec![("empty", 200)]);
}
