// An ordered list of owned strings: topics wanted, confirmed, or waiting
// for an ack. Lists stay short (one entry per subscribed address), so
// linear search is enough.
#ifndef MQTT_C_STRLIST_H
#define MQTT_C_STRLIST_H

#include "protostub.h"

typedef struct {
  pf_str *items;
  size_t count, cap;
} strlist;

#define STRLIST_NONE ((size_t)-1)

size_t strlist_find(const strlist *l, pf_str s);
int strlist_has(const strlist *l, pf_str s);
// Appends a copy of s; 0 when out of memory.
int strlist_add(strlist *l, pf_str s);
// Removes the item at i, keeping the order of the rest.
void strlist_remove(strlist *l, size_t i);
// Removes s if it is there.
void strlist_drop(strlist *l, pf_str s);
void strlist_clear(strlist *l);
void strlist_free(strlist *l);

#endif
