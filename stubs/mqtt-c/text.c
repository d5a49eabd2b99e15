#include "text.h"

void buf_u8(pf_cbor_writer *w, uint8_t b) { pf_cbor_put_raw(w, &b, 1); }

void buf_u16(pf_cbor_writer *w, uint16_t v) {
  uint8_t two[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  pf_cbor_put_raw(w, two, 2);
}

void buf_str(pf_cbor_writer *w, pf_str s) { pf_cbor_put_raw(w, (const uint8_t *)s.ptr, s.len); }
void buf_z(pf_cbor_writer *w, const char *z) { pf_cbor_put_raw(w, (const uint8_t *)z, pf_strlen(z)); }

void buf_uint(pf_cbor_writer *w, uint64_t v) {
  char digits[20];
  pf_cbor_put_raw(w, (const uint8_t *)digits, pf_utoa(v, digits));
}

pf_str num(char scratch[20], uint64_t v) { return (pf_str){scratch, pf_utoa(v, scratch)}; }
pf_str zstr(const char *z) { return (pf_str){z, pf_strlen(z)}; }

static pf_str prefix;

void say_prefix(pf_str p) { prefix = p; }

void say_parts(uint8_t level, const pf_str *parts, size_t count) {
  pf_cbor_writer line = {0};
  buf_str(&line, prefix);
  for (size_t i = 0; i < count; i++) buf_str(&line, parts[i]);
  if (line.oom) {
    // A short line still tells someone something went wrong.
    pf_logz(level, "mqtt-c: a log line was lost (out of memory)");
  } else {
    pf_log(level, (const char *)line.data, line.len);
  }
  pf_cbor_writer_free(&line);
}
