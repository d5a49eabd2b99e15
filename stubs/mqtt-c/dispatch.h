// A batch from the bus, message by message: what is addressed to the stub
// itself (its URL or below) is a control message for its handler or answered
// 400; the rest are carried to the broker.
#ifndef MQTT_C_DISPATCH_H
#define MQTT_C_DISPATCH_H

#include "config.h"

void dispatch_init(const mqtt_config *config);
void dispatch_batch(const uint8_t *batch, size_t len);

#endif
