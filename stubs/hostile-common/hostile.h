// Shared part of the hostile fixtures (stubs/hostile-*): each is a well-behaved
// echo stub (LIVE at init, RESPONSE to every message, like echo-c) until
// on-messages carries a message whose body is a map holding "attack": true.
// For that message, and only that one, the common code calls hostile_attack
// instead of answering it; the stub's own file defines the misbehaviour.
#ifndef HOSTILE_H
#define HOSTILE_H

#include "../echo-c/echo.h"

// ---- Defined by each hostile stub ---------------------------------------------

// Each also defines echo_name (echo.h), used in log lines, so a test log
// says which fixture spoke.
// msg is the triggering message (one CBOR map), borrowed for the call. Replies
// to messages earlier in the same batch have already been posted.
void hostile_attack(const uint8_t *msg, size_t len);

// Optional: a timer a stub set fired (hostile.c's default does nothing), for
// a fixture whose misbehaviour is in a callback other than on-messages.
void hostile_timer(uint32_t id);

// ---- Provided by hostile.c (and, through echo.h, stubs/echo-c/echo-core.c) ----

// 1 if msg is a map whose id/from/to/body keys are of usable types; *out is
// left alone otherwise.
int hostile_parse(const uint8_t *msg, size_t len, echo_message *out);

// Writes a fresh message id (decimal, unique within this instance) into buf
// (at least 20 bytes) and returns it.
pf_str hostile_fresh_id(char *buf);

// Posts the echo's answer to msg as a batch of one: a RESPONSE with the same
// id and body and from/to swapped. Returns 1 if posted.
int hostile_echo(const uint8_t *msg, size_t len);

// 1 if s ends with suffix: the fixtures pick their attack by the last path
// segment of the trigger's `to` (".../loop").
int hostile_ends_with(pf_str s, const char *suffix);

// Posts w's bytes as they are, then frees w. Returns 0 (posting nothing) if
// the writer ran out of memory.
int hostile_post(pf_cbor_writer *w);

#endif
