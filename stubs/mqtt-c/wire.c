#include "wire.h"

// Packets written during one call go out together, split so no single
// frame grows without bound.
#define FRAME_LIMIT (256 * 1024)
// What may wait unsent while the socket is congested before new
// publications are refused: a quarter of the host's own default bound
// (limits.maxOutboundBytes, 4 MiB).
#define HOLD_LIMIT (1024 * 1024)

// What this call wrote, and where each packet ends, so frames hold whole packets.
static pf_cbor_writer out;
static size_t *ends;
static size_t n_ends, cap_ends;

// The host refused the frame at the front as congested.
static int congested;

// Packet ids taken by a publication in flight or a control packet.
static uint8_t busy_ids[65536 / 8];
static uint16_t last_packet_id;

pf_cbor_writer *wire(void) { return &out; }
int wire_oom(void) { return out.oom; }
int wire_congested(void) { return congested; }
int wire_full(void) { return congested && out.len >= HOLD_LIMIT; }
size_t wire_unsent(void) { return out.len; }

void wire_packet_done(void) {
  if (out.oom) return;
  if (n_ends == cap_ends) {
    size_t cap = cap_ends ? cap_ends * 2 : 16;
    size_t *grown = pf_realloc(ends, cap * sizeof *grown);
    if (!grown) {
      out.oom = 1;  // treated like any other failed write
      return;
    }
    ends = grown;
    cap_ends = cap;
  }
  ends[n_ends++] = out.len;
}

void wire_reset(void) {
  out.len = 0;
  out.oom = 0;
  n_ends = 0;
  congested = 0;
  // One large publication must not pin its buffer for the stub's life.
  if (out.cap > 4 * FRAME_LIMIT) pf_cbor_writer_free(&out);
}

wire_mark wire_mark_now(void) { return (wire_mark){out.len, n_ends}; }

void wire_undo(wire_mark m) {
  out.oom = 0;
  out.len = m.len;
  n_ends = m.packets;
}

int wire_undo_if_oom(wire_mark m) {
  if (!out.oom) return 0;
  wire_undo(m);
  return 1;
}

static int is_congestion(pf_str reason) {
  static const char prefix[] = "congested:";
  return reason.len >= sizeof prefix - 1 && memcmp(reason.ptr, prefix, sizeof prefix - 1) == 0;
}

// Forgets the bytes before `start` (packet `first` begins there): they went.
static void keep_from(size_t start, size_t first) {
  memmove(out.data, out.data + start, out.len - start);
  out.len -= start;
  for (size_t k = first; k < n_ends; k++) ends[k - first] = ends[k] - start;
  n_ends -= first;
}

int wire_send(uint32_t conn, pf_str *err) {
  size_t start = 0, i = 0;
  while (i < n_ends) {
    size_t first = i, end = ends[i++];
    while (i < n_ends && ends[i] - start <= FRAME_LIMIT) end = ends[i++];
    if (pf_send(conn, out.data + start, end - start, err) != 0) {
      if (!is_congestion(*err)) {
        wire_reset();
        return WIRE_FAILED;
      }
      keep_from(start, first);
      congested = 1;
      return WIRE_CONGESTED;
    }
    start = end;
  }
  wire_reset();
  return WIRE_SENT;
}

static int is_busy(uint16_t id) { return busy_ids[id >> 3] & (1u << (id & 7)); }

uint16_t packet_id_take(void) {
  for (int tries = 0; tries < 65535; tries++) {
    last_packet_id = last_packet_id >= 65535 ? 1 : (uint16_t)(last_packet_id + 1);
    if (!is_busy(last_packet_id)) {
      busy_ids[last_packet_id >> 3] |= (uint8_t)(1u << (last_packet_id & 7));
      return last_packet_id;
    }
  }
  return 0;
}

void packet_id_release(uint16_t id) { busy_ids[id >> 3] &= (uint8_t)~(1u << (id & 7)); }

void packet_ids_reset(void) { memset(busy_ids, 0, sizeof busy_ids); }
