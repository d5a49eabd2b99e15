// Messages from the bus to remote addresses, carried to the broker as QoS 1
// publications: sent when LIVE, queued (bounded) when not, put back at the
// head of the queue when a connection drops before their PUBACK, refused
// while the socket is congested and the wire full (wire.h). What cannot
// be carried is refused to its sender (answers.h), never dropped silently.
#ifndef MQTT_C_OUTBOUND_H
#define MQTT_C_OUTBOUND_H

#include "config.h"
#include "message.h"

void outbound_init(const mqtt_config *config);
// item is the message's CBOR exactly as it came in the batch.
void outbound_carry(const uint8_t *item, size_t len, const message_view *m);
// Publishes what is queued, while LIVE and packet ids last.
void outbound_flush(void);
void outbound_on_puback(uint16_t packet_id);
// The connection is gone: publications in flight go back to the queue.
void outbound_requeue(void);
// Nothing queued and nothing awaiting a PUBACK.
int outbound_idle(void);
// Refuses everything queued or in flight with this code and reason.
void outbound_refuse_all(unsigned code, pf_str reason);

#endif
