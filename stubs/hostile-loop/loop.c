// Never returns from on-messages: the runtime must cut it off (a watchdog,
// a worker it can terminate) without help from the stub.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-loop";

void hostile_attack(const uint8_t *msg, size_t len) {
  (void)msg, (void)len;
  // Volatile accesses are side effects, so the loop survives any -O level.
  volatile uint32_t spins = 0;
  for (;;) spins++;
}
