// outbox.rs: publications are written byte for byte, kept until a PONG
// confirms them, written again in order after a lost connection, and
// answered (never repeated) when the server refuses one or it is over the
// server's limit.
use crate::outbox::Outbox;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn live(outbox: &mut Outbox, subject: &str, payload: &[u8], out: &mut Vec<u8>) {
    outbox.hold(subject, payload);
    outbox.write_held(out, 1 << 20, |_| panic!("nothing is over the limit"));
}

#[test]
fn a_publication_is_written_as_one_pub_and_kept_until_confirmed() {
    let mut outbox = Outbox::new(10);
    let mut out = Vec::new();
    live(&mut outbox, "p.a", b"one", &mut out);
    live(&mut outbox, "p.b", b"two!", &mut out);
    assert_eq!(text(&out), "PUB p.a 3\r\none\r\nPUB p.b 4\r\ntwo!\r\n");
    assert_eq!(outbox.unpinged(), 2);
    let mark = outbox.ping_mark();
    assert_eq!(outbox.unpinged(), 0);
    live(&mut outbox, "p.c", b"3", &mut out);
    outbox.confirmed(mark);
    assert_eq!(outbox.unconfirmed(), 1, "the PUB after the PING waits for the next PONG");
}

#[test]
fn what_a_lost_connection_did_not_confirm_is_written_again_first_and_in_order() {
    let mut outbox = Outbox::new(10);
    let mut out = Vec::new();
    live(&mut outbox, "p.a", b"1", &mut out);
    let mark = outbox.ping_mark();
    live(&mut outbox, "p.a", b"2", &mut out);
    live(&mut outbox, "p.a", b"3", &mut out);
    outbox.confirmed(mark);
    assert_eq!(outbox.connection_lost(), 2);
    outbox.hold("p.a", b"4");
    let mut again = Vec::new();
    assert_eq!(outbox.write_held(&mut again, 1 << 20, |_| {}), 3);
    assert_eq!(text(&again), "PUB p.a 1\r\n2\r\nPUB p.a 1\r\n3\r\nPUB p.a 1\r\n4\r\n");
    let mark = outbox.ping_mark();
    outbox.confirmed(mark);
    assert_eq!(outbox.unconfirmed(), 0);
}

#[test]
fn a_refused_publication_is_handed_back_once_and_never_written_again() {
    let mut outbox = Outbox::new(10);
    let mut out = Vec::new();
    live(&mut outbox, "p.a", b"a1", &mut out);
    live(&mut outbox, "p.ab", b"ab", &mut out);
    live(&mut outbox, "p.a", b"a2", &mut out);
    assert_eq!(outbox.refused("p.ab").as_deref(), Some(&b"ab"[..]));
    assert_eq!(outbox.refused("p.a").as_deref(), Some(&b"a1"[..]), "the oldest to that subject");
    assert_eq!(outbox.refused("p.x"), None);
    assert_eq!(outbox.connection_lost(), 1);
    let mut again = Vec::new();
    outbox.write_held(&mut again, 1 << 20, |_| {});
    assert_eq!(text(&again), "PUB p.a 2\r\na2\r\n");
}

#[test]
fn held_messages_over_the_new_server_limit_are_handed_back_not_written() {
    let mut outbox = Outbox::new(10);
    outbox.hold("p.a", b"small");
    outbox.hold("p.a", b"far too large");
    let mut over = Vec::new();
    let mut out = Vec::new();
    assert_eq!(outbox.write_held(&mut out, 8, |payload| over.push(text(payload))), 1);
    assert_eq!(text(&out), "PUB p.a 5\r\nsmall\r\n");
    assert_eq!(over, vec!["far too large".to_string()]);
}

#[test]
fn holding_is_bounded_by_count() {
    let mut outbox = Outbox::new(2);
    outbox.hold("p.a", b"1");
    assert!(outbox.full(1).is_none());
    outbox.hold("p.a", b"2");
    assert!(outbox.full(1).is_some());
    let mut taken = Vec::new();
    assert_eq!(outbox.take_all(|payload| taken.push(text(payload))), 2);
    assert_eq!(taken, vec!["1".to_string(), "2".into()]);
    assert!(outbox.full(1).is_none());
}

#[test]
fn confirming_thousands_keeps_the_rest_intact() {
    let mut outbox = Outbox::new(10);
    let mut out = Vec::new();
    let payload = vec![b'x'; 1000];
    for round in 0..200 {
        for _ in 0..10 {
            live(&mut outbox, "p.a", &payload, &mut out);
        }
        let mark = outbox.ping_mark();
        live(&mut outbox, "p.last", format!("{}", round).as_bytes(), &mut out);
        outbox.confirmed(mark);
        assert_eq!(outbox.unconfirmed(), 1);
        out.clear();
        // What is left is the one written after the PING, whole.
        outbox.connection_lost();
        outbox.write_held(&mut out, 1 << 20, |_| {});
        assert_eq!(text(&out), format!("PUB p.last {}\r\n{}\r\n", round.to_string().len(), round));
        out.clear();
        let mark = outbox.ping_mark();
        outbox.confirmed(mark);
    }
}
