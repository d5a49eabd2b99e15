// The init config (stubs/CONTRACT.md, "Init config"), checked once so the
// rest of the stub can trust it. The TypeScript stub's config.ts rules, plus
// the keys of CONTRACT.md's "Delivery across back-end faults".
#ifndef MQTT_C_CONFIG_H
#define MQTT_C_CONFIG_H

#include "protostub.h"

typedef struct {
  pf_str runtime_url;
  pf_str stub_url;
  pf_str domain;
  pf_str *urls;  // brokers to try, in order (at least one)
  size_t n_urls;
  pf_str topic_prefix;
  uint16_t keepalive_sec;
  int persistent_session;    // cleanSession 0, so the broker keeps what comes while we are away
  size_t max_message_bytes;  // larger messages are refused (413) before any copy is made
  int has_username, has_password;
  pf_str username, password;
  uint8_t *bytes;  // the copy of the init config every pf_str above points into
} mqtt_config;

// Returns 1 with *config filled, or 0 with *err set to text that stays valid
// after the call (the host reads it once init has returned).
int config_parse(const uint8_t *data, size_t len, mqtt_config *config, pf_str *err);

#endif
