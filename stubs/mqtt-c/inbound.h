// Publications from the broker, checked to be messages and posted to the
// bus unchanged: everything one frame delivers as one batch.
#ifndef MQTT_C_INBOUND_H
#define MQTT_C_INBOUND_H

#include "packets.h"

typedef struct {
  pf_cbor_writer w;
  size_t count;
} inbound_batch;

void inbound_begin(inbound_batch *b);
// Adds the PUBLISH's payload if it is one CBOR map with text type and from.
void inbound_add(inbound_batch *b, const mqtt_packet *publish);
// Posts the batch (if it holds anything) and frees it; 0 if it ran out of
// memory and posted nothing.
int inbound_post(inbound_batch *b);

#endif
