#include "config.h"
#include "cbor.h"
#include "packets.h"
#include "text.h"

// What a value turned out to be. CBOR undefined counts as absent, as it
// does for the TypeScript stub's destructuring defaults.
enum kind { ABSENT, IS_NULL, TEXT, MAP, OTHER };

typedef struct {
  enum kind kind;
  pf_str text;
  pf_cbor_reader map;  // MAP: a reader positioned at the map
} field;

// The input was checked to be well-formed CBOR before any of this runs, so
// a failed read here only means "another type".
static void read_field(pf_cbor_reader *r, field *f) {
  pf_cbor_reader at = *r;
  uint8_t simple;
  size_t n;
  *f = (field){.kind = OTHER};
  if (pf_cbor_read_text(&at, &f->text)) {
    f->kind = TEXT;
  } else if (pf_cbor_read_simple(&at, &simple) && (simple == PF_CBOR_NULL || simple == PF_CBOR_UNDEFINED)) {
    f->kind = simple == PF_CBOR_NULL ? IS_NULL : ABSENT;
  } else if (at = *r, pf_cbor_read_map(&at, &n)) {
    f->kind = MAP;
    f->map = *r;
    at = *r;
    pf_cbor_skip(&at);
  } else {
    at = *r;
    pf_cbor_skip(&at);
  }
  *r = at;
}

// Calls visit(key, value reader) for each text key of the map at r; a
// visitor always consumes the value. Other keys are skipped with their value.
typedef void (*visit_fn)(void *ctx, pf_str key, pf_cbor_reader *value);

static void each_entry(pf_cbor_reader r, void *ctx, visit_fn visit) {
  size_t n;
  if (!pf_cbor_read_map(&r, &n)) return;
  while (pf_cbor_next(&r, &n) > 0) {
    pf_str key;
    if (pf_cbor_read_text(&r, &key)) {
      pf_cbor_reader value = r;
      visit(ctx, key, &value);
      r = value;
    } else {
      pf_cbor_skip(&r);  // the key
      pf_cbor_skip(&r);  // its value
    }
  }
}

typedef struct {
  field runtime_url, stub_url, domain, configuration, credentials;
} top_fields;

static void visit_top(void *ctx, pf_str key, pf_cbor_reader *v) {
  top_fields *t = ctx;
  field *f = pf_str_eq(key, Z("runtimeURL")) ? &t->runtime_url
    : pf_str_eq(key, Z("stubURL")) ? &t->stub_url
    : pf_str_eq(key, Z("domain")) ? &t->domain
    : pf_str_eq(key, Z("configuration")) ? &t->configuration
    : pf_str_eq(key, Z("credentials")) ? &t->credentials
    : NULL;
  if (f) {
    read_field(v, f);
  } else {
    pf_cbor_skip(v);
  }
}

// A configuration value that may be an unsigned integer (keepAliveSec,
// maxMessageBytes): the integer, or the kind of whatever else it was.
typedef struct {
  int is_uint;
  uint64_t value;
  enum kind kind;
} number_field;

static void read_number(pf_cbor_reader *v, number_field *n) {
  n->is_uint = pf_cbor_read_uint(v, &n->value);
  if (n->is_uint) {
    n->kind = OTHER;
  } else {
    field f;
    read_field(v, &f);
    n->kind = f.kind;
  }
}

typedef struct {
  field url, topic_prefix;
  number_field keepalive, max_message_bytes;
  int has_urls, has_persistent;
  pf_cbor_reader urls;  // positioned at the value of `urls`
  pf_cbor_reader persistent;
} conf_fields;

static void visit_conf(void *ctx, pf_str key, pf_cbor_reader *v) {
  conf_fields *c = ctx;
  if (pf_str_eq(key, Z("url"))) {
    read_field(v, &c->url);
  } else if (pf_str_eq(key, Z("urls"))) {
    pf_cbor_reader at = *v;
    field f;
    read_field(v, &f);
    c->has_urls = f.kind != ABSENT;
    c->urls = at;
  } else if (pf_str_eq(key, Z("topicPrefix"))) {
    read_field(v, &c->topic_prefix);
  } else if (pf_str_eq(key, Z("keepAliveSec"))) {
    read_number(v, &c->keepalive);
  } else if (pf_str_eq(key, Z("maxMessageBytes"))) {
    read_number(v, &c->max_message_bytes);
  } else if (pf_str_eq(key, Z("persistentSession"))) {
    c->has_persistent = 1;
    c->persistent = *v;
    pf_cbor_skip(v);
  } else {
    pf_cbor_skip(v);
  }
}

typedef struct {
  field username, password;
} cred_fields;

static void visit_cred(void *ctx, pf_str key, pf_cbor_reader *v) {
  cred_fields *c = ctx;
  if (pf_str_eq(key, Z("username"))) {
    read_field(v, &c->username);
  } else if (pf_str_eq(key, Z("password"))) {
    read_field(v, &c->password);
  } else {
    pf_cbor_skip(v);
  }
}

static int starts_with_ci(pf_str s, const char *prefix) {
  size_t n = pf_strlen(prefix);
  if (s.len < n) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s.ptr[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != prefix[i]) return 0;
  }
  return 1;
}

static int has_any(pf_str s, const char *chars, size_t count) {
  for (size_t i = 0; i < s.len; i++) {
    for (size_t k = 0; k < count; k++) {
      if (s.ptr[i] == chars[k]) return 1;
    }
  }
  return 0;
}

// The one error that quotes the input; the host reads it after init returns.
static char bad_url[200];

static pf_str bad_url_error(const char *key, pf_str url) {
  pf_cbor_writer w = {0};
  buf_z(&w, "configuration.");
  buf_z(&w, key);
  buf_z(&w, " must be a ws:// or wss:// URL, got \"");
  size_t room = sizeof bad_url - w.len - 5;
  size_t n = url.len < room ? url.len : room;
  buf_str(&w, (pf_str){url.ptr, n});
  if (n < url.len) buf_z(&w, "...");
  buf_z(&w, "\"");
  if (w.oom) return Z("configuration.url must be a ws:// or wss:// URL");
  memcpy(bad_url, w.data, w.len);
  pf_str out = {bad_url, w.len};
  pf_cbor_writer_free(&w);
  return out;
}

static int is_ws_url(pf_str s) { return starts_with_ci(s, "ws://") || starts_with_ci(s, "wss://"); }

// `urls` when given (a non-empty list of ws:// or wss:// URLs), else `url`.
static int read_urls(const conf_fields *conf, mqtt_config *out, pf_str *err) {
  if (!conf->has_urls) {
    if (conf->url.kind != TEXT || !conf->url.text.len) return *err = Z("configuration.url or configuration.urls is required"), 0;
    if (!is_ws_url(conf->url.text)) return *err = bad_url_error("url", conf->url.text), 0;
    out->urls = pf_alloc(sizeof *out->urls);
    if (!out->urls) return *err = Z("out of memory"), 0;
    out->urls[0] = conf->url.text;
    out->n_urls = 1;
    return 1;
  }
  pf_cbor_reader r = conf->urls;
  size_t n;
  static const pf_str not_a_list = PF_STR("configuration.urls must be a non-empty list of ws:// or wss:// URLs");
  // A definite count: the array is then allocated once, and a list that
  // claims more than its bytes hold was refused by the reader already.
  if (!pf_cbor_read_array(&r, &n) || n == 0 || n == PF_CBOR_INDEFINITE) return *err = not_a_list, 0;
  out->urls = pf_alloc(n * sizeof *out->urls);
  if (!out->urls) return *err = Z("out of memory"), 0;
  while (pf_cbor_next(&r, &n) > 0) {
    pf_str url;
    if (!pf_cbor_read_text(&r, &url) || !url.len) return *err = not_a_list, 0;
    if (!is_ws_url(url)) return *err = bad_url_error("urls", url), 0;
    out->urls[out->n_urls++] = url;
  }
  return 1;
}

#define MQTT_STRING_MAX 65535u

static int check(const uint8_t *data, size_t len, mqtt_config *out, pf_str *err) {
  pf_cbor_reader r = pf_cbor_reader_of(data, len);
  if (!pf_cbor_skip(&r) || !pf_cbor_at_end(&r)) return *err = Z("init config is not valid CBOR"), 0;
  r = pf_cbor_reader_of(data, len);
  if (pf_cbor_peek(&r) != PF_CBOR_MAP) return *err = Z("init config must be a CBOR map"), 0;

  top_fields top = {0};
  each_entry(r, &top, visit_top);
  if (top.stub_url.kind != TEXT || !top.stub_url.text.len) return *err = Z("stubURL is required"), 0;
  if (top.runtime_url.kind != TEXT) return *err = Z("runtimeURL is required"), 0;
  if (top.configuration.kind != MAP) return *err = Z("configuration must be a map"), 0;

  conf_fields conf = {0};
  each_entry(top.configuration.map, &conf, visit_conf);
  pf_str prefix = Z("protofly/");
  if (conf.topic_prefix.kind != ABSENT) {
    if (conf.topic_prefix.kind != TEXT) return *err = Z("configuration.topicPrefix must be a string"), 0;
    prefix = conf.topic_prefix.text;
  }
  if (has_any(prefix, "+#\0", 3)) return *err = Z("configuration.topicPrefix must not contain +, # or NUL"), 0;
  uint64_t keepalive = 30;
  if (conf.keepalive.is_uint) {
    keepalive = conf.keepalive.value;
  } else if (conf.keepalive.kind != ABSENT) {
    keepalive = 0;
  }
  // MQTT carries keepalive in 16 bits; 0 would turn off our dead-link check.
  if (keepalive < 1 || keepalive > 65535) {
    return *err = Z("configuration.keepAliveSec must be an integer from 1 to 65535"), 0;
  }
  uint64_t max_bytes = 1024 * 1024;
  if (conf.max_message_bytes.is_uint) {
    max_bytes = conf.max_message_bytes.value;
  } else if (conf.max_message_bytes.kind != ABSENT) {
    max_bytes = 0;
  }
  if (max_bytes < 1 || max_bytes > MQTT_MAX_REMAINING) {
    return *err = Z("configuration.maxMessageBytes must be an integer from 1 to 268435455"), 0;
  }
  int persistent = 1;
  if (conf.has_persistent) {
    uint8_t simple = 0;
    pf_cbor_reader at = conf.persistent;
    if (!pf_cbor_read_simple(&at, &simple)) simple = 0;
    if (simple == PF_CBOR_TRUE || simple == PF_CBOR_FALSE) {
      persistent = simple == PF_CBOR_TRUE;
    } else if (simple != PF_CBOR_UNDEFINED) {
      return *err = Z("configuration.persistentSession must be true or false"), 0;
    }
  }

  *out = (mqtt_config){
    .runtime_url = top.runtime_url.text,
    .stub_url = top.stub_url.text,
    .domain = top.domain.kind == TEXT ? top.domain.text : Z(""),
    .topic_prefix = prefix,
    .keepalive_sec = (uint16_t)keepalive,
    .persistent_session = persistent,
    .max_message_bytes = (size_t)max_bytes,
  };
  if (!read_urls(&conf, out, err)) return 0;
  if (top.credentials.kind == ABSENT || top.credentials.kind == IS_NULL) return 1;
  if (top.credentials.kind != MAP) return *err = Z("credentials must be a map or null"), 0;
  cred_fields cred = {0};
  each_entry(top.credentials.map, &cred, visit_cred);
  if (cred.username.kind != ABSENT && cred.username.kind != IS_NULL) {
    if (cred.username.kind != TEXT) return *err = Z("credentials.username must be a string"), 0;
    if (cred.username.text.len > MQTT_STRING_MAX) return *err = Z("credentials.username is longer than 65535 bytes"), 0;
    out->has_username = 1;
    out->username = cred.username.text;
  }
  if (cred.password.kind != ABSENT && cred.password.kind != IS_NULL) {
    if (cred.password.kind != TEXT) return *err = Z("credentials.password must be a string"), 0;
    // MQTT 3.1.1 allows a password only together with a user name.
    if (!out->has_username) return *err = Z("credentials.password needs credentials.username"), 0;
    if (cred.password.text.len > MQTT_STRING_MAX) return *err = Z("credentials.password is longer than 65535 bytes"), 0;
    out->has_password = 1;
    out->password = cred.password.text;
  }
  return 1;
}

int config_parse(const uint8_t *data, size_t len, mqtt_config *config, pf_str *err) {
  // The host frees the config after init, and every string is kept.
  uint8_t *copy = pf_alloc(len ? len : 1);
  if (!copy) return *err = Z("out of memory"), 0;
  memcpy(copy, data, len);
  mqtt_config parsed = {0};
  if (!check(copy, len, &parsed, err)) {
    pf_free(parsed.urls);
    pf_free(copy);
    return 0;
  }
  parsed.bytes = copy;
  *config = parsed;
  return 1;
}
