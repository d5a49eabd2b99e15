// {{name}}: a protofly protocol stub (stubs/CONTRACT.md in the protofly
// package says what every callback receives and must answer).
// As generated it has no back-end: it goes LIVE at init, acknowledges
// SUBSCRIBE control messages and echoes every other message back to its
// sender. Replace the echo with your protocol; keep the rest of the contract.
#include "cbor.h"
#include "protostub.h"

static pf_str stub_url;  // our own copy: the config is freed after init

// The whole config must be one well-formed CBOR map with a text stubURL;
// anything else is refused with an err (never a trap).
static int read_config(const uint8_t *config, size_t len, pf_str *url) {
  pf_cbor_reader r = pf_cbor_reader_of(config, len);
  size_t n;
  int has_url = 0, more;
  if (!pf_cbor_read_map(&r, &n)) return 0;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    if (pf_cbor_read_text_eq(&r, PF_STR("stubURL"))) {
      has_url = pf_cbor_read_text(&r, url) && url->len > 0;
      if (!has_url) return 0;
    } else if (!pf_cbor_skip(&r) || !pf_cbor_skip(&r)) {
      // Your own settings are under "configuration": read them here.
      return 0;
    }
  }
  return more == 0 && pf_cbor_at_end(&r) && has_url;
}

// The status message, in exactly the shape CONTRACT.md ("Status") fixes.
int stub_init(const uint8_t *config, size_t len, pf_str *err) {
  pf_str url = {0};
  if (!read_config(config, len, &url)) {
    *err = PF_STR("config is not a CBOR map with a stubURL");
    return 1;
  }
  pf_str copy = pf_str_dup(url);
  if (!copy.ptr) {
    *err = PF_STR("out of memory");
    return 1;
  }
  pf_str_free(&stub_url);
  stub_url = copy;
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

// Returns 1 if it wrote a reply into w.
static int handle(pf_cbor_writer *w, const message *m) {
  static const uint8_t ok_body[] = {0xa1, 0x64, 'c', 'o', 'd', 'e', 0x18, 200};   // { code: 200 }
  static const uint8_t bad_body[] = {0xa1, 0x64, 'c', 'o', 'd', 'e', 0x19, 0x01, 0x90};  // { code: 400 }
  static const uint8_t empty_body[] = {0xa0};
  if (m->has_to && pf_str_eq(m->to, stub_url)) {
    // A control message. With no back-end, a subscription is confirmed at
    // once; a real stub answers when its back-end has (CONTRACT.md).
    if (!pf_str_eq(m->type, PF_STR("SUBSCRIBE"))) return 0;  // UNSUBSCRIBE and the rest need no answer
    int valid = valid_resources(m->body, m->body_len);
    put_response(w, m, stub_url, valid ? ok_body : bad_body, valid ? sizeof ok_body : sizeof bad_body);
    return 1;
  }
  // A message for a remote address: a real stub carries it to its back-end.
  // Replies are never answered, so two echoes cannot ping-pong forever.
  if (!m->has_to || pf_str_eq(m->type, PF_STR("RESPONSE"))) return 0;
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
