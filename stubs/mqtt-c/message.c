#include "message.h"
#include "cbor.h"
#include "text.h"

void message_view_of(const uint8_t *item, size_t len, message_view *m) {
  pf_cbor_reader r = pf_cbor_reader_of(item, len);
  size_t n;
  *m = (message_view){0};
  if (!pf_cbor_read_map(&r, &n)) return;
  m->is_map = 1;
  while (pf_cbor_next(&r, &n) > 0) {
    int ok = 1;
    if (pf_cbor_read_text_eq(&r, Z("id"))) {
      ok = pf_cbor_take(&r, &m->id, &m->id_len);
    } else if (pf_cbor_read_text_eq(&r, Z("body"))) {
      ok = pf_cbor_take(&r, &m->body, &m->body_len);
    } else {
      int *has = NULL;
      pf_str *text = NULL;
      if (pf_cbor_read_text_eq(&r, Z("type"))) has = &m->has_type, text = &m->type;
      else if (pf_cbor_read_text_eq(&r, Z("from"))) has = &m->has_from, text = &m->from;
      else if (pf_cbor_read_text_eq(&r, Z("to"))) has = &m->has_to, text = &m->to;
      else ok = pf_cbor_skip(&r);
      if (ok && has) {
        *has = pf_cbor_read_text(&r, text);
        if (!*has) ok = pf_cbor_skip(&r);
      } else if (ok) {
        ok = pf_cbor_skip(&r);
      }
    }
    if (!ok) return;
  }
}

int message_is(const message_view *m, pf_str type) { return m->has_type && pf_str_eq(m->type, type); }

pf_str message_id_for_log(const message_view *m, char scratch[20]) {
  if (!m->id) return Z("undefined");
  pf_cbor_reader r = pf_cbor_reader_of(m->id, m->id_len);
  pf_str text;
  uint64_t v;
  if (pf_cbor_read_text(&r, &text)) return text;
  if (pf_cbor_read_uint(&r, &v)) return num(scratch, v);
  return Z("?");
}
