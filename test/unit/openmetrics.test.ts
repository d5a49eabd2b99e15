import test from 'ava';
import type { MetricsSnapshot, StubMetrics } from '../../kernel/metrics.ts';
import { OPENMETRICS_CONTENT_TYPE, openMetricsText } from '../../plugins/metrics/openmetrics.ts';
import { parseOpenMetrics, valueOf } from '../helpers/openmetrics.ts';

const counts = { messagesIn: 3, bytesIn: 300, messagesOut: 4, bytesOut: 410, queued: 1, redelivered: 0, duplicates: 0, poisoned: 0, restarts: 1 };

function stub(domain: string, rejected: Record<string, number> = {}): StubMetrics {
  return {
    stubURL: `hyperty-runtime://${domain}/protostub/1`, domain, name: 'default', status: 'LIVE', ...counts, rejected, faults: { PF_ERR_STUB_TRAP: 1 },
    statusSeconds: { DEPLOYING: 0.25, LIVE: 1e-7 }, deploySteps: [{ hook: 'fetchDescriptor', ms: 12.5 }, { hook: 'live', ms: 0 }], memoryBytes: 131072,
  };
}

const snapshot = (stubs: StubMetrics[]): MetricsSnapshot => ({
  runtimeURL: 'hyperty-runtime://r',
  stubs,
  total: { ...counts, rejected: { PF_ERR_SPOOFED: 2 }, faults: { PF_ERR_STUB_TRAP: 1 }, deploys: 1, deployFailures: 0 },
});

test('label values are escaped (backslash, double quote, line feed) and read back as they were', (t) => {
  const odd = 'a"b\\c\nd';
  const text = openMetricsText(snapshot([stub(odd, { PF_ERR_SPOOFED: 2 })]));
  t.true(text.includes('domain="a\\"b\\\\c\\nd"'), text);
  const families = parseOpenMetrics(text);
  const labels = { stub_url: `hyperty-runtime://${odd}/protostub/1`, domain: odd, name: 'default' };
  t.is(valueOf(families, 'protofly_stub_messages_in_total', labels), 3);
  t.is(valueOf(families, 'protofly_stub_rejected_total', { ...labels, code: 'PF_ERR_SPOOFED' }), 2);
});

test('counters end in _total, a family with a unit is named for it, small and fractional seconds are numbers OpenMetrics reads, and # EOF ends the text', (t) => {
  const text = openMetricsText(snapshot([stub('example.com')]));
  t.true(text.endsWith('\n# EOF\n'));
  t.regex(text, /^# TYPE protofly_messages_in counter\n# HELP protofly_messages_in .*\nprotofly_messages_in_total 3$/m);
  t.regex(text, /^# TYPE protofly_stub_messages_in_bytes counter\n# UNIT protofly_stub_messages_in_bytes bytes\n# HELP /m);
  t.regex(text, /^protofly_stub_status_seconds_total\{.*,status="LIVE"\} 1e-7$/m);
  const families = parseOpenMetrics(text);
  const labels = { stub_url: 'hyperty-runtime://example.com/protostub/1', domain: 'example.com', name: 'default' };
  t.is(valueOf(families, 'protofly_stub_deploy_step_seconds', { ...labels, step: 'fetchDescriptor' }), 0.0125);
  t.is(valueOf(families, 'protofly_stub_status', { ...labels, protofly_stub_status: 'LIVE' }), 1);
  t.is(valueOf(families, 'protofly_stub_status', { ...labels, protofly_stub_status: 'DEPLOYING' }), 0);
  t.is(OPENMETRICS_CONTENT_TYPE, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
});

test('a runtime with no stub is valid text too: the families are declared, with no samples', (t) => {
  const families = parseOpenMetrics(openMetricsText(snapshot([])));
  t.deepEqual(families.get('protofly_stub_messages_in')?.samples, []);
  t.is(valueOf(families, 'protofly_rejected_total', { code: 'PF_ERR_SPOOFED' }), 2);
});

test('the reader used by the tests refuses what is not OpenMetrics', (t) => {
  const good = '# TYPE a counter\na_total 1\n# EOF\n';
  t.notThrows(() => parseOpenMetrics(good));
  t.throws(() => parseOpenMetrics('# TYPE a counter\na_total 1\n'), { message: /# EOF/ });
  t.throws(() => parseOpenMetrics('a_total 1\n# EOF\n'), { message: /before any TYPE/ });
  t.throws(() => parseOpenMetrics('# TYPE a counter\na 1\n# EOF\n'), { message: /not of the family/ });
  t.throws(() => parseOpenMetrics('# TYPE a_seconds gauge\n# UNIT a_seconds bytes\n# EOF\n'), { message: /named …_bytes/ });
  t.throws(() => parseOpenMetrics('# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n# EOF\n'), { message: /same label set/ });
  t.throws(() => parseOpenMetrics('# TYPE a gauge\na{x="a"b"} 1\n# EOF\n'), { message: /expected , or }|unescaped/ });
  t.throws(() => parseOpenMetrics('# TYPE a gauge\na{1x="a"} 1\n# EOF\n'), { message: /invalid label name/ });
  t.throws(() => parseOpenMetrics('# TYPE a gauge\na one\n# EOF\n'), { message: /number/ });
});
