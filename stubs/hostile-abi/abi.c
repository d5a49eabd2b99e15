// Lies to the host through the canonical ABI: hands over pointers and
// lengths outside its own memory, or text that is not UTF-8. Which lie is
// told depends on the last path segment of the trigger's `to`:
// .../pointer, .../length, .../utf8.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-abi";

// The host's log import itself: the glue's pf_log would clean the text up.
__attribute__((import_module("protofly:stub/host@0.1.0"), import_name("log")))
extern void raw_log(int32_t level, const char *text, size_t len);

static int ends_with(pf_str s, const char *suffix) {
  size_t n = pf_strlen(suffix);
  return s.len >= n && pf_str_eq((pf_str){ s.ptr + s.len - n, n }, (pf_str){ suffix, n });
}

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m;
  if (!hostile_parse(msg, len, &m) || !m.has_to) return;
  if (ends_with(m.to, "/pointer")) {
    // A batch "at" an address far past the end of linear memory.
    pf_post((const uint8_t *)(uintptr_t)0xfffff000u, 16);
  } else if (ends_with(m.to, "/length")) {
    // A real pointer with a length that runs past the end of memory.
    static const uint8_t small[4] = { 0x80 };
    pf_post(small, 0x7fffffffu);
  } else if (ends_with(m.to, "/utf8")) {
    static const char bad[3] = { (char)0xff, (char)0xfe, (char)0xfd };
    raw_log(PF_INFO, bad, sizeof bad);
  }
}
