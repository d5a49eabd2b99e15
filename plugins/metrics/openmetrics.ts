// A metrics snapshot as OpenMetrics 1.0 text, what a Prometheus scrape
// reads: one family per quantity, its `# TYPE`, `# UNIT` and `# HELP` lines
// first and then its samples; a counter's samples end in `_total`; label
// values escaped; the text ends with `# EOF`. The runtime's totals are
// families of their own (`protofly_<x>`), apart from the per-stub ones
// (`protofly_stub_<x>`, labelled by stub): a stub that goes takes its
// series with it, the total keeps its counts.
import { SUMMED_COUNTS, type MetricsSnapshot, type StubMetrics, type SummedCount } from '../../kernel/metrics.ts';
import { STATUS_VALUES } from '../../kernel/schemas.ts';

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

type Labels = Record<string, string>;

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'stateset' | 'info';
  /** When set, the family's name ends in `_<unit>` (OpenMetrics requires it). */
  unit?: 'bytes' | 'seconds';
  help: string;
  samples: Array<{ labels: Labels; value: number }>;
}

/** The counts a stub has and the runtime sums, those by code aside: each one's family (keyed by count, so none is left out). */
const COUNTS: Record<SummedCount, Pick<Family, 'type' | 'unit' | 'help'> & { name: string }> = {
  messagesIn: { name: 'messages_in', type: 'counter', help: "Messages handed to stubs (the runtime's control messages and each hand-over again included)." },
  bytesIn: { name: 'messages_in_bytes', type: 'counter', unit: 'bytes', help: 'CBOR bytes of the messages handed to stubs.' },
  messagesOut: { name: 'messages_out', type: 'counter', help: 'Messages stubs sent that the bus accepted.' },
  bytesOut: { name: 'messages_out_bytes', type: 'counter', unit: 'bytes', help: 'CBOR bytes of all that stubs posted, refused messages included.' },
  queued: { name: 'queued_messages', type: 'gauge', help: "Messages waiting in stubs' queues." },
  redelivered: { name: 'redelivered', type: 'counter', help: 'Messages put back to be handed again after their stub died or was stopped holding them.' },
  duplicates: { name: 'duplicates', type: 'counter', help: 'Repeats of a delivered (from, id) dropped by the once-only window.' },
  poisoned: { name: 'poisoned', type: 'counter', help: 'Messages a stub died on alone: answered with the fault, never retried.' },
  restarts: { name: 'restarts', type: 'counter', help: 'Restarts after a failure or a refused login.' },
};

const REJECTED_HELP = 'What the runtime refused stubs (or their peers), by error code.';
const FAULTS_HELP = 'Times stubs died, by the fault\'s error code.';

export function openMetricsText(snapshot: MetricsSnapshot): string {
  const { total, stubs } = snapshot;
  const families: Family[] = [
    { name: 'protofly_runtime', type: 'info', help: 'The runtime these metrics are of.', samples: [{ labels: { runtime_url: snapshot.runtimeURL }, value: 1 }] },
    { name: 'protofly_deploys', type: 'counter', help: 'Stubs deployed: LIVE for the first time.', samples: [{ labels: {}, value: total.deploys }] },
    { name: 'protofly_deploy_failures', type: 'counter', help: 'Deploys that failed, at whatever step.', samples: [{ labels: {}, value: total.deployFailures }] },
    ...SUMMED_COUNTS.map((key): Family => {
      const { name, type, unit, help } = COUNTS[key];
      return { name: `protofly_${name}`, type, unit, help: `${help} All stubs, gone ones included.`, samples: [{ labels: {}, value: total[key] }] };
    }),
    { name: 'protofly_rejected', type: 'counter', help: `${REJECTED_HELP} All stubs, gone ones included.`, samples: byCode(total.rejected, {}) },
    { name: 'protofly_faults', type: 'counter', help: `${FAULTS_HELP} All stubs, gone ones included.`, samples: byCode(total.faults, {}) },
    ...SUMMED_COUNTS.map((key): Family => {
      const { name, type, unit, help } = COUNTS[key];
      return { name: `protofly_stub_${name}`, type, unit, help, samples: stubs.map((stub) => ({ labels: stubLabels(stub), value: stub[key] })) };
    }),
    { name: 'protofly_stub_rejected', type: 'counter', help: REJECTED_HELP, samples: stubs.flatMap((stub) => byCode(stub.rejected, stubLabels(stub))) },
    { name: 'protofly_stub_faults', type: 'counter', help: FAULTS_HELP, samples: stubs.flatMap((stub) => byCode(stub.faults, stubLabels(stub))) },
    {
      // A stateset: one sample per status, 1 for the current one.
      name: 'protofly_stub_status', type: 'stateset', help: "The stub's status.",
      samples: stubs.flatMap((stub) => STATUS_VALUES.map((status) => ({
        labels: { ...stubLabels(stub), protofly_stub_status: status }, value: stub.status === status ? 1 : 0,
      }))),
    },
    {
      name: 'protofly_stub_status_seconds', type: 'counter', unit: 'seconds', help: 'Time spent in each status, the current one up to now.',
      samples: stubs.flatMap((stub) => Object.entries(stub.statusSeconds).map(([status, seconds]) => ({
        labels: { ...stubLabels(stub), status }, value: seconds ?? 0,
      }))),
    },
    {
      name: 'protofly_stub_deploy_step_seconds', type: 'gauge', unit: 'seconds', help: "The last deploy's (or restart's, or update's) steps and their times.",
      samples: stubs.flatMap((stub) => stepSeconds(stub).map(([step, seconds]) => ({ labels: { ...stubLabels(stub), step }, value: seconds }))),
    },
    {
      name: 'protofly_stub_memory_bytes', type: 'gauge', unit: 'bytes', help: "The stub's linear memory as last seen.",
      samples: stubs.map((stub) => ({ labels: stubLabels(stub), value: stub.memoryBytes })),
    },
  ];
  return render(families);
}

function render(families: Family[]): string {
  let text = '';
  for (const { name, type, unit, help, samples } of families) {
    text += `# TYPE ${name} ${type}\n`;
    if (unit) text += `# UNIT ${name} ${unit}\n`;
    text += `# HELP ${name} ${escape(help)}\n`;
    const sampleName = name + (type === 'counter' ? '_total' : type === 'info' ? '_info' : '');
    for (const { labels, value } of samples) text += `${sampleName}${labelSet(labels)} ${number(value)}\n`;
  }
  return `${text}# EOF\n`;
}

function stubLabels(stub: StubMetrics): Labels {
  return { stub_url: stub.stubURL, domain: stub.domain, name: stub.name };
}

function byCode(rejected: Record<string, number>, labels: Labels) {
  return Object.entries(rejected).map(([code, value]) => ({ labels: { ...labels, code }, value }));
}

/** Each step once (a label set appears once in a family): a step named twice adds up. */
function stepSeconds(stub: StubMetrics): Array<[string, number]> {
  const steps = new Map<string, number>();
  for (const { hook, ms } of stub.deploySteps) steps.set(hook, (steps.get(hook) ?? 0) + ms / 1000);
  return [...steps];
}

function labelSet(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escape(value)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

/** Backslash, double quote and line feed, escaped as OpenMetrics' label values and HELP text require. */
function escape(text: string): string {
  return text.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}
