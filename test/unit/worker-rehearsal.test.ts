// A new worker's rehearsal: the built-in stub it runs before any real one
// is the module its source says, and it really goes through the path a
// stub takes (start, init, batches in, posts out, stop) — a rehearsal that
// failed quietly would leave the first deploy paying for the cold code.
import { parse } from '@bytecodealliance/jco';
import test from 'ava';
import { REHEARSAL_BATCHES, REHEARSAL_WASM, REHEARSAL_WAT } from '../../plugins/sandbox/worker/rehearsal.ts';
import { rehearse } from '../../plugins/sandbox/worker/worker-main.ts';

test("the rehearsal stub's binary is what its WAT source parses to", async (t) => {
  const parsed = await parse(REHEARSAL_WAT);
  t.is(Buffer.from(parsed).toString('base64'), REHEARSAL_WASM);
});

test('a rehearsal starts the built-in stub, has every batch echoed, and stops it', async (t) => {
  t.is(await rehearse(), REHEARSAL_BATCHES);
});
