#include "strlist.h"

size_t strlist_find(const strlist *l, pf_str s) {
  for (size_t i = 0; i < l->count; i++) {
    if (pf_str_eq(l->items[i], s)) return i;
  }
  return STRLIST_NONE;
}

int strlist_has(const strlist *l, pf_str s) { return strlist_find(l, s) != STRLIST_NONE; }

int strlist_add(strlist *l, pf_str s) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    pf_str *items = pf_realloc(l->items, cap * sizeof *items);
    if (!items) return 0;
    l->items = items;
    l->cap = cap;
  }
  pf_str copy = pf_str_dup(s);
  if (!copy.ptr) return 0;
  l->items[l->count++] = copy;
  return 1;
}

void strlist_remove(strlist *l, size_t i) {
  if (i >= l->count) return;
  pf_str_free(&l->items[i]);
  memmove(&l->items[i], &l->items[i + 1], (l->count - i - 1) * sizeof *l->items);
  l->count--;
}

void strlist_drop(strlist *l, pf_str s) {
  strlist_remove(l, strlist_find(l, s));
}

void strlist_clear(strlist *l) {
  for (size_t i = 0; i < l->count; i++) pf_str_free(&l->items[i]);
  l->count = 0;
}

void strlist_free(strlist *l) {
  strlist_clear(l);
  pf_free(l->items);
  *l = (strlist){0};
}
