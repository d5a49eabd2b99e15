// The echo's parts, shared with the hostile fixtures (stubs/hostile-*), which
// are echo stubs until attacked: init (LIVE; configuration.failInit refuses)
// and reading and answering one message.
#ifndef ECHO_H
#define ECHO_H

#include "cbor.h"
#include "protostub.h"

// Named in log lines; each stub built with echo-core.c defines it.
extern const char echo_name[];

// The stubURL from the last successful init.
pf_str echo_stub_url(void);

// The fields of a message an echo needs. Strings and raw items point into
// the message. id and body are raw CBOR items (NULL when absent).
typedef struct {
  const uint8_t *id;
  size_t id_len;
  const uint8_t *body;
  size_t body_len;
  pf_str type, from, to;
  int has_type, has_from, has_to;
} echo_message;

// Reads the message (a map) where r stands. On success fills *out and moves
// r past it; otherwise leaves both alone and returns 0.
int echo_read(pf_cbor_reader *r, echo_message *out);

enum echo_outcome { ECHO_REPLIED, ECHO_CONTROL, ECHO_MALFORMED };

// Reads one message where r stands and writes its RESPONSE into w, from and
// to swapped, same id. A message for a remote address gets its body back.
// One addressed to the stub itself (its URL or below, CONTRACT.md): a READ
// gets { code: 200, value: <its body> }, anything else { code: 400, reason };
// the runtime's control messages and RESPONSEs get nothing (CONTROL). A
// message needs an id and text from and to. r moves past the message unless
// it is MALFORMED.
enum echo_outcome echo_reply(pf_cbor_writer *w, pf_cbor_reader *r);

#endif
