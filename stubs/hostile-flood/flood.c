// 100 000 posts in one call, each a valid batch of one message, so only the
// rate (not the content) can get it stopped.
#include "../hostile-common/hostile.h"

#define FLOOD_POSTS 100000u

const char echo_name[] = "hostile-flood";

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m;
  if (!hostile_parse(msg, len, &m) || !m.has_from) {
    pf_logz(PF_WARN, "hostile-flood: trigger has no from, nobody to flood");
    return;
  }
  pf_str url = echo_stub_url();
  static const char suffix[] = "/flood";
  pf_cbor_writer w = {0};
  for (uint32_t i = 0; i < FLOOD_POSTS; i++) {
    char id[20];
    w.len = 0;  // one buffer for all posts: the flood is of posts, not of allocations
    pf_cbor_put_array(&w, 1);
    pf_cbor_put_map(&w, 5);
    pf_cbor_put_textz(&w, "id");
    pf_cbor_put_text(&w, hostile_fresh_id(id));
    pf_cbor_put_textz(&w, "type");
    pf_cbor_put_textz(&w, "CREATE");
    pf_cbor_put_textz(&w, "from");
    pf_cbor_put_head(&w, PF_CBOR_TEXT, url.len + sizeof suffix - 1);
    pf_cbor_put_raw(&w, (const uint8_t *)url.ptr, url.len);
    pf_cbor_put_raw(&w, (const uint8_t *)suffix, sizeof suffix - 1);
    pf_cbor_put_textz(&w, "to");
    pf_cbor_put_text(&w, m.from);
    pf_cbor_put_textz(&w, "body");
    pf_cbor_put_map(&w, 1);
    pf_cbor_put_textz(&w, "n");
    pf_cbor_put_uint(&w, i);
    if (w.oom) break;
    pf_post(w.data, w.len);
  }
  pf_cbor_writer_free(&w);
}
