// The connection state machine: one MQTT session over one WebSocket at a
// time, reopened with backoff until the broker refuses the login. It mirrors
// stubs/mqtt/src/session.ts so either stub can serve a domain.
#ifndef MQTT_C_SESSION_H
#define MQTT_C_SESSION_H

#include "config.h"

// Keeps config (it must live as long as the stub) and opens the connection.
// Returns 0 only when out of memory.
int session_start(const mqtt_config *config);
void session_on_messages(const uint8_t *batch, size_t len);
void session_on_open(uint32_t conn);
void session_on_frame(uint32_t conn, const uint8_t *frame, size_t len);
void session_on_close(uint32_t conn, pf_str reason);
void session_on_timer(uint32_t id);
// Packets written during one host->stub call go out together at its end.
void session_flush(void);

#endif
