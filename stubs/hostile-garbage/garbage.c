// Posts four batches the runtime must reject, each on its own so each is
// judged alone, then answers the trigger as the echo would: the runtime must
// drop the garbage without dropping the stub.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-garbage";

// 0xff is a break outside any container, 0xfe..0xfc are reserved heads.
static const uint8_t not_cbor[] = {0xff, 0xfe, 0xfd, 0xfc, 0x00, 0x01};

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m = {0};  // hostile_parse leaves it alone on failure
  int usable = hostile_parse(msg, len, &m) && m.has_from;
  // Addressed from inside the stub's own space, so that the only thing wrong
  // with the messages below is what each one is meant to get wrong.
  pf_str from = m.has_to ? m.to : echo_stub_url();
  pf_str to = usable ? m.from : echo_stub_url();
  char id[20];

  pf_post(not_cbor, sizeof not_cbor);

  pf_cbor_writer w = {0};
  pf_cbor_put_array(&w, 4);  // a batch whose elements are not messages
  pf_cbor_put_uint(&w, 1);
  pf_cbor_put_textz(&w, "two");
  pf_cbor_put_simple(&w, PF_CBOR_NULL);
  pf_cbor_put_array(&w, 1);
  pf_cbor_put_uint(&w, 3);
  hostile_post(&w);

  w = (pf_cbor_writer){0};
  pf_cbor_put_array(&w, 1);  // a message with no type
  pf_cbor_put_map(&w, 3);
  pf_cbor_put_textz(&w, "id");
  pf_cbor_put_text(&w, hostile_fresh_id(id));
  pf_cbor_put_textz(&w, "from");
  pf_cbor_put_text(&w, from);
  pf_cbor_put_textz(&w, "to");
  pf_cbor_put_text(&w, to);
  hostile_post(&w);

  // A well-formed batch of two, cut off inside its first message.
  w = (pf_cbor_writer){0};
  pf_cbor_put_array(&w, 2);
  pf_cbor_put_map(&w, 4);
  pf_cbor_put_textz(&w, "id");
  pf_cbor_put_text(&w, hostile_fresh_id(id));
  pf_cbor_put_textz(&w, "type");
  pf_cbor_put_textz(&w, "CREATE");
  pf_cbor_put_textz(&w, "from");
  pf_cbor_put_text(&w, from);
  pf_cbor_put_textz(&w, "to");
  pf_cbor_put_text(&w, to);
  if (!w.oom) pf_post(w.data, w.len / 2);
  pf_cbor_writer_free(&w);

  if (!hostile_echo(msg, len)) pf_logz(PF_WARN, "hostile-garbage: trigger could not be echoed");
}
