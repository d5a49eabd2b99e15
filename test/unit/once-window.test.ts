// The once-only window drops a repeat it remembers, and forgets by count and
// by age, so its memory stays bounded whatever the traffic.
import test from 'ava';
import { OnceWindow } from '../../plugins/bus/once-window.ts';

test('a repeat within the window is recognised, a first sighting is not', (t) => {
  const once = new OnceWindow();
  t.false(once.repeat('sender', 'a', '', 0));
  t.false(once.repeat('sender', 'b', '', 1));
  t.true(once.repeat('sender', 'a', '', 2));
  t.true(once.repeat('sender', 'b', '', 3));
  t.is(once.size, 2);
});

test('past maxEntries the oldest identities are forgotten first, the newest half always kept, and the size never exceeds the bound', (t) => {
  const once = new OnceWindow({ maxEntries: 4 });
  for (const id of ['a', 'b', 'c', 'd', 'e']) once.repeat('sender', id, '', 0);
  t.true(once.repeat('sender', 'e', '', 1), 'the newest is kept');
  t.true(once.repeat('sender', 'd', '', 1));
  t.false(once.repeat('sender', 'a', '', 1), 'the oldest is forgotten');
  for (let i = 0; i < 10_000; i++) {
    once.repeat('sender', `x${i}`, '', 2);
    if (once.size > 4) t.fail(`size ${once.size} after ${i}`);
  }
  t.true(once.repeat('sender', 'x9999', '', 3) && once.repeat('sender', 'x9998', '', 3));
});

test('an identity older than maxAgeMs counts as new, and a generation wholly past its age is let go', (t) => {
  const once = new OnceWindow({ maxAgeMs: 1_000, maxEntries: 4 });
  t.false(once.repeat('sender', 'old', '', 0));
  t.true(once.repeat('sender', 'old', '', 999));
  t.false(once.repeat('sender', 'old', '', 1_000), 'the window has passed: a new message');
  t.true(once.repeat('sender', 'old', '', 1_500), 'taken in again at 1000');
  t.false(once.repeat('sender', 'other', '', 1_500));
  t.is(once.size, 2, 'taken in again in place');
  // Much later: everything taken in before is past its age, and the older generation is dropped whole.
  t.false(once.repeat('sender', 'late', '', 5_000));
  t.false(once.repeat('sender', 'old', '', 5_000));
  t.true(once.size <= 4, `size ${once.size}`);
});

test('a sender, an id and (for answers) whom it answers make the identity: the same id from another sender or to another requester is new', (t) => {
  const once = new OnceWindow();
  t.false(once.repeat('ann', 1, '', 0));
  t.false(once.repeat('ben', 1, '', 0), 'another sender');
  t.false(once.repeat('ann', '1', '', 0), 'a string id is not the number');
  t.false(once.repeat('echo', 7, 'ann', 0));
  t.false(once.repeat('echo', 7, 'ben', 0), 'an answer to another requester');
  t.true(once.repeat('echo', 7, 'ann', 1));
  t.true(once.repeat('ann', 1, '', 1));
});

test('thousands of ids from interleaved conversations are each recognised once, whatever their kind', (t) => {
  const once = new OnceWindow({ maxEntries: 100_000 });
  const ids: Array<string | number> = [];
  for (let i = 0; i < 3_000; i++) ids.push(i, -i - 1, i + 0.5, 2 ** 40 + i, `s${i}`);
  const pairs = [['ann', ''], ['echo', 'ann'], ['echo', 'ben']] as const;
  // Interleaved: each message switches conversation, as a busy bus would.
  let firsts = 0;
  for (const id of ids) for (const [from, to] of pairs) if (!once.repeat(from, id, to, 0)) firsts++;
  t.is(firsts, ids.length * pairs.length, 'every first sighting is new');
  let repeats = 0;
  for (const [from, to] of pairs) for (const id of ids) if (once.repeat(from, id, to, 1)) repeats++;
  t.is(repeats, ids.length * pairs.length, 'and every second one a repeat');
  t.is(once.size, ids.length * pairs.length);
});

test('a sequence of integer ids longer than the bound keeps the newest half known and forgets the oldest', (t) => {
  const once = new OnceWindow({ maxEntries: 1_000 });
  for (let id = 0; id < 5_000; id++) once.repeat('echo', id, 'ann', 0);
  t.true(once.size <= 1_000, `size ${once.size}`);
  let known = 0;
  for (let id = 4_999; id >= 4_500; id--) if (once.repeat('echo', id, 'ann', 1)) known++;
  t.is(known, 500, 'the newest 500 are repeats');
  t.false(once.repeat('echo', 0, 'ann', 1), 'the oldest is new again');
});

test('ids a stub picks to collide cost no more than a sequence: no id is looked for in more than a few slots', (t) => {
  // Patterns that pile up in a table hashed on low bits or on a fixed
  // multiplier: multiples of large powers of two, one low part, one high part.
  const patterns: Record<string, (i: number) => number> = {
    sequence: (i) => i,
    'multiples of 2^16': (i) => i * 65_536,
    'multiples of 2^20': (i) => (i * 1_048_576) | 0,
    'same low 16 bits': (i) => (i << 16) | 0x1234,
    'same high bits': (i) => 0x40000000 | i,
  };
  const timeOf = (id: (i: number) => number) => {
    const once = new OnceWindow({ maxEntries: 40_000 });
    const started = performance.now();
    for (let round = 0; round < 2; round++) for (let i = 0; i < 16_384; i++) once.repeat('stub', id(i), 'ann', 0);
    return performance.now() - started;
  };
  for (const id of Object.values(patterns)) timeOf(id); // the JIT's first pass
  const sequence = Math.min(timeOf(patterns.sequence), timeOf(patterns.sequence));
  for (const [name, id] of Object.entries(patterns)) {
    const ms = Math.min(timeOf(id), timeOf(id));
    // Quadratic probing of 16,384 colliding ids would be ~1,000× a sequence.
    t.true(ms < Math.max(20 * sequence, 50), `${name}: ${ms.toFixed(1)} ms against ${sequence.toFixed(1)} ms for a sequence`);
  }
});

test('random 32-bit ids, enough to crowd parts of the table, are each recognised as repeats and none is lost', (t) => {
  const once = new OnceWindow({ maxEntries: 1_000_000 });
  const ids = new Set<number>();
  let x = 0x2545f491;
  while (ids.size < 100_000) {
    // xorshift32: the same ids every run.
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    ids.add(x | 0);
  }
  let firsts = 0;
  for (const id of ids) if (!once.repeat('stub', id, 'ann', 0)) firsts++;
  t.is(firsts, ids.size);
  let repeats = 0;
  for (const id of ids) if (once.repeat('stub', id, 'ann', 1)) repeats++;
  t.is(repeats, ids.size);
  t.is(once.size, ids.size);
});
