#include "connection.h"
#include "answers.h"
#include "cbor.h"
#include "inbound.h"
#include "outbound.h"
#include "packets.h"
#include "sending.h"
#include "status.h"
#include "subscriptions.h"
#include "text.h"
#include "wire.h"

enum state { OPENING, CONNECTING, LIVE, WAITING, REFUSED, ENDED };
// How far a DELETE has got: publications in flight get a moment for their
// PUBACK, then a clean-session login ends a persistent session.
enum ending { NOT_ENDING, DRAINING, CLEANING };

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 10000
// Well within the runtime's undeployGraceMs (1 s by default), which the
// clean-session login that follows also needs.
#define DRAIN_MS 300

static const mqtt_config *cfg;
static enum state state = WAITING;
static enum ending ending;
static int has_conn;
static uint32_t conn_id;
static mqtt_reader reader;
static char client_id[19];

// The broker in use (cfg->urls), and the one this round of attempts began
// with: a whole round without success waits for the backoff.
static size_t url_at, round_start;
static uint32_t backoff_ms = BACKOFF_FIRST_MS;
// One DISCONNECTED per outage, however many retries it takes.
static int outage_reported;
static uint32_t reconnect_timer, ping_timer, silence_timer, drain_timer;
static pf_str gone_reason;

// DELETE messages to answer once the session is ended.
static reply_to *end_waiters;
static size_t n_end_waiters, cap_end_waiters;

static void connection_lost(pf_str reason);

// The text a writer built, or the fallback if building it ran out of memory.
static pf_str text_of(const pf_cbor_writer *w, const char *fallback) {
  return w->oom || !w->data ? zstr(fallback) : (pf_str){(const char *)w->data, w->len};
}

static pf_str url(void) { return cfg->urls[url_at]; }

// A stable hash of where we run, so the broker finds our session again
// after any outage: FNV-1a 64; 'pf-' + 16 hex fits MQTT's 23.
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

int connection_live(void) { return state == LIVE && has_conn; }

int connection_socket(uint32_t *conn) {
  if (has_conn) *conn = conn_id;
  return has_conn;
}

pf_str connection_gone(void) {
  if (ending != NOT_ENDING) return Z("the stub is being undeployed (DELETE)");
  return gone_reason;
}

// ---- Timers ------------------------------------------------------------------------

static void clear_timer(uint32_t *timer) {
  if (*timer) pf_clear_timer(*timer);
  *timer = 0;
}

static void stop_connection_timers(void) {
  clear_timer(&ping_timer);
  clear_timer(&silence_timer);
  clear_timer(&reconnect_timer);
  sending_stop();
}

static void arm_silence(void) {
  if (!silence_timer) silence_timer = pf_set_timer((uint32_t)cfg->keepalive_sec * 1000);
}

// ---- Writing ------------------------------------------------------------------------

void connection_flush(void) {
  sending_flush();
  answers_post();
}

// Writes DISCONNECT, sends it with whatever else was written, and closes:
// the broker then knows we left on purpose.
static void say_goodbye(void) {
  if (!has_conn) return;
  has_conn = 0;
  mqtt_put_disconnect(wire());
  wire_packet_done();
  // Even behind a congested send: the socket closes anyway.
  pf_str err = {0};
  if (!wire_oom() && wire_send(conn_id, &err) != WIRE_SENT) pf_str_free(&err);
  wire_reset();
  pf_close(conn_id);
}

// ---- Connection lifecycle --------------------------------------------------------------

static void open_connection(void) {
  state = OPENING;
  mqtt_reader_reset(&reader);
  say(PF_DEBUG, Z("opening "), url());
  const pf_str protocols[1] = {Z("mqtt")};
  pf_str err = {0};
  uint32_t conn;
  if (pf_open(url(), protocols, 1, &conn, &err) != 0) {
    has_conn = 0;
    pf_cbor_writer w = {0};
    buf_z(&w, "cannot open ");
    buf_str(&w, url());
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

void connection_drop(pf_str reason) {
  int had = has_conn;
  has_conn = 0;
  if (had) pf_close(conn_id);
  connection_lost(reason);
}

// Moves to the next broker; 1 if that starts a new round (all were tried).
static int next_url(void) {
  url_at = (url_at + 1) % cfg->n_urls;
  return url_at == round_start;
}

// Forgets everything tied to the socket that is gone.
static void forget_connection(void) {
  stop_connection_timers();
  wire_reset();
  mqtt_reader_reset(&reader);
  packet_ids_reset();
  subscriptions_lost();
}

static void finish_end(unsigned code, pf_str reason);

static void connection_lost(pf_str reason) {
  if (state == REFUSED || state == ENDED) return;
  forget_connection();
  char digits[20];
  if (ending == CLEANING) {
    // Ending the session: each broker once, then give up.
    if (next_url()) {
      pf_cbor_writer w = {0};
      buf_z(&w, "could not end the broker session: ");
      buf_str(&w, reason);
      finish_end(CODE_UNAVAILABLE, text_of(&w, "could not end the broker session"));
      pf_cbor_writer_free(&w);
    } else {
      state = WAITING;
      reconnect_timer = pf_set_timer(0);
    }
    return;
  }
  outbound_requeue();
  // Another broker is tried at once; only when every one has failed is it
  // an outage (a deploy fails on the first DISCONNECTED), and a wait.
  int round_over = next_url();
  uint32_t delay = 0;
  if (round_over) {
    delay = backoff_ms;
    backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
  }
  say(PF_WARN, Z("connection lost: "), reason, Z("; trying "), url(), Z(" in "), num(digits, delay), Z(" ms"));
  if (round_over && !outage_reported) {
    outage_reported = 1;
    if (!pf_post_status(cfg->stub_url, "DISCONNECTED", reason, "PF_ERR_CONNECT")) {
      say(PF_ERROR, Z("out of memory; DISCONNECTED not posted"));
    }
  }
  state = WAITING;
  reconnect_timer = pf_set_timer(delay);
}

static void login_refused(pf_str reason) {
  say(PF_ERROR, Z("login refused: "), reason, Z("; not retrying"));
  state = REFUSED;
  gone_reason = reason;
  stop_connection_timers();
  int had = has_conn;
  has_conn = 0;
  wire_reset();
  if (had) pf_close(conn_id);
  if (!pf_post_status(cfg->stub_url, "DISCONNECTED", reason, "PF_ERR_LOGIN")) {
    say(PF_ERROR, Z("out of memory; DISCONNECTED not posted"));
  }
  // The back-end is gone for good: what waits will never go.
  outbound_refuse_all(CODE_UNAVAILABLE, reason);
}

static void become_live(int session_present) {
  state = LIVE;
  backoff_ms = BACKOFF_FIRST_MS;
  outage_reported = 0;
  round_start = url_at;
  say(PF_INFO, Z("LIVE on "), url(), Z(" as "), client_id_str(),
      !cfg->persistent_session ? Z(" (clean session)") : session_present ? Z(" (session resumed)") : Z(" (new session)"));
  if (!pf_post_status(cfg->stub_url, "LIVE", (pf_str){0}, NULL)) say(PF_ERROR, Z("out of memory; LIVE not posted"));
  subscriptions_resumed(session_present);
  subscriptions_reconcile();
  outbound_flush();
  if (state == LIVE) ping_timer = pf_set_timer((uint32_t)cfg->keepalive_sec * 500);
}

void connection_start(const mqtt_config *config) {
  cfg = config;
  make_client_id();
  subscriptions_init(config);
  outbound_init(config);
  answers_init(config->stub_url);
  open_connection();
}

void connection_on_open(uint32_t conn) {
  if (!has_conn || conn != conn_id || state != OPENING) {
    // A socket we already gave up on came up late.
    if (!has_conn || conn != conn_id) pf_close(conn);
    return;
  }
  state = CONNECTING;
  // Ending a persistent session is a clean-session login.
  int clean = !cfg->persistent_session || ending == CLEANING;
  say(PF_DEBUG, Z("connected to "), url(), Z(", logging in as "), client_id_str());
  if (mqtt_put_connect(wire(), client_id_str(), clean, cfg->keepalive_sec,
                       cfg->has_username ? &cfg->username : NULL,
                       cfg->has_password ? &cfg->password : NULL)) {
    wire_packet_done();
  }
  // The silence timer armed at open now waits for the CONNACK.
}

void connection_on_close(uint32_t conn, pf_str reason) {
  if (!has_conn || conn != conn_id) return;
  has_conn = 0;
  connection_lost(reason.len ? reason : Z("connection closed"));
}

// ---- Ending the session (DELETE) -----------------------------------------------------

static void finish_end(unsigned code, pf_str reason) {
  state = ENDED;
  ending = NOT_ENDING;
  gone_reason = Z("the stub was undeployed (DELETE): its broker session is ended");
  stop_connection_timers();
  clear_timer(&drain_timer);
  if (has_conn) {
    has_conn = 0;
    pf_close(conn_id);
  }
  if (code == CODE_OK) {
    say(PF_INFO, Z("broker session ended"));
  } else {
    say(PF_WARN, Z("DELETE: "), reason);
  }
  for (size_t i = 0; i < n_end_waiters; i++) {
    answer(&end_waiters[i], code, reason);
    reply_to_free(&end_waiters[i]);
  }
  n_end_waiters = 0;
  outbound_refuse_all(CODE_UNAVAILABLE, gone_reason);
}

// Past draining: what was not acknowledged is refused, then the session
// is ended at the broker.
static void end_now(void) {
  clear_timer(&drain_timer);
  outbound_refuse_all(CODE_UNAVAILABLE, Z("the stub was undeployed before the broker acknowledged the message"));
  if (state == LIVE) {
    say_goodbye();
  } else if (has_conn) {
    has_conn = 0;
    pf_close(conn_id);
  }
  forget_connection();
  if (!cfg->persistent_session) {
    // A clean session ends with its connection.
    finish_end(CODE_OK, (pf_str){0});
    return;
  }
  ending = CLEANING;
  round_start = url_at;
  say(PF_INFO, Z("ending the broker session: logging in with a clean session"));
  open_connection();
}

void connection_end(const message_view *m) {
  reply_to reply;
  char digits[20];
  if (!m->has_from || !reply_to_keep(&reply, m)) {
    say(PF_ERROR, Z("DELETE "), message_id_for_log(m, digits), Z(" will not be answered (no from, or out of memory)"));
    reply = (reply_to){0};
  } else if (state == ENDED) {
    answer(&reply, CODE_OK, (pf_str){0});
    reply_to_free(&reply);
    return;
  }
  if (reply.to.ptr) {
    if (n_end_waiters == cap_end_waiters) {
      size_t cap = cap_end_waiters ? cap_end_waiters * 2 : 2;
      reply_to *grown = pf_realloc(end_waiters, cap * sizeof *grown);
      if (grown) {
        end_waiters = grown;
        cap_end_waiters = cap;
      }
    }
    if (n_end_waiters < cap_end_waiters) {
      end_waiters[n_end_waiters++] = reply;
    } else {
      say(PF_ERROR, Z("out of memory; DELETE "), message_id_for_log(m, digits), Z(" will not be answered"));
      reply_to_free(&reply);
    }
  }
  if (state == ENDED || ending != NOT_ENDING) return;
  if (state == REFUSED) {
    finish_end(CODE_UNAVAILABLE, Z("the broker refuses the login, so the session could not be ended"));
    return;
  }
  say(PF_INFO, Z("DELETE: ending the broker session"));
  ending = DRAINING;
  if (state == LIVE && !outbound_idle()) {
    outbound_flush();
    drain_timer = pf_set_timer(DRAIN_MS);
    return;
  }
  end_now();
}

// ---- Timers ------------------------------------------------------------------------

void connection_on_timer(uint32_t id) {
  if (!id || sending_on_timer(id)) return;
  if (id == reconnect_timer) {
    reconnect_timer = 0;
    if (state == WAITING) open_connection();
  } else if (id == drain_timer) {
    drain_timer = 0;
    if (ending == DRAINING) end_now();
  } else if (id == ping_timer) {
    ping_timer = 0;
    if (state != LIVE) return;
    mqtt_put_pingreq(wire());
    wire_packet_done();
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
      connection_drop(text_of(&w, "no answer from the broker"));
      pf_cbor_writer_free(&w);
    }
  }
}

// ---- Inbound packets ---------------------------------------------------------------

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

static void write_ack(int type, uint16_t id) {
  mqtt_put_ack(wire(), type, id);
  wire_packet_done();
}

static void on_connack(const mqtt_packet *p) {
  if (state != CONNECTING) {
    connection_drop(Z("unexpected CONNACK from the broker"));
  } else if (ending == CLEANING) {
    // The clean login has dropped whatever the broker kept for us.
    if (p->return_code == 0) {
      say_goodbye();
      finish_end(CODE_OK, (pf_str){0});
    } else {
      finish_end(CODE_UNAVAILABLE, connack_reason(p->return_code));
    }
  } else if (p->return_code == 0) {
    become_live(p->session_present);
  } else {
    login_refused(connack_reason(p->return_code));
  }
}

static void handle(const mqtt_packet *p, inbound_batch *delivered) {
  if (p->type == MQTT_CONNACK) {
    on_connack(p);
    return;
  }
  if (state != LIVE) {
    pf_cbor_writer w = {0};
    buf_z(&w, "unexpected ");
    buf_str(&w, kind_of(p->type));
    buf_z(&w, " before CONNACK");
    connection_drop(text_of(&w, "unexpected packet before CONNACK"));
    pf_cbor_writer_free(&w);
    return;
  }
  switch (p->type) {
    case MQTT_PUBLISH:
      if (p->qos == 1) write_ack(MQTT_PUBACK, p->packet_id);
      // We subscribe at QoS 1, but a broker may still downgrade or upgrade;
      // QoS 2 gets its handshake, delivered once on arrival.
      if (p->qos == 2) write_ack(MQTT_PUBREC, p->packet_id);
      inbound_add(delivered, p);
      return;
    case MQTT_PUBREL:
      write_ack(MQTT_PUBCOMP, p->packet_id);
      return;
    case MQTT_PUBACK:
      outbound_on_puback(p->packet_id);
      if (ending == DRAINING && outbound_idle()) end_now();
      return;
    case MQTT_SUBACK:
      subscriptions_on_suback(p);
      return;
    case MQTT_UNSUBACK:
      subscriptions_on_unsuback(p);
      return;
    default:
      return;
  }
}

void connection_on_frame(uint32_t conn, const uint8_t *frame, size_t len) {
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
    connection_drop(reason);
    pf_cbor_writer_free(&w);
    mqtt_packets_free(&packets);
    return;
  }
  if (packets.count) clear_timer(&silence_timer);
  inbound_batch delivered;
  inbound_begin(&delivered);
  for (size_t i = 0; i < packets.count; i++) {
    // A packet may have ended the connection (refused login, protocol error, DELETE).
    if (!has_conn || conn != conn_id) break;
    handle(&packets.items[i], &delivered);
  }
  // Answers to SUBSCRIBE go first, as they did before the messages they allow.
  answers_post();
  if (!inbound_post(&delivered) && has_conn && conn == conn_id) {
    // Unacknowledged, the broker sends them again: repeat rather than lose.
    wire_reset();
    connection_drop(Z("out of memory delivering inbound messages"));
  }
  mqtt_packets_free(&packets);
}
