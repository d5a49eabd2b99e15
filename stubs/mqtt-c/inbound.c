#include "inbound.h"
#include "text.h"

// Is this a message: one CBOR map with text type and from (later keys win,
// as they do when cbor-x decodes)? The input is known to be well-formed.
static int looks_like_message(const uint8_t *data, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(data, len);
  size_t n;
  int has_type = 0, has_from = 0;
  if (!pf_cbor_read_map(&r, &n)) return 0;
  while (pf_cbor_next(&r, &n) > 0) {
    int *flag = pf_cbor_read_text_eq(&r, Z("type")) ? &has_type
      : pf_cbor_read_text_eq(&r, Z("from")) ? &has_from
      : NULL;
    if (!flag && !pf_cbor_skip(&r)) return 0;
    if (flag) *flag = pf_cbor_peek(&r) == PF_CBOR_TEXT;
    if (!pf_cbor_skip(&r)) return 0;
  }
  return has_type && has_from;
}

static int accept_payload(pf_str topic, const uint8_t *payload, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(payload, len);
  if (!pf_cbor_skip(&r) || !pf_cbor_at_end(&r)) {
    say(PF_WARN, Z("skipping publication on "), topic, Z(": not one CBOR item"));
    return 0;
  }
  if (!looks_like_message(payload, len)) {
    say(PF_WARN, Z("skipping publication on "), topic, Z(": not a message (needs string type and from)"));
    return 0;
  }
  return 1;
}

void inbound_begin(inbound_batch *b) {
  *b = (inbound_batch){0};
  pf_cbor_reserve_head(&b->w);
}

void inbound_add(inbound_batch *b, const mqtt_packet *p) {
  if (!accept_payload(p->topic, p->data, p->data_len)) return;
  pf_cbor_put_raw(&b->w, p->data, p->data_len);
  b->count++;
}

int inbound_post(inbound_batch *b) {
  int ok = 1;
  if (b->count) {
    size_t len;
    const uint8_t *batch = pf_cbor_finish_head(&b->w, PF_CBOR_ARRAY, b->count, &len);
    if (batch) pf_post(batch, len);
    ok = batch != NULL;
  }
  pf_cbor_writer_free(&b->w);
  b->count = 0;
  return ok;
}
