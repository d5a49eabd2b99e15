// MQTT 3.1.1 packets the client needs: encoders for what it sends, and a
// streaming reader for what the broker sends, since one WebSocket frame may
// carry several packets or a part of one.
#ifndef MQTT_C_PACKETS_H
#define MQTT_C_PACKETS_H

#include "cbor.h"

enum {
  MQTT_CONNECT = 1, MQTT_CONNACK = 2, MQTT_PUBLISH = 3, MQTT_PUBACK = 4, MQTT_PUBREC = 5,
  MQTT_PUBREL = 6, MQTT_PUBCOMP = 7, MQTT_SUBSCRIBE = 8, MQTT_SUBACK = 9, MQTT_UNSUBSCRIBE = 10,
  MQTT_UNSUBACK = 11, MQTT_PINGREQ = 12, MQTT_PINGRESP = 13, MQTT_DISCONNECT = 14,
};

// ---- Encoders ----------------------------------------------------------------
// Each appends one whole packet to w and returns 1, or returns 0 (writing
// nothing) when a field is too long for MQTT. Out of memory shows as w->oom.

// clean_session 0 asks the broker to resume (or start) a session that
// outlives the connection: subscriptions and QoS 1 messages wait for us.
int mqtt_put_connect(pf_cbor_writer *w, pf_str client_id, int clean_session, uint16_t keepalive_sec,
                     const pf_str *username, const pf_str *password);
int mqtt_put_publish(pf_cbor_writer *w, pf_str topic, const uint8_t *payload, size_t len, uint16_t packet_id);
// PUBACK, PUBREC and PUBCOMP: a fixed header and the packet id.
void mqtt_put_ack(pf_cbor_writer *w, int type, uint16_t packet_id);
int mqtt_put_subscribe(pf_cbor_writer *w, uint16_t packet_id, const pf_str *topics, size_t count, uint8_t qos);
int mqtt_put_unsubscribe(pf_cbor_writer *w, uint16_t packet_id, const pf_str *topics, size_t count);
void mqtt_put_pingreq(pf_cbor_writer *w);
void mqtt_put_disconnect(pf_cbor_writer *w);
// The bytes a PUBLISH adds around its topic and payload at most: fixed
// header (1 + 4) and the topic's length and packet id (2 + 2).
#define MQTT_PUBLISH_OVERHEAD 9
// MQTT's largest remaining length.
#define MQTT_MAX_REMAINING 268435455u

// ---- Reader ----------------------------------------------------------------------

typedef struct {
  uint8_t type;
  uint8_t qos;             // PUBLISH
  uint8_t return_code;     // CONNACK
  uint8_t session_present; // CONNACK
  uint16_t packet_id;      // PUBLISH (QoS > 0), acks, SUBACK
  pf_str topic;            // PUBLISH, valid UTF-8
  const uint8_t *data;     // PUBLISH payload, or SUBACK return codes
  size_t data_len;
} mqtt_packet;

// The packets of one push. They point into the frame or into `joined`, so
// they are valid until mqtt_packets_free, and the frame must outlive them.
typedef struct {
  mqtt_packet *items;
  size_t count, cap;
  uint8_t *joined;
} mqtt_packets;

typedef struct {
  uint8_t *pending;  // an incomplete packet carried over to the next frame
  size_t len;
} mqtt_reader;

enum { MQTT_READ_OK = 1, MQTT_READ_MALFORMED = 0, MQTT_READ_OOM = -1 };

// Adds a frame and decodes every complete packet. On MQTT_READ_MALFORMED
// *err names the problem (static text, valid until the next push) and the
// stream is unusable; out must still be freed.
int mqtt_reader_push(mqtt_reader *r, const uint8_t *frame, size_t len, mqtt_packets *out, const char **err);
void mqtt_reader_reset(mqtt_reader *r);
void mqtt_packets_free(mqtt_packets *p);

#endif
