// Echo fixture for tests and benchmarks: announces LIVE at init, then answers
// every message for a remote address with a RESPONSE that swaps from/to and
// carries the same id and body. Addressed to the stub itself (its URL or
// below), a READ is answered with code 200 and its body as the value, any
// other type with code 400 (CONTRACT.md). It opens no connection.
// Init and the answer to one message are in echo-core.c, shared with the
// hostile fixtures.
#include "echo.h"

const char echo_name[] = "echo-c";

// Logs "<head><n><tail>"; stubs have no printf.
static void log_count(uint8_t level, const char *head, size_t n, const char *tail) {
  char line[128];
  size_t len, hl = pf_strlen(head), tl = pf_strlen(tail);
  if (hl + 20 + tl > sizeof line) return;
  memcpy(line, head, hl);
  len = hl + pf_utoa(n, line + hl);
  memcpy(line + len, tail, tl);
  pf_log(level, line, len + tl);
}

void stub_on_messages(const uint8_t *batch, size_t len) {
  pf_cbor_reader r = pf_cbor_reader_of(batch, len);
  size_t n;
  if (!pf_cbor_read_array(&r, &n)) {
    pf_logz(PF_WARN, "echo-c: batch is not a CBOR array, skipped");
    return;
  }
  // Replies go out as one batch whose length is known only at the end.
  pf_cbor_writer w = {0};
  // Replies are about as long as what they answer: room for them up front.
  pf_cbor_writer_reserve(&w, len + 64);
  pf_cbor_reserve_head(&w);
  size_t replies = 0, malformed = 0;
  int more;
  while ((more = pf_cbor_next(&r, &n)) > 0) {
    // Each message is read once, in place; only one that is not a message
    // is walked again, to find where the next one starts.
    enum echo_outcome outcome = echo_reply(&w, &r);
    if (outcome == ECHO_REPLIED) replies++;
    if (outcome != ECHO_MALFORMED) continue;
    malformed++;
    if (!pf_cbor_skip(&r)) {
      more = -1;  // no way to find where the next message starts
      break;
    }
  }
  if (more < 0) pf_logz(PF_WARN, "echo-c: batch is truncated or malformed, rest skipped");
  if (malformed) log_count(PF_WARN, "echo-c: skipped ", malformed, " malformed message(s)");
  size_t out_len;
  const uint8_t *out = pf_cbor_finish_head(&w, PF_CBOR_ARRAY, replies, &out_len);
  if (!out) {
    pf_logz(PF_ERROR, "echo-c: out of memory, replies dropped");
  } else if (replies) {
    pf_post(out, out_len);
  }
  pf_cbor_writer_free(&w);
}

void stub_on_open(uint32_t conn) { (void)conn; }
void stub_on_frame(uint32_t conn, const uint8_t *frame, size_t len) { (void)conn, (void)frame, (void)len; }
void stub_on_close(uint32_t conn, const char *reason, size_t len) { (void)conn, (void)reason, (void)len; }
void stub_on_timer(uint32_t id) { (void)id; }
