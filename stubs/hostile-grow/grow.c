// Grows linear memory in one call until the host says no. Each new page is
// written so the memory is really committed, not just reserved. The trap at
// the end marks that the host's cap, not the stub, ended the growth.
#include "../hostile-common/hostile.h"

#define WASM_PAGE 65536u
#define STEP 16u  // pages per grow: 1 MiB

const char echo_name[] = "hostile-grow";

void hostile_attack(const uint8_t *msg, size_t len) {
  (void)msg, (void)len;
  for (;;) {
    size_t old = __builtin_wasm_memory_grow(0, STEP);
    if (old == (size_t)-1) __builtin_trap();
    for (size_t page = old; page < old + STEP; page++) {
      *(volatile uint8_t *)(page * WASM_PAGE) = 0xa5;
    }
  }
}
