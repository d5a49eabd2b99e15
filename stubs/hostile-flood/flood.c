// Floods the bus in one call, every message valid, so only the rate (not the
// content) can get it stopped. How depends on the last path segment of the
// trigger's `to`:
//   .../messages  20 posts, each a batch of 5,000 messages (many messages, few posts);
//   .../bytes     32 posts, each one message carrying 2 MiB (many bytes, few messages);
//   .../big       one post of one message carrying 2 MiB (over the bus's
//                 largest message, under the largest batch);
//   anything else 100,000 posts, each a batch of one message.
// The messages come from <stubURL>/flood and go to the trigger's `from`.
#include "../hostile-common/hostile.h"

#define FLOOD_POSTS 100000u
#define MESSAGES_POSTS 20u
#define MESSAGES_PER_POST 5000u
#define BYTES_POSTS 32u
#define BLOB_BYTES (2u * 1024u * 1024u)

const char echo_name[] = "hostile-flood";

// Zeros, in .bss (no bytes in the component): the body of a heavy message.
static uint8_t blob[BLOB_BYTES];

// One CREATE from <stubURL>/flood to `to`, with body { n } or { n, blob }.
static void put_message(pf_cbor_writer *w, pf_str to, uint32_t n, int with_blob) {
  static const char suffix[] = "/flood";
  pf_str url = echo_stub_url();
  char id[20];
  pf_cbor_put_map(w, 5);
  pf_cbor_put_textz(w, "id");
  pf_cbor_put_text(w, hostile_fresh_id(id));
  pf_cbor_put_textz(w, "type");
  pf_cbor_put_textz(w, "CREATE");
  pf_cbor_put_textz(w, "from");
  pf_cbor_put_head(w, PF_CBOR_TEXT, url.len + sizeof suffix - 1);
  pf_cbor_put_raw(w, (const uint8_t *)url.ptr, url.len);
  pf_cbor_put_raw(w, (const uint8_t *)suffix, sizeof suffix - 1);
  pf_cbor_put_textz(w, "to");
  pf_cbor_put_text(w, to);
  pf_cbor_put_textz(w, "body");
  pf_cbor_put_map(w, with_blob ? 2 : 1);
  pf_cbor_put_textz(w, "n");
  pf_cbor_put_uint(w, n);
  if (with_blob) {
    pf_cbor_put_textz(w, "blob");
    pf_cbor_put_bytes(w, blob, sizeof blob);
  }
}

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m;
  if (!hostile_parse(msg, len, &m) || !m.has_from) {
    pf_logz(PF_WARN, "hostile-flood: trigger has no from, nobody to flood");
    return;
  }
  int many_messages = m.has_to && hostile_ends_with(m.to, "/messages");
  int many_bytes = m.has_to && hostile_ends_with(m.to, "/bytes");
  int big = m.has_to && hostile_ends_with(m.to, "/big");
  uint32_t posts = many_messages ? MESSAGES_POSTS : many_bytes ? BYTES_POSTS : big ? 1 : FLOOD_POSTS;
  uint32_t per_post = many_messages ? MESSAGES_PER_POST : 1;
  uint32_t n = 0;
  pf_cbor_writer w = {0};
  for (uint32_t p = 0; p < posts; p++) {
    w.len = 0;  // one buffer for all posts: the flood is of posts, not of allocations
    pf_cbor_put_array(&w, per_post);
    for (uint32_t i = 0; i < per_post; i++) put_message(&w, m.from, n++, many_bytes || big);
    if (w.oom) break;
    pf_post(w.data, w.len);
  }
  pf_cbor_writer_free(&w);
}
