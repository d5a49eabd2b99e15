// parser.rs: operations are read whole however the frames cut them, a MSG's
// payload is handed over byte for byte, and input that is not NATS is an
// error rather than a guess.
use crate::parser::{Op, Parser};

/// Each operation as text, for comparing (payloads as they came).
fn describe(op: Op) -> String {
    match op {
        Op::Info(json) => format!("INFO {}", json),
        Op::Msg { subject, payload } => format!("MSG {} {:?}", String::from_utf8_lossy(subject), payload),
        Op::Ping => "PING".into(),
        Op::Pong => "PONG".into(),
        Op::Ok => "+OK".into(),
        Op::Err(text) => format!("-ERR {}", text),
    }
}

fn read(frames: &[&[u8]]) -> (Vec<String>, Result<(), String>) {
    let mut parser = Parser::default();
    let mut ops = Vec::new();
    for frame in frames {
        let result = parser.push(frame, |op| {
            ops.push(describe(op));
            true
        });
        if result.is_err() {
            return (ops, result);
        }
    }
    (ops, Ok(()))
}

const STREAM: &[u8] = b"INFO {\"max_payload\":1048576}\r\nPING\r\n\r\nMSG a.b 1 5\r\nhello\r\nHMSG a.c 2 reply 12 14\r\nNATS/1.0\r\n\r\nhi\r\n+OK\r\n-ERR 'Permissions Violation for Publish to \"x\"'\r\nMSG a.d 1 0\r\n\r\npong\r\n";

#[test]
fn a_stream_in_one_frame_is_read_operation_by_operation() {
    let (ops, result) = read(&[STREAM]);
    assert!(result.is_ok());
    assert_eq!(
        ops,
        vec![
            "INFO {\"max_payload\":1048576}".to_string(),
            "PING".into(),
            format!("MSG a.b {:?}", b"hello"),
            format!("MSG a.c {:?}", b"hi"),
            "+OK".into(),
            "-ERR Permissions Violation for Publish to \"x\"".into(),
            format!("MSG a.d {:?}", b""),
            "PONG".into(),
        ]
    );
}

#[test]
fn any_cut_into_frames_reads_the_same() {
    let (whole, _) = read(&[STREAM]);
    for cut in 1..STREAM.len() {
        let (left, right) = STREAM.split_at(cut);
        assert_eq!(read(&[left, right]).0, whole, "cut at {}", cut);
    }
    let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
    assert_eq!(read(&bytes).0, whole, "one byte a frame");
}

#[test]
fn operations_after_a_stop_are_kept_for_the_next_push() {
    let mut parser = Parser::default();
    let mut seen = 0;
    assert!(parser.push(b"PING\r\nPONG\r\nPI", |_| { seen += 1; false }).is_ok());
    assert_eq!(seen, 1);
    let mut rest = Vec::new();
    assert!(parser.push(b"NG\r\n", |op| { rest.push(describe(op)); true }).is_ok());
    assert_eq!(rest, vec!["PONG".to_string(), "PING".into()]);
}

#[test]
fn what_is_not_nats_is_an_error() {
    for (input, why) in [
        (&b"HELLO\r\n"[..], "unknown operation"),
        (b"MSG a 1\r\n", "malformed MSG"),
        (b"MSG a 1 x\r\n", "bad size"),
        (b"HMSG a 1 9 3\r\n", "bad size"),
        (b"MSG a 1 2\r\nabc\r\n", "not followed by CRLF"),
        (b"MSG a 1 2000000\r\n", "exceeds"),
    ] {
        let (_, result) = read(&[input]);
        assert!(result.as_ref().err().map_or(false, |e| e.contains(why)), "{:?}: {:?}", String::from_utf8_lossy(input), result);
    }
    let long = vec![b'x'; 70 * 1024];
    assert!(read(&[&long]).1.err().map_or(false, |e| e.contains("too long")));
}
