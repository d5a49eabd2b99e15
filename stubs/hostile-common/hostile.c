// The well-behaved half of every hostile fixture. It mirrors echo-c on
// purpose: isolation tests first check a hostile stub deploys and answers like
// any other, so a failure after the trigger can only come from the attack.
#include "hostile.h"

static pf_str stub_url;  // our own copy: the config is freed after init
static uint64_t next_id = 1;

pf_str hostile_stub_url(void) { return stub_url; }

pf_str hostile_fresh_id(char *buf) { return (pf_str){buf, pf_utoa(next_id++, buf)}; }

// Logs "<name><text>" so every line says which fixture wrote it.
static void log_named(uint8_t level, const char *text) {
  char line[160];
  size_t nl = pf_strlen(hostile_name), tl = pf_strlen(text);
  if (nl + tl > sizeof line) return;
  memcpy(line, hostile_name, nl);
  memcpy(line + nl, text, tl);
  pf_log(level, line, nl + tl);
}

int hostile_post(pf_cbor_writer *w) {
  int ok = !w->oom;
  if (ok) pf_post(w->data, w->len);
  pf_cbor_writer_free(w);
  return ok;
}

// configuration.failInit == true refuses init, as in echo-c, so the hostile
// fixtures can stand in for it wherever a test needs that switch.
static int read_configuration(pf_cbor_reader *r, int *fail_init) {
  size_t n;
  if (!pf_cbor_read_map(r, &n)) return pf_cbor_skip(r);
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
  log_named(PF_INFO, " live");
  return 0;
}

int hostile_parse(const uint8_t *msg, size_t len, hostile_message *out) {
  pf_cbor_reader m = pf_cbor_reader_of(msg, len);
  hostile_message h = {0};
  size_t n;
  int more;
  if (!pf_cbor_read_map(&m, &n)) return 0;
  while ((more = pf_cbor_next(&m, &n)) > 0) {
    int ok;
    if (pf_cbor_read_text_eq(&m, PF_STR("id"))) {
      ok = pf_cbor_take(&m, &h.id, &h.id_len);
    } else if (pf_cbor_read_text_eq(&m, PF_STR("from"))) {
      ok = h.has_from = pf_cbor_read_text(&m, &h.from);
    } else if (pf_cbor_read_text_eq(&m, PF_STR("to"))) {
      ok = h.has_to = pf_cbor_read_text(&m, &h.to);
    } else if (pf_cbor_read_text_eq(&m, PF_STR("body"))) {
      ok = pf_cbor_take(&m, &h.body, &h.body_len);
    } else {
      ok = pf_cbor_skip(&m) && pf_cbor_skip(&m);
    }
    if (!ok) return 0;
  }
  if (more < 0) return 0;
  *out = h;
  return 1;
}

// The trigger is body.attack == true (CBOR true, not 1 or "true"), whatever
// the message's to: tests may address it to the stub or to its domain.
static int is_trigger(const uint8_t *msg, size_t len) {
  hostile_message h;
  if (!hostile_parse(msg, len, &h) || !h.body) return 0;
  pf_cbor_reader b = pf_cbor_reader_of(h.body, h.body_len);
  size_t n;
  if (!pf_cbor_read_map(&b, &n)) return 0;
  while (pf_cbor_next(&b, &n) > 0) {
    uint8_t v;
    if (pf_cbor_read_text_eq(&b, PF_STR("attack"))) {
      if (pf_cbor_read_simple(&b, &v) && v == PF_CBOR_TRUE) return 1;
      if (!pf_cbor_skip(&b)) return 0;
    } else if (!pf_cbor_skip(&b) || !pf_cbor_skip(&b)) {
      return 0;
    }
  }
  return 0;
}

enum reply_outcome { REPLIED, CONTROL, MALFORMED };

static enum reply_outcome reply_to(pf_cbor_writer *w, const uint8_t *msg, size_t len) {
  hostile_message h;
  if (!hostile_parse(msg, len, &h) || !h.id || !h.has_from || !h.has_to) return MALFORMED;
  if (pf_str_eq(h.to, stub_url)) return CONTROL;
  pf_cbor_put_map(w, h.body ? 5 : 4);
  pf_cbor_put_textz(w, "id");
  pf_cbor_put_raw(w, h.id, h.id_len);
  pf_cbor_put_textz(w, "type");
  pf_cbor_put_textz(w, "RESPONSE");
  pf_cbor_put_textz(w, "from");
  pf_cbor_put_text(w, h.to);
  pf_cbor_put_textz(w, "to");
  pf_cbor_put_text(w, h.from);
  if (h.body) {
    pf_cbor_put_textz(w, "body");
    pf_cbor_put_raw(w, h.body, h.body_len);
  }
  return REPLIED;
}

int hostile_echo(const uint8_t *msg, size_t len) {
  pf_cbor_writer w = {0};
  pf_cbor_put_array(&w, 1);
  if (reply_to(&w, msg, len) != REPLIED) {
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
    switch (reply_to(&w, item, item_len)) {
      case REPLIED: replies++; break;
      case CONTROL: break;
      case MALFORMED: malformed++; break;
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
void stub_on_timer(uint32_t id) { (void)id; }
