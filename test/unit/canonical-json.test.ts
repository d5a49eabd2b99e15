// RFC 8785 (JCS) canonical JSON, checked against the RFC's own examples
// (§3.2.2, §3.2.3, Appendix B) and the input/output pairs published with it.
import test from 'ava';
import fc from 'fast-check';
import { MAX_DEPTH, canonicalJson } from '../../plugins/trust/canonical-json.ts';

const canonicalOf = (text: string) => canonicalJson(JSON.parse(text));

test('RFC 8785 §3.2.2: literals, numbers and string escapes', (t) => {
  const input = `{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
    "literals": [null, true, false]
  }`;
  t.is(canonicalOf(input), '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
});

test('RFC 8785 §3.2.3: members sorted by UTF-16 code units, whatever their script', (t) => {
  const input = `{
    "\\u20ac": "Euro Sign",
    "\\r": "Carriage Return",
    "\\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\\ud83d\\ude00": "Emoji: Grinning Face",
    "\\u0080": "Control",
    "\\u00f6": "Latin Small Letter O With Diaeresis"
  }`;
  // Read the names off the text: a parsed object would list "1" first again.
  const names = [...canonicalOf(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
  t.deepEqual(names, ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'], 'the emoji (a surrogate pair, 0xD83D…) sorts before U+FB33 although its code point is larger');
});

test('the published JCS test data: arrays, structures, French, unnormalized Unicode, odd names', (t) => {
  const cases: Array<[string, string]> = [
    ['[56, {"d": true, "10": null, "1": [ ]}]', '[56,{"1":[],"10":null,"d":true}]'],
    ['{"1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0}, "10": { }, "": "empty", "a": { }, "111": [ {"e": "yes","E": "no" } ], "A": { }}',
      '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{},"a":{}}'],
    ['{"peach": "This sorting order", "p\u00e9ch\u00e9": "is wrong according to French", "p\u00eache": "but canonicalization MUST", "sin": "ignore locale"}',
      '{"peach":"This sorting order","p\u00e9ch\u00e9":"is wrong according to French","p\u00eache":"but canonicalization MUST","sin":"ignore locale"}'],
    ['{"Unnormalized Unicode": "A\\u030a"}', '{"Unnormalized Unicode":"A\u030a"}'],
    ['{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\u000a": "Newline", "1": "One", "\\u0080": "Control\\u007f", "\\ud83d\\ude02": "Smiley", "\\u00f6": "Latin Small Letter O With Diaeresis", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "</script>": "Browser Challenge"}',
      '{"\\n":"Newline","\\r":"Carriage Return","1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}'],
  ];
  for (const [input, output] of cases) t.is(canonicalOf(input), output, input);
});

test('RFC 8785 Appendix B: numbers as ECMAScript writes them', (t) => {
  const table: Array<[string, string]> = [
    ['0000000000000000', '0'], ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'], ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'], ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'], ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'], ['44b52d02c7e14af6', '1e+23'], ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'], ['444b1ae4d6e2ef4f', '999999999999999900000'], ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'], ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'], ['41b3de4355555554', '333333333.33333325'], ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'], ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'], ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [ieee, expected] of table) {
    const value = new DataView(new BigUint64Array([BigInt(`0x${ieee}`)]).buffer).getFloat64(0, true);
    t.is(canonicalJson(value), expected, ieee);
  }
  for (const ieee of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
    const value = new DataView(new BigUint64Array([BigInt(`0x${ieee}`)]).buffer).getFloat64(0, true);
    t.throws(() => canonicalJson(value), { instanceOf: TypeError }, `${ieee} (NaN or an infinity) is not JSON`);
  }
});

test('member order and whitespace do not change the canonical form', (t) => {
  fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 4 }), (value, indent) => {
    const reordered = JSON.parse(JSON.stringify(value, null, indent), function (this: unknown, _key, v) {
      if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).reverse());
      return v;
    });
    t.is(canonicalJson(reordered), canonicalJson(value));
  }));
});

test('the canonical form is JSON that parses back to the same value, strings escaped as JSON.stringify does', (t) => {
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    const wire = JSON.parse(JSON.stringify(value));
    t.deepEqual(JSON.parse(canonicalJson(value)), wire);
  }));
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => canonicalJson(text) === JSON.stringify(text)));
  t.pass();
});

test('what is not I-JSON cannot be canonicalized', (t) => {
  for (const bad of ['\ud800', 'a\udc00b', '\ud83d', { '\udfff': 1 }, Number.NaN, Infinity, 10n, Symbol('s'), () => 1, new Date(0), new Map(), [undefined], new Uint8Array(2)]) {
    t.throws(() => canonicalJson(bad), { instanceOf: TypeError }, String(typeof bad));
  }
  t.is(canonicalJson({ a: undefined, b: 1 }), '{"b":1}', 'a member whose value is undefined is left out, as on the wire');
  t.is(canonicalJson(Object.assign(Object.create(null), { z: 1, a: 2 })), '{"a":2,"z":1}');
});

test('nesting is bounded', (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
  t.is(canonicalJson(deep).length, 2 * MAX_DEPTH + 1);
  t.throws(() => canonicalJson([deep]), { instanceOf: TypeError, message: /deeper/ });
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  t.throws(() => canonicalJson(cycle), { instanceOf: TypeError });
});
