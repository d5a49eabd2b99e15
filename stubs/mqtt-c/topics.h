// Address -> MQTT topic, as stubs/CONTRACT.md fixes it, so this stub and the
// TypeScript one meet on the same topics.
#ifndef MQTT_C_TOPICS_H
#define MQTT_C_TOPICS_H

#include "protostub.h"

enum { TOPIC_OK = 1, TOPIC_NOT_AN_ADDRESS = 0, TOPIC_OOM = -1 };

// `scheme://host/path` -> `<prefix><scheme>/<host>/<path>` with % + # NUL
// percent-encoded. On TOPIC_OK *out is a heap string (free with pf_str_free).
// A topic MQTT cannot carry (over 65535 bytes) counts as not an address.
int topic_for(pf_str prefix, pf_str address, pf_str *out);

#endif
