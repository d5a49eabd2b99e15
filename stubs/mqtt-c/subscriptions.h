// The broker's subscriptions kept equal to what local listeners want, and
// SUBSCRIBE control messages answered once the broker confirmed them
// (CONTRACT.md, "Messages from the runtime to the stub").
#ifndef MQTT_C_SUBSCRIPTIONS_H
#define MQTT_C_SUBSCRIPTIONS_H

#include "config.h"
#include "message.h"
#include "packets.h"

void subscriptions_init(const mqtt_config *config);
// A SUBSCRIBE or UNSUBSCRIBE control message: changes what is wanted.
void subscriptions_control(const message_view *m);
// After a batch: asks the broker for what changed. (Control messages whose
// topics are all confirmed already were answered as they came.)
void subscriptions_settle(void);
// Sends the next SUBSCRIBE or UNSUBSCRIBE (at most 256 topics) if none is in
// flight and we are LIVE.
void subscriptions_reconcile(void);
void subscriptions_on_suback(const mqtt_packet *p);
void subscriptions_on_unsuback(const mqtt_packet *p);
// The connection is gone: nothing asked on it is in flight any more.
void subscriptions_lost(void);
// A CONNACK: whether the broker kept our session (and so what we asked before).
void subscriptions_resumed(int session_present);

#endif
