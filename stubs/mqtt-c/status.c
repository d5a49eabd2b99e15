#include "status.h"
#include "cbor.h"
#include "text.h"

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
