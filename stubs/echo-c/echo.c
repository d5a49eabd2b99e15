// Echo fixture for tests and benchmarks: announces LIVE at init, then answers
// every message not addressed to the stub itself with a RESPONSE that swaps
// from/to and carries the same id and body. It opens no connection.
#include "cbor.h"
#include "protostub.h"

static pf_str stub_url;  // our own copy: the config is freed after init

// Logs "<head><n><tail>"; stubs have no printf.
static void log_count(uint8_t level, const char *head, size_t n, const char *tail) {
  char line[128];
  size_t len, hl = pf_strlen(head), tl = pf_strlen(tail);
  if (hl + 20 + tl > sizeof line) return;
  memcpy(line, head, hl);
  len = hl + pf_utoa(n, line + hl);
  memcpy(line + len, tail, tl);
  pf_log(level, line, len + tl);
}

// configuration.failInit == true lets tests see how the runtime copes with
// a refusing init. Returns 0 only on malformed input.
static int read_configuration(pf_cbor_reader *r, int *fail_init) {
  size_t n;
  if (!pf_cbor_read_map(r, &n)) return pf_cbor_skip(r);  // not a map (null, say): no options
  int more;
  while ((more = pf_cbor_next(r, &n)) > 0) {
    uint8_t v;
    if (pf_cbor_read_text_eq(r, PF_STR("failInit"))) {
      if (pf_cbor_read_simple(r, &v)) {
        *fail_init = v == PF_CBOR_TRUE;
        continue;
      }
    } else if (!pf_cbor_skip(r)) {
      return 0;
    }
    if (!pf_cbor_skip(r)) return 0;
  }
  return more == 0;
}

int stub_init(const uint8_t *config, size_t len, pf_str *err) {
  pf_cbor_reader r = pf_cbor_reader_of(config, len);
  pf_str url = {0};
  int has_url = 0, fail_init = 0, more = -1;
  size_t n;
  if (pf_cbor_read_map(&r, &n)) {
    while ((more = pf_cbor_next(&r, &n)) > 0) {
      if (pf_cbor_read_text_eq(&r, PF_STR("stubURL"))) {
        has_url = pf_cbor_read_text(&r, &url);
        if (!has_url && !pf_cbor_skip(&r)) break;
      } else if (pf_cbor_read_text_eq(&r, PF_STR("configuration"))) {
        if (!read_configuration(&r, &fail_init)) break;
      } else if (!pf_cbor_skip(&r) || !pf_cbor_skip(&r)) {
        break;
      }
    }
  }
  if (more != 0 || !pf_cbor_at_end(&r)) {
    *err = PF_STR("config is not a CBOR map");
    return 1;
  }
  if (!has_url) {
    *err = PF_STR("config has no stubURL");
    return 1;
  }
  if (fail_init) {
    *err = PF_STR("init refused by configuration");
    return 1;
  }
  pf_str copy = pf_str_dup(url);
  if (!copy.ptr) {
    *err = PF_STR("out of memory");
    return 1;
  }
  pf_str_free(&stub_url);  // init may run again
  stub_url = copy;
  if (!pf_post_status(stub_url, "LIVE", (pf_str){0}, NULL)) {
    *err = PF_STR("out of memory");
    return 1;
  }
  pf_logz(PF_INFO, "echo-c live");
  return 0;
}

enum reply_outcome { REPLIED, CONTROL, MALFORMED };

// A message must be a map with text from and to, and an id of any type; the
// id and body are copied byte for byte, so their content is never parsed.
// Reads the message where the batch reader stands and moves past it.
static enum reply_outcome reply_to(pf_cbor_writer *w, pf_cbor_reader *r) {
  pf_cbor_reader m = *r;
  const uint8_t *id = NULL, *body = NULL;
  size_t id_len = 0, body_len = 0, n;
  pf_str from = {0}, to = {0}, key;
  int has_from = 0, has_to = 0, more;
  if (!pf_cbor_read_map(&m, &n)) return MALFORMED;
  while ((more = pf_cbor_next(&m, &n)) > 0) {
    int ok;
    // Each key is read once and told apart by its text, not tried against
    // every name in turn.
    if (!pf_cbor_read_text(&m, &key)) {
      ok = pf_cbor_skip(&m) && pf_cbor_skip(&m);
    } else if (pf_str_eq(key, PF_STR("id"))) {
      ok = pf_cbor_take(&m, &id, &id_len);
    } else if (pf_str_eq(key, PF_STR("from"))) {
      ok = has_from = pf_cbor_read_text(&m, &from);
    } else if (pf_str_eq(key, PF_STR("to"))) {
      ok = has_to = pf_cbor_read_text(&m, &to);
    } else if (pf_str_eq(key, PF_STR("body"))) {
      ok = pf_cbor_take(&m, &body, &body_len);
    } else {
      ok = pf_cbor_skip(&m);
    }
    if (!ok) return MALFORMED;
  }
  if (more < 0 || !id || !has_from || !has_to) return MALFORMED;
  r->p = m.p;
  if (pf_str_eq(to, stub_url)) return CONTROL;

  pf_cbor_put_map(w, body ? 5 : 4);
  pf_cbor_put_text(w, PF_STR("id"));
  pf_cbor_put_raw(w, id, id_len);
  pf_cbor_put_text(w, PF_STR("type"));
  pf_cbor_put_text(w, PF_STR("RESPONSE"));
  pf_cbor_put_text(w, PF_STR("from"));
  pf_cbor_put_text(w, to);
  pf_cbor_put_text(w, PF_STR("to"));
  pf_cbor_put_text(w, from);
  if (body) {
    pf_cbor_put_text(w, PF_STR("body"));
    pf_cbor_put_raw(w, body, body_len);
  }
  return REPLIED;
}

void stub_on_messages(const uint8_t *batch, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(batch, len);
  size_t n;
  if (!pf_cbor_read_array(&r, &n)) {
    pf_logz(PF_WARN, "echo-c: batch is not a CBOR array, skipped");
    return;
  }
  // Replies go out as one batch whose length is known only at the end.
  pf_cbor_writer w = {0};
  // Replies are about as long as what they answer: room for them up front.
  pf_cbor_writer_reserve(&w, len + 64);
  pf_cbor_reserve_head(&w);
  size_t replies = 0, malformed = 0;
  int more;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    // Each message is read once, in place; only one that is not a message
    // is walked again, to find where the next one starts.
    enum reply_outcome outcome = reply_to(&w, &r);
    if (outcome == REPLIED) replies++;
    if (outcome != MALFORMED) continue;
    malformed++;
    if (!pf_cbor_skip(&r)) {
      more = -1;  // no way to find where the next message starts
      break;
    }
  }
  if (more < 0) pf_logz(PF_WARN, "echo-c: batch is truncated or malformed, rest skipped");
  if (malformed) log_count(PF_WARN, "echo-c: skipped ", malformed, " malformed message(s)");
  size_t out_len;
  const uint8_t *out = pf_cbor_finish_head(&w, PF_CBOR_ARRAY, replies, &out_len);
  if (!out) {
    pf_logz(PF_ERROR, "echo-c: out of memory, replies dropped");
  } else if (replies) {
    pf_post(out, out_len);
  }
  pf_cbor_writer_free(&w);
}

void stub_on_open(uint32_t conn) { (void)conn; }
void stub_on_frame(uint32_t conn, const uint8_t *frame, size_t len) { (void)conn, (void)frame, (void)len; }
void stub_on_close(uint32_t conn, const char *reason, size_t len) { (void)conn, (void)reason, (void)len; }
void stub_on_timer(uint32_t id) { (void)id; }
