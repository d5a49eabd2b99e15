// One message of a batch from the bus, as far as the stub looks at it: the
// fields it routes and answers by. The rest travels untouched.
#ifndef MQTT_C_MESSAGE_H
#define MQTT_C_MESSAGE_H

#include "protostub.h"

typedef struct {
  int is_map, has_type, has_from, has_to;
  pf_str type, from, to;
  const uint8_t *id, *body;  // raw CBOR items, NULL when absent
  size_t id_len, body_len;
} message_view;

// item must be one well-formed CBOR item; the view points into it.
void message_view_of(const uint8_t *item, size_t len, message_view *m);
int message_is(const message_view *m, pf_str type);
// The id for log lines: text ids as they are, numbers in decimal, else '?'.
pf_str message_id_for_log(const message_view *m, char scratch[20]);

#endif
