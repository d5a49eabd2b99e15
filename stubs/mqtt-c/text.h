// Byte-buffer helpers on top of pf_cbor_writer (which is just a growable
// buffer with an out-of-memory flag): MQTT fields and log lines need the
// same growth and oom handling as CBOR, so they share it.
#ifndef MQTT_C_TEXT_H
#define MQTT_C_TEXT_H

#include "cbor.h"

void buf_u8(pf_cbor_writer *w, uint8_t b);
void buf_u16(pf_cbor_writer *w, uint16_t v);
void buf_str(pf_cbor_writer *w, pf_str s);
void buf_z(pf_cbor_writer *w, const char *z);
void buf_uint(pf_cbor_writer *w, uint64_t v);

// Log lines are assembled from pieces, since there is no printf:
//   say(PF_WARN, Z("lost: "), reason, Z("; retrying"));
#define Z(literal) PF_STR(literal)
#define say(level, ...) \
  say_parts((level), (const pf_str[]){__VA_ARGS__}, sizeof((const pf_str[]){__VA_ARGS__}) / sizeof(pf_str))

// Every line gets this prefix, so logs of several stubs stay apart.
void say_prefix(pf_str prefix);
void say_parts(uint8_t level, const pf_str *parts, size_t count);

// A decimal rendering of v in the caller's 20-byte scratch.
pf_str num(char scratch[20], uint64_t v);
pf_str zstr(const char *z);

#endif
