// SUBSCRIBE control messages waiting for the broker to confirm their topics
// (CONTRACT.md: answered 200 once SUBACK confirms them all, 403 once it
// refuses one). Each message counts the topics it still waits for, and each
// topic keeps a chain of the messages waiting on it, so a SUBACK touches
// only the messages its own topics concern, however many wait.
#ifndef MQTT_C_AWAITING_H
#define MQTT_C_AWAITING_H

#include "message.h"

#define AWAITING_NONE ((uint32_t)-1)

// Starts waiting for m's topics; AWAITING_NONE when out of memory (m will
// not be answered). The other calls take AWAITING_NONE and do nothing.
uint32_t awaiting_begin(const message_view *m);
// w also waits for the topic whose chain of waiters starts at *chain (an
// AWAITING_NONE chain is empty). 0 when out of memory: w will not be answered.
int awaiting_topic(uint32_t w, uint32_t *chain);
// One of w's topics was refused already: w is answered 403 now.
void awaiting_deny(uint32_t w);
// Every topic of w is named: answered 200 now if it waits for none.
void awaiting_end(uint32_t w);
// The topic whose chain of waiters is *chain was confirmed, or refused:
// each message waiting on it is answered once it waits for nothing more
// (200), or at once on a refusal (403). *chain is emptied.
void awaiting_settle(uint32_t *chain, int refused);

#endif
