// Asks for connections its descriptor does not allow, then tells the sender
// what the host said, so a test can check the refusal arrived as an err
// result the stub could read (and not as a trap or a silent success). Which
// request depends on the last path segment of the trigger's `to`:
//   .../loop   1,000 opens outside the connect list in one call;
//   .../limit  opens of ws://127.0.0.1:1/allowed (a descriptor may allow it)
//              until one is refused, at most 64;
//   anything else: one open outside the connect list.
// The answer's body: { opened: false, error: <the last err>, refused: <how
// many were refused>, granted: <how many opened> } — or { opened: true,
// conn } when the host wrongly opened the one forbidden URL.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-open";

#define LOOP_OPENS 1000u
#define LIMIT_OPENS 64u

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m;
  if (!hostile_parse(msg, len, &m) || !m.has_from || !m.id) {
    pf_logz(PF_WARN, "hostile-open: trigger has no from or id, nobody to tell");
    return;
  }
  int loop = m.has_to && hostile_ends_with(m.to, "/loop");
  int limit = m.has_to && hostile_ends_with(m.to, "/limit");
  pf_str url = limit ? PF_STR("ws://127.0.0.1:1/allowed") : PF_STR("ws://127.0.0.1:1/not-allowed");
  uint32_t attempts = loop ? LOOP_OPENS : limit ? LIMIT_OPENS : 1;
  uint32_t conn = 0, refused = 0, granted = 0;
  pf_str err = {0};
  for (uint32_t i = 0; i < attempts; i++) {
    pf_str_free(&err);
    if (pf_open(url, NULL, 0, &conn, &err) != 0) {
      refused++;
      if (limit) break;
    } else {
      // A connection the host wrongly opened is left open: the test that
      // catches the bug may want to look at it.
      granted++;
    }
  }
  pf_cbor_writer w = {0};
  pf_cbor_put_array(&w, 1);
  pf_cbor_put_map(&w, 5);
  pf_cbor_put_textz(&w, "id");
  pf_cbor_put_raw(&w, m.id, m.id_len);
  pf_cbor_put_textz(&w, "type");
  pf_cbor_put_textz(&w, "RESPONSE");
  pf_cbor_put_textz(&w, "from");
  pf_cbor_put_text(&w, m.has_to ? m.to : echo_stub_url());
  pf_cbor_put_textz(&w, "to");
  pf_cbor_put_text(&w, m.from);
  pf_cbor_put_textz(&w, "body");
  if (refused) {
    pf_cbor_put_map(&w, 4);
    pf_cbor_put_textz(&w, "opened");
    pf_cbor_put_simple(&w, PF_CBOR_FALSE);
    pf_cbor_put_textz(&w, "error");
    pf_cbor_put_text(&w, err);
    pf_cbor_put_textz(&w, "refused");
    pf_cbor_put_uint(&w, refused);
    pf_cbor_put_textz(&w, "granted");
    pf_cbor_put_uint(&w, granted);
  } else {
    pf_cbor_put_map(&w, 2);
    pf_cbor_put_textz(&w, "opened");
    pf_cbor_put_simple(&w, PF_CBOR_TRUE);
    pf_cbor_put_textz(&w, "conn");
    pf_cbor_put_uint(&w, conn);
  }
  hostile_post(&w);
  pf_str_free(&err);
}
