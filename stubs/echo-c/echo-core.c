// What every echo stub does the same way: init and answering one message.
// The batch loops stay with each stub (stubs/echo-c/echo.c; the hostile
// fixtures' hostile.c), as they are what differs.
#include "echo.h"

static pf_str stub_url;     // our own copies: the config is freed after init
static pf_str runtime_url;  // empty when the config had none

pf_str echo_stub_url(void) { return stub_url; }

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
  pf_str url = {0}, runtime = {0};
  int has_url = 0, fail_init = 0, more = -1;
  size_t n;
  if (pf_cbor_read_map(&r, &n)) {
    while ((more = pf_cbor_next(&r, &n)) > 0) {
      if (pf_cbor_read_text_eq(&r, PF_STR("stubURL"))) {
        has_url = pf_cbor_read_text(&r, &url);
        if (!has_url && !pf_cbor_skip(&r)) break;
      } else if (pf_cbor_read_text_eq(&r, PF_STR("runtimeURL"))) {
        if (!pf_cbor_read_text(&r, &runtime) && !pf_cbor_skip(&r)) break;
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
  pf_str runtime_copy = runtime.len ? pf_str_dup(runtime) : (pf_str){0};
  if (!copy.ptr || (runtime.len && !runtime_copy.ptr)) {
    pf_str_free(&copy);
    pf_str_free(&runtime_copy);
    *err = PF_STR("out of memory");
    return 1;
  }
  pf_str_free(&stub_url);  // init may run again
  pf_str_free(&runtime_url);
  stub_url = copy;
  runtime_url = runtime_copy;
  if (!pf_post_status(stub_url, "LIVE", (pf_str){0}, NULL)) {
    *err = PF_STR("out of memory");
    return 1;
  }
  char line[64];
  size_t nl = pf_strlen(echo_name);
  if (nl + 5 <= sizeof line) {
    memcpy(line, echo_name, nl);
    memcpy(line + nl, " live", 5);
    pf_log(PF_INFO, line, nl + 5);
  }
  return 0;
}

int echo_read(pf_cbor_reader *r, echo_message *out) {
  pf_cbor_reader m = *r;
  echo_message e = {0};
  pf_str key;
  size_t n;
  int more;
  if (!pf_cbor_read_map(&m, &n)) return 0;
  while ((more = pf_cbor_next(&m, &n)) > 0) {
    int ok;
    // Each key is read once and told apart by its text, not tried against
    // every name in turn.
    if (!pf_cbor_read_text(&m, &key)) {
      ok = pf_cbor_skip(&m) && pf_cbor_skip(&m);
    } else if (pf_str_eq(key, PF_STR("id"))) {
      ok = pf_cbor_take(&m, &e.id, &e.id_len);
    } else if (pf_str_eq(key, PF_STR("type"))) {
      // A type that is not text is read as no type, not as a broken message.
      e.has_type = pf_cbor_read_text(&m, &e.type);
      ok = e.has_type || pf_cbor_skip(&m);
    } else if (pf_str_eq(key, PF_STR("from"))) {
      ok = e.has_from = pf_cbor_read_text(&m, &e.from);
    } else if (pf_str_eq(key, PF_STR("to"))) {
      ok = e.has_to = pf_cbor_read_text(&m, &e.to);
    } else if (pf_str_eq(key, PF_STR("body"))) {
      ok = pf_cbor_take(&m, &e.body, &e.body_len);
    } else {
      ok = pf_cbor_skip(&m);
    }
    if (!ok) return 0;
  }
  if (more < 0) return 0;
  *out = e;
  r->p = m.p;
  return 1;
}

static int is_type(const echo_message *e, pf_str type) { return e->has_type && pf_str_eq(e->type, type); }

// CONTRACT.md: the stub URL, or an address below it.
static int to_self(const echo_message *e) {
  return e->to.len >= stub_url.len && memcmp(e->to.ptr, stub_url.ptr, stub_url.len) == 0
    && (e->to.len == stub_url.len || e->to.ptr[stub_url.len] == '/');
}

// The runtime's SUBSCRIBE, UNSUBSCRIBE and DELETE: the echo has no back-end
// to ask, so it takes them and answers none.
static int is_control(const echo_message *e) {
  return runtime_url.len && pf_str_eq(e->from, runtime_url) && pf_str_eq(e->to, stub_url)
    && (is_type(e, PF_STR("SUBSCRIBE")) || is_type(e, PF_STR("UNSUBSCRIBE")) || is_type(e, PF_STR("DELETE")));
}

static const char not_understood[] = "the echo answers READ at its own address, and no other type";

// The id and body are copied byte for byte, so their content is never parsed.
enum echo_outcome echo_reply(pf_cbor_writer *w, pf_cbor_reader *r) {
  pf_cbor_reader at = *r;
  echo_message e;
  if (!echo_read(&at, &e) || !e.id || !e.has_from || !e.has_to) return ECHO_MALFORMED;
  r->p = at.p;
  int self = to_self(&e);
  // A RESPONSE to the stub is never answered: two dead ends would ping-pong.
  if (self && (is_type(&e, PF_STR("RESPONSE")) || is_control(&e))) return ECHO_CONTROL;

  pf_cbor_put_map(w, e.body || self ? 5 : 4);
  pf_cbor_put_text(w, PF_STR("id"));
  pf_cbor_put_raw(w, e.id, e.id_len);
  pf_cbor_put_text(w, PF_STR("type"));
  pf_cbor_put_text(w, PF_STR("RESPONSE"));
  pf_cbor_put_text(w, PF_STR("from"));
  pf_cbor_put_text(w, e.to);
  pf_cbor_put_text(w, PF_STR("to"));
  pf_cbor_put_text(w, e.from);
  if (self) {
    int read = is_type(&e, PF_STR("READ"));
    pf_cbor_put_text(w, PF_STR("body"));
    pf_cbor_put_map(w, read && !e.body ? 1 : 2);
    pf_cbor_put_text(w, PF_STR("code"));
    pf_cbor_put_uint(w, read ? 200 : 400);
    if (!read) {
      pf_cbor_put_text(w, PF_STR("reason"));
      pf_cbor_put_textz(w, not_understood);
    } else if (e.body) {
      pf_cbor_put_text(w, PF_STR("value"));
      pf_cbor_put_raw(w, e.body, e.body_len);
    }
  } else if (e.body) {
    pf_cbor_put_text(w, PF_STR("body"));
    pf_cbor_put_raw(w, e.body, e.body_len);
  }
  return ECHO_REPLIED;
}
