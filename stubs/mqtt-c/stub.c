// The stub export of the protostub world for the C MQTT stub: checks the
// config once, then hands every callback to the part it concerns and sends
// what the callback wrote. Nothing here traps on bad input; it logs and
// moves on.
#include "config.h"
#include "connection.h"
#include "dispatch.h"
#include "protostub.h"
#include "text.h"

static mqtt_config config;
static int started;

int stub_init(const uint8_t *bytes, size_t len, pf_str *err) {
  if (started) {
    *err = PF_STR("init called twice");
    return 1;
  }
  if (!config_parse(bytes, len, &config, err)) return 1;
  started = 1;
  // The prefix lives as long as the stub: logs of several stubs stay apart.
  static pf_cbor_writer prefix;
  buf_z(&prefix, "mqtt-c ");
  buf_str(&prefix, config.stub_url);
  buf_z(&prefix, ": ");
  say_prefix(prefix.oom ? Z("mqtt-c: ") : (pf_str){(const char *)prefix.data, prefix.len});
  dispatch_init(&config);
  connection_start(&config);
  connection_flush();
  return 0;
}

// Calls that arrive before a successful init have nothing to act on.
static int ready(const char *what) {
  if (started) return 1;
  pf_logz(PF_WARN, what);
  return 0;
}

void stub_on_messages(const uint8_t *batch, size_t len) {
  if (!ready("mqtt-c: on-messages before init; ignored")) return;
  dispatch_batch(batch, len);
  connection_flush();
}

void stub_on_open(uint32_t conn) {
  if (!ready("mqtt-c: on-open before init; ignored")) return;
  connection_on_open(conn);
  connection_flush();
}

void stub_on_frame(uint32_t conn, const uint8_t *frame, size_t len) {
  if (!ready("mqtt-c: on-frame before init; ignored")) return;
  connection_on_frame(conn, frame, len);
  connection_flush();
}

void stub_on_close(uint32_t conn, const char *reason, size_t len) {
  if (!ready("mqtt-c: on-close before init; ignored")) return;
  connection_on_close(conn, (pf_str){reason, len});
  connection_flush();
}

void stub_on_timer(uint32_t id) {
  if (!ready("mqtt-c: on-timer before init; ignored")) return;
  connection_on_timer(id);
  connection_flush();
}
