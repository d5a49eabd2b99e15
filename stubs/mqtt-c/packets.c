#include "packets.h"
#include "text.h"

#define MAX_REMAINING MQTT_MAX_REMAINING
#define MQTT_STRING_MAX 65535u

// ---- Encoders ----------------------------------------------------------------

static int put_fixed_header(pf_cbor_writer *w, uint8_t first, size_t remaining) {
  if (remaining > MAX_REMAINING) return 0;
  buf_u8(w, first);
  do {
    uint8_t digit = remaining % 128;
    remaining /= 128;
    if (remaining > 0) digit |= 0x80;
    buf_u8(w, digit);
  } while (remaining > 0);
  return 1;
}

static void put_string(pf_cbor_writer *w, pf_str s) {
  buf_u16(w, (uint16_t)s.len);
  buf_str(w, s);
}

int mqtt_put_connect(pf_cbor_writer *w, pf_str client_id, int clean_session, uint16_t keepalive_sec,
                     const pf_str *username, const pf_str *password) {
  enum { CLEAN_SESSION = 0x02, PASSWORD = 0x40, USERNAME = 0x80 };
  uint8_t flags = clean_session ? CLEAN_SESSION : 0;
  size_t size = 2 + 4 + 1 + 1 + 2 + 2 + client_id.len;
  if (client_id.len > MQTT_STRING_MAX) return 0;
  if (username) {
    if (username->len > MQTT_STRING_MAX) return 0;
    flags |= USERNAME;
    size += 2 + username->len;
    // MQTT 3.1.1 allows a password only together with a user name.
    if (password) {
      if (password->len > MQTT_STRING_MAX) return 0;
      flags |= PASSWORD;
      size += 2 + password->len;
    }
  }
  if (!put_fixed_header(w, MQTT_CONNECT << 4, size)) return 0;
  put_string(w, PF_STR("MQTT"));
  buf_u8(w, 4);  // protocol level 3.1.1
  buf_u8(w, flags);
  buf_u16(w, keepalive_sec);
  put_string(w, client_id);
  if (flags & USERNAME) put_string(w, *username);
  if (flags & PASSWORD) put_string(w, *password);
  return 1;
}

int mqtt_put_publish(pf_cbor_writer *w, pf_str topic, const uint8_t *payload, size_t len, uint16_t packet_id) {
  enum { QOS1 = 0x02 };
  if (topic.len > MQTT_STRING_MAX || len > MAX_REMAINING) return 0;
  if (!put_fixed_header(w, (MQTT_PUBLISH << 4) | QOS1, 2 + topic.len + 2 + len)) return 0;
  put_string(w, topic);
  buf_u16(w, packet_id);
  pf_cbor_put_raw(w, payload, len);
  return 1;
}

void mqtt_put_ack(pf_cbor_writer *w, int type, uint16_t packet_id) {
  buf_u8(w, (uint8_t)(type << 4));
  buf_u8(w, 2);
  buf_u16(w, packet_id);
}

// SUBSCRIBE and UNSUBSCRIBE differ only in the QoS byte after each topic.
static int put_topic_list(pf_cbor_writer *w, uint8_t first, uint16_t packet_id,
                          const pf_str *topics, size_t count, int with_qos, uint8_t qos) {
  size_t size = 2;
  for (size_t i = 0; i < count; i++) {
    if (topics[i].len > MQTT_STRING_MAX) return 0;
    size += 2 + topics[i].len + (with_qos ? 1 : 0);
    if (size > MAX_REMAINING) return 0;
  }
  if (!put_fixed_header(w, first, size)) return 0;
  buf_u16(w, packet_id);
  for (size_t i = 0; i < count; i++) {
    put_string(w, topics[i]);
    if (with_qos) buf_u8(w, qos);
  }
  return 1;
}

int mqtt_put_subscribe(pf_cbor_writer *w, uint16_t packet_id, const pf_str *topics, size_t count, uint8_t qos) {
  return put_topic_list(w, (MQTT_SUBSCRIBE << 4) | 0x02, packet_id, topics, count, 1, qos);
}

int mqtt_put_unsubscribe(pf_cbor_writer *w, uint16_t packet_id, const pf_str *topics, size_t count) {
  return put_topic_list(w, (MQTT_UNSUBSCRIBE << 4) | 0x02, packet_id, topics, count, 0, 0);
}

void mqtt_put_pingreq(pf_cbor_writer *w) {
  buf_u8(w, MQTT_PINGREQ << 4);
  buf_u8(w, 0);
}

void mqtt_put_disconnect(pf_cbor_writer *w) {
  buf_u8(w, MQTT_DISCONNECT << 4);
  buf_u8(w, 0);
}

// ---- Reader ----------------------------------------------------------------------

// Problems that name a packet type or flags are formatted here; the text
// only has to last until the session has logged it.
static char problem[96];

static const char *problem_with(const char *head, unsigned a, const char *mid, unsigned b, const char *tail) {
  pf_cbor_writer w = {0};
  char digits[20];
  buf_z(&w, head);
  buf_str(&w, num(digits, a));
  buf_z(&w, mid);
  if (mid[0]) buf_str(&w, num(digits, b));
  buf_z(&w, tail);
  size_t n = w.oom ? 0 : (w.len < sizeof problem - 1 ? w.len : sizeof problem - 1);
  if (n) memcpy(problem, w.data, n);
  problem[n] = '\0';
  pf_cbor_writer_free(&w);
  return n ? problem : head;
}

static uint16_t u16_at(const uint8_t *b) { return (uint16_t)((b[0] << 8) | b[1]); }

// Strict UTF-8, as a fatal TextDecoder sees it: no overlong forms, no
// surrogates, nothing past U+10FFFF.
static int valid_utf8(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) n = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) n = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) n = 3, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (len - i - 1 < n) return 0;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += n + 1;
  }
  return 1;
}

// The flags the spec fixes for each packet type a server may send, or -1
// for a type a server never sends (PUBLISH's flags vary and are checked apart).
static int fixed_flags(uint8_t type) {
  switch (type) {
    case MQTT_PUBREL: return 2;
    case MQTT_CONNACK: case MQTT_PUBACK: case MQTT_PUBREC: case MQTT_PUBCOMP:
    case MQTT_SUBACK: case MQTT_UNSUBACK: case MQTT_PINGRESP: return 0;
    default: return -1;
  }
}

static int decode_publish(uint8_t flags, const uint8_t *body, size_t len, mqtt_packet *p, const char **err) {
  p->qos = (flags >> 1) & 0x03;
  if (p->qos == 3) return *err = "PUBLISH with QoS 3", 0;
  if (len < 2) return *err = "PUBLISH too short", 0;
  size_t at = 2 + (size_t)u16_at(body);
  if (at > len) return *err = "PUBLISH topic runs past the packet", 0;
  if (!valid_utf8(body + 2, at - 2)) return *err = "PUBLISH topic is not UTF-8", 0;
  p->topic = (pf_str){(const char *)body + 2, at - 2};
  if (p->qos > 0) {
    if (at + 2 > len) return *err = "PUBLISH packet id missing", 0;
    p->packet_id = u16_at(body + at);
    at += 2;
  }
  p->data = body + at;
  p->data_len = len - at;
  return 1;
}

static int decode_body(uint8_t first, const uint8_t *body, size_t len, mqtt_packet *p, const char **err) {
  uint8_t type = first >> 4, flags = first & 0x0f;
  *p = (mqtt_packet){.type = type};
  if (type == MQTT_PUBLISH) return decode_publish(flags, body, len, p, err);
  int expected = fixed_flags(type);
  if (expected < 0) return *err = problem_with("unexpected packet type ", type, "", 0, " from the broker"), 0;
  if (flags != expected) return *err = problem_with("bad flags ", flags, " on packet type ", type, ""), 0;
  switch (type) {
    case MQTT_CONNACK:
      if (len != 2) return *err = "CONNACK must be 2 bytes", 0;
      p->session_present = body[0] & 1;
      p->return_code = body[1];
      return 1;
    case MQTT_SUBACK:
      if (len < 3) return *err = "SUBACK too short", 0;
      p->packet_id = u16_at(body);
      p->data = body + 2;
      p->data_len = len - 2;
      return 1;
    case MQTT_PINGRESP:
      if (len != 0) return *err = "PINGRESP must be empty", 0;
      return 1;
    default:
      if (len != 2) return *err = problem_with("packet type ", type, "", 0, " must be 2 bytes"), 0;
      p->packet_id = u16_at(body);
      return 1;
  }
}

static int append(mqtt_packets *out, const mqtt_packet *p) {
  if (out->count == out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 8;
    mqtt_packet *items = pf_realloc(out->items, cap * sizeof *items);
    if (!items) return 0;
    out->items = items;
    out->cap = cap;
  }
  out->items[out->count++] = *p;
  return 1;
}

int mqtt_reader_push(mqtt_reader *r, const uint8_t *frame, size_t len, mqtt_packets *out, const char **err) {
  const uint8_t *buf = frame;
  size_t n = len;
  if (r->len) {
    // The carried-over bytes and the frame become one buffer, owned by out.
    uint8_t *joined = pf_alloc(r->len + len);
    if (!joined) return MQTT_READ_OOM;
    memcpy(joined, r->pending, r->len);
    memcpy(joined + r->len, frame, len);
    n = r->len + len;
    mqtt_reader_reset(r);
    out->joined = joined;
    buf = joined;
  }
  size_t at = 0;
  for (;;) {
    if (n - at < 2) break;
    size_t remaining = 0, mult = 1, i = at + 1;
    int complete = 0;
    for (int k = 0; k < 4 && i < n; k++, i++) {
      uint8_t digit = buf[i];
      remaining += (size_t)(digit & 0x7f) * mult;
      mult *= 128;
      if (!(digit & 0x80)) {
        complete = 1;
        i++;
        break;
      }
      if (k == 3) return *err = "remaining length longer than 4 bytes", MQTT_READ_MALFORMED;
    }
    if (!complete || n - i < remaining) break;
    mqtt_packet p;
    if (!decode_body(buf[at], buf + i, remaining, &p, err)) return MQTT_READ_MALFORMED;
    if (!append(out, &p)) return MQTT_READ_OOM;
    at = i + remaining;
  }
  if (at < n) {
    r->pending = pf_alloc(n - at);
    if (!r->pending) return MQTT_READ_OOM;
    memcpy(r->pending, buf + at, n - at);
    r->len = n - at;
  }
  return MQTT_READ_OK;
}

void mqtt_reader_reset(mqtt_reader *r) {
  pf_free(r->pending);
  r->pending = NULL;
  r->len = 0;
}

void mqtt_packets_free(mqtt_packets *p) {
  pf_free(p->items);
  pf_free(p->joined);
  *p = (mqtt_packets){0};
}
