// A small, strict reader of OpenMetrics 1.0 text, to check what a scrape
// would get: every line is metadata, a sample of the family declared last,
// or the final `# EOF`; names, labels, escapes and values are as the ABNF
// says; a family's metadata comes once, before its samples, which stay
// together; no label set appears twice in a family. Throws on the first
// line that is not so, naming it.

export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Family { name: string; type: string; unit?: string; help?: string; samples: Sample[] }

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NUMBER = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'stateset', 'info', 'histogram', 'gaugehistogram', 'summary', 'unknown']);
const SUFFIXES: Record<string, string[]> = {
  counter: ['_total', '_created'], info: ['_info'], gauge: [''], stateset: [''], unknown: [''],
  histogram: ['_bucket', '_count', '_sum', '_created'], gaugehistogram: ['_bucket', '_gcount', '_gsum'], summary: ['', '_count', '_sum', '_created'],
};

export function parseOpenMetrics(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text does not end with a line feed');
  const lines = text.slice(0, -1).split('\n');
  if (lines.at(-1) !== '# EOF') throw new Error(`the last line is ${JSON.stringify(lines.at(-1))}, not "# EOF"`);
  const families = new Map<string, Family>();
  let current: Family | undefined;
  let sampling = false;
  const seen = new Set<string>();
  lines.slice(0, -1).forEach((line, index) => {
    const where = `line ${index + 1} ${JSON.stringify(line)}`;
    if (line.startsWith('#')) {
      const meta = /^# (TYPE|UNIT|HELP) (\S+) (.*)$/.exec(line);
      if (!meta) throw new Error(`${where}: not a TYPE, UNIT or HELP line (or # EOF only as the last)`);
      const [, kind, name, rest] = meta;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: invalid metric name`);
      if (kind === 'TYPE') {
        if (families.has(name)) throw new Error(`${where}: family ${name} declared twice`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        current = { name, type: rest, samples: [] };
        families.set(name, current);
        sampling = false;
        return;
      }
      if (current?.name !== name || sampling) throw new Error(`${where}: metadata for ${name} not right after its TYPE`);
      if (kind === 'UNIT') {
        if (current.unit !== undefined) throw new Error(`${where}: a second UNIT`);
        if (rest && !name.endsWith(`_${rest}`)) throw new Error(`${where}: a family with unit ${rest} must be named …_${rest}`);
        current.unit = rest;
      } else {
        if (current.help !== undefined) throw new Error(`${where}: a second HELP`);
        current.help = unescape(rest, where);
      }
      return;
    }
    if (!current) throw new Error(`${where}: a sample before any TYPE`);
    sampling = true;
    const sample = parseSample(line, where);
    if (!SUFFIXES[current.type].some((suffix) => sample.name === current!.name + suffix)) {
      throw new Error(`${where}: sample ${sample.name} is not of the family declared last (${current.name}, ${current.type})`);
    }
    if (current.type === 'counter' && !(sample.value >= 0)) throw new Error(`${where}: a counter must not be negative`);
    if (current.type === 'stateset') {
      if (!(current.name in sample.labels)) throw new Error(`${where}: a stateset sample needs a label named ${current.name}`);
      if (sample.value !== 0 && sample.value !== 1) throw new Error(`${where}: a state is 0 or 1`);
    }
    if (current.type === 'info' && sample.value !== 1) throw new Error(`${where}: an info sample is 1`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort(([a], [b]) => a.localeCompare(b)))}`;
    if (seen.has(key)) throw new Error(`${where}: the same label set twice`);
    seen.add(key);
    current.samples.push(sample);
  });
  return families;
}

function parseSample(line: string, where: string): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) throw new Error(`${where}: no metric name`);
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    while (line[at] !== '}') {
      const label = /^([^=]*)="/.exec(line.slice(at));
      if (!label || !LABEL_NAME.test(label[1])) throw new Error(`${where}: invalid label name at ${at}`);
      if (label[1] in labels) throw new Error(`${where}: label ${label[1]} twice`);
      at += label[0].length;
      let raw = '';
      while (line[at] !== '"') {
        if (at >= line.length) throw new Error(`${where}: unterminated label value`);
        if (line[at] === '\\') raw += line[at++];
        raw += line[at++];
      }
      at++;
      labels[label[1]] = unescape(raw, where);
      if (line[at] === ',') at++;
      else if (line[at] !== '}') throw new Error(`${where}: expected , or } at ${at}`);
    }
    at++;
  }
  const rest = line.slice(at);
  const value = /^ (\S+)$/.exec(rest)?.[1];
  if (value === undefined || !NUMBER.test(value)) throw new Error(`${where}: not " <number>" after the labels: ${JSON.stringify(rest)}`);
  return { name, labels, value: value.endsWith('Inf') ? (value.startsWith('-') ? -Infinity : Infinity) : Number(value) };
}

/** Label values and HELP text: escapes `\\`, `\"` and `\n` only, and no bare `"` (the ABNF's normal-char). */
function unescape(raw: string, where: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '\\') {
      if (raw[i] === '"') throw new Error(`${where}: an unescaped "`);
      out += raw[i];
      continue;
    }
    const next = raw[++i];
    if (next === 'n') out += '\n';
    else if (next === '\\' || next === '"') out += next;
    else throw new Error(`${where}: invalid escape \\${next ?? ''}`);
  }
  return out;
}

/** The value of the sample named so whose labels are exactly these; undefined when there is none. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length === Object.keys(labels).length && keys.every((key) => sample.labels[key] === labels[key])) return sample.value;
    }
  }
  return undefined;
}
