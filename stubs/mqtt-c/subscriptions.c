#include "subscriptions.h"
#include "answers.h"
#include "cbor.h"
#include "connection.h"
#include "strlist.h"
#include "text.h"
#include "topics.h"
#include "wire.h"

static const mqtt_config *cfg;

// Topics local listeners want from the broker, those the broker has been
// asked for on this connection (subscribed minus unsubscribed, acked or not),
// and those it has confirmed.
static strlist wanted, requested, confirmed;
// With a persistent session: topics asked for on an earlier connection that
// the broker may still hold. Those no longer wanted are unsubscribed.
static strlist stale;

// SUBSCRIBE and UNSUBSCRIBE packets awaiting their ack; topics only for
// SUBSCRIBE, to learn which were confirmed.
typedef struct {
  uint16_t id;
  strlist topics;
} control_packet;
static control_packet *controls;
static size_t n_controls, cap_controls;

// SUBSCRIBE control messages waiting for their topics to be confirmed.
typedef struct {
  reply_to reply;
  strlist topics;
} awaiting_ack;
static awaiting_ack *awaiting;
static size_t n_awaiting, cap_awaiting;

void subscriptions_init(const mqtt_config *config) { cfg = config; }

static pf_str text_of(const pf_cbor_writer *w, const char *fallback) {
  return w->oom || !w->data ? zstr(fallback) : (pf_str){(const char *)w->data, w->len};
}

static void say_topics(uint8_t level, const char *head, const strlist *topics) {
  pf_cbor_writer w = {0};
  buf_z(&w, head);
  for (size_t i = 0; i < topics->count; i++) {
    if (i) buf_z(&w, ", ");
    buf_str(&w, topics->items[i]);
  }
  say(level, text_of(&w, head));
  pf_cbor_writer_free(&w);
}

// ---- Control packets in flight -------------------------------------------------

static void controls_clear(void) {
  for (size_t i = 0; i < n_controls; i++) strlist_free(&controls[i].topics);
  n_controls = 0;
}

// Hands the entry's topics to *topics (if wanted) and forgets the entry.
static int control_take(uint16_t id, strlist *topics) {
  for (size_t i = 0; i < n_controls; i++) {
    if (controls[i].id != id) continue;
    if (topics) {
      *topics = controls[i].topics;
    } else {
      strlist_free(&controls[i].topics);
    }
    memmove(&controls[i], &controls[i + 1], (n_controls - i - 1) * sizeof *controls);
    n_controls--;
    packet_id_release(id);
    return 1;
  }
  return 0;
}

// Room for one more of `n` items of `size` bytes in *items (capacity *cap),
// doubling; 0 when memory runs out (*items is then unchanged).
static int reserve_one(void **items, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return 1;
  size_t grown_cap = *cap ? *cap * 2 : 8;
  void *grown = pf_realloc(*items, grown_cap * size);
  if (!grown) return 0;
  *items = grown;
  *cap = grown_cap;
  return 1;
}

static int control_add(uint16_t id, const strlist *topics) {
  if (!reserve_one((void **)&controls, &cap_controls, n_controls, sizeof *controls)) return 0;
  control_packet c = {id, {0}};
  for (size_t i = 0; topics && i < topics->count; i++) {
    if (!strlist_add(&c.topics, topics->items[i])) {
      strlist_free(&c.topics);
      return 0;
    }
  }
  controls[n_controls++] = c;
  return 1;
}

// SUBSCRIBE and UNSUBSCRIBE share everything but the packet. 1 if sent.
static int send_topics(const strlist *topics, int subscribe) {
  uint16_t id = packet_id_take();
  if (!id) {
    connection_drop(Z("out of packet ids"));
    return 0;
  }
  if (!control_add(id, subscribe ? topics : NULL)) {
    packet_id_release(id);
    say(PF_ERROR, Z("out of memory; not "), subscribe ? Z("subscribing") : Z("unsubscribing"));
    return 0;
  }
  say_topics(PF_INFO, subscribe ? "subscribing to " : "unsubscribing from ", topics);
  int ok = subscribe ? mqtt_put_subscribe(wire(), id, topics->items, topics->count, 1)
                     : mqtt_put_unsubscribe(wire(), id, topics->items, topics->count);
  if (ok) {
    wire_packet_done();
    return 1;
  }
  control_take(id, NULL);
  say(PF_ERROR, Z("too many topics for one MQTT packet"));
  return 0;
}

// Brings the broker's subscriptions to what the listeners want, one packet
// at a time: what is no longer wanted first, then what is new. A broker may
// handle packets that arrive together concurrently (aedes does), and an
// UNSUBSCRIBE racing a SUBSCRIBE of the same topic can leave it
// unsubscribed, every later message lost.
void subscriptions_reconcile(void) {
  if (!connection_live() || n_controls) return;
  strlist change = {0};
  int oom = 0;
  const strlist *asked[2] = {&requested, &stale};
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < asked[k]->count; i++) {
      pf_str t = asked[k]->items[i];
      if (!strlist_has(&wanted, t) && !strlist_has(&change, t) && !strlist_add(&change, t)) oom = 1;
    }
  }
  int subscribe = change.count == 0 && !oom;
  for (size_t i = 0; subscribe && i < wanted.count; i++) {
    if (!strlist_has(&requested, wanted.items[i]) && !strlist_add(&change, wanted.items[i])) oom = 1;
  }
  if (oom) say(PF_ERROR, Z("out of memory; some subscription changes wait"));
  if (change.count && send_topics(&change, subscribe)) {
    for (size_t i = 0; i < change.count; i++) {
      strlist_drop(&stale, change.items[i]);
      if (!subscribe) {
        strlist_drop(&requested, change.items[i]);
        strlist_drop(&confirmed, change.items[i]);
      } else if (!strlist_add(&requested, change.items[i])) {
        say(PF_ERROR, Z("out of memory; a subscription may be asked for twice"));
      }
    }
  }
  strlist_free(&change);
}

void subscriptions_lost(void) {
  controls_clear();
  // What was asked may live on in a persistent session; a clean one starts
  // from nothing anyway (subscriptions_resumed clears this again).
  for (size_t i = 0; cfg->persistent_session && i < requested.count; i++) {
    if (!strlist_has(&stale, requested.items[i]) && !strlist_add(&stale, requested.items[i])) {
      say(PF_ERROR, Z("out of memory; a subscription no longer wanted may stay at the broker"));
    }
  }
  strlist_clear(&requested);
  strlist_clear(&confirmed);
}

void subscriptions_resumed(int session_present) {
  if (!session_present) strlist_clear(&stale);
  // Whatever is wanted is asked for again (SUBSCRIBE is idempotent): only a
  // SUBACK on this connection confirms it.
  for (size_t i = 0; i < wanted.count; i++) strlist_drop(&stale, wanted.items[i]);
}

// ---- Answers ----------------------------------------------------------------------

static void awaiting_remove(size_t i) {
  reply_to_free(&awaiting[i].reply);
  strlist_free(&awaiting[i].topics);
  memmove(&awaiting[i], &awaiting[i + 1], (n_awaiting - i - 1) * sizeof *awaiting);
  n_awaiting--;
}

// Takes ownership of *topics.
static int awaiting_add(const message_view *m, strlist *topics) {
  if (!reserve_one((void **)&awaiting, &cap_awaiting, n_awaiting, sizeof *awaiting)) return 0;
  awaiting_ack a = {0};
  if (!reply_to_keep(&a.reply, m)) return 0;
  a.topics = *topics;
  *topics = (strlist){0};
  awaiting[n_awaiting++] = a;
  return 1;
}

// Answers each waiting SUBSCRIBE whose topics are all confirmed (200), or
// one of whose topics the broker refused (403).
static void answer_controls(const strlist *refused) {
  for (size_t i = 0; i < n_awaiting;) {
    awaiting_ack *a = &awaiting[i];
    int denied = 0, all = 1;
    for (size_t k = 0; k < a->topics.count; k++) {
      if (refused && strlist_has(refused, a->topics.items[k])) denied = 1;
      if (!strlist_has(&confirmed, a->topics.items[k])) all = 0;
    }
    if (!denied && !all) {
      i++;
      continue;
    }
    answer(&a->reply, denied ? CODE_FORBIDDEN : CODE_OK, (pf_str){0});
    awaiting_remove(i);
  }
}

void subscriptions_on_suback(const mqtt_packet *p) {
  strlist topics = {0}, refused = {0};
  control_take(p->packet_id, &topics);
  for (size_t i = 0; i < topics.count; i++) {
    // A missing return code counts as a refusal, like 0x80.
    if (i >= p->data_len || p->data[i] == 0x80) strlist_add(&refused, topics.items[i]);
  }
  if (refused.count) {
    say_topics(PF_WARN, "broker refused subscriptions to ", &refused);
  } else {
    char digits[20];
    say(PF_DEBUG, Z("subscriptions confirmed (packet "), num(digits, p->packet_id), Z(")"));
  }
  for (size_t i = 0; i < topics.count; i++) {
    pf_str t = topics.items[i];
    if (!strlist_has(&refused, t) && !strlist_has(&confirmed, t) && !strlist_add(&confirmed, t)) {
      say(PF_ERROR, Z("out of memory; a confirmation was lost"));
    }
  }
  answer_controls(&refused);
  strlist_free(&topics);
  strlist_free(&refused);
  subscriptions_reconcile();
}

void subscriptions_on_unsuback(const mqtt_packet *p) {
  control_take(p->packet_id, NULL);
  subscriptions_reconcile();
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
  strlist all = {0};
  int oom = 0;
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
      if (!strlist_add(&all, topic)) oom = 1;
      if (!strlist_has(&wanted, topic) && !strlist_add(&wanted, topic)) oom = 1;
    } else {
      strlist_drop(&wanted, topic);
    }
    pf_str_free(&topic);
  }
  if (oom) say(PF_ERROR, Z("out of memory; some resources of "), m->type, Z(" "), message_id_for_log(m, digits), Z(" were skipped"));
  if (subscribe && m->has_from && !awaiting_add(m, &all)) {
    say(PF_ERROR, Z("out of memory; SUBSCRIBE "), message_id_for_log(m, digits), Z(" will not be answered"));
  }
  strlist_free(&all);
}

void subscriptions_settle(void) {
  subscriptions_reconcile();
  answer_controls(NULL);
}
