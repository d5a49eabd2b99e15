// Never returns: the runtime must cut it off (a watchdog, a worker it can
// terminate) without help from the stub. The attack message loops inside
// on-messages; one whose body also names "timer" sets a timer instead and
// loops inside on-timer, a call that holds no message.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-loop";

static void spin_forever(void) {
  // Volatile accesses are side effects, so the loop survives any -O level.
  volatile uint32_t spins = 0;
  for (;;) spins++;
}

// The CBOR text "timer" anywhere in the message (a key or a value).
static int names_timer(const uint8_t *msg, size_t len) {
  static const uint8_t text[] = {0x65, 't', 'i', 'm', 'e', 'r'};
  for (size_t at = 0; at + sizeof text <= len; at++) {
    size_t i = 0;
    while (i < sizeof text && msg[at + i] == text[i]) i++;
    if (i == sizeof text) return 1;
  }
  return 0;
}

void hostile_attack(const uint8_t *msg, size_t len) {
  if (names_timer(msg, len)) {
    pf_set_timer(1);
    return;
  }
  spin_forever();
}

void hostile_timer(uint32_t id) {
  (void)id;
  spin_forever();
}
