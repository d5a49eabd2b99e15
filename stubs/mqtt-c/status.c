#include "status.h"
#include "cbor.h"
#include "text.h"

// Ids only need to be unique; the stub URL scopes them to this instance and
// the counter orders them.
static uint64_t counter;

int status_post(pf_str stub_url, const char *value, pf_str reason, const char *code) {
  static const char suffix[] = "/status";
  static const char marker[] = "/status#c";
  char digits[20];
  pf_str n = num(digits, ++counter);
  size_t fields = 1 + (reason.ptr ? 1 : 0) + (code ? 1 : 0);
  pf_cbor_writer w = {0};
  pf_cbor_put_array(&w, 1);
  pf_cbor_put_map(&w, 5);
  pf_cbor_put_textz(&w, "id");
  pf_cbor_put_head(&w, PF_CBOR_TEXT, stub_url.len + sizeof marker - 1 + n.len);
  buf_str(&w, stub_url);
  buf_z(&w, marker);
  buf_str(&w, n);
  pf_cbor_put_textz(&w, "type");
  pf_cbor_put_textz(&w, "UPDATE");
  pf_cbor_put_textz(&w, "from");
  pf_cbor_put_text(&w, stub_url);
  pf_cbor_put_textz(&w, "resource");
  pf_cbor_put_head(&w, PF_CBOR_TEXT, stub_url.len + sizeof suffix - 1);
  buf_str(&w, stub_url);
  buf_z(&w, suffix);
  pf_cbor_put_textz(&w, "body");
  pf_cbor_put_map(&w, fields);
  pf_cbor_put_textz(&w, "value");
  pf_cbor_put_textz(&w, value);
  if (reason.ptr) {
    pf_cbor_put_textz(&w, "reason");
    pf_cbor_put_text(&w, reason);
  }
  if (code) {
    pf_cbor_put_textz(&w, "code");
    pf_cbor_put_textz(&w, code);
  }
  int ok = !w.oom;
  if (ok) pf_post(w.data, w.len);
  pf_cbor_writer_free(&w);
  return ok;
}

pf_str connack_reason(uint8_t code) {
  switch (code) {
    case 1: return Z("broker refused the protocol version (MQTT 3.1.1)");
    case 2: return Z("broker rejected the client identifier");
    case 3: return Z("broker unavailable");
    case 4: return Z("broker refused the login: bad user name or password");
    case 5: return Z("not authorized");
    default: break;
  }
  // Codes beyond the spec name the number, like the TypeScript stub does.
  static char text[64];
  static const char head[] = "broker refused the connection (return code ";
  char digits[20];
  pf_str n = num(digits, code);
  size_t at = sizeof head - 1;
  memcpy(text, head, at);
  memcpy(text + at, n.ptr, n.len);
  at += n.len;
  text[at++] = ')';
  return (pf_str){text, at};
}
