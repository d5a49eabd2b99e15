#include "outbox.h"

outgoing *outgoing_new(pf_str topic, const uint8_t *payload, size_t len) {
  if (topic.len > (size_t)-1 - sizeof(outgoing) - len) return NULL;
  outgoing *o = pf_alloc(sizeof(outgoing) + topic.len + len);
  if (!o) return NULL;
  o->topic_len = topic.len;
  o->payload_len = len;
  memcpy(o->data, topic.ptr, topic.len);
  memcpy(o->data + topic.len, payload, len);
  return o;
}

pf_str outgoing_topic(const outgoing *o) { return (pf_str){(const char *)o->data, o->topic_len}; }

static int outqueue_reserve(outqueue *q, size_t need) {
  if (need <= q->cap) return 1;
  size_t cap = q->cap ? q->cap * 2 : 64;
  while (cap < need) cap *= 2;
  outgoing **slot = pf_alloc(cap * sizeof *slot);
  if (!slot) return 0;
  for (size_t i = 0; i < q->count; i++) slot[i] = q->slot[(q->head + i) % q->cap];
  pf_free(q->slot);
  q->slot = slot;
  q->head = 0;
  q->cap = cap;
  return 1;
}

int outqueue_push_back(outqueue *q, outgoing *o) {
  if (!outqueue_reserve(q, q->count + 1)) return 0;
  q->slot[(q->head + q->count) % q->cap] = o;
  q->count++;
  return 1;
}

int outqueue_push_front(outqueue *q, outgoing *o) {
  if (!outqueue_reserve(q, q->count + 1)) return 0;
  q->head = (q->head + q->cap - 1) % q->cap;
  q->slot[q->head] = o;
  q->count++;
  return 1;
}

outgoing *outqueue_front(const outqueue *q) { return q->count ? q->slot[q->head] : NULL; }

outgoing *outqueue_pop_front(outqueue *q) {
  if (!q->count) return NULL;
  outgoing *o = q->slot[q->head];
  q->head = (q->head + 1) % q->cap;
  q->count--;
  return o;
}

outgoing *outqueue_pop_back(outqueue *q) {
  if (!q->count) return NULL;
  q->count--;
  return q->slot[(q->head + q->count) % q->cap];
}

int inflight_add(inflight *f, uint16_t id, outgoing *o) {
  if (f->len == f->cap && f->head > 0) {
    // Acked entries at the front leave room to reuse before growing.
    memmove(f->items, f->items + f->head, (f->len - f->head) * sizeof *f->items);
    f->len -= f->head;
    f->head = 0;
  }
  if (f->len == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 64;
    struct flight *items = pf_realloc(f->items, cap * sizeof *items);
    if (!items) return 0;
    f->items = items;
    f->cap = cap;
  }
  f->items[f->len++] = (struct flight){id, o};
  return 1;
}

// Acked entries at the front are skipped as they go, so an empty list has
// its head at its end.
int inflight_empty(const inflight *f) { return f->head == f->len; }

int inflight_remove(inflight *f, uint16_t id) {
  for (size_t i = f->head; i < f->len; i++) {
    if (f->items[i].item && f->items[i].id == id) {
      pf_free(f->items[i].item);
      f->items[i].item = NULL;
      while (f->head < f->len && !f->items[f->head].item) f->head++;
      if (f->head == f->len) f->head = f->len = 0;
      return 1;
    }
  }
  return 0;
}

size_t inflight_requeue(inflight *f, outqueue *q) {
  size_t lost = 0;
  for (size_t i = f->len; i > f->head; i--) {
    outgoing *o = f->items[i - 1].item;
    if (o && !outqueue_push_front(q, o)) {
      pf_free(o);
      lost++;
    }
  }
  f->head = f->len = 0;
  return lost;
}
