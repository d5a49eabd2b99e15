// Status messages in the exact shape of stubs/CONTRACT.md ("Status").
#ifndef MQTT_C_STATUS_H
#define MQTT_C_STATUS_H

#include "protostub.h"

// Posts [{ id, type: UPDATE, from, resource: <stubURL>/status, body }] where
// body is { value } plus reason and code when given (NULL ptr / NULL = none).
// Returns 0 when out of memory (nothing posted).
int status_post(pf_str stub_url, const char *value, pf_str reason, const char *code);

// CONNACK return codes of MQTT 3.1.1, worded for whoever reads the status.
// The result is static text.
pf_str connack_reason(uint8_t code);

#endif
