// What the stub writes to the broker: the packets of one host call, which
// go out together at its end in frames of whole packets, and the packet ids
// still awaiting their ack.
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

// Sends what was written, then forgets it. 0, or -1 with the host's reason
// in *err (free it with pf_str_free).
int wire_send(uint32_t conn, pf_str *err);

// 1..65535, wrapping, skipping ids in use; 0 when none is free.
uint16_t packet_id_take(void);
void packet_id_release(uint16_t id);
void packet_ids_reset(void);

#endif
