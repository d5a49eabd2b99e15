#include "awaiting.h"
#include "answers.h"
#include "text.h"

typedef struct {
  reply_to reply;
  // Topics still waited for, plus one while awaiting_end has not come, so
  // it is not answered before all its topics are named. On a free waiter:
  // the next free one.
  uint32_t pending;
  // Answered already (403), or never to be (out of memory): it stays until
  // the chains that name it let go.
  uint8_t done;
} waiter;

// One message waiting on one topic, chained per topic.
typedef struct {
  uint32_t waiter, next;
} link;

static waiter *waiters;
static uint32_t n_waiters, cap_waiters, free_waiter = AWAITING_NONE;
static link *links;
static uint32_t n_links, cap_links, free_link = AWAITING_NONE;

// Room for one more of n items of size bytes in *items (capacity *cap),
// doubling; 0 when memory runs out (*items is then unchanged).
static int reserve_one(void **items, uint32_t *cap, uint32_t n, size_t size) {
  if (n < *cap) return 1;
  uint32_t grown_cap = *cap ? *cap * 2 : 16;
  void *grown = pf_realloc(*items, (size_t)grown_cap * size);
  if (!grown) return 0;
  *items = grown;
  *cap = grown_cap;
  return 1;
}

uint32_t awaiting_begin(const message_view *m) {
  uint32_t w = free_waiter;
  if (w == AWAITING_NONE) {
    if (!reserve_one((void **)&waiters, &cap_waiters, n_waiters, sizeof *waiters)) return AWAITING_NONE;
    w = n_waiters++;
  } else {
    free_waiter = waiters[w].pending;
  }
  if (!reply_to_keep(&waiters[w].reply, m)) {
    waiters[w].pending = free_waiter;
    free_waiter = w;
    return AWAITING_NONE;
  }
  waiters[w].pending = 1;
  waiters[w].done = 0;
  return w;
}

// One reason less to wait; answered 200 and freed when none is left.
static void release(uint32_t w) {
  waiter *a = &waiters[w];
  if (--a->pending) return;
  if (!a->done) answer(&a->reply, CODE_OK, (pf_str){0});
  reply_to_free(&a->reply);
  a->pending = free_waiter;
  free_waiter = w;
}

int awaiting_topic(uint32_t w, uint32_t *chain) {
  if (w == AWAITING_NONE || waiters[w].done) return 1;
  // A topic named twice in one message: its link is the newest on the chain.
  if (*chain != AWAITING_NONE && links[*chain].waiter == w) return 1;
  uint32_t l = free_link;
  if (l == AWAITING_NONE) {
    if (!reserve_one((void **)&links, &cap_links, n_links, sizeof *links)) {
      waiters[w].done = 1;
      return 0;
    }
    l = n_links++;
  } else {
    free_link = links[l].next;
  }
  links[l] = (link){w, *chain};
  *chain = l;
  waiters[w].pending++;
  return 1;
}

void awaiting_deny(uint32_t w) {
  if (w == AWAITING_NONE || waiters[w].done) return;
  answer(&waiters[w].reply, CODE_FORBIDDEN, (pf_str){0});
  waiters[w].done = 1;
}

void awaiting_end(uint32_t w) {
  if (w != AWAITING_NONE) release(w);
}

void awaiting_settle(uint32_t *chain, int refused) {
  for (uint32_t l = *chain; l != AWAITING_NONE;) {
    uint32_t next = links[l].next, w = links[l].waiter;
    if (refused) awaiting_deny(w);
    release(w);
    links[l].next = free_link;
    free_link = l;
    l = next;
  }
  *chain = AWAITING_NONE;
}
