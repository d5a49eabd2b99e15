// Lies to the host through the canonical ABI: hands over pointers and
// lengths outside its own memory, a misaligned list, text that is not UTF-8,
// or an allocation outside its memory. Which lie is told depends on the last
// path segment of the trigger's `to`: .../pointer, .../length, .../align,
// .../utf8, .../realloc.
#include "../hostile-common/hostile.h"

const char echo_name[] = "hostile-abi";

// The host's imports themselves: the glue would clean the text up and lay
// lists out as the ABI requires.
__attribute__((import_module("protofly:stub/host@0.1.0"), import_name("log")))
extern void raw_log(int32_t level, const char *text, size_t len);
__attribute__((import_module("protofly:stub/host@0.1.0"), import_name("open")))
extern void raw_open(const char *url, size_t url_len, const void *protocols, size_t count, void *ret);

// Once set, every allocation the host asks for is "at" an address past the
// end of linear memory.
static int realloc_lies;

// Replaces the glue's (weak) cabi_realloc.
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old_ptr, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  (void)align;
  if (realloc_lies) return (void *)(uintptr_t)0xfffffff0u;
  void *p = old_ptr ? pf_realloc(old_ptr, new_size) : pf_alloc(new_size);
  if (!p) __builtin_trap();
  return p;
}

void hostile_attack(const uint8_t *msg, size_t len) {
  echo_message m;
  if (!hostile_parse(msg, len, &m) || !m.has_to) return;
  if (hostile_ends_with(m.to, "/pointer")) {
    // A batch "at" an address far past the end of linear memory.
    pf_post((const uint8_t *)(uintptr_t)0xfffff000u, 16);
  } else if (hostile_ends_with(m.to, "/length")) {
    // A real pointer with a length that runs past the end of memory.
    static const uint8_t small[4] = { 0x80 };
    pf_post(small, 0x7fffffffu);
  } else if (hostile_ends_with(m.to, "/align")) {
    // A list<string> must be 4-aligned; this one starts one byte off.
    static uint32_t list[4];
    static uint32_t ret[3];
    raw_open("ws://127.0.0.1:1/", 17, (const uint8_t *)list + 1, 1, ret);
  } else if (hostile_ends_with(m.to, "/utf8")) {
    static const char bad[3] = { (char)0xff, (char)0xfe, (char)0xfd };
    raw_log(PF_INFO, bad, sizeof bad);
  } else if (hostile_ends_with(m.to, "/realloc")) {
    // A refused connection: the host allocates the error text through
    // cabi_realloc, which now answers with an address outside memory.
    realloc_lies = 1;
    uint32_t conn = 0;
    pf_str err = {0};
    pf_open(PF_STR("ws://127.0.0.1:1/not-allowed"), NULL, 0, &conn, &err);
  }
}
