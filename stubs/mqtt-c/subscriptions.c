#include "subscriptions.h"
#include "awaiting.h"
#include "cbor.h"
#include "connection.h"
#include "text.h"
#include "topic_table.h"
#include "topics.h"
#include "wire.h"

// CONTRACT.md, "Back-end requests are bounded": at most this many topics,
// and this many bytes, in one SUBSCRIBE or UNSUBSCRIBE packet.
#define PACKET_TOPICS 256
#define PACKET_BYTES (64 * 1024)
// The fixed header (type, and a remaining length under 2 MiB) and the
// packet id, around the topics.
#define PACKET_OVERHEAD (1 + 3 + 2)

// What the stub knows of each topic.
enum {
  WANTED = 1,     // local listeners want it
  REQUESTED = 2,  // asked for on this connection (subscribed, not since unsubscribed)
  CONFIRMED = 4,  // and the broker's SUBACK granted it
  REFUSED = 8,    // or the SUBACK refused it
  // With a persistent session: asked for on an earlier connection, so the
  // broker may still hold it. Unsubscribed if it is not wanted.
  STALE = 16,
};

static const mqtt_config *cfg;
static topic_table table = TOPIC_TABLE_INIT;
// What reconcile still has to ask the broker, oldest first: topics wanted
// and not requested, and topics requested (or stale) and not wanted. A
// topic is on the one its flags put it on, or on neither.
static topic_list to_subscribe = TOPIC_LIST_INIT, to_unsubscribe = TOPIC_LIST_INIT;

// The one SUBSCRIBE or UNSUBSCRIBE awaiting its ack (id 0: none), and for
// a SUBSCRIBE its topics, in packet order, to read the SUBACK by. They stay
// REQUESTED until it is acked (nothing is unsubscribed meanwhile) or the
// connection is lost (which forgets the packet), so their entries live.
static struct {
  uint16_t id;
  int subscribe;
  size_t count;
  uint32_t topics[PACKET_TOPICS];
} flight;

void subscriptions_init(const mqtt_config *config) { cfg = config; }

static topic_entry *entry(uint32_t i) { return &table.entries[i]; }

// A new entry's waiters are TOPIC_NONE: no one waits on it.
_Static_assert(TOPIC_NONE == AWAITING_NONE, "an empty chain of waiters must read the same in both files");

// Puts topic i on the list of what it still needs, and frees it once
// nothing is wanted, asked, or waited for.
static void settle_topic(uint32_t i) {
  uint8_t f = entry(i)->flags;
  topic_list *todo = (f & WANTED) && !(f & REQUESTED) ? &to_subscribe
    : !(f & WANTED) && (f & (REQUESTED | STALE)) ? &to_unsubscribe
    : NULL;
  topic_list_move(&table, i, todo);
  if (!todo && !f && entry(i)->waiters == AWAITING_NONE) topic_table_remove(&table, i);
}

// A log line naming a few of the topics: a packet may carry 256.
static void say_topics(uint8_t level, const char *head, const uint32_t *topics, size_t count) {
  enum { NAMED = 4 };
  char digits[20];
  pf_cbor_writer w = {0};
  buf_z(&w, head);
  buf_str(&w, num(digits, count));
  buf_z(&w, count == 1 ? " topic: " : " topics: ");
  for (size_t i = 0; i < count && i < NAMED; i++) {
    if (i) buf_z(&w, ", ");
    buf_str(&w, entry(topics[i])->topic);
  }
  if (count > NAMED) buf_z(&w, ", …");
  say(level, w.oom || !w.data ? zstr(head) : (pf_str){(const char *)w.data, w.len});
  pf_cbor_writer_free(&w);
}

// ---- Asking the broker ----------------------------------------------------------

// The next topics of todo that fit one packet, into flight.topics.
static size_t pick(const topic_list *todo, int subscribe) {
  size_t n = 0, bytes = PACKET_OVERHEAD;
  for (uint32_t i = todo->head; i != TOPIC_NONE && n < PACKET_TOPICS; i = entry(i)->next) {
    size_t size = 2 + entry(i)->topic.len + (subscribe ? 1 : 0);  // length, topic, QoS
    // A topic too long for the budget still goes, alone: MQTT bounds it.
    if (n && bytes + size > PACKET_BYTES) break;
    flight.topics[n++] = i;
    bytes += size;
  }
  return n;
}

// Brings the broker's subscriptions to what the listeners want, one packet
// at a time: what is no longer wanted first, then what is new. A broker may
// handle packets that arrive together concurrently (aedes does), and an
// UNSUBSCRIBE racing a SUBSCRIBE of the same topic can leave it
// unsubscribed, every later message lost. Each packet takes the next
// topics off a list, so a call costs one packet whatever is wanted.
void subscriptions_reconcile(void) {
  if (!connection_live() || flight.id) return;
  int subscribe = to_unsubscribe.count == 0;
  topic_list *todo = subscribe ? &to_subscribe : &to_unsubscribe;
  if (!todo->count) return;
  size_t n = pick(todo, subscribe);
  uint16_t id = packet_id_take();
  if (!id) {
    connection_drop(Z("out of packet ids"));
    return;
  }
  static pf_str topics[PACKET_TOPICS];
  for (size_t k = 0; k < n; k++) topics[k] = entry(flight.topics[k])->topic;
  int ok = subscribe ? mqtt_put_subscribe(wire(), id, topics, n, 1) : mqtt_put_unsubscribe(wire(), id, topics, n);
  if (!ok) {
    // Cannot happen: topic_for refuses topics MQTT cannot carry.
    packet_id_release(id);
    say(PF_ERROR, Z("a topic too long for an MQTT packet; subscriptions stop here"));
    return;
  }
  wire_packet_done();
  say_topics(PF_INFO, subscribe ? "subscribing to " : "unsubscribing from ", flight.topics, n);
  flight.id = id;
  flight.subscribe = subscribe;
  flight.count = subscribe ? n : 0;
  for (size_t k = 0; k < n; k++) {
    uint32_t i = flight.topics[k];
    // Unsubscribed, nothing of it is left at the broker; what was said
    // about it no longer holds.
    entry(i)->flags = subscribe ? (uint8_t)((entry(i)->flags | REQUESTED) & ~STALE) : (entry(i)->flags & WANTED);
    settle_topic(i);
  }
}

void subscriptions_on_suback(const mqtt_packet *p) {
  if (!flight.id || !flight.subscribe || p->packet_id != flight.id) {
    char digits[20];
    say(PF_WARN, Z("ignoring a SUBACK for packet "), num(digits, p->packet_id), Z(", not the SUBSCRIBE in flight"));
    return;
  }
  static uint32_t refused[PACKET_TOPICS];
  size_t n_refused = 0;
  for (size_t k = 0; k < flight.count; k++) {
    uint32_t i = flight.topics[k];
    // A missing return code counts as a refusal, like 0x80.
    int denied = k >= p->data_len || p->data[k] == 0x80;
    if (denied) refused[n_refused++] = i;
    entry(i)->flags |= denied ? REFUSED : CONFIRMED;
    awaiting_settle(&entry(i)->waiters, denied);
  }
  if (n_refused) {
    say_topics(PF_WARN, "broker refused subscriptions to ", refused, n_refused);
  } else {
    char digits[20];
    say(PF_DEBUG, Z("subscriptions confirmed (packet "), num(digits, p->packet_id), Z(")"));
  }
  for (size_t k = 0; k < flight.count; k++) settle_topic(flight.topics[k]);
  packet_id_release(flight.id);
  flight.id = 0;
  flight.count = 0;
  subscriptions_reconcile();
}

void subscriptions_on_unsuback(const mqtt_packet *p) {
  if (!flight.id || flight.subscribe || p->packet_id != flight.id) {
    char digits[20];
    say(PF_WARN, Z("ignoring an UNSUBACK for packet "), num(digits, p->packet_id), Z(", not the UNSUBSCRIBE in flight"));
    return;
  }
  packet_id_release(flight.id);
  flight.id = 0;
  subscriptions_reconcile();
}

// ---- Connections ------------------------------------------------------------------
// These walk every topic, once per connection: a reconnect is rare, and
// asks for every wanted topic again anyway.

void subscriptions_lost(void) {
  // Its packet id went with the connection (packet_ids_reset).
  flight.id = 0;
  flight.count = 0;
  for (uint32_t i = 0; i < table.used; i++) {
    if (!topic_table_live(&table, i)) continue;
    uint8_t f = entry(i)->flags;
    // What was asked may live on in a persistent session; a clean one
    // starts from nothing anyway (subscriptions_resumed clears this again).
    if (cfg->persistent_session && (f & REQUESTED)) f |= STALE;
    entry(i)->flags = f & (WANTED | STALE);
    settle_topic(i);
  }
}

void subscriptions_resumed(int session_present) {
  for (uint32_t i = 0; i < table.used; i++) {
    if (!topic_table_live(&table, i)) continue;
    // Whatever is wanted is asked for again (SUBSCRIBE is idempotent): only
    // a SUBACK on this connection confirms it.
    if (!session_present || (entry(i)->flags & WANTED)) entry(i)->flags &= ~STALE;
    settle_topic(i);
  }
}

// ---- Control messages -----------------------------------------------------------

// Where body.resources starts, if the body is a map holding an array there.
static int find_resources(const message_view *m, pf_cbor_reader *resources) {
  if (!m->body) return 0;
  pf_cbor_reader r = pf_cbor_reader_of(m->body, m->body_len);
  size_t n;
  int found = 0;
  if (!pf_cbor_read_map(&r, &n)) return 0;
  while (pf_cbor_next(&r, &n) > 0) {
    if (pf_cbor_read_text_eq(&r, Z("resources"))) {
      found = pf_cbor_peek(&r) == PF_CBOR_ARRAY;
      if (found) *resources = r;
    } else if (!pf_cbor_skip(&r)) {
      return 0;
    }
    if (!pf_cbor_skip(&r)) return 0;
  }
  return found;
}

// A SUBSCRIBE message wants topic; w waits for its confirmation. 0 when
// out of memory.
static int want(pf_str *topic, uint32_t w, int *unanswerable) {
  uint32_t i = topic_table_add(&table, topic);
  if (i == TOPIC_NONE) return 0;
  entry(i)->flags |= WANTED;
  if ((entry(i)->flags & (REQUESTED | REFUSED)) == (REQUESTED | REFUSED)) {
    // The broker will not say otherwise until the topic is asked for again.
    awaiting_deny(w);
  } else if (!(entry(i)->flags & CONFIRMED) && !awaiting_topic(w, &entry(i)->waiters)) {
    *unanswerable = 1;
  }
  settle_topic(i);
  return 1;
}

static void unwant(pf_str topic) {
  uint32_t i = topic_table_find(&table, topic);
  if (i == TOPIC_NONE) return;
  entry(i)->flags &= ~WANTED;
  settle_topic(i);
}

void subscriptions_control(const message_view *m) {
  int subscribe = message_is(m, Z("SUBSCRIBE"));
  char digits[20];
  pf_cbor_reader r;
  size_t n;
  if (!find_resources(m, &r) || !pf_cbor_read_array(&r, &n)) {
    say(PF_WARN, Z("skipping "), m->type, Z(" "), message_id_for_log(m, digits), Z(": body.resources must be a list of addresses"));
    return;
  }
  // Only what is wanted changes here; reconcile tells the broker.
  uint32_t w = subscribe && m->has_from ? awaiting_begin(m) : AWAITING_NONE;
  int oom = 0, unanswerable = subscribe && m->has_from && w == AWAITING_NONE;
  while (pf_cbor_next(&r, &n) > 0) {
    pf_str address, topic;
    int got = TOPIC_NOT_AN_ADDRESS, is_text = pf_cbor_read_text(&r, &address);
    if (is_text) {
      got = topic_for(cfg->topic_prefix, address, &topic);
    } else if (!pf_cbor_skip(&r)) {
      break;
    }
    if (got == TOPIC_OOM) {
      oom = 1;
      continue;
    }
    if (got != TOPIC_OK) {
      say(PF_WARN, Z("skipping resource "), is_text ? Z("\"") : Z(""), is_text ? address : Z("(not text)"),
          is_text ? Z("\"") : Z(""), Z(" in "), m->type, Z(": not a scheme://host/path address"));
      continue;
    }
    if (subscribe) {
      if (!want(&topic, w, &unanswerable)) oom = 1;
    } else {
      unwant(topic);
    }
    pf_str_free(&topic);  // a new entry took it over (emptied)
  }
  if (oom) say(PF_ERROR, Z("out of memory; some resources of "), m->type, Z(" "), message_id_for_log(m, digits), Z(" were skipped"));
  if (unanswerable) say(PF_ERROR, Z("out of memory; SUBSCRIBE "), message_id_for_log(m, digits), Z(" will not be answered"));
  // Answered now if its topics are all confirmed already.
  awaiting_end(w);
}

void subscriptions_settle(void) { subscriptions_reconcile(); }
