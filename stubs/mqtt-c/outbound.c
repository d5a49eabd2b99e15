#include "outbound.h"
#include "answers.h"
#include "connection.h"
#include "outbox.h"
#include "packets.h"
#include "text.h"
#include "topics.h"
#include "wire.h"

#define QUEUE_LIMIT 10000

static const mqtt_config *cfg;
static outqueue queue;
static inflight flying;

void outbound_init(const mqtt_config *config) { cfg = config; }

// Refuses one message and says so; a message that cannot be answered (a
// RESPONSE, or no from or id) is at least logged as lost.
static void refused(const message_view *m, unsigned code, pf_str reason) {
  char digits[20], code_digits[20];
  pf_str id = message_id_for_log(m, digits), to = m->has_to ? m->to : Z("?");
  if (refuse(m, code, reason)) {
    say(PF_WARN, Z("refused message "), id, Z(" to "), to, Z(" ("), num(code_digits, code), Z("): "), reason);
  } else {
    say(PF_ERROR, Z("dropped message "), id, Z(" to "), to, Z(": "), reason,
        Z("; it cannot be answered (a RESPONSE, or no from or id)"));
  }
}

// Refuses a publication the stub held, reading who sent it from its payload.
static void refuse_held(outgoing *o, unsigned code, pf_str reason, size_t *unanswerable) {
  message_view m;
  message_view_of(o->data + o->topic_len, o->payload_len, &m);
  if (!refuse(&m, code, reason)) (*unanswerable)++;
  pf_free(o);
}

static void say_refused_many(size_t count, size_t unanswerable, pf_str reason) {
  char digits[20], more[20];
  if (count) say(PF_WARN, Z("refused "), num(digits, count), Z(" messages: "), reason);
  if (unanswerable) say(PF_ERROR, Z("dropped "), num(more, unanswerable), Z(" of them that cannot be answered"));
}

enum { SENT, NOT_SENT, REFUSED };

// Sends one publication unless every packet id is taken or memory runs
// out; once SENT it belongs to the in-flight list, once REFUSED it is gone.
static int publish(outgoing *o) {
  uint16_t id = packet_id_take();
  if (!id) return NOT_SENT;
  wire_mark mark = wire_mark_now();
  // The topic and size were checked when the message came in.
  mqtt_put_publish(wire(), outgoing_topic(o), o->data + o->topic_len, o->payload_len, id);
  wire_packet_done();
  if (wire_undo_if_oom(mark)) {
    // Retrying could only fail again, and hold up every message behind it.
    packet_id_release(id);
    size_t unanswerable = 0;
    refuse_held(o, CODE_UNAVAILABLE, Z("the stub ran out of memory writing the publication"), &unanswerable);
    say_refused_many(1, unanswerable, Z("the stub ran out of memory writing the publication"));
    return REFUSED;
  }
  if (inflight_add(&flying, id, o)) return SENT;
  // Only the in-flight list is short of memory: it may grow once acks come.
  wire_undo(mark);
  packet_id_release(id);
  return NOT_SENT;
}

void outbound_flush(void) {
  // A full wire waits for the host to take what it holds (sending.c).
  while (queue.count && connection_live() && !wire_full()) {
    int sent = publish(outqueue_front(&queue));
    if (sent == NOT_SENT) break;
    outqueue_pop_front(&queue);
  }
}

void outbound_on_puback(uint16_t packet_id) {
  if (inflight_remove(&flying, packet_id)) packet_id_release(packet_id);
  if (queue.count) outbound_flush();
}

void outbound_requeue(void) {
  size_t lost = inflight_requeue(&flying, &queue);
  char digits[20];
  if (lost) say(PF_ERROR, Z("out of memory; lost "), num(digits, lost), Z(" unacknowledged messages"));
  // Messages put back may push the newest ones over the limit.
  size_t excess = 0, unanswerable = 0;
  while (queue.count > QUEUE_LIMIT) {
    refuse_held(outqueue_pop_back(&queue), CODE_UNAVAILABLE, Z("the stub's outbound queue is full (10000)"), &unanswerable);
    excess++;
  }
  say_refused_many(excess, unanswerable, Z("the stub's outbound queue is full (10000)"));
}

int outbound_idle(void) { return queue.count == 0 && inflight_empty(&flying); }

void outbound_refuse_all(unsigned code, pf_str reason) {
  size_t lost = inflight_requeue(&flying, &queue), count = 0, unanswerable = 0;
  char digits[20];
  if (lost) say(PF_ERROR, Z("out of memory; lost "), num(digits, lost), Z(" unacknowledged messages"));
  outgoing *o;
  while ((o = outqueue_pop_front(&queue))) {
    refuse_held(o, code, reason, &unanswerable);
    count++;
  }
  say_refused_many(count, unanswerable, reason);
}

void outbound_carry(const uint8_t *item, size_t len, const message_view *m) {
  pf_str gone = connection_gone();
  if (gone.ptr) {
    refused(m, CODE_UNAVAILABLE, gone);
    return;
  }
  // Refused before any copy is made: a message the stub cannot hold must
  // not take the memory the next ones need.
  if (len > cfg->max_message_bytes) {
    char size[20], limit[20];
    pf_cbor_writer w = {0};
    buf_z(&w, "the message is ");
    buf_str(&w, num(size, len));
    buf_z(&w, " bytes, over the stub's maxMessageBytes (");
    buf_str(&w, num(limit, cfg->max_message_bytes));
    buf_z(&w, ")");
    refused(m, CODE_TOO_LARGE, w.oom ? Z("the message is over the stub's maxMessageBytes") : (pf_str){(const char *)w.data, w.len});
    pf_cbor_writer_free(&w);
    return;
  }
  if (queue.count >= QUEUE_LIMIT) {
    refused(m, CODE_UNAVAILABLE, Z("the stub's outbound queue is full (10000)"));
    return;
  }
  // CONTRACT.md, "Outbound": what the stub cannot hold meanwhile is answered.
  if (wire_full()) {
    refused(m, CODE_UNAVAILABLE, Z("the connection to the broker is congested"));
    return;
  }
  pf_str topic;
  int got = topic_for(cfg->topic_prefix, m->to, &topic);
  if (got == TOPIC_NOT_AN_ADDRESS) {
    refused(m, CODE_FAILED, Z("\"to\" is not a scheme://host/path address the stub can map to a topic"));
    return;
  }
  if (got == TOPIC_OK && topic.len + len + MQTT_PUBLISH_OVERHEAD > MQTT_MAX_REMAINING) {
    pf_str_free(&topic);
    refused(m, CODE_TOO_LARGE, Z("the message and its topic are over MQTT's largest packet"));
    return;
  }
  outgoing *o = got == TOPIC_OK ? outgoing_new(topic, item, len) : NULL;
  if (got == TOPIC_OK) pf_str_free(&topic);
  if (!o) {
    refused(m, CODE_UNAVAILABLE, Z("the stub is out of memory"));
    return;
  }
  if (connection_live() && queue.count == 0) {
    int sent = publish(o);
    if (sent != NOT_SENT) return;
  }
  if (!outqueue_push_back(&queue, o)) {
    pf_free(o);
    refused(m, CODE_UNAVAILABLE, Z("the stub is out of memory"));
  }
}
