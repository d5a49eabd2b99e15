// The connection to the broker: one MQTT session over one WebSocket at a
// time, reopened with backoff across the configured brokers until the
// broker refuses the login, and ended for good on a DELETE control message.
// It mirrors stubs/mqtt/src/session.ts so either stub can serve a domain.
#ifndef MQTT_C_CONNECTION_H
#define MQTT_C_CONNECTION_H

#include "config.h"
#include "message.h"

// Keeps config (it must live as long as the stub) and opens the connection.
void connection_start(const mqtt_config *config);
// LIVE: logged in, publications and subscriptions may be written.
int connection_live(void);
// The socket in use, if any: 1 and *conn, or 0.
int connection_socket(uint32_t *conn);
// Why nothing will be carried any more (login refused, DELETE), as static
// text; a NULL ptr while the stub still carries messages.
pf_str connection_gone(void);
// Abandons the current socket and retries.
void connection_drop(pf_str reason);
// A DELETE control message (CONTRACT.md): ends the broker session, then
// answers the message.
void connection_end(const message_view *m);

void connection_on_open(uint32_t conn);
void connection_on_frame(uint32_t conn, const uint8_t *frame, size_t len);
void connection_on_close(uint32_t conn, pf_str reason);
void connection_on_timer(uint32_t id);
// At the end of every host call: the packets written go out, the answers
// gathered are posted.
void connection_flush(void);

#endif
