#include "sending.h"
#include "cbor.h"
#include "connection.h"
#include "outbound.h"
#include "text.h"
#include "wire.h"

// Soon enough that a socket drains at its pace, seldom enough that one that
// stays congested costs little: each try hands the host a frame again.
#define RETRY_MS 20

static uint32_t retry_timer;

void sending_stop(void) {
  if (retry_timer) pf_clear_timer(retry_timer);
  retry_timer = 0;
}

static void congestion_began(pf_str reason) {
  char digits[20];
  say(PF_WARN, Z("the socket to the broker is congested ("), reason, Z("); "), num(digits, wire_unsent()),
      Z(" bytes wait in the stub, tried again every 20 ms"));
}

void sending_flush(void) {
  uint32_t conn;
  int has_conn = connection_socket(&conn);
  if (wire_oom()) {
    wire_reset();
    if (has_conn) connection_drop(Z("out of memory writing packets"));
    return;
  }
  if (!has_conn) {
    wire_reset();
    return;
  }
  // Congested: only the timer tries again, and what was written since waits
  // behind what the host refused.
  if (retry_timer) return;
  int was_congested = wire_congested();
  pf_str err = {0};
  int sent = wire_send(conn, &err);
  if (sent == WIRE_SENT) {
    if (was_congested) say(PF_INFO, Z("the socket to the broker drained; sending as usual"));
    return;
  }
  if (sent == WIRE_CONGESTED) {
    if (!was_congested) congestion_began(err);
    pf_str_free(&err);
    retry_timer = pf_set_timer(RETRY_MS);
    return;
  }
  pf_cbor_writer w = {0};
  buf_z(&w, "send failed: ");
  buf_str(&w, err);
  pf_str_free(&err);
  connection_drop(w.oom || !w.data ? Z("send failed") : (pf_str){(const char *)w.data, w.len});
  pf_cbor_writer_free(&w);
}

int sending_on_timer(uint32_t id) {
  if (!id || id != retry_timer) return 0;
  retry_timer = 0;
  // Publications held back while the wire was full may follow what waits;
  // the flush at the end of this call sends them all.
  outbound_flush();
  return 1;
}
