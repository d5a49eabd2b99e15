// The browser demo: two runtimes in one page, each with its own hyperty,
// each deploying the domain's stub; messages typed in one arrive in the other.
// Each pane shows its stub's counters (runtime.metrics()); the isolation
// panel shows what the runtimes refused of their stubs.
import { createRuntime, isSecurityEvent } from '/protofly/protofly.js';

const config = await (await fetch('/demo-config.json')).json();
const state = { panes: {}, cspViolations: [], hostile: { status: 'NONE', history: [] }, hostileOpen: { status: 'NONE' }, securityEvents: [] };
window.protoflyDemo = state;
document.addEventListener('securitypolicyviolation', (event) => {
  state.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
document.querySelector('#domain').textContent = config.domain;
document.querySelector('#key').textContent = config.publicKey;

function setBadge(badge, value, text = value) {
  badge.dataset.status = value;
  badge.textContent = text;
}

function timelineRow(list, event, scale) {
  const row = document.createElement('li');
  row.className = `${event.parent ? 'sub' : ''} ${event.phase === 'error' ? 'error' : ''}`;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = event.parent ? event.hook : event.hook;
  const bar = document.createElement('span');
  bar.className = 'bar';
  bar.style.width = `${Math.min(100, (event.ms / scale) * 100)}%`;
  const ms = document.createElement('span');
  ms.className = 'ms';
  ms.textContent = `${event.ms.toFixed(1)} ms`;
  row.append(name, bar, ms);
  list.append(row);
}

// A refusal the runtime made on a stub's behalf, newest first.
function logSecurityEvent(runtimeName, error) {
  state.securityEvents.push({ runtime: runtimeName, code: error.code, stubURL: error.stubURL, message: error.message });
  const item = document.createElement('li');
  item.innerHTML = '<strong></strong> <span></span><br><small></small>';
  item.querySelector('strong').textContent = error.code;
  item.querySelector('span').textContent = error.message;
  item.querySelector('small').textContent = `${runtimeName} · ${error.stubURL}`;
  document.querySelector('#security-log').prepend(item);
}

// The pane's stub, as runtime.metrics() counts it.
function showCounters(runtime, section, pane) {
  const stub = runtime.metrics().stubs.find((s) => s.domain === config.domain && s.name === 'default');
  if (!stub) return;
  const rejected = Object.values(stub.rejected).reduce((sum, n) => sum + n, 0);
  pane.counters = { messagesIn: stub.messagesIn, messagesOut: stub.messagesOut, bytesIn: stub.bytesIn, bytesOut: stub.bytesOut, queued: stub.queued, rejected };
  for (const [name, value] of Object.entries(pane.counters)) {
    section.querySelector(`[data-counter="${name}"]`).textContent = String(value);
  }
}

async function startPane(section) {
  const name = section.id;
  section.append(document.querySelector('#pane').content.cloneNode(true));
  section.querySelector('h2').textContent = name;
  const badge = section.querySelector('.badge');
  const timeline = section.querySelector('.timeline');
  const inbox = section.querySelector('.inbox');
  const me = `hyperty://${config.domain}/${name}`;
  const peer = `hyperty://${config.domain}/${section.dataset.peer}`;
  section.querySelector('.address').textContent = me;
  const pane = { status: 'NONE', steps: [], received: [], deployMs: 0 };
  state.panes[name] = pane;

  // The identity module asks the page for the domain's credentials; the
  // domain's stubs must be signed by the key the server made at start.
  const runtime = createRuntime({
    identity: { lookup: () => config.credentials },
    trust: { keys: { [config.domain]: [config.publicKey] } },
  });
  runtime.hooks.step.tap('demo', (event) => {
    if (event.phase === 'start' || event.domain !== config.domain) return;
    pane.steps.push({ hook: event.parent ? `${event.parent}:${event.hook}` : event.hook, ms: event.ms });
    timelineRow(timeline, event, 400);
  });
  runtime.hooks.error.tap('demo', (error) => {
    if (isSecurityEvent(error)) logSecurityEvent(name, error);
  });
  runtime.hooks.status.tap('demo', (stub, value) => {
    if (stub.domain.name !== config.domain || stub.name !== 'default') return;
    pane.status = value;
    setBadge(badge, value);
  });
  runtime.bus.addListener(me, (message) => {
    if (message.type !== 'CREATE') return;
    pane.received.push(message.body.text);
    const item = document.createElement('li');
    item.innerHTML = '<small></small><br>';
    item.querySelector('small').textContent = `from ${message.from.split('/').pop()}`;
    item.append(message.body.text);
    inbox.prepend(item);
  });
  section.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = event.target.elements.text;
    runtime.bus.postMessage({ id: crypto.randomUUID(), type: 'CREATE', from: me, to: peer, body: { text: input.value } });
    input.value = '';
  });

  setBadge(badge, 'DEPLOYING');
  const started = performance.now();
  try {
    const stub = await runtime.deployStub(config.origin);
    await runtime.bus.whenSubscribed(me);
    pane.deployMs = performance.now() - started;
    // Which way into the stub: the direct path, or jco's glue (and why).
    pane.path = stub.path;
    const declined = stub.path?.declined ? `: ${stub.path.declined}` : '';
    section.querySelector('.total').textContent = `deployed in ${pane.deployMs.toFixed(0)} ms, ${stub.path?.kind ?? '?'} path${declined}`;
    pane.ready = true;
    showCounters(runtime, section, pane);
    setInterval(() => showCounters(runtime, section, pane), 250);
  } catch (error) {
    pane.error = `${error.code}: ${error.message}`;
    section.querySelector('.total').textContent = pane.error;
  }
  return runtime;
}

const [alpha] = await Promise.all([...document.querySelectorAll('.pane')].map(startPane));

// Isolation: a stub that loops forever, in alpha's runtime, next to the MQTT stub.
const hostileBadge = document.querySelector('#hostile-status');
alpha.hooks.status.tap('demo-hostile', (stub, value) => {
  if (stub.domain.name !== config.hostileDomain || stub.name !== 'default') return;
  state.hostile.status = value;
  state.hostile.history.push(value);
  const reason = document.querySelector('#hostile-reason');
  if (value === 'FAILED') {
    state.hostile.code = stub.statusBody.code;
    reason.textContent = `${stub.statusBody.code}: ${stub.statusBody.reason}`;
  } else if (value === 'LIVE' && state.hostile.code) {
    // The runtime restarted it under the same URL; say what happened before.
    reason.textContent = `restarted after ${state.hostile.code}: ${reason.textContent.replace(/^[A-Z_]+: /, '')}`;
  }
  setBadge(hostileBadge, value);
});
document.querySelector('#hostile-deploy').addEventListener('click', async () => {
  setBadge(hostileBadge, 'DEPLOYING');
  await alpha.deployStub(config.hostileOrigin);
  const poker = `hyperty://${config.hostileDomain}/poker`;
  alpha.bus.postMessage({ id: 'poke', type: 'CREATE', from: poker, to: `hyperty://${config.hostileDomain}/loop`, body: { attack: true } });
});

// Isolation: a stub that asks for a connection its descriptor does not allow.
// It gets an error back (and says so); the runtime reports the refusal.
const openBadge = document.querySelector('#hostile-open-status');
document.querySelector('#hostile-open').addEventListener('click', async () => {
  setBadge(openBadge, 'DEPLOYING');
  const stub = await alpha.deployStub(config.hostileOrigin, { name: 'open' });
  setBadge(openBadge, stub.status);
  state.hostileOpen.status = stub.status;
  const poker = `hyperty://demo.page/poker-${crypto.randomUUID()}`;
  const result = document.querySelector('#hostile-open-result');
  const remove = alpha.bus.addListener(poker, (message) => {
    remove();
    state.hostileOpen.result = { opened: message.body?.opened, error: message.body?.error };
    result.textContent = message.body?.opened === false ? `the stub was told: ${message.body.error}` : 'the connection was opened: this is a bug';
  });
  alpha.bus.postMessage({ id: 'open', type: 'CREATE', from: poker, to: stub.stubURL, body: { attack: true } });
  // The refusals the runtime counted for it, as they come.
  const counter = document.querySelector('#hostile-open-count');
  setInterval(() => {
    const counted = alpha.metrics().stubs.find((s) => s.stubURL === stub.stubURL)?.rejected.PF_ERR_CONNECT_REFUSED ?? 0;
    state.hostileOpen.refusals = counted;
    counter.textContent = `refusals counted: ${counted}`;
  }, 250);
});

let frames = 0;
const heartbeat = document.querySelector('#heartbeat');
const beat = () => { frames++; heartbeat.textContent = String(frames); state.frames = frames; requestAnimationFrame(beat); };
requestAnimationFrame(beat);
state.ready = true;
