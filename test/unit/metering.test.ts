// The meter that bounds a stub in the runtime's thread (plugins/sandbox/
// metering): a metered module computes what it computed before, with every
// function index renumbered where it is used (calls, tables, ref.func,
// exports, the start function); its tick comes every TICK_INTERVAL loop
// iterations and entries of functions that call, and a tick that says stop makes it
// trap; code the meter cannot read is refused, never run unmetered.
import { parse } from '@bytecodealliance/jco';
import test from 'ava';
import { BinaryReader } from '../../plugins/direct/binary-reader.ts';
import { skipInstruction } from '../../plugins/sandbox/metering/instructions.ts';
import { meterModule, Unmeterable } from '../../plugins/sandbox/metering/meter.ts';
import { METER_MODULE, METER_TICK, TICK_INTERVAL } from '../../plugins/sandbox/metering/tick-import.ts';

// An import before the defined functions, so every defined index moves.
const WAT = `(module
  (import "env" "double" (func $double (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $inc $twice)
  (global $started (mut i32) (i32.const 0))
  (global $incRef (export "incRef") funcref (ref.func $inc))
  (func $inc (type $unary) (i32.add (local.get 0) (i32.const 1)))
  (func $twice (type $unary) (call $double (local.get 0)))
  (func $init (global.set $started (i32.const 7)))
  (func (export "started") (result i32) (global.get $started))
  (func (export "viaTable") (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 1) (local.get 0)))
  (func (export "count") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $again
      (local.set $sum (call $inc (local.get $sum)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (start $init))`;

async function instances(tick: () => number) {
  const bytes = await parse(WAT);
  const env = { env: { double: (x: number) => 2 * x } };
  const exportsOf = async (module: Uint8Array, imports: WebAssembly.Imports) =>
    (await WebAssembly.instantiate(new WebAssembly.Module(module as Uint8Array<ArrayBuffer>), imports)).exports as Record<string, (...args: number[]) => number>;
  const plain = await exportsOf(bytes, env);
  const metered = await exportsOf(meterModule(bytes), { ...env, [METER_MODULE]: { [METER_TICK]: tick } });
  return { plain, metered };
}

test('a metered module computes what it did, its functions renumbered everywhere they are named', async (t) => {
  const { plain, metered } = await instances(() => 0);
  t.is(metered.started(), 7, 'the start function ran');
  t.is(metered.started(), plain.started());
  t.is(metered.viaTable(0, 41), 42, 'the table still holds $inc…');
  t.is(metered.viaTable(1, 21), 42, '…and $twice, which calls the import');
  t.is(metered.count(1000), plain.count(1000));
  const incRef = (metered as unknown as { incRef: WebAssembly.Global }).incRef.value as (x: number) => number;
  t.is(incRef(41), 42, 'a global holding ref.func $inc still holds $inc');
});

test('its tick comes once every TICK_INTERVAL loop iterations and entries of functions that call', async (t) => {
  let ticks = 0;
  const { metered } = await instances(() => { ticks++; return 0; });
  ticks = 0;
  // count(n): its own entry (it calls), then n iterations of its loop; $inc
  // neither loops nor calls, so it ends on its own and is not counted.
  const n = 300_000;
  metered.count(n);
  // The counter was spent on the calls before (start, started…): at most one tick more or less.
  const checks = 1 + n;
  t.true(Math.abs(ticks - checks / (TICK_INTERVAL + 1)) <= 1, `${ticks} ticks for ${checks} checks`);
});

test('a tick that answers 1 makes the stub trap where it is', async (t) => {
  let stop = 0;
  const { metered } = await instances(() => stop);
  t.is(metered.count(10), 10);
  stop = 1;
  t.throws(() => metered.count(10 * TICK_INTERVAL), { instanceOf: WebAssembly.RuntimeError, message: /unreachable/ });
});

test('code the meter cannot read is refused, not left unmetered', async (t) => {
  // call_ref (typed function references) is not among the instructions it knows.
  const bytes = await parse(`(module
    (type $f (func))
    (func $g)
    (elem declare func $g)
    (func (export "run") (call_ref $f (ref.func $g))))`);
  // Node 20 does not validate it yet (a browser may): refused either way, never metered in part.
  t.throws(() => meterModule(bytes), { message: /opcode 0x14|not valid WebAssembly/ });
  t.throws(() => skipInstruction(new BinaryReader(Uint8Array.of(0x14, 0x00))), { instanceOf: Unmeterable, message: /opcode 0x14/ });
});

test("a module naming the meter's counter before it exists is refused, not metered", async (t) => {
  // Valid only once a global is added after its own: it would reset the
  // counter each iteration and loop unbounded.
  const bytes = await parse(`(module
    (func (export "spin") (loop $forever (global.set 0 (i32.const 1000)) (br $forever))))`);
  t.false(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>));
  t.throws(() => meterModule(bytes), { message: /not valid WebAssembly/ });
});
