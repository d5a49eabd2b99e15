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

test('past maxEntries the oldest identity is forgotten first, and the size never exceeds the bound', (t) => {
  const once = new OnceWindow({ maxEntries: 3 });
  for (const id of ['a', 'b', 'c', 'd']) once.repeat(id, 0);
  t.is(once.size, 3);
  t.false(once.repeat('a', 1), 'a was the oldest, forgotten');
  t.true(once.repeat('d', 1));
  for (let i = 0; i < 10_000; i++) once.repeat(`x${i}`, 2);
  t.is(once.size, 3);
});

test('an identity older than maxAgeMs counts as new, and old ones are swept even if never seen again', (t) => {
  const once = new OnceWindow({ maxAgeMs: 1_000 });
  t.false(once.repeat('old', 0));
  t.true(once.repeat('old', 999));
  t.false(once.repeat('old', 1_000), 'the window has passed: a new message');
  // 'old' (now at 1000) and a stream of others, all at 1000, then traffic at 5000.
  for (let i = 0; i < 300; i++) once.repeat(`early${i}`, 1_000);
  for (let i = 0; i < 512; i++) once.repeat(`late${i}`, 5_000);
  t.is(once.size, 512, 'everything from t=1000 swept');
});
