#include "answers.h"
#include "cbor.h"
#include "text.h"

// A batch grown past this is posted at once: the host refuses posts over
// 4 MiB, and 10 000 refusals at once (a full queue) come near.
#define POST_AT_BYTES (256 * 1024)

static pf_str stub_url;
static pf_cbor_writer batch;
static size_t count;

int reply_to_keep(reply_to *r, const message_view *m) {
  *r = (reply_to){0};
  r->to = pf_str_dup(m->from);
  if (m->id) {
    r->id = pf_alloc(m->id_len);
    if (r->id) memcpy(r->id, m->id, m->id_len);
    r->id_len = m->id_len;
  }
  if (!r->to.ptr || (m->id && !r->id)) {
    reply_to_free(r);
    return 0;
  }
  return 1;
}

void reply_to_free(reply_to *r) {
  pf_free(r->id);
  pf_str_free(&r->to);
  *r = (reply_to){0};
}

void answers_init(pf_str url) { stub_url = url; }

static void put(const uint8_t *id, size_t id_len, pf_str to, unsigned code, pf_str reason) {
  static const uint8_t undefined = 0xf7;  // what cbor-x makes of a missing id
  if (!count) pf_cbor_reserve_head(&batch);
  pf_cbor_put_map(&batch, 5);
  pf_cbor_put_textz(&batch, "id");
  if (id) {
    pf_cbor_put_raw(&batch, id, id_len);
  } else {
    pf_cbor_put_raw(&batch, &undefined, 1);
  }
  pf_cbor_put_textz(&batch, "type");
  pf_cbor_put_textz(&batch, "RESPONSE");
  pf_cbor_put_textz(&batch, "from");
  pf_cbor_put_text(&batch, stub_url);
  pf_cbor_put_textz(&batch, "to");
  pf_cbor_put_text(&batch, to);
  pf_cbor_put_textz(&batch, "body");
  pf_cbor_put_map(&batch, reason.ptr ? 2 : 1);
  pf_cbor_put_textz(&batch, "code");
  pf_cbor_put_uint(&batch, code);
  if (reason.ptr) {
    pf_cbor_put_textz(&batch, "reason");
    pf_cbor_put_text(&batch, reason);
  }
  count++;
  if (batch.len >= POST_AT_BYTES) answers_post();
}

void answer(const reply_to *r, unsigned code, pf_str reason) { put(r->id, r->id_len, r->to, code, reason); }

// The runtime's schema takes a text or a number as id.
static int usable_id(const message_view *m) {
  if (!m->id || !m->id_len) return 0;
  int major = m->id[0] >> 5;
  uint8_t info = m->id[0] & 0x1f;
  return major == PF_CBOR_TEXT || major == PF_CBOR_UINT || major == PF_CBOR_NEGINT
    || (major == PF_CBOR_SIMPLE && info >= 25 && info <= 27);  // half, single, double floats
}

int refuse(const message_view *m, unsigned code, pf_str reason) {
  if (message_is(m, Z("RESPONSE")) || !m->has_from || !m->from.len || !usable_id(m)) return 0;
  put(m->id, m->id_len, m->from, code, reason);
  return 1;
}

void answers_post(void) {
  if (!count) return;
  size_t len;
  const uint8_t *bytes = pf_cbor_finish_head(&batch, PF_CBOR_ARRAY, count, &len);
  if (bytes) {
    pf_post(bytes, len);
  } else {
    char digits[20];
    say(PF_ERROR, Z("out of memory; "), num(digits, count), Z(" answers (RESPONSE) lost"));
  }
  // The buffer is kept for the next answers; only a large one is let go.
  if (batch.cap > 2 * POST_AT_BYTES) {
    pf_cbor_writer_free(&batch);
  } else {
    batch.len = 0;
    batch.oom = 0;
  }
  count = 0;
}
