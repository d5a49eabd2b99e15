#include "dispatch.h"
#include "answers.h"
#include "cbor.h"
#include "connection.h"
#include "message.h"
#include "outbound.h"
#include "subscriptions.h"
#include "text.h"

static const mqtt_config *cfg;

void dispatch_init(const mqtt_config *config) { cfg = config; }

// CONTRACT.md: the stub URL, or an address below it.
static int to_self(const message_view *m) {
  pf_str url = cfg->stub_url;
  return m->to.len >= url.len && memcmp(m->to.ptr, url.ptr, url.len) == 0
    && (m->to.len == url.len || m->to.ptr[url.len] == '/');
}

// CONTRACT.md, "Messages from the runtime to the stub": the runtime's own
// SUBSCRIBE, UNSUBSCRIBE and DELETE are control messages; anything else
// addressed to the stub is answered 400, a RESPONSE excepted (never
// answered). 1 if it may change subscriptions.
static int to_stub(const message_view *m) {
  int runtime = m->has_from && pf_str_eq(m->from, cfg->runtime_url) && pf_str_eq(m->to, cfg->stub_url);
  if (runtime && (message_is(m, Z("SUBSCRIBE")) || message_is(m, Z("UNSUBSCRIBE")))) {
    subscriptions_control(m);
    return 1;
  }
  if (runtime && message_is(m, Z("DELETE"))) {
    connection_end(m);
    return 0;
  }
  if (message_is(m, Z("RESPONSE"))) return 0;
  if (!refuse(m, CODE_BAD_REQUEST, Z("not understood: the MQTT stub takes SUBSCRIBE, UNSUBSCRIBE and DELETE from its runtime at its own address, nothing else"))) {
    char digits[20];
    say(PF_WARN, Z("skipping a message to the stub it cannot answer (id "), message_id_for_log(m, digits), Z(")"));
  }
  return 0;
}

void dispatch_batch(const uint8_t *batch, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(batch, len);
  // Like a decoder would, refuse the whole batch if any of it is broken.
  if (!pf_cbor_skip(&r) || !pf_cbor_at_end(&r)) {
    say(PF_WARN, Z("skipping a batch that is not CBOR"));
    return;
  }
  r = pf_cbor_reader_of(batch, len);
  size_t n;
  if (!pf_cbor_read_array(&r, &n)) {
    say(PF_WARN, Z("skipping a batch that is not a CBOR array"));
    return;
  }
  int subscriptions_changed = 0;
  while (pf_cbor_next(&r, &n) > 0) {
    const uint8_t *item;
    size_t item_len;
    if (!pf_cbor_take(&r, &item, &item_len)) break;
    message_view m;
    message_view_of(item, item_len, &m);
    if (!m.is_map || !m.has_to) {
      char digits[20];
      pf_str id = m.is_map ? message_id_for_log(&m, digits) : Z("?");
      if (m.is_map && refuse(&m, CODE_FAILED, Z("the message has no \"to\" address"))) {
        say(PF_WARN, Z("refused message "), id, Z(": no string \"to\""));
      } else {
        say(PF_WARN, Z("skipping a message without a string \"to\" (id "), id, Z(")"));
      }
      continue;
    }
    if (to_self(&m)) {
      subscriptions_changed |= to_stub(&m);
    } else {
      outbound_carry(item, item_len, &m);
    }
  }
  // Once per batch: a listener removed and added back in one batch changes
  // nothing at the broker.
  if (subscriptions_changed) subscriptions_settle();
}
