// The RESPONSEs the stub owes: answers to its control messages, and
// refusals of messages it cannot carry (CONTRACT.md, "A stub never drops a
// message silently"). Gathered during a host call, posted together at its end.
#ifndef MQTT_C_ANSWERS_H
#define MQTT_C_ANSWERS_H

#include "message.h"

enum {
  CODE_OK = 200,
  CODE_BAD_REQUEST = 400,
  CODE_FORBIDDEN = 403,
  CODE_TOO_LARGE = 413,
  CODE_FAILED = 500,
  CODE_UNAVAILABLE = 503,
};

// Whom to answer later: copies of a message's id and from.
typedef struct {
  uint8_t *id;  // raw CBOR, NULL if the message had none
  size_t id_len;
  pf_str to;
} reply_to;

// 0 when out of memory (nothing kept).
int reply_to_keep(reply_to *r, const message_view *m);
void reply_to_free(reply_to *r);

void answers_init(pf_str stub_url);
// { id, type: "RESPONSE", from: stubURL, to, body: { code[, reason] } };
// reason.ptr NULL leaves it out, a NULL id is written as undefined.
void answer(const reply_to *r, unsigned code, pf_str reason);
// Answers a message the stub cannot carry. 0 when it cannot be answered: a
// RESPONSE (two dead ends would ping-pong), or no text from or usable id.
int refuse(const message_view *m, unsigned code, pf_str reason);
// Posts what was gathered, if anything.
void answers_post(void);

#endif
