// Outbound publications: the queue that waits while we are not LIVE (or
// out of packet ids), and the QoS 1 publications in flight, in send order,
// so a drop can put them back at the head of the queue (at-least-once).
#ifndef MQTT_C_OUTBOX_H
#define MQTT_C_OUTBOX_H

#include "protostub.h"

typedef struct {
  size_t topic_len, payload_len;
  uint8_t data[];  // topic, then payload (the message's CBOR, as the bus gave it)
} outgoing;

// NULL when out of memory. Free with pf_free.
outgoing *outgoing_new(pf_str topic, const uint8_t *payload, size_t len);
pf_str outgoing_topic(const outgoing *o);

// A ring of outgoing pointers; it owns what it holds.
typedef struct {
  outgoing **slot;
  size_t head, count, cap;
} outqueue;

int outqueue_push_back(outqueue *q, outgoing *o);   // 0 when out of memory
int outqueue_push_front(outqueue *q, outgoing *o);  // 0 when out of memory
outgoing *outqueue_front(const outqueue *q);
outgoing *outqueue_pop_front(outqueue *q);
outgoing *outqueue_pop_back(outqueue *q);

// Publications awaiting PUBACK, by packet id, in send order. Acks mostly
// come in order, so lookup starts at the oldest.
typedef struct {
  struct flight { uint16_t id; outgoing *item; } *items;
  size_t head, len, cap;
} inflight;

int inflight_add(inflight *f, uint16_t id, outgoing *o);  // 0 when out of memory
int inflight_empty(const inflight *f);
// Frees the publication with this id; 0 if none was in flight.
int inflight_remove(inflight *f, uint16_t id);
// Moves every publication in flight to the head of q, oldest first; returns
// how many were lost for want of memory.
size_t inflight_requeue(inflight *f, outqueue *q);

#endif
