// Posts messages that claim to come from addresses the stub does not own: a
// hyperty in another domain, and another stub. Each goes in its own post so
// the runtime's verdict on one cannot hide its verdict on the other.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-spoof";

static const char *const forged[] = {
  "hyperty://victim.example/alice",
  "hyperty-runtime://someone-else/protostub/x",
};

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m;
  if (!hostile_parse(msg, len, &m) || !m.has_from) {
    pf_logz(PF_WARN, "hostile-spoof: trigger has no from, nobody to fool");
    return;
  }
  for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
    char id[20];
    pf_cbor_writer w = {0};
    pf_cbor_put_array(&w, 1);
    pf_cbor_put_map(&w, 5);
    pf_cbor_put_textz(&w, "id");
    pf_cbor_put_text(&w, hostile_fresh_id(id));
    pf_cbor_put_textz(&w, "type");
    pf_cbor_put_textz(&w, "CREATE");
    pf_cbor_put_textz(&w, "from");
    pf_cbor_put_textz(&w, forged[i]);
    pf_cbor_put_textz(&w, "to");
    pf_cbor_put_text(&w, m.from);
    pf_cbor_put_textz(&w, "body");
    pf_cbor_put_map(&w, 1);
    pf_cbor_put_textz(&w, "spoofed");
    pf_cbor_put_simple(&w, PF_CBOR_TRUE);
    hostile_post(&w);
  }
}
