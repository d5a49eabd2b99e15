// Asks for a connection its descriptor does not allow, then tells the sender
// what the host said, so a test can check the refusal arrived as an err
// result the stub could read (and not as a trap or a silent success).
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-open";

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m;
  if (!hostile_parse(msg, len, &m) || !m.has_from || !m.id) {
    pf_logz(PF_WARN, "hostile-open: trigger has no from or id, nobody to tell");
    return;
  }
  uint32_t conn = 0;
  pf_str err = {0};
  int refused = pf_open(PF_STR("ws://127.0.0.1:1/not-allowed"), NULL, 0, &conn, &err) != 0;
  // A connection the host wrongly opened is left open: the test that
  // catches the bug may want to look at it.
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
    pf_cbor_put_map(&w, 2);
    pf_cbor_put_textz(&w, "opened");
    pf_cbor_put_simple(&w, PF_CBOR_FALSE);
    pf_cbor_put_textz(&w, "error");
    pf_cbor_put_text(&w, err);
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
