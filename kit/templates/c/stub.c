// {{name}}: a protofly protocol stub (stubs/CONTRACT.md in the protofly
// package says what every callback receives and must answer).
// As generated it has no back-end: it goes LIVE at init, acknowledges the
// runtime's SUBSCRIBE and DELETE control messages, answers anything else
// addressed to itself with 400, and echoes every other message back to its
// sender. Replace the echo with your protocol; keep the rest of the contract.
#include "cbor.h"
#include "protostub.h"

static pf_str stub_url;     // our own copies: the config is freed after init
static pf_str runtime_url;  // control messages come from here

// The whole config must be one well-formed CBOR map with a text stubURL and
// runtimeURL; anything else is refused with an err (never a trap).
static int read_config(const uint8_t *config, size_t len, pf_str *url, pf_str *runtime) {
  pf_cbor_reader r = pf_cbor_reader_of(config, len);
  size_t n;
  int has_url = 0, has_runtime = 0, more;
  if (!pf_cbor_read_map(&r, &n)) return 0;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    if (pf_cbor_read_text_eq(&r, PF_STR("stubURL"))) {
      has_url = pf_cbor_read_text(&r, url) && url->len > 0;
      if (!has_url) return 0;
    } else if (pf_cbor_read_text_eq(&r, PF_STR("runtimeURL"))) {
      has_runtime = pf_cbor_read_text(&r, runtime) && runtime->len > 0;
      if (!has_runtime) return 0;
    } else if (!pf_cbor_skip(&r) || !pf_cbor_skip(&r)) {
      // Your own settings are under "configuration": read them here.
      return 0;
    }
  }
  return more == 0 && pf_cbor_at_end(&r) && has_url && has_runtime;
}

// The status message, in exactly the shape CONTRACT.md ("Status") fixes.
int stub_init(const uint8_t *config, size_t len, pf_str *err) {
  pf_str url = {0}, runtime = {0};
  if (!read_config(config, len, &url, &runtime)) {
    *err = PF_STR("config is not a CBOR map with a stubURL and a runtimeURL");
    return 1;
  }
  pf_str copy = pf_str_dup(url), runtime_copy = pf_str_dup(runtime);
  if (!copy.ptr || !runtime_copy.ptr) {
    pf_str_free(&copy);
    pf_str_free(&runtime_copy);
    *err = PF_STR("out of memory");
    return 1;
  }
  pf_str_free(&stub_url);
  pf_str_free(&runtime_url);
  stub_url = copy;
  runtime_url = runtime_copy;
  // No back-end to log in to, so LIVE at once. A real stub posts LIVE when
  // its back-end accepts the login (from stub_on_frame, say).
  if (!pf_post_status(stub_url, "LIVE", (pf_str){0}, NULL)) {
    *err = PF_STR("out of memory");
    return 1;
  }
  return 0;
}

typedef struct {
  const uint8_t *id, *body;
  size_t id_len, body_len;
  pf_str type, from, to;
  int has_type, has_from, has_to;
} message;

// Only id, type, from, to and body are looked at; the id and body are kept
// as raw CBOR, so their content is never parsed here.
static int parse_message(const uint8_t *item, size_t len, message *m) {
  pf_cbor_reader r = pf_cbor_reader_of(item, len);
  size_t n;
  int more;
  if (!pf_cbor_read_map(&r, &n)) return 0;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    int ok;
    if (pf_cbor_read_text_eq(&r, PF_STR("id"))) ok = pf_cbor_take(&r, &m->id, &m->id_len);
    else if (pf_cbor_read_text_eq(&r, PF_STR("type"))) ok = m->has_type = pf_cbor_read_text(&r, &m->type);
    else if (pf_cbor_read_text_eq(&r, PF_STR("from"))) ok = m->has_from = pf_cbor_read_text(&r, &m->from);
    else if (pf_cbor_read_text_eq(&r, PF_STR("to"))) ok = m->has_to = pf_cbor_read_text(&r, &m->to);
    else if (pf_cbor_read_text_eq(&r, PF_STR("body"))) ok = pf_cbor_take(&r, &m->body, &m->body_len);
    else ok = pf_cbor_skip(&r) && pf_cbor_skip(&r);
    if (!ok) return 0;
  }
  return more == 0 && m->id && m->has_type && m->has_from && m->from.len > 0;
}

// A SUBSCRIBE body must be a map whose "resources" is an array of texts.
static int valid_resources(const uint8_t *body, size_t len) {
  if (!body) return 0;
  pf_cbor_reader r = pf_cbor_reader_of(body, len);
  size_t n, count;
  int more, found = 0;
  if (!pf_cbor_read_map(&r, &n)) return 0;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    if (pf_cbor_read_text_eq(&r, PF_STR("resources"))) {
      if (!pf_cbor_read_array(&r, &count)) return 0;
      int item;
      while ((item = pf_cbor_next(&r, &count)) > 0) {
        pf_str address;
        if (!pf_cbor_read_text(&r, &address)) return 0;
      }
      if (item < 0) return 0;
      found = 1;
    } else if (!pf_cbor_skip(&r) || !pf_cbor_skip(&r)) {
      return 0;
    }
  }
  return more == 0 && found;
}

// { id, type: "RESPONSE", from, to, body } — body is raw CBOR.
static void put_response(pf_cbor_writer *w, const message *m, pf_str from, const uint8_t *body, size_t body_len) {
  pf_cbor_put_map(w, 5);
  pf_cbor_put_textz(w, "id");
  pf_cbor_put_raw(w, m->id, m->id_len);
  pf_cbor_put_textz(w, "type");
  pf_cbor_put_textz(w, "RESPONSE");
  pf_cbor_put_textz(w, "from");
  pf_cbor_put_text(w, from);
  pf_cbor_put_textz(w, "to");
  pf_cbor_put_text(w, m->from);
  pf_cbor_put_textz(w, "body");
  pf_cbor_put_raw(w, body, body_len);
}

// CONTRACT.md: the stub URL, or an address below it.
static int to_self(const message *m) {
  return m->has_to && m->to.len >= stub_url.len && memcmp(m->to.ptr, stub_url.ptr, stub_url.len) == 0
    && (m->to.len == stub_url.len || m->to.ptr[stub_url.len] == '/');
}

// Returns 1 if it wrote a reply into w.
static int handle(pf_cbor_writer *w, const message *m) {
  static const uint8_t ok_body[] = {0xa1, 0x64, 'c', 'o', 'd', 'e', 0x18, 200};   // { code: 200 }
  static const uint8_t bad_body[] = {0xa1, 0x64, 'c', 'o', 'd', 'e', 0x19, 0x01, 0x90};  // { code: 400 }
  // { code: 400, reason: "not understood" }
  static const uint8_t not_understood[] = {0xa2, 0x64, 'c', 'o', 'd', 'e', 0x19, 0x01, 0x90, 0x66, 'r', 'e', 'a', 's', 'o', 'n',
    0x6e, 'n', 'o', 't', ' ', 'u', 'n', 'd', 'e', 'r', 's', 't', 'o', 'o', 'd'};
  static const uint8_t empty_body[] = {0xa0};
  // Replies are never answered, so two stubs cannot ping-pong forever.
  if (pf_str_eq(m->type, PF_STR("RESPONSE"))) return 0;
  if (to_self(m)) {
    // Control messages come from the runtime, to the stub URL exactly. With
    // no back-end, a subscription is confirmed at once, and there is no
    // session to end; a real stub answers when its back-end has (CONTRACT.md).
    int control = pf_str_eq(m->from, runtime_url) && pf_str_eq(m->to, stub_url);
    if (control && pf_str_eq(m->type, PF_STR("SUBSCRIBE"))) {
      int valid = valid_resources(m->body, m->body_len);
      put_response(w, m, stub_url, valid ? ok_body : bad_body, valid ? sizeof ok_body : sizeof bad_body);
      return 1;
    }
    if (control && pf_str_eq(m->type, PF_STR("UNSUBSCRIBE"))) return 0;  // needs no answer
    if (control && pf_str_eq(m->type, PF_STR("DELETE"))) {
      put_response(w, m, stub_url, ok_body, sizeof ok_body);
      return 1;
    }
    // Anything else addressed to the stub: answered, never silence.
    put_response(w, m, stub_url, not_understood, sizeof not_understood);
    return 1;
  }
  // A message for a remote address: a real stub carries it to its back-end.
  if (!m->has_to) return 0;
  put_response(w, m, m->to, m->body ? m->body : empty_body, m->body ? m->body_len : sizeof empty_body);
  return 1;
}

void stub_on_messages(const uint8_t *batch, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(batch, len);
  size_t n;
  if (!stub_url.ptr) return;  // not initialised: nobody to speak as
  if (!pf_cbor_read_array(&r, &n)) {
    pf_logz(PF_WARN, "{{name}}: batch is not a CBOR array, skipped");
    return;
  }
  // Replies go out as one batch whose length is known only at the end.
  pf_cbor_writer w = {0};
  pf_cbor_reserve_head(&w);
  size_t replies = 0, skipped = 0;
  int more;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    const uint8_t *item;
    size_t item_len;
    if (!pf_cbor_take(&r, &item, &item_len)) {
      more = -1;  // no way to find where the next message starts
      break;
    }
    message m = {0};
    if (!parse_message(item, item_len, &m)) skipped++;
    else replies += handle(&w, &m);
  }
  if (more < 0) pf_logz(PF_WARN, "{{name}}: batch is truncated or malformed, rest skipped");
  if (skipped) pf_logz(PF_WARN, "{{name}}: skipped malformed message(s)");
  size_t out_len;
  const uint8_t *out = pf_cbor_finish_head(&w, PF_CBOR_ARRAY, replies, &out_len);
  if (!out) pf_logz(PF_ERROR, "{{name}}: out of memory, replies dropped");
  else if (replies) pf_post(out, out_len);
  pf_cbor_writer_free(&w);
}

// Connections and timers: unused until the stub has a back-end to talk to.
void stub_on_open(uint32_t conn) { (void)conn; }
void stub_on_frame(uint32_t conn, const uint8_t *frame, size_t len) { (void)conn, (void)frame, (void)len; }
void stub_on_close(uint32_t conn, const char *reason, size_t len) { (void)conn, (void)reason, (void)len; }
void stub_on_timer(uint32_t id) { (void)id; }
