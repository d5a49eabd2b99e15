// Every topic the subscriptions keep something about, found by its text in
// constant time: a domain may have 100,000 listeners (CONTRACT.md, "Back-end
// requests are bounded"), so nothing here searches a list.
//
// Entries live in one array and are named by their index, which stays the
// same while the entry lives (the array may move as it grows, so hold
// indices, not pointers, across anything that adds). Each entry may be on
// one topic_list, an ordered list threaded through the entries themselves,
// so moving a topic between lists never allocates.
#ifndef MQTT_C_TOPIC_TABLE_H
#define MQTT_C_TOPIC_TABLE_H

#include "protostub.h"

#define TOPIC_NONE ((uint32_t)-1)

typedef struct topic_list topic_list;

typedef struct {
  pf_str topic;  // owned; NULL ptr while the entry is free
  uint32_t hash;
  uint32_t prev, next;  // neighbours on `on`; next also chains free entries
  topic_list *on;       // the list it is on, or NULL
  uint32_t waiters;     // for awaiting.c: who waits for its confirmation
  uint8_t flags;        // for subscriptions.c
} topic_entry;

struct topic_list {
  uint32_t head, tail;
  size_t count;
};
#define TOPIC_LIST_INIT {TOPIC_NONE, TOPIC_NONE, 0}

typedef struct {
  topic_entry *entries;
  uint32_t used, cap;  // entries[0..used) have been handed out at least once
  uint32_t free_head, count;
  uint32_t *slots;  // open addressing, linear probing: entry index or TOPIC_NONE
  uint32_t n_slots;  // a power of two, at least twice count
} topic_table;
#define TOPIC_TABLE_INIT {NULL, 0, 0, TOPIC_NONE, 0, NULL, 0}

// The entry holding topic, or TOPIC_NONE.
uint32_t topic_table_find(const topic_table *t, pf_str topic);
// The entry for *topic, added if it is new; a new entry takes the string
// over (*topic is then emptied), else it stays the caller's. TOPIC_NONE
// when out of memory.
uint32_t topic_table_add(topic_table *t, pf_str *topic);
// Frees the entry: it must be on no list and have no waiters.
void topic_table_remove(topic_table *t, uint32_t i);
// For walking every entry: for (i = 0; i < t->used; i++) if (topic_table_live(t, i)) ...
// Removing entries during such a walk is fine; adding is not.
int topic_table_live(const topic_table *t, uint32_t i);

// Moves entry i to the tail of l, off the list it was on; an entry already
// on l keeps its place. A NULL l only takes it off its list.
void topic_list_move(topic_table *t, uint32_t i, topic_list *l);

#endif
