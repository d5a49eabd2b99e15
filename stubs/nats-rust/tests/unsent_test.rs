// unsent.rs: what the host refuses as congested waits, in order, and is
// sent first once the host takes writes again; nothing new goes ahead of it.
use crate::unsent::{Sent, Unsent, FRAME_LIMIT, MAX_BYTES};

#[test]
fn a_congested_frame_waits_and_goes_first_with_what_came_after_behind_it() {
    let mut unsent = Unsent::default();
    let mut wire: Vec<u8> = Vec::new();
    unsent.push(b"PUB a 1\r\nx\r\n".to_vec());
    let sent = unsent.send(|_| Err("congested: 4194304 bytes wait".to_string()));
    assert!(matches!(sent, Sent::Congested(_)));
    assert!(wire.is_empty());
    unsent.push(b"PING\r\n".to_vec());
    assert!(matches!(unsent.send(|frame| Ok(wire.extend_from_slice(frame))), Sent::All));
    assert_eq!(wire, b"PUB a 1\r\nx\r\nPING\r\n".to_vec());
    assert_eq!(unsent.bytes(), 0);
}

#[test]
fn frames_are_sent_whole_up_to_the_one_refused() {
    let mut unsent = Unsent::default();
    unsent.push(vec![1; FRAME_LIMIT * 2 + 10]);
    let mut taken = Vec::new();
    let sent = unsent.send(|frame| {
        if taken.is_empty() {
            taken.push(frame.len());
            Ok(())
        } else {
            Err("congested: full".to_string())
        }
    });
    assert!(matches!(sent, Sent::Congested(_)));
    assert_eq!(taken, vec![FRAME_LIMIT]);
    assert_eq!(unsent.bytes(), FRAME_LIMIT + 10);
    let mut sizes = Vec::new();
    assert!(matches!(unsent.send(|frame| Ok(sizes.push(frame.len()))), Sent::All));
    assert_eq!(sizes, vec![FRAME_LIMIT, 10]);
}

#[test]
fn another_error_is_reported_as_a_failure() {
    let mut unsent = Unsent::default();
    unsent.push(b"PING\r\n".to_vec());
    assert!(matches!(unsent.send(|_| Err("connection 3 is not open".to_string())), Sent::Failed(e) if e.contains("not open")));
}

#[test]
fn it_is_full_only_while_congested_and_past_the_bound() {
    let mut unsent = Unsent::default();
    assert!(unsent.full(MAX_BYTES * 4).is_none(), "nothing waits: not congested");
    unsent.push(vec![0; MAX_BYTES - 100]);
    let _ = unsent.send(|_| Err("congested: full".to_string()));
    assert!(unsent.full(100).is_none());
    let reason = unsent.full(101).expect("past the bound");
    assert!(reason.starts_with("congested:"));
    unsent.clear();
    assert!(unsent.full(MAX_BYTES * 4).is_none());
}

#[test]
fn with_nothing_waiting_a_write_goes_straight_to_the_host_in_frames() {
    let mut unsent = Unsent::default();
    let mut sizes = Vec::new();
    let bytes = vec![7; FRAME_LIMIT + 5];
    assert!(matches!(unsent.send_after(&bytes, |frame| Ok(sizes.push(frame.len()))), Sent::All));
    assert_eq!(sizes, vec![FRAME_LIMIT, 5]);
    assert_eq!(unsent.bytes(), 0);
}

#[test]
fn what_the_host_refuses_of_a_straight_write_waits_and_later_writes_queue_behind_it() {
    let mut unsent = Unsent::default();
    let mut wire: Vec<u8> = Vec::new();
    let sent = unsent.send_after(b"PUB a 1\r\nx\r\n", |_| Err("congested: 4194304 bytes wait".to_string()));
    assert!(matches!(sent, Sent::Congested(_)));
    assert_eq!(unsent.bytes(), 12);
    assert!(matches!(unsent.send_after(b"PING\r\n", |frame| Ok(wire.extend_from_slice(frame))), Sent::All));
    assert_eq!(wire, b"PUB a 1\r\nx\r\nPING\r\n".to_vec());
    assert_eq!(unsent.bytes(), 0);
}
