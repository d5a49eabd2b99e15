// Unit tests of the parts of the stub that need nothing but std, run on the
// host rather than in a sandbox (no runtime, no server):
//
//   /usr/bin/rustc --edition 2021 --test stubs/nats-rust/tests/host.rs -o /tmp/nats-rust-tests && /tmp/nats-rust-tests
//
// The integration tests (test/integration/nats*.test.ts, listener-storm)
// cover the rest with a real nats-server.
#![allow(dead_code)]

#[path = "../src/nats.rs"]
mod nats;
#[path = "../src/outbox.rs"]
mod outbox;
#[path = "../src/parser.rs"]
mod parser;
#[path = "../src/subscriptions.rs"]
mod subscriptions;
#[path = "../src/unsent.rs"]
mod unsent;

mod outbox_test;
mod parser_test;
mod subscriptions_test;
mod unsent_test;
