// The C side of stubs/wit/protostub.wit. A C stub includes this header,
// defines the six stub_* callbacks, and talks to the host through pf_*.
// Everything runs without libc (clang --target=wasm32 -nostdlib), so the
// few memory and string helpers a stub needs live here too.
#ifndef PROTOSTUB_H
#define PROTOSTUB_H

#include <stddef.h>
#include <stdint.h>

// A borrowed run of UTF-8 (not NUL-terminated). Its layout is the canonical
// ABI's string, so an array of pf_str is already a list<string>.
typedef struct {
  const char *ptr;
  size_t len;
} pf_str;

#define PF_STR(literal) ((pf_str){(literal), sizeof(literal) - 1})

enum { PF_TRACE = 0, PF_DEBUG = 1, PF_INFO = 2, PF_WARN = 3, PF_ERROR = 4 };

// ---- Callbacks the stub defines -------------------------------------------
// Byte and string arguments are borrowed: the glue frees them when the
// callback returns, so copy whatever must outlive the call.

// Returns 0 on success. On failure returns non-zero and points *err at the
// reason; the text must stay valid after stub_init returns (a literal or a
// static buffer), because the host reads it once the call is over.
int stub_init(const uint8_t *config, size_t len, pf_str *err);
void stub_on_messages(const uint8_t *batch, size_t len);
void stub_on_open(uint32_t conn);
void stub_on_frame(uint32_t conn, const uint8_t *frame, size_t len);
void stub_on_close(uint32_t conn, const char *reason, size_t len);
void stub_on_timer(uint32_t id);

// ---- Host functions ---------------------------------------------------------

void pf_post(const uint8_t *batch, size_t len);
// 0 and *conn on success; -1 on refusal, with the host's reason in *err if err
// is not NULL (free it with pf_str_free), else the reason is dropped.
int pf_open(pf_str url, const pf_str *protocols, size_t count, uint32_t *conn, pf_str *err);
int pf_send(uint32_t conn, const uint8_t *frame, size_t len, pf_str *err);
void pf_close(uint32_t conn);
uint32_t pf_set_timer(uint32_t ms);
void pf_clear_timer(uint32_t id);
// Posts the stub's status (stubs/CONTRACT.md, "Status") as a batch of one:
// { id, type: "UPDATE", from: stub_url, resource: stub_url + "/status",
//   body: { value[, reason][, code] } }. reason.ptr NULL and code NULL leave
// them out. Returns 0 if it ran out of memory (nothing posted).
int pf_post_status(pf_str stub_url, const char *value, pf_str reason, const char *code);

void pf_log(uint8_t level, const char *text, size_t len);
void pf_logz(uint8_t level, const char *text);  // NUL-terminated text

// ---- Memory -----------------------------------------------------------------
// Blocks are 8-byte aligned. pf_alloc returns NULL once memory cannot grow.

void *pf_alloc(size_t size);
void *pf_realloc(void *ptr, size_t size);
void pf_free(void *ptr);
void pf_str_free(pf_str *s);
// A heap copy of s (NULL ptr if out of memory); free with pf_str_free.
pf_str pf_str_dup(pf_str s);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t pf_strlen(const char *s);
int pf_str_eq(pf_str a, pf_str b);
// Writes v in decimal to out (at least 20 bytes); returns the digit count.
size_t pf_utoa(uint64_t v, char *out);

#endif
