// What the stub writes to the broker: the packets of one host call, which
// go out together at its end in frames of whole packets, and the packet ids
// still awaiting their ack. When the host refuses a frame because too much
// already waits on the socket (CONTRACT.md, "Outbound"), that frame and the
// rest stay here, first in line, and what is written later goes after them.
#ifndef MQTT_C_WIRE_H
#define MQTT_C_WIRE_H

#include "cbor.h"

// Where the packet encoders write (packets.h); call wire_packet_done after
// each packet.
pf_cbor_writer *wire(void);
void wire_packet_done(void);
int wire_oom(void);
void wire_reset(void);

// A point to go back to when one packet cannot be written (out of memory),
// so the packets before it still go out.
typedef struct {
  size_t len, packets;
} wire_mark;
wire_mark wire_mark_now(void);
// Forgets the packets written since m.
void wire_undo(wire_mark m);
// 1 if the packets written since m ran out of memory: they are undone.
int wire_undo_if_oom(wire_mark m);

enum { WIRE_SENT = 0, WIRE_CONGESTED = 1, WIRE_FAILED = -1 };
// Sends what was written. WIRE_SENT: all of it went, and is forgotten.
// WIRE_CONGESTED: the host said `congested:` and sent nothing of that
// frame; it and the rest are kept. WIRE_FAILED: the connection is going,
// nothing is kept. Unless sent, *err is the host's reason (free it with
// pf_str_free).
int wire_send(uint32_t conn, pf_str *err);
// A congested send left bytes that still wait.
int wire_congested(void);
// Congested, with a megabyte or more waiting: new publications are refused
// (503) and queued ones wait, rather than the stub holding ever more.
int wire_full(void);
// Bytes written and not yet sent.
size_t wire_unsent(void);

// 1..65535, wrapping, skipping ids in use; 0 when none is free.
uint16_t packet_id_take(void);
void packet_id_release(uint16_t id);
void packet_ids_reset(void);

#endif
