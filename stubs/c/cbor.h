// Just enough CBOR (RFC 8949) for stubs: a bounds-checked reader over a
// borrowed buffer and a writer into a growable one.
#ifndef PF_CBOR_H
#define PF_CBOR_H

#include "protostub.h"

enum {
  PF_CBOR_UINT = 0, PF_CBOR_NEGINT = 1, PF_CBOR_BYTES = 2, PF_CBOR_TEXT = 3,
  PF_CBOR_ARRAY = 4, PF_CBOR_MAP = 5, PF_CBOR_TAG = 6, PF_CBOR_SIMPLE = 7,
};
enum { PF_CBOR_FALSE = 20, PF_CBOR_TRUE = 21, PF_CBOR_NULL = 22, PF_CBOR_UNDEFINED = 23 };

// The item count of an indefinite-length array or map.
#define PF_CBOR_INDEFINITE ((size_t)-1)

// ---- Reader -------------------------------------------------------------------
// Every read returns 1 and moves past the item, or returns 0 and leaves the
// reader where it was (wrong type, truncated or malformed input). After a 0,
// pf_cbor_skip tells a value of another type (skip succeeds) from broken
// input (skip fails too). Nothing ever reads outside [p, end).

typedef struct {
  const uint8_t *p;
  const uint8_t *end;
} pf_cbor_reader;

pf_cbor_reader pf_cbor_reader_of(const uint8_t *data, size_t len);
int pf_cbor_at_end(const pf_cbor_reader *r);
// The major type of the next item, or -1 at the end of input.
int pf_cbor_peek(const pf_cbor_reader *r);

int pf_cbor_read_uint(pf_cbor_reader *r, uint64_t *v);
// Unsigned and negative integers that fit in an int64_t.
int pf_cbor_read_int(pf_cbor_reader *r, int64_t *v);
// Definite-length strings only; the result points into the input.
int pf_cbor_read_text(pf_cbor_reader *r, pf_str *s);
int pf_cbor_read_bytes(pf_cbor_reader *r, const uint8_t **data, size_t *len);
// Simple values: PF_CBOR_FALSE, _TRUE, _NULL, _UNDEFINED, or others < 256.
int pf_cbor_read_simple(pf_cbor_reader *r, uint8_t *v);
// *count is the number of elements (pairs for a map), or PF_CBOR_INDEFINITE.
// A definite count larger than the bytes left is refused as malformed.
int pf_cbor_read_array(pf_cbor_reader *r, size_t *count);
int pf_cbor_read_map(pf_cbor_reader *r, size_t *count);
// Iterates a container opened above: 1 while an element follows, 0 once it
// is done (consuming the break of an indefinite one), -1 if the input ends
// first.
//   size_t n; pf_cbor_read_array(&r, &n); while (pf_cbor_next(&r, &n) > 0) {...}
int pf_cbor_next(pf_cbor_reader *r, size_t *remaining);
// Skips one whole item of any type, however nested.
int pf_cbor_skip(pf_cbor_reader *r);
// Skips one item and reports the bytes it spans, for copying it unchanged.
int pf_cbor_take(pf_cbor_reader *r, const uint8_t **item, size_t *len);
// Is the next item this text? Consumes it only if so.
int pf_cbor_read_text_eq(pf_cbor_reader *r, pf_str expected);

// ---- Writer -------------------------------------------------------------------
// Writes append to a heap buffer that grows as needed. If memory runs out
// the writer sets oom and ignores further writes, so callers check once.

typedef struct {
  uint8_t *data;
  size_t len;
  size_t cap;
  int oom;
} pf_cbor_writer;

void pf_cbor_writer_free(pf_cbor_writer *w);
// Makes room for n more bytes up front (one allocation instead of several
// as the writer grows); 0 when memory runs out.
int pf_cbor_writer_reserve(pf_cbor_writer *w, size_t n);
void pf_cbor_put_head(pf_cbor_writer *w, int major, uint64_t arg);
void pf_cbor_put_uint(pf_cbor_writer *w, uint64_t v);
void pf_cbor_put_text(pf_cbor_writer *w, pf_str s);
void pf_cbor_put_textz(pf_cbor_writer *w, const char *s);
void pf_cbor_put_bytes(pf_cbor_writer *w, const uint8_t *data, size_t len);
void pf_cbor_put_array(pf_cbor_writer *w, size_t count);
void pf_cbor_put_map(pf_cbor_writer *w, size_t count);
void pf_cbor_put_simple(pf_cbor_writer *w, uint8_t v);
// Already-encoded CBOR, e.g. an item from pf_cbor_take.
void pf_cbor_put_raw(pf_cbor_writer *w, const uint8_t *data, size_t len);

// For an outer array or map whose size is known only at the end (a batch
// that skips some messages): call pf_cbor_reserve_head on an empty writer,
// write the elements, then pf_cbor_finish_head places the smallest head
// right before them and returns where the whole item starts (NULL on oom).
void pf_cbor_reserve_head(pf_cbor_writer *w);
const uint8_t *pf_cbor_finish_head(pf_cbor_writer *w, int major, uint64_t count, size_t *len);

#endif
