// The once-only window drops a repeat it remembers, and forgets by count and
// by age, so its memory stays bounded whatever the traffic.
import test from 'ava';
import { OnceWindow } from '../../plugins/bus/once-window.ts';

test('a repeat within the window is recognised, a first sighting is not', (t) => {
  const once = new OnceWindow();
  t.false(once.repeat('a', 0));
  t.false(once.repeat('b', 1));
  t.true(once.repeat('a', 2));
  t.true(once.repeat('b', 3));
  t.is(once.size, 2);
});

test('past maxEntries the oldest identities are forgotten first, the newest half always kept, and the size never exceeds the bound', (t) => {
  const once = new OnceWindow({ maxEntries: 4 });
  for (const id of ['a', 'b', 'c', 'd', 'e']) once.repeat(id, 0);
  t.true(once.repeat('e', 1), 'the newest is kept');
  t.true(once.repeat('d', 1));
  t.false(once.repeat('a', 1), 'the oldest is forgotten');
  for (let i = 0; i < 10_000; i++) {
    once.repeat(`x${i}`, 2);
    if (once.size > 4) t.fail(`size ${once.size} after ${i}`);
  }
  t.true(once.repeat('x9999', 3) && once.repeat('x9998', 3));
});

test('an identity older than maxAgeMs counts as new, and a generation wholly past its age is let go', (t) => {
  const once = new OnceWindow({ maxAgeMs: 1_000, maxEntries: 4 });
  t.false(once.repeat('old', 0));
  t.true(once.repeat('old', 999));
  t.false(once.repeat('old', 1_000), 'the window has passed: a new message');
  t.false(once.repeat('other', 1_000));
  t.is(once.size, 2);
  // Much later, one more: what was taken in at t=1000 is past its age and dropped.
  t.false(once.repeat('late', 5_000));
  t.is(once.size, 1);
});
