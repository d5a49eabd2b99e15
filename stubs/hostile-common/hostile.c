// The well-behaved half of every hostile fixture: echo-c's own init and
// answers (stubs/echo-c/echo-core.c), so isolation tests can first check a
// hostile stub deploys and answers like any other, and a failure after the
// trigger can only come from the attack.
#include "hostile.h"

static uint64_t next_id = 1;

pf_str hostile_fresh_id(char *buf) { return (pf_str){buf, pf_utoa(next_id++, buf)}; }

// Logs "<name><text>" so every line says which fixture wrote it.
static void log_named(uint8_t level, const char *text) {
  char line[160];
  size_t nl = pf_strlen(echo_name), tl = pf_strlen(text);
  if (nl + tl > sizeof line) return;
  memcpy(line, echo_name, nl);
  memcpy(line + nl, text, tl);
  pf_log(level, line, nl + tl);
}

int hostile_ends_with(pf_str s, const char *suffix) {
  size_t n = pf_strlen(suffix);
  return s.len >= n && pf_str_eq((pf_str){ s.ptr + s.len - n, n }, (pf_str){ suffix, n });
}

int hostile_post(pf_cbor_writer *w) {
  int ok = !w->oom;
  if (ok) pf_post(w->data, w->len);
  pf_cbor_writer_free(w);
  return ok;
}

int hostile_parse(const uint8_t *msg, size_t len, echo_message *out) {
  pf_cbor_reader r = pf_cbor_reader_of(msg, len);
  return echo_read(&r, out);
}

// 1 if the text ends with "/attack".
static int ends_in_attack(pf_str text) {
  static const char tail[] = "/attack";
  size_t n = sizeof tail - 1;
  if (text.len < n) return 0;
  for (size_t i = 0; i < n; i++) {
    if (text.ptr[text.len - n + i] != tail[i]) return 0;
  }
  return 1;
}

// 1 if the array under the reader holds a text ending in "/attack".
static int resources_attack(pf_cbor_reader *b) {
  size_t n;
  if (!pf_cbor_read_array(b, &n)) return 0;
  while (pf_cbor_next(b, &n) > 0) {
    pf_str text;
    if (pf_cbor_read_text(b, &text)) {
      if (ends_in_attack(text)) return 1;
    } else if (!pf_cbor_skip(b)) {
      return 0;
    }
  }
  return 0;
}

// The trigger is body.attack == true (CBOR true, not 1 or "true"), whatever
// the message's to: tests may address it to the stub or to its domain. A
// control message triggers it too when one of its body.resources ends in
// "/attack": a subscription the stub cannot survive.
static int is_trigger(const uint8_t *msg, size_t len) {
  echo_message h;
  if (!hostile_parse(msg, len, &h) || !h.body) return 0;
  pf_cbor_reader b = pf_cbor_reader_of(h.body, h.body_len);
  size_t n;
  if (!pf_cbor_read_map(&b, &n)) return 0;
  while (pf_cbor_next(&b, &n) > 0) {
    uint8_t v;
    if (pf_cbor_read_text_eq(&b, PF_STR("attack"))) {
      if (pf_cbor_read_simple(&b, &v) && v == PF_CBOR_TRUE) return 1;
      if (!pf_cbor_skip(&b)) return 0;
    } else if (pf_cbor_read_text_eq(&b, PF_STR("resources"))) {
      pf_cbor_reader at = b;
      if (resources_attack(&at)) return 1;
      if (!pf_cbor_skip(&b)) return 0;
    } else if (!pf_cbor_skip(&b) || !pf_cbor_skip(&b)) {
      return 0;
    }
  }
  return 0;
}

int hostile_echo(const uint8_t *msg, size_t len) {
  pf_cbor_writer w = {0};
  pf_cbor_reader r = pf_cbor_reader_of(msg, len);
  pf_cbor_put_array(&w, 1);
  if (echo_reply(&w, &r) != ECHO_REPLIED) {
    pf_cbor_writer_free(&w);
    return 0;
  }
  return hostile_post(&w);
}

// Posts the replies gathered so far (if any) and leaves w ready for more.
static void flush(pf_cbor_writer *w, size_t *replies) {
  size_t out_len;
  const uint8_t *out = pf_cbor_finish_head(w, PF_CBOR_ARRAY, *replies, &out_len);
  if (!out) {
    log_named(PF_ERROR, ": out of memory, replies dropped");
  } else if (*replies) {
    pf_post(out, out_len);
  }
  pf_cbor_writer_free(w);
  *w = (pf_cbor_writer){0};
  pf_cbor_reserve_head(w);
  *replies = 0;
}

void stub_on_messages(const uint8_t *batch, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(batch, len);
  size_t n;
  if (!pf_cbor_read_array(&r, &n)) {
    log_named(PF_WARN, ": batch is not a CBOR array, skipped");
    return;
  }
  pf_cbor_writer w = {0};
  pf_cbor_reserve_head(&w);
  size_t replies = 0, malformed = 0;
  int more;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    const uint8_t *item;
    size_t item_len;
    if (!pf_cbor_take(&r, &item, &item_len)) {
      more = -1;
      break;
    }
    if (is_trigger(item, item_len)) {
      // Earlier replies go out first, so a test sees them before the attack
      // (which may never return).
      flush(&w, &replies);
      log_named(PF_WARN, ": attack triggered");
      hostile_attack(item, item_len);
      continue;
    }
    pf_cbor_reader m = pf_cbor_reader_of(item, item_len);
    switch (echo_reply(&w, &m)) {
      case ECHO_REPLIED: replies++; break;
      case ECHO_CONTROL: break;
      case ECHO_MALFORMED: malformed++; break;
    }
  }
  if (more < 0) log_named(PF_WARN, ": batch is truncated or malformed, rest skipped");
  if (malformed) log_named(PF_WARN, ": skipped malformed message(s)");
  flush(&w, &replies);
  pf_cbor_writer_free(&w);
}

void stub_on_open(uint32_t conn) { (void)conn; }
void stub_on_frame(uint32_t conn, const uint8_t *frame, size_t len) { (void)conn, (void)frame, (void)len; }
void stub_on_close(uint32_t conn, const char *reason, size_t len) { (void)conn, (void)reason, (void)len; }
__attribute__((weak)) void hostile_timer(uint32_t id) { (void)id; }
void stub_on_timer(uint32_t id) { hostile_timer(id); }
