#include "session.h"
#include "cbor.h"
#include "outbox.h"
#include "packets.h"
#include "status.h"
#include "strlist.h"
#include "text.h"
#include "topics.h"

enum state { OPENING, CONNECTING, LIVE, WAITING, REFUSED };

#define QUEUE_LIMIT 10000
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 10000
// Packets written during one call go out together, split so no single
// frame grows without bound.
#define FRAME_LIMIT (256 * 1024)

static const mqtt_config *cfg;
static enum state state = WAITING;
static int has_conn;
static uint32_t conn_id;
static mqtt_reader reader;
static char client_id[19];
static char log_prefix_fallback[] = "mqtt-c: ";

// Topics local listeners want from the broker, those the broker has been
// asked for on this connection (subscribed minus unsubscribed, acked or not),
// and those it has confirmed.
static strlist wanted, requested, confirmed;
static outqueue queue;
static inflight flying;

// SUBSCRIBE and UNSUBSCRIBE packets awaiting their ack; topics only for
// SUBSCRIBE, to learn which were confirmed.
typedef struct {
  uint16_t id;
  strlist topics;
} control_packet;
static control_packet *controls;
static size_t n_controls, cap_controls;

// SUBSCRIBE control messages waiting for their topics to be confirmed; the
// runtime is answered once they are (CONTRACT.md, "Messages from the runtime").
typedef struct {
  uint8_t *id;  // the control message's id, as raw CBOR (NULL if it had none)
  size_t id_len;
  pf_str to;
  strlist topics;
} awaiting_ack;
static awaiting_ack *awaiting;
static size_t n_awaiting, cap_awaiting;

// Packet ids taken by a publication in flight or a control packet.
static uint8_t busy_ids[65536 / 8];
static uint16_t last_packet_id;

static uint32_t backoff_ms = BACKOFF_FIRST_MS;
// One DISCONNECTED per outage, however many retries it takes.
static int outage_reported;
static uint32_t reconnect_timer, ping_timer, silence_timer;

// What this call wrote, and where each packet ends, so frames hold whole packets.
static pf_cbor_writer out;
static size_t *ends;
static size_t n_ends, cap_ends;

static void drop(pf_str reason);
static void connection_lost(pf_str reason);

// ---- Helpers ---------------------------------------------------------------------

static int is_busy(uint16_t id) { return busy_ids[id >> 3] & (1u << (id & 7)); }
static void set_busy(uint16_t id) { busy_ids[id >> 3] |= (uint8_t)(1u << (id & 7)); }
static void clear_busy(uint16_t id) { busy_ids[id >> 3] &= (uint8_t)~(1u << (id & 7)); }

// 1..65535, wrapping, skipping ids still awaiting their ack; 0 when none is free.
static uint16_t next_packet_id(void) {
  for (int tries = 0; tries < 65535; tries++) {
    last_packet_id = last_packet_id >= 65535 ? 1 : (uint16_t)(last_packet_id + 1);
    if (!is_busy(last_packet_id)) return last_packet_id;
  }
  return 0;
}

// The text a writer built, or the fallback if building it ran out of memory.
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

// A stable hash of where we run, so the broker replaces a stale session of
// ours rather than keeping two. FNV-1a 64; 'pf-' + 16 hex fits MQTT's 23.
static void make_client_id(void) {
  uint64_t h = 0xcbf29ce484222325ull;
  const pf_str parts[3] = {cfg->runtime_url, Z("\n"), cfg->stub_url};
  for (int k = 0; k < 3; k++) {
    for (size_t i = 0; i < parts[k].len; i++) {
      h ^= (uint8_t)parts[k].ptr[i];
      h *= 0x100000001b3ull;
    }
  }
  static const char hex[] = "0123456789abcdef";
  memcpy(client_id, "pf-", 3);
  for (int i = 0; i < 16; i++) client_id[3 + i] = hex[(h >> (60 - 4 * i)) & 15];
}

static pf_str client_id_str(void) { return (pf_str){client_id, sizeof client_id}; }

// ---- Writing packets -------------------------------------------------------------

static void packet_done(void) {
  if (out.oom) return;
  if (n_ends == cap_ends) {
    size_t cap = cap_ends ? cap_ends * 2 : 16;
    size_t *grown = pf_realloc(ends, cap * sizeof *grown);
    if (!grown) {
      out.oom = 1;  // flush treats it like any other failed write
      return;
    }
    ends = grown;
    cap_ends = cap;
  }
  ends[n_ends++] = out.len;
}

static void out_reset(void) {
  out.len = 0;
  out.oom = 0;
  n_ends = 0;
}

static void write_ack(int type, uint16_t id) {
  mqtt_put_ack(&out, type, id);
  packet_done();
}

void session_flush(void) {
  if (out.oom) {
    out_reset();
    if (has_conn) drop(Z("out of memory writing packets"));
    return;
  }
  size_t start = 0, i = 0;
  while (i < n_ends && has_conn) {
    size_t end = ends[i++];
    while (i < n_ends && ends[i] - start <= FRAME_LIMIT) end = ends[i++];
    pf_str err = {0};
    if (pf_send(conn_id, out.data + start, end - start, &err) != 0) {
      pf_cbor_writer w = {0};
      buf_z(&w, "send failed: ");
      buf_str(&w, err);
      pf_str_free(&err);
      drop(text_of(&w, "send failed"));
      pf_cbor_writer_free(&w);
      break;
    }
    start = end;
  }
  out_reset();
}

// ---- Timers ------------------------------------------------------------------------

static void stop_connection_timers(void) {
  uint32_t *timers[3] = {&ping_timer, &silence_timer, &reconnect_timer};
  for (int i = 0; i < 3; i++) {
    if (*timers[i]) pf_clear_timer(*timers[i]);
    *timers[i] = 0;
  }
}

static void arm_silence(void) {
  if (!silence_timer) silence_timer = pf_set_timer((uint32_t)cfg->keepalive_sec * 1000);
}

// ---- Subscriptions ---------------------------------------------------------------------

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
    clear_busy(id);
    return 1;
  }
  return 0;
}

static int control_add(uint16_t id, const strlist *topics) {
  if (n_controls == cap_controls) {
    size_t cap = cap_controls ? cap_controls * 2 : 8;
    control_packet *grown = pf_realloc(controls, cap * sizeof *grown);
    if (!grown) return 0;
    controls = grown;
    cap_controls = cap;
  }
  control_packet c = {id, {0}};
  for (size_t i = 0; topics && i < topics->count; i++) {
    if (!strlist_add(&c.topics, topics->items[i])) {
      strlist_free(&c.topics);
      return 0;
    }
  }
  controls[n_controls++] = c;
  set_busy(id);
  return 1;
}

// SUBSCRIBE and UNSUBSCRIBE share everything but the packet. 1 if sent.
static int send_topics(const strlist *topics, int subscribe) {
  uint16_t id = next_packet_id();
  if (!id) {
    drop(Z("out of packet ids"));
    return 0;
  }
  if (!control_add(id, subscribe ? topics : NULL)) {
    say(PF_ERROR, Z("out of memory; not "), subscribe ? Z("subscribing") : Z("unsubscribing"));
    return 0;
  }
  say_topics(PF_INFO, subscribe ? "subscribing to " : "unsubscribing from ", topics);
  int ok = subscribe ? mqtt_put_subscribe(&out, id, topics->items, topics->count, 1)
                     : mqtt_put_unsubscribe(&out, id, topics->items, topics->count);
  if (ok) {
    packet_done();
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
static void reconcile(void) {
  if (state != LIVE || n_controls) return;
  strlist change = {0};
  int oom = 0;
  for (size_t i = 0; i < requested.count; i++) {
    if (!strlist_has(&wanted, requested.items[i]) && !strlist_add(&change, requested.items[i])) oom = 1;
  }
  int subscribe = change.count == 0 && !oom;
  for (size_t i = 0; subscribe && i < wanted.count; i++) {
    if (!strlist_has(&requested, wanted.items[i]) && !strlist_add(&change, wanted.items[i])) oom = 1;
  }
  if (oom) say(PF_ERROR, Z("out of memory; some subscription changes wait"));
  if (change.count && send_topics(&change, subscribe)) {
    for (size_t i = 0; i < change.count; i++) {
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

static void awaiting_remove(size_t i) {
  pf_free(awaiting[i].id);
  pf_str_free(&awaiting[i].to);
  strlist_free(&awaiting[i].topics);
  memmove(&awaiting[i], &awaiting[i + 1], (n_awaiting - i - 1) * sizeof *awaiting);
  n_awaiting--;
}

// Takes ownership of *topics.
static int awaiting_add(const uint8_t *id, size_t id_len, pf_str to, strlist *topics) {
  if (n_awaiting == cap_awaiting) {
    size_t cap = cap_awaiting ? cap_awaiting * 2 : 8;
    awaiting_ack *grown = pf_realloc(awaiting, cap * sizeof *grown);
    if (!grown) return 0;
    awaiting = grown;
    cap_awaiting = cap;
  }
  awaiting_ack a = {0};
  a.to = pf_str_dup(to);
  if (id) {
    a.id = pf_alloc(id_len);
    if (a.id) memcpy(a.id, id, id_len);
    a.id_len = id_len;
  }
  if (!a.to.ptr || (id && !a.id)) {
    pf_str_free(&a.to);
    pf_free(a.id);
    return 0;
  }
  a.topics = *topics;
  *topics = (strlist){0};
  awaiting[n_awaiting++] = a;
  return 1;
}

// Answers each waiting SUBSCRIBE whose topics are all confirmed (200), or
// one of whose topics the broker refused (403).
static void answer_controls(const strlist *refused) {
  pf_cbor_writer w = {0};
  size_t answers = 0;
  pf_cbor_reserve_head(&w);
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
    static const uint8_t undefined = 0xf7;  // what cbor-x makes of a missing id
    pf_cbor_put_map(&w, 5);
    pf_cbor_put_textz(&w, "id");
    if (a->id) {
      pf_cbor_put_raw(&w, a->id, a->id_len);
    } else {
      pf_cbor_put_raw(&w, &undefined, 1);
    }
    pf_cbor_put_textz(&w, "type");
    pf_cbor_put_textz(&w, "RESPONSE");
    pf_cbor_put_textz(&w, "from");
    pf_cbor_put_text(&w, cfg->stub_url);
    pf_cbor_put_textz(&w, "to");
    pf_cbor_put_text(&w, a->to);
    pf_cbor_put_textz(&w, "body");
    pf_cbor_put_map(&w, 1);
    pf_cbor_put_textz(&w, "code");
    pf_cbor_put_uint(&w, denied ? 403 : 200);
    answers++;
    awaiting_remove(i);
  }
  size_t len;
  const uint8_t *batch = pf_cbor_finish_head(&w, PF_CBOR_ARRAY, answers, &len);
  if (!batch) {
    say(PF_ERROR, Z("out of memory; subscription answers lost"));
  } else if (answers) {
    pf_post(batch, len);
  }
  pf_cbor_writer_free(&w);
}

static void on_suback(const mqtt_packet *p) {
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
  reconcile();
}

// ---- Publications ----------------------------------------------------------------------

enum { SENT, NOT_SENT };

// Sends one publication unless every packet id is taken; once SENT the
// publication belongs to the in-flight list.
static int publish(outgoing *o) {
  uint16_t id = next_packet_id();
  if (!id || !inflight_add(&flying, id, o)) return NOT_SENT;
  set_busy(id);
  if (mqtt_put_publish(&out, outgoing_topic(o), o->data + o->topic_len, o->payload_len, id)) packet_done();
  return SENT;
}

static void flush_queue(void) {
  while (queue.count && state == LIVE && publish(outqueue_front(&queue)) == SENT) outqueue_pop_front(&queue);
}

static void trim_queue(void) {
  size_t excess = 0;
  while (queue.count > QUEUE_LIMIT) {
    pf_free(outqueue_pop_back(&queue));
    excess++;
  }
  if (excess) {
    char digits[20];
    say(PF_ERROR, Z("outbound queue full (10000); dropped "), num(digits, excess), Z(" unacknowledged messages"));
  }
}

// ---- Connection lifecycle --------------------------------------------------------------

static void open_connection(void) {
  state = OPENING;
  mqtt_reader_reset(&reader);
  say(PF_DEBUG, Z("opening "), cfg->url);
  const pf_str protocols[1] = {Z("mqtt")};
  pf_str err = {0};
  uint32_t conn;
  if (pf_open(cfg->url, protocols, 1, &conn, &err) != 0) {
    has_conn = 0;
    pf_cbor_writer w = {0};
    buf_z(&w, "cannot open ");
    buf_str(&w, cfg->url);
    buf_z(&w, ": ");
    buf_str(&w, err);
    pf_str_free(&err);
    connection_lost(text_of(&w, "cannot open the broker URL"));
    pf_cbor_writer_free(&w);
    return;
  }
  has_conn = 1;
  conn_id = conn;
  // A handshake that never completes must not stall us forever.
  arm_silence();
}

// Abandons the current socket ourselves.
static void drop(pf_str reason) {
  int had = has_conn;
  has_conn = 0;
  if (had) pf_close(conn_id);
  connection_lost(reason);
}

static void connection_lost(pf_str reason) {
  if (state == REFUSED) return;
  stop_connection_timers();
  out_reset();
  mqtt_reader_reset(&reader);
  controls_clear();
  strlist_clear(&requested);
  strlist_clear(&confirmed);
  size_t lost = inflight_requeue(&flying, &queue);
  memset(busy_ids, 0, sizeof busy_ids);
  char digits[20];
  if (lost) say(PF_ERROR, Z("out of memory; lost "), num(digits, lost), Z(" unacknowledged messages"));
  trim_queue();
  say(PF_WARN, Z("connection lost: "), reason, Z("; retrying in "), num(digits, backoff_ms), Z(" ms"));
  if (!outage_reported) {
    outage_reported = 1;
    if (!pf_post_status(cfg->stub_url, "DISCONNECTED", reason, "PF_ERR_CONNECT")) {
      say(PF_ERROR, Z("out of memory; DISCONNECTED not posted"));
    }
  }
  state = WAITING;
  reconnect_timer = pf_set_timer(backoff_ms);
  backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
}

static void login_refused(pf_str reason) {
  say(PF_ERROR, Z("login refused: "), reason, Z("; not retrying"));
  state = REFUSED;
  stop_connection_timers();
  int had = has_conn;
  has_conn = 0;
  out_reset();
  if (had) pf_close(conn_id);
  if (!pf_post_status(cfg->stub_url, "DISCONNECTED", reason, "PF_ERR_LOGIN")) {
    say(PF_ERROR, Z("out of memory; DISCONNECTED not posted"));
  }
}

static void become_live(void) {
  state = LIVE;
  backoff_ms = BACKOFF_FIRST_MS;
  outage_reported = 0;
  say(PF_INFO, Z("LIVE on "), cfg->url, Z(" as "), client_id_str());
  if (!pf_post_status(cfg->stub_url, "LIVE", (pf_str){0}, NULL)) say(PF_ERROR, Z("out of memory; LIVE not posted"));
  reconcile();
  flush_queue();
  if (state == LIVE) ping_timer = pf_set_timer((uint32_t)cfg->keepalive_sec * 500);
}

int session_start(const mqtt_config *config) {
  cfg = config;
  make_client_id();
  // The prefix lives as long as the stub: logs of several stubs stay apart.
  static pf_cbor_writer prefix;
  buf_z(&prefix, "mqtt-c ");
  buf_str(&prefix, cfg->stub_url);
  buf_z(&prefix, ": ");
  say_prefix(text_of(&prefix, log_prefix_fallback));
  open_connection();
  return 1;
}

void session_on_open(uint32_t conn) {
  if (!has_conn || conn != conn_id || state != OPENING) {
    // A socket we already gave up on came up late.
    if (!has_conn || conn != conn_id) pf_close(conn);
    return;
  }
  state = CONNECTING;
  say(PF_DEBUG, Z("connected to "), cfg->url, Z(", logging in as "), client_id_str());
  if (mqtt_put_connect(&out, client_id_str(), cfg->keepalive_sec,
                       cfg->has_username ? &cfg->username : NULL,
                       cfg->has_password ? &cfg->password : NULL)) {
    packet_done();
  }
  // The silence timer armed at open now waits for the CONNACK.
}

void session_on_close(uint32_t conn, pf_str reason) {
  if (!has_conn || conn != conn_id) return;
  has_conn = 0;
  connection_lost(reason.len ? reason : Z("connection closed"));
}

void session_on_timer(uint32_t id) {
  if (!id) return;
  if (id == reconnect_timer) {
    reconnect_timer = 0;
    if (state == WAITING) open_connection();
  } else if (id == ping_timer) {
    ping_timer = 0;
    if (state != LIVE) return;
    mqtt_put_pingreq(&out);
    packet_done();
    arm_silence();
    ping_timer = pf_set_timer((uint32_t)cfg->keepalive_sec * 500);
  } else if (id == silence_timer) {
    silence_timer = 0;
    if (state == LIVE || state == CONNECTING || state == OPENING) {
      char digits[20];
      pf_cbor_writer w = {0};
      buf_z(&w, "no answer from the broker within ");
      buf_str(&w, num(digits, cfg->keepalive_sec));
      buf_z(&w, " s");
      drop(text_of(&w, "no answer from the broker"));
      pf_cbor_writer_free(&w);
    }
  }
}

// ---- Inbound ---------------------------------------------------------------------------

// Is this a message: one CBOR map with text type and from (later keys win,
// as they do when cbor-x decodes)? The input is known to be well-formed.
static int looks_like_message(const uint8_t *data, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(data, len);
  size_t n;
  int has_type = 0, has_from = 0;
  if (!pf_cbor_read_map(&r, &n)) return 0;
  while (pf_cbor_next(&r, &n) > 0) {
    int *flag = pf_cbor_read_text_eq(&r, Z("type")) ? &has_type
      : pf_cbor_read_text_eq(&r, Z("from")) ? &has_from
      : NULL;
    if (!flag && !pf_cbor_skip(&r)) return 0;
    if (flag) *flag = pf_cbor_peek(&r) == PF_CBOR_TEXT;
    if (!pf_cbor_skip(&r)) return 0;
  }
  return has_type && has_from;
}

static int accept_payload(pf_str topic, const uint8_t *payload, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(payload, len);
  if (!pf_cbor_skip(&r) || !pf_cbor_at_end(&r)) {
    say(PF_WARN, Z("skipping publication on "), topic, Z(": not one CBOR item"));
    return 0;
  }
  if (!looks_like_message(payload, len)) {
    say(PF_WARN, Z("skipping publication on "), topic, Z(": not a message (needs string type and from)"));
    return 0;
  }
  return 1;
}

static pf_str kind_of(uint8_t type) {
  switch (type) {
    case MQTT_PUBLISH: return Z("publish");
    case MQTT_PUBACK: return Z("puback");
    case MQTT_PUBREC: return Z("pubrec");
    case MQTT_PUBREL: return Z("pubrel");
    case MQTT_PUBCOMP: return Z("pubcomp");
    case MQTT_SUBACK: return Z("suback");
    case MQTT_UNSUBACK: return Z("unsuback");
    case MQTT_PINGRESP: return Z("pingresp");
    default: return Z("packet");
  }
}

static void handle(const mqtt_packet *p, pf_cbor_writer *delivered, size_t *count) {
  if (p->type == MQTT_CONNACK) {
    if (state != CONNECTING) {
      drop(Z("unexpected CONNACK from the broker"));
    } else if (p->return_code == 0) {
      become_live();
    } else {
      login_refused(connack_reason(p->return_code));
    }
    return;
  }
  if (state != LIVE) {
    pf_cbor_writer w = {0};
    buf_z(&w, "unexpected ");
    buf_str(&w, kind_of(p->type));
    buf_z(&w, " before CONNACK");
    drop(text_of(&w, "unexpected packet before CONNACK"));
    pf_cbor_writer_free(&w);
    return;
  }
  switch (p->type) {
    case MQTT_PUBLISH:
      if (p->qos == 1) write_ack(MQTT_PUBACK, p->packet_id);
      // We subscribe at QoS 1, but a broker may still downgrade or upgrade;
      // QoS 2 gets its handshake, delivered once on arrival.
      if (p->qos == 2) write_ack(MQTT_PUBREC, p->packet_id);
      if (accept_payload(p->topic, p->data, p->data_len)) {
        pf_cbor_put_raw(delivered, p->data, p->data_len);
        (*count)++;
      }
      return;
    case MQTT_PUBREL:
      write_ack(MQTT_PUBCOMP, p->packet_id);
      return;
    case MQTT_PUBACK:
      if (inflight_remove(&flying, p->packet_id)) clear_busy(p->packet_id);
      if (queue.count) flush_queue();
      return;
    case MQTT_SUBACK:
      on_suback(p);
      return;
    case MQTT_UNSUBACK:
      control_take(p->packet_id, NULL);
      reconcile();
      return;
    default:
      return;
  }
}

void session_on_frame(uint32_t conn, const uint8_t *frame, size_t len) {
  if (!has_conn || conn != conn_id || (state != CONNECTING && state != LIVE)) return;
  mqtt_packets packets = {0};
  const char *problem = "";
  int got = mqtt_reader_push(&reader, frame, len, &packets, &problem);
  if (got != MQTT_READ_OK) {
    pf_cbor_writer w = {0};
    if (got == MQTT_READ_MALFORMED) {
      buf_z(&w, "malformed packet from the broker: ");
      buf_z(&w, problem);
    } else {
      buf_z(&w, "out of memory reading packets");
    }
    pf_str reason = text_of(&w, "malformed packet from the broker");
    say(PF_WARN, reason);
    drop(reason);
    pf_cbor_writer_free(&w);
    mqtt_packets_free(&packets);
    return;
  }
  if (packets.count && silence_timer) {
    pf_clear_timer(silence_timer);
    silence_timer = 0;
  }
  // Everything one frame delivers reaches the bus as one batch.
  pf_cbor_writer delivered = {0};
  size_t count = 0;
  pf_cbor_reserve_head(&delivered);
  for (size_t i = 0; i < packets.count; i++) {
    // A packet may have ended the session (refused login, protocol error).
    if (!has_conn || conn != conn_id) break;
    handle(&packets.items[i], &delivered, &count);
  }
  if (count) {
    size_t batch_len;
    const uint8_t *batch = pf_cbor_finish_head(&delivered, PF_CBOR_ARRAY, count, &batch_len);
    if (batch) {
      pf_post(batch, batch_len);
    } else {
      char digits[20];
      say(PF_ERROR, Z("out of memory; "), num(digits, count), Z(" inbound messages lost"));
    }
  }
  pf_cbor_writer_free(&delivered);
  mqtt_packets_free(&packets);
}

// ---- Outbound ------------------------------------------------------------------------------

// The fields of a message the stub looks at; the rest travels untouched.
typedef struct {
  int is_map, has_type, has_from, has_to;
  pf_str type, from, to;
  const uint8_t *id, *body;
  size_t id_len, body_len;
} message_view;

static void view_message(const uint8_t *item, size_t len, message_view *m) {
  pf_cbor_reader r = pf_cbor_reader_of(item, len);
  size_t n;
  *m = (message_view){0};
  if (!pf_cbor_read_map(&r, &n)) return;
  m->is_map = 1;
  while (pf_cbor_next(&r, &n) > 0) {
    int ok = 1;
    if (pf_cbor_read_text_eq(&r, Z("id"))) {
      ok = pf_cbor_take(&r, &m->id, &m->id_len);
    } else if (pf_cbor_read_text_eq(&r, Z("body"))) {
      ok = pf_cbor_take(&r, &m->body, &m->body_len);
    } else {
      int *has = NULL;
      pf_str *text = NULL;
      if (pf_cbor_read_text_eq(&r, Z("type"))) has = &m->has_type, text = &m->type;
      else if (pf_cbor_read_text_eq(&r, Z("from"))) has = &m->has_from, text = &m->from;
      else if (pf_cbor_read_text_eq(&r, Z("to"))) has = &m->has_to, text = &m->to;
      else ok = pf_cbor_skip(&r);
      if (ok && has) {
        *has = pf_cbor_read_text(&r, text);
        if (!*has) ok = pf_cbor_skip(&r);
      } else if (ok) {
        ok = pf_cbor_skip(&r);
      }
    }
    if (!ok) return;
  }
}

// The id for log lines: text ids as they are, numbers in decimal, else '?'.
static pf_str id_for_log(const message_view *m, char scratch[20]) {
  if (!m->id) return Z("undefined");
  pf_cbor_reader r = pf_cbor_reader_of(m->id, m->id_len);
  pf_str text;
  uint64_t v;
  if (pf_cbor_read_text(&r, &text)) return text;
  if (pf_cbor_read_uint(&r, &v)) return num(scratch, v);
  return Z("?");
}

static void carry(const uint8_t *item, size_t len, const message_view *m) {
  char digits[20];
  pf_str topic;
  int got = topic_for(cfg->topic_prefix, m->to, &topic);
  if (got == TOPIC_NOT_AN_ADDRESS) {
    say(PF_WARN, Z("skipping message "), id_for_log(m, digits), Z(": \""), m->to,
        Z("\" is not a scheme://host/path address"));
    return;
  }
  outgoing *o = got == TOPIC_OK ? outgoing_new(topic, item, len) : NULL;
  if (got == TOPIC_OK) pf_str_free(&topic);
  if (!o) {
    say(PF_ERROR, Z("out of memory; dropping message "), id_for_log(m, digits));
    return;
  }
  if (state == LIVE && queue.count == 0 && publish(o) == SENT) return;
  if (queue.count >= QUEUE_LIMIT) {
    say(PF_ERROR, Z("outbound queue full (10000); dropping message "), id_for_log(m, digits), Z(" to "), m->to);
    pf_free(o);
    return;
  }
  if (!outqueue_push_back(&queue, o)) {
    say(PF_ERROR, Z("out of memory; dropping message "), id_for_log(m, digits));
    pf_free(o);
  }
}

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

static void control(const message_view *m) {
  if (!m->has_type) return;
  int subscribe = pf_str_eq(m->type, Z("SUBSCRIBE"));
  if (!subscribe && !pf_str_eq(m->type, Z("UNSUBSCRIBE"))) return;
  char digits[20];
  pf_cbor_reader r;
  size_t n;
  if (!find_resources(m, &r) || !pf_cbor_read_array(&r, &n)) {
    say(PF_WARN, Z("skipping "), m->type, Z(" "), id_for_log(m, digits), Z(": body.resources must be a list of addresses"));
    return;
  }
  // Only what is wanted changes here; reconcile() tells the broker.
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
  if (oom) say(PF_ERROR, Z("out of memory; some resources of "), m->type, Z(" "), id_for_log(m, digits), Z(" were skipped"));
  if (subscribe && m->has_from && !awaiting_add(m->id, m->id_len, m->from, &all)) {
    say(PF_ERROR, Z("out of memory; SUBSCRIBE "), id_for_log(m, digits), Z(" will not be answered"));
  }
  strlist_free(&all);
}

void session_on_messages(const uint8_t *batch, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(batch, len);
  // Like a decoder would, refuse the whole batch if any of it is broken.
  if (!pf_cbor_skip(&r) || !pf_cbor_at_end(&r)) {
    say(PF_WARN, Z("skipping a batch that is not CBOR"));
    return;
  }
  r = pf_cbor_reader_of(batch, len);
  size_t n;
  if (!pf_cbor_read_array(&r, &n)) {
    say(PF_WARN, Z("skipping a batch that is not a CBOR array"));
    return;
  }
  int had_control = 0;
  while (pf_cbor_next(&r, &n) > 0) {
    const uint8_t *item;
    size_t item_len;
    if (!pf_cbor_take(&r, &item, &item_len)) break;
    message_view m;
    view_message(item, item_len, &m);
    if (!m.is_map || !m.has_to) {
      char digits[20];
      say(PF_WARN, Z("skipping a message without a string \"to\" (id "), m.is_map ? id_for_log(&m, digits) : Z("?"), Z(")"));
      continue;
    }
    if (pf_str_eq(m.to, cfg->stub_url)) {
      control(&m);
      had_control = 1;
    } else {
      carry(item, item_len, &m);
    }
  }
  // Once per batch: a listener removed and added back in one batch changes
  // nothing at the broker.
  if (had_control) {
    reconcile();
    answer_controls(NULL);
  }
}
