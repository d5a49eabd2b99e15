// What the stub says in its status: the message itself is pf_post_status's.
#ifndef MQTT_C_STATUS_H
#define MQTT_C_STATUS_H

#include "protostub.h"

// CONNACK return codes of MQTT 3.1.1, worded for whoever reads the status.
// The result is static text.
pf_str connack_reason(uint8_t code);

#endif
