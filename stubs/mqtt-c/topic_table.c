#include "topic_table.h"

// FNV-1a, then murmur3's finaliser: topics of one domain differ only in
// their last bytes, and linear probing wants those spread over every bit.
static uint32_t hash_of(pf_str s) {
  uint32_t h = 0x811c9dc5u;
  for (size_t i = 0; i < s.len; i++) {
    h ^= (uint8_t)s.ptr[i];
    h *= 0x01000193u;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static uint32_t find_slot(const topic_table *t, pf_str topic, uint32_t h) {
  uint32_t mask = t->n_slots - 1;
  for (uint32_t s = h & mask;; s = (s + 1) & mask) {
    uint32_t i = t->slots[s];
    if (i == TOPIC_NONE) return s;
    if (t->entries[i].hash == h && pf_str_eq(t->entries[i].topic, topic)) return s;
  }
}

uint32_t topic_table_find(const topic_table *t, pf_str topic) {
  if (!t->n_slots) return TOPIC_NONE;
  return t->slots[find_slot(t, topic, hash_of(topic))];
}

// Rehashes into twice the slots; 0 when out of memory (nothing changed).
static int grow_slots(topic_table *t) {
  uint32_t n = t->n_slots ? t->n_slots * 2 : 64;
  uint32_t *slots = pf_alloc((size_t)n * sizeof *slots);
  if (!slots) return 0;
  memset(slots, 0xff, (size_t)n * sizeof *slots);  // every slot TOPIC_NONE
  for (uint32_t s = 0; s < t->n_slots; s++) {
    uint32_t i = t->slots[s];
    if (i == TOPIC_NONE) continue;
    uint32_t at = t->entries[i].hash & (n - 1);
    while (slots[at] != TOPIC_NONE) at = (at + 1) & (n - 1);
    slots[at] = i;
  }
  pf_free(t->slots);
  t->slots = slots;
  t->n_slots = n;
  return 1;
}

// At least twice the entries, as many as fill the allocator's power-of-two
// block (it adds 8 bytes of header): an array of exactly 2^k bytes would
// take a block of 2^(k+1). 0 when out of memory (nothing changed).
static int grow_entries(topic_table *t) {
  size_t need = 2 * (size_t)(t->cap ? t->cap : 32) * sizeof(topic_entry) + 8, block = 1024;
  while (block < need) block *= 2;
  size_t cap = (block - 8) / sizeof(topic_entry);
  if (cap >= TOPIC_NONE) return 0;
  topic_entry *entries = pf_realloc(t->entries, cap * sizeof *entries);
  if (!entries) return 0;
  t->entries = entries;
  t->cap = (uint32_t)cap;
  return 1;
}

uint32_t topic_table_add(topic_table *t, pf_str *topic) {
  uint32_t h = hash_of(*topic), s = 0;
  if (t->n_slots) {
    s = find_slot(t, *topic, h);
    if (t->slots[s] != TOPIC_NONE) return t->slots[s];
  }
  // Half full at most, so probes stay short.
  if ((t->count + 1) * 2 > t->n_slots) {
    if (!grow_slots(t)) return TOPIC_NONE;
    s = find_slot(t, *topic, h);
  }
  if (t->free_head == TOPIC_NONE && t->used == t->cap && !grow_entries(t)) return TOPIC_NONE;
  uint32_t i;
  if (t->free_head != TOPIC_NONE) {
    i = t->free_head;
    t->free_head = t->entries[i].next;
  } else {
    i = t->used++;
  }
  t->entries[i] = (topic_entry){*topic, h, TOPIC_NONE, TOPIC_NONE, NULL, TOPIC_NONE, 0};
  *topic = (pf_str){0};
  t->slots[s] = i;
  t->count++;
  return i;
}

void topic_table_remove(topic_table *t, uint32_t i) {
  uint32_t mask = t->n_slots - 1, s = t->entries[i].hash & mask;
  while (t->slots[s] != i) s = (s + 1) & mask;
  // Backward-shift deletion: entries after the gap that probed past it move
  // into it, so lookups never need tombstones.
  t->slots[s] = TOPIC_NONE;
  for (uint32_t j = (s + 1) & mask; t->slots[j] != TOPIC_NONE; j = (j + 1) & mask) {
    uint32_t home = t->entries[t->slots[j]].hash & mask;
    // The entry at j may fill the gap at s unless its home lies in (s, j].
    int stays = s < j ? (home > s && home <= j) : (home > s || home <= j);
    if (stays) continue;
    t->slots[s] = t->slots[j];
    t->slots[j] = TOPIC_NONE;
    s = j;
  }
  pf_str_free(&t->entries[i].topic);
  t->entries[i].next = t->free_head;
  t->free_head = i;
  t->count--;
}

int topic_table_live(const topic_table *t, uint32_t i) { return i < t->used && t->entries[i].topic.ptr; }

void topic_list_move(topic_table *t, uint32_t i, topic_list *l) {
  topic_entry *e = &t->entries[i];
  if (e->on == l) return;
  if (e->on) {
    topic_list *from = e->on;
    if (e->prev != TOPIC_NONE) t->entries[e->prev].next = e->next; else from->head = e->next;
    if (e->next != TOPIC_NONE) t->entries[e->next].prev = e->prev; else from->tail = e->prev;
    from->count--;
  }
  e->on = l;
  e->prev = e->next = TOPIC_NONE;
  if (!l) return;
  e->prev = l->tail;
  if (l->tail != TOPIC_NONE) t->entries[l->tail].next = i; else l->head = i;
  l->tail = i;
  l->count++;
}
