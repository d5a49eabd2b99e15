// What the stub wrote goes to the broker at the end of every host call.
// When the host says the socket is congested (CONTRACT.md, "Outbound"), the
// connection stays: what was not sent waits in the wire, first in line,
// and is tried again on a timer.
#ifndef MQTT_C_SENDING_H
#define MQTT_C_SENDING_H

#include "protostub.h"

// Sends what was written, unless a congested send waits for its timer.
void sending_flush(void);
// 1 if the timer was the retry's (and handled).
int sending_on_timer(uint32_t id);
// The socket is gone: nothing waits to be retried on it.
void sending_stop(void);

#endif
