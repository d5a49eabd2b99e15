// A wasm trap in on-messages: the runtime must contain it to this stub.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-trap";

void hostile_attack(const uint8_t *msg, size_t len) {
  (void)msg, (void)len;
  __builtin_trap();
}
