#include "cbor.h"

#define BREAK 0xff

// ---- Reader -------------------------------------------------------------------

pf_cbor_reader pf_cbor_reader_of(const uint8_t *data, size_t len) {
  return (pf_cbor_reader){data, data + len};
}

int pf_cbor_at_end(const pf_cbor_reader *r) { return r->p >= r->end; }

int pf_cbor_peek(const pf_cbor_reader *r) { return r->p < r->end ? *r->p >> 5 : -1; }

static size_t left(const uint8_t *p, const uint8_t *end) { return (size_t)(end - p); }

// Decodes the head at *pp: major type, argument, and whether the length is
// indefinite (only strings, arrays and maps may be). The break byte is not
// a head; callers look for it first.
static int head(const uint8_t **pp, const uint8_t *end, int *major, uint64_t *arg, int *indefinite) {
  const uint8_t *p = *pp;
  if (p >= end) return 0;
  uint8_t ib = *p++;
  uint8_t ai = ib & 31;
  *major = ib >> 5;
  *indefinite = 0;
  *arg = 0;
  if (ai < 24) {
    *arg = ai;
  } else if (ai <= 27) {
    size_t n = (size_t)1 << (ai - 24);
    if (left(p, end) < n) return 0;
    for (size_t i = 0; i < n; i++) *arg = (*arg << 8) | *p++;
  } else if (ai == 31 && *major >= PF_CBOR_BYTES && *major <= PF_CBOR_MAP) {
    *indefinite = 1;
  } else {
    return 0;  // 28-30 are reserved; 31 elsewhere is malformed
  }
  *pp = p;
  return 1;
}

// Reads one definite head of the wanted major type, or nothing.
static int expect(pf_cbor_reader *r, int want, uint64_t *arg) {
  const uint8_t *p = r->p;
  int major, indefinite;
  if (!head(&p, r->end, &major, arg, &indefinite) || major != want || indefinite) return 0;
  r->p = p;
  return 1;
}

int pf_cbor_read_uint(pf_cbor_reader *r, uint64_t *v) { return expect(r, PF_CBOR_UINT, v); }

int pf_cbor_read_int(pf_cbor_reader *r, int64_t *v) {
  pf_cbor_reader at = *r;
  uint64_t arg;
  if (expect(&at, PF_CBOR_UINT, &arg)) {
    if (arg > (uint64_t)INT64_MAX) return 0;
    *v = (int64_t)arg;
  } else if (expect(&at, PF_CBOR_NEGINT, &arg)) {
    if (arg > (uint64_t)INT64_MAX) return 0;
    *v = -1 - (int64_t)arg;
  } else {
    return 0;
  }
  *r = at;
  return 1;
}

static int read_string(pf_cbor_reader *r, int major, const uint8_t **data, size_t *len) {
  pf_cbor_reader at = *r;
  uint64_t n;
  if (!expect(&at, major, &n) || n > left(at.p, at.end)) return 0;
  *data = at.p;
  *len = (size_t)n;
  r->p = at.p + n;
  return 1;
}

int pf_cbor_read_text(pf_cbor_reader *r, pf_str *s) {
  const uint8_t *data;
  size_t len;
  if (!read_string(r, PF_CBOR_TEXT, &data, &len)) return 0;
  *s = (pf_str){(const char *)data, len};
  return 1;
}

int pf_cbor_read_bytes(pf_cbor_reader *r, const uint8_t **data, size_t *len) {
  return read_string(r, PF_CBOR_BYTES, data, len);
}

int pf_cbor_read_text_eq(pf_cbor_reader *r, pf_str expected) {
  pf_cbor_reader at = *r;
  pf_str s;
  if (!pf_cbor_read_text(&at, &s) || !pf_str_eq(s, expected)) return 0;
  *r = at;
  return 1;
}

int pf_cbor_read_simple(pf_cbor_reader *r, uint8_t *v) {
  if (r->p >= r->end || (*r->p & 31) > 24) return 0;  // 25-27 are floats
  uint64_t arg;
  if (!expect(r, PF_CBOR_SIMPLE, &arg)) return 0;
  *v = (uint8_t)arg;
  return 1;
}

// Every element takes at least one byte (a map pair two), so a count beyond
// what is left is a lie, refused before anyone loops over it.
static int read_container(pf_cbor_reader *r, int major, size_t *count) {
  const uint8_t *p = r->p;
  int got, indefinite;
  uint64_t n;
  if (!head(&p, r->end, &got, &n, &indefinite) || got != major) return 0;
  if (indefinite) {
    *count = PF_CBOR_INDEFINITE;
  } else {
    uint64_t per = major == PF_CBOR_MAP ? 2 : 1;
    if (n > left(p, r->end) / per) return 0;
    *count = (size_t)n;
  }
  r->p = p;
  return 1;
}

int pf_cbor_read_array(pf_cbor_reader *r, size_t *count) { return read_container(r, PF_CBOR_ARRAY, count); }
int pf_cbor_read_map(pf_cbor_reader *r, size_t *count) { return read_container(r, PF_CBOR_MAP, count); }

int pf_cbor_next(pf_cbor_reader *r, size_t *remaining) {
  if (*remaining == PF_CBOR_INDEFINITE) {
    if (r->p >= r->end) return -1;
    if (*r->p != BREAK) return 1;
    r->p++;
    *remaining = 0;
    return 0;
  }
  if (*remaining == 0) return 0;
  if (r->p >= r->end) return -1;
  (*remaining)--;
  return 1;
}

// Iterative, so hostile nesting cannot exhaust the stack. Definite
// containers only add to the count of items still due at the current level;
// a new level is opened only for indefinite ones, which end with a break.
#define SKIP_LEVELS 16
#define OPEN_ENDED UINT64_MAX

int pf_cbor_skip(pf_cbor_reader *r) {
  const uint8_t *p = r->p, *end = r->end;
  // Most items a stub skips are small integers or short strings: one byte of
  // head and no nesting, so they need none of the machinery below.
  if (p < end && (*p & 31) < 24) {
    int major = *p >> 5;
    size_t n = *p & 31;
    if (major <= PF_CBOR_NEGINT || major == PF_CBOR_SIMPLE) {
      r->p = p + 1;
      return 1;
    }
    if ((major == PF_CBOR_TEXT || major == PF_CBOR_BYTES) && n <= left(p + 1, end)) {
      r->p = p + 1 + n;
      return 1;
    }
  }
  uint64_t due[SKIP_LEVELS];
  int level = 0;
  due[0] = 1;
  for (;;) {
    while (due[level] == 0) {
      if (level == 0) {
        r->p = p;
        return 1;
      }
      level--;
    }
    if (p >= end) return 0;
    if (*p == BREAK) {
      if (due[level] != OPEN_ENDED) return 0;
      p++;
      due[level] = 0;
      continue;
    }
    int major, indefinite;
    uint64_t arg;
    if (!head(&p, end, &major, &arg, &indefinite)) return 0;
    if (due[level] != OPEN_ENDED) due[level]--;
    uint64_t children = 0;
    if (indefinite) {
      if (++level == SKIP_LEVELS) return 0;
      due[level] = OPEN_ENDED;
      continue;
    }
    switch (major) {
      case PF_CBOR_BYTES:
      case PF_CBOR_TEXT:
        if (arg > left(p, end)) return 0;
        p += arg;
        break;
      case PF_CBOR_ARRAY: children = arg; break;
      case PF_CBOR_MAP:
        if (arg > left(p, end)) return 0;  // keeps the doubling from overflowing
        children = arg * 2;
        break;
      case PF_CBOR_TAG: children = 1; break;
      default: break;  // integers, simple values and floats are all head
    }
    if (!children) continue;
    if (due[level] == OPEN_ENDED) {
      if (++level == SKIP_LEVELS) return 0;
      due[level] = 0;
    }
    if (children > left(p, end) || due[level] + children > left(p, end)) return 0;
    due[level] += children;
  }
}

int pf_cbor_take(pf_cbor_reader *r, const uint8_t **item, size_t *len) {
  const uint8_t *start = r->p;
  if (!pf_cbor_skip(r)) return 0;
  *item = start;
  *len = (size_t)(r->p - start);
  return 1;
}

// ---- Writer -------------------------------------------------------------------

void pf_cbor_writer_free(pf_cbor_writer *w) {
  pf_free(w->data);
  *w = (pf_cbor_writer){0};
}

static uint8_t *grow(pf_cbor_writer *w, size_t n) {
  if (w->oom) return NULL;
  if (n > w->cap - w->len) {
    size_t want = w->cap ? w->cap : 64;
    while (want - w->len < n) {
      if (want > ((size_t)-1) / 2) {
        w->oom = 1;
        return NULL;
      }
      want *= 2;
    }
    uint8_t *data = pf_realloc(w->data, want);
    if (!data) {
      w->oom = 1;
      return NULL;
    }
    w->data = data;
    w->cap = want;
  }
  uint8_t *at = w->data + w->len;
  w->len += n;
  return at;
}

// The shortest head for the argument, as deterministic encoding asks.
static size_t encode_head(uint8_t out[9], int major, uint64_t arg) {
  uint8_t mt = (uint8_t)(major << 5);
  if (arg < 24) {
    out[0] = mt | (uint8_t)arg;
    return 1;
  }
  size_t n = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffu ? 4 : 8;
  out[0] = mt | (uint8_t)(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27);
  for (size_t i = 0; i < n; i++) out[n - i] = (uint8_t)(arg >> (8 * i));
  return n + 1;
}

int pf_cbor_writer_reserve(pf_cbor_writer *w, size_t n) {
  if (!grow(w, n)) return 0;
  w->len -= n;
  return 1;
}

void pf_cbor_put_raw(pf_cbor_writer *w, const uint8_t *data, size_t len) {
  uint8_t *at = grow(w, len);
  if (at) memcpy(at, data, len);
}

void pf_cbor_put_head(pf_cbor_writer *w, int major, uint64_t arg) {
  if (arg < 24) {  // most heads: one byte, written in place
    uint8_t *at = grow(w, 1);
    if (at) *at = (uint8_t)(major << 5 | (int)arg);
    return;
  }
  uint8_t h[9];
  pf_cbor_put_raw(w, h, encode_head(h, major, arg));
}

void pf_cbor_put_uint(pf_cbor_writer *w, uint64_t v) { pf_cbor_put_head(w, PF_CBOR_UINT, v); }

void pf_cbor_put_text(pf_cbor_writer *w, pf_str s) {
  pf_cbor_put_head(w, PF_CBOR_TEXT, s.len);
  pf_cbor_put_raw(w, (const uint8_t *)s.ptr, s.len);
}


void pf_cbor_put_textz(pf_cbor_writer *w, const char *s) { pf_cbor_put_text(w, (pf_str){s, pf_strlen(s)}); }

void pf_cbor_put_bytes(pf_cbor_writer *w, const uint8_t *data, size_t len) {
  pf_cbor_put_head(w, PF_CBOR_BYTES, len);
  pf_cbor_put_raw(w, data, len);
}

void pf_cbor_put_array(pf_cbor_writer *w, size_t count) { pf_cbor_put_head(w, PF_CBOR_ARRAY, count); }
void pf_cbor_put_map(pf_cbor_writer *w, size_t count) { pf_cbor_put_head(w, PF_CBOR_MAP, count); }

void pf_cbor_put_simple(pf_cbor_writer *w, uint8_t v) {
  if (v < 24) {
    pf_cbor_put_head(w, PF_CBOR_SIMPLE, v);
  } else {
    uint8_t two[2] = {0xf8, v};
    pf_cbor_put_raw(w, two, 2);
  }
}

#define RESERVED 9

void pf_cbor_reserve_head(pf_cbor_writer *w) {
  uint8_t *at = grow(w, RESERVED);
  if (at) memset(at, 0, RESERVED);
}

const uint8_t *pf_cbor_finish_head(pf_cbor_writer *w, int major, uint64_t count, size_t *len) {
  if (w->oom || w->len < RESERVED) return NULL;
  uint8_t h[9];
  size_t n = encode_head(h, major, count);
  uint8_t *start = w->data + RESERVED - n;
  memcpy(start, h, n);
  *len = w->len - (RESERVED - n);
  return start;
}
