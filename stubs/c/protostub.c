// Canonical-ABI glue for the protostub world: host imports, stub exports,
// cabi_realloc and a small allocator, for stubs built without libc.
#include "protostub.h"
#include "cbor.h"

// pf_str doubles as the canonical ABI's string (ptr, len), so lists of
// strings can be handed to the host as they are.
_Static_assert(sizeof(pf_str) == 8 && _Alignof(pf_str) == 4, "pf_str must match the canonical string layout");

// ---- Memory helpers ---------------------------------------------------------
// clang may turn loops and struct copies into calls to these names, so they
// must exist under exactly these names. With bulk memory each is a single
// instruction; the byte loops are the fallback when that feature is off.

void *memcpy(void *dst, const void *src, size_t n) {
#ifdef __wasm_bulk_memory__
  return __builtin_memcpy(dst, src, n);
#else
  uint8_t *d = dst;
  const uint8_t *s = src;
  while (n--) *d++ = *s++;
  return dst;
#endif
}

void *memmove(void *dst, const void *src, size_t n) {
#ifdef __wasm_bulk_memory__
  return __builtin_memmove(dst, src, n);
#else
  uint8_t *d = dst;
  const uint8_t *s = src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dst;
#endif
}

void *memset(void *dst, int c, size_t n) {
#ifdef __wasm_bulk_memory__
  return __builtin_memset(dst, c, n);
#else
  uint8_t *d = dst;
  while (n--) *d++ = (uint8_t)c;
  return dst;
#endif
}

int memcmp(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

// clang 15 and later turn a loop that looks for the NUL into a call to
// strlen (LLVM does not do it inside a function named strlen), so it must
// exist too. As a builtin, strlen of a literal folds to a constant.
size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

size_t pf_strlen(const char *s) { return strlen(s); }

int pf_str_eq(pf_str a, pf_str b) {
  return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

size_t pf_utoa(uint64_t v, char *out) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

// ---- Allocator -----------------------------------------------------------------
// Power-of-two size classes with one free list each. Stubs allocate much
// the same sizes call after call (batches, frames), so blocks are reused
// without a search, and the worst case wastes half a block. Memory is never
// given back: wasm memory cannot shrink anyway.

#define WASM_PAGE 65536u
#define MIN_CLASS 4  // 16-byte blocks: 8 of header, 8 of payload
#define MAX_CLASS 31
#define HEADER 8u
// The tag tells a live block from a freed one or a stray pointer, so a
// double or bogus free is ignored instead of corrupting the lists.
#define TAG_LIVE 0x9f5a0000u
#define TAG_FREE 0x3c6e0000u

typedef struct {
  uint32_t tag;  // TAG_* | size class
  uint32_t unused;
} block_header;

extern uint8_t __heap_base;
static uintptr_t heap_top;  // first byte never handed out
static void *free_lists[MAX_CLASS + 1];

static int size_class(size_t size) {
  if (size > ((size_t)1 << MAX_CLASS) - HEADER) return -1;
  size_t need = size + HEADER;
  int k = MIN_CLASS;
  while (((size_t)1 << k) < need) k++;
  return k;
}

static block_header *carve(int k) {
  if (!heap_top) heap_top = ((uintptr_t)&__heap_base + 7) & ~(uintptr_t)7;
  uint64_t end = (uint64_t)heap_top + ((uint64_t)1 << k);
  uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * WASM_PAGE;
  if (end > have) {
    uint64_t pages = (end - have + WASM_PAGE - 1) / WASM_PAGE;
    if (end > ((uint64_t)1 << 32) || __builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return NULL;
  }
  block_header *b = (block_header *)heap_top;
  heap_top = (uintptr_t)end;
  return b;
}

void *pf_alloc(size_t size) {
  int k = size_class(size);
  if (k < 0) return NULL;
  block_header *b = free_lists[k];
  if (b) {
    free_lists[k] = *(void **)(b + 1);
  } else if (!(b = carve(k))) {
    return NULL;
  }
  b->tag = TAG_LIVE | (uint32_t)k;
  return b + 1;
}

// The live block behind ptr, or NULL if ptr is not one pf_alloc handed out.
static block_header *live_block(void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  if (!p || (p & 7) || p < (uintptr_t)&__heap_base + HEADER || p >= heap_top) return NULL;
  block_header *b = (block_header *)ptr - 1;
  uint32_t k = b->tag & 0xffffu;
  if ((b->tag & 0xffff0000u) != TAG_LIVE || k < MIN_CLASS || k > MAX_CLASS) return NULL;
  return b;
}

void pf_free(void *ptr) {
  block_header *b = live_block(ptr);
  if (!b) return;
  uint32_t k = b->tag & 0xffffu;
  b->tag = TAG_FREE | k;
  *(void **)(b + 1) = free_lists[k];
  free_lists[k] = b;
}

void *pf_realloc(void *ptr, size_t size) {
  block_header *b = live_block(ptr);
  if (!b) return pf_alloc(size);
  size_t capacity = ((size_t)1 << (b->tag & 0xffffu)) - HEADER;
  if (size <= capacity) return ptr;
  void *fresh = pf_alloc(size);
  if (!fresh) return NULL;  // like realloc: the old block stays valid
  memcpy(fresh, ptr, capacity);
  pf_free(ptr);
  return fresh;
}

void pf_str_free(pf_str *s) {
  pf_free((void *)s->ptr);
  s->ptr = NULL;
  s->len = 0;
}

pf_str pf_str_dup(pf_str s) {
  char *copy = pf_alloc(s.len);
  if (copy) memcpy(copy, s.ptr, s.len);
  return (pf_str){copy, copy ? s.len : 0};
}

// The host allocates every list and string it passes in through this. The
// canonical ABI has no way to report failure, so running out of memory traps.
// Weak, so a stub with an allocator of its own can replace it.
__attribute__((export_name("cabi_realloc"), weak))
void *cabi_realloc(void *old_ptr, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  if (align > 8) __builtin_trap();  // nothing in this world needs more
  void *p = old_ptr ? pf_realloc(old_ptr, new_size) : pf_alloc(new_size);
  if (!p) __builtin_trap();
  return p;
}

// ---- Host imports -------------------------------------------------------------

#define HOST(name) __attribute__((import_module("protofly:stub/host@0.1.0"), import_name(name)))

// result<T, string> as the host writes it through a return pointer: the
// discriminant byte, then the payload at offset 4 (a u32, or a string).
typedef struct {
  uint8_t is_err;
  uint32_t a;  // ok: the u32; err: string pointer
  uint32_t b;  // err: string length
} host_result;
_Static_assert(sizeof(host_result) == 12 && __builtin_offsetof(host_result, a) == 4, "result<u32,string> layout");

HOST("post") void host_post(const uint8_t *ptr, size_t len);
HOST("open") void host_open(const char *url, size_t url_len, const pf_str *protocols, size_t count, host_result *ret);
HOST("send") void host_send(uint32_t conn, const uint8_t *ptr, size_t len, host_result *ret);
HOST("close") void host_close(uint32_t conn);
HOST("set-timer") uint32_t host_set_timer(uint32_t ms);
HOST("clear-timer") void host_clear_timer(uint32_t id);
HOST("log") void host_log(uint32_t level, const char *ptr, size_t len);

// The err string was allocated in our memory by the host; it becomes the
// caller's, or is freed here if the caller does not want it.
static int take_result(const host_result *r, pf_str *err) {
  if (!r->is_err) return 0;
  pf_str reason = {(const char *)(uintptr_t)r->a, r->b};
  if (err) {
    *err = reason;
  } else {
    pf_free((void *)reason.ptr);
  }
  return -1;
}

void pf_post(const uint8_t *batch, size_t len) { host_post(batch, len); }

int pf_open(pf_str url, const pf_str *protocols, size_t count, uint32_t *conn, pf_str *err) {
  host_result r = {0};
  host_open(url.ptr, url.len, protocols, count, &r);
  if (!r.is_err && conn) *conn = r.a;
  return take_result(&r, err);
}

int pf_send(uint32_t conn, const uint8_t *frame, size_t len, pf_str *err) {
  host_result r = {0};
  host_send(conn, frame, len, &r);
  return take_result(&r, err);
}

void pf_close(uint32_t conn) { host_close(conn); }
uint32_t pf_set_timer(uint32_t ms) { return host_set_timer(ms); }
void pf_clear_timer(uint32_t id) { host_clear_timer(id); }
// Length of the valid UTF-8 sequence starting at s[0], or 0 if it is not one.
static size_t utf8_sequence(const uint8_t *s, size_t left) {
  uint8_t c = s[0];
  size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
  if (n == 0 || n > left || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4)) return 0;
  for (size_t i = 1; i < n; i++) if ((s[i] & 0xc0) != 0x80) return 0;
  uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
  for (size_t i = 1; i < n; i++) cp = (cp << 6) | (s[i] & 0x3f);
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// The canonical ABI's strings are UTF-8, and a strict host refuses anything
// else; log lines often quote bytes off the wire, so invalid sequences are
// replaced with '?' here rather than in every stub.
void pf_log(uint8_t level, const char *text, size_t len) {
  const uint8_t *bytes = (const uint8_t *)text;
  size_t at = 0;
  while (at < len) {
    size_t n = utf8_sequence(bytes + at, len - at);
    if (n == 0) break;
    at += n;
  }
  if (at == len) {
    host_log(level, text, len);
    return;
  }
  char *clean = pf_alloc(len);
  if (!clean) return;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_sequence(bytes + i, len - i);
    if (n == 0) { clean[i++] = '?'; continue; }
    for (size_t k = 0; k < n; k++) clean[i + k] = text[i + k];
    i += n;
  }
  host_log(level, clean, len);
  pf_free(clean);
}
void pf_logz(uint8_t level, const char *text) { pf_log(level, text, pf_strlen(text)); }

// ---- Stub exports -------------------------------------------------------------
// Arguments arrive in blocks the host got from cabi_realloc; they are ours to
// free once the callback has seen them.

#define EXPORT(name) __attribute__((export_name("protofly:stub/stub@0.1.0#" name)))

// init's result<_, string> is returned through this area; the host reads it
// right after the call, so the stub's err text only has to outlive the call.
static host_result init_result;

EXPORT("init") host_result *export_init(uint8_t *config, size_t len) {
  pf_str err = PF_STR("init failed");
  int failed = stub_init(config, len, &err);
  pf_free(config);
  init_result.is_err = failed != 0;
  init_result.a = failed ? (uint32_t)(uintptr_t)err.ptr : 0;
  init_result.b = failed ? (uint32_t)err.len : 0;
  return &init_result;
}

EXPORT("on-messages") void export_on_messages(uint8_t *batch, size_t len) {
  stub_on_messages(batch, len);
  pf_free(batch);
}

EXPORT("on-open") void export_on_open(uint32_t conn) { stub_on_open(conn); }

EXPORT("on-frame") void export_on_frame(uint32_t conn, uint8_t *frame, size_t len) {
  stub_on_frame(conn, frame, len);
  pf_free(frame);
}

EXPORT("on-close") void export_on_close(uint32_t conn, char *reason, size_t len) {
  stub_on_close(conn, reason, len);
  pf_free(reason);
}

EXPORT("on-timer") void export_on_timer(uint32_t id) { stub_on_timer(id); }

// ---- Status ---------------------------------------------------------------------

// Ids only need to be unique: the stub URL scopes them to this instance and
// the counter orders them.
static uint64_t status_counter;

int pf_post_status(pf_str stub_url, const char *value, pf_str reason, const char *code) {
  static const char suffix[] = "/status";
  static const char marker[] = "/status#";
  char digits[20];
  size_t digits_len = pf_utoa(++status_counter, digits);
  size_t fields = 1 + (reason.ptr ? 1 : 0) + (code ? 1 : 0);
  pf_cbor_writer w = {0};
  pf_cbor_put_array(&w, 1);
  pf_cbor_put_map(&w, 5);
  pf_cbor_put_textz(&w, "id");
  pf_cbor_put_head(&w, PF_CBOR_TEXT, stub_url.len + sizeof marker - 1 + digits_len);
  pf_cbor_put_raw(&w, (const uint8_t *)stub_url.ptr, stub_url.len);
  pf_cbor_put_raw(&w, (const uint8_t *)marker, sizeof marker - 1);
  pf_cbor_put_raw(&w, (const uint8_t *)digits, digits_len);
  pf_cbor_put_textz(&w, "type");
  pf_cbor_put_textz(&w, "UPDATE");
  pf_cbor_put_textz(&w, "from");
  pf_cbor_put_text(&w, stub_url);
  pf_cbor_put_textz(&w, "resource");
  pf_cbor_put_head(&w, PF_CBOR_TEXT, stub_url.len + sizeof suffix - 1);
  pf_cbor_put_raw(&w, (const uint8_t *)stub_url.ptr, stub_url.len);
  pf_cbor_put_raw(&w, (const uint8_t *)suffix, sizeof suffix - 1);
  pf_cbor_put_textz(&w, "body");
  pf_cbor_put_map(&w, fields);
  pf_cbor_put_textz(&w, "value");
  pf_cbor_put_textz(&w, value);
  if (reason.ptr) {
    pf_cbor_put_textz(&w, "reason");
    pf_cbor_put_text(&w, reason);
  }
  if (code) {
    pf_cbor_put_textz(&w, "code");
    pf_cbor_put_textz(&w, code);
  }
  int ok = !w.oom;
  if (ok) pf_post(w.data, w.len);
  pf_cbor_writer_free(&w);
  return ok;
}
