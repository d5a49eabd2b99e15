// The Message Bus: delivers by `to`, publications by `resource`, and carries
// messages for remote domains to that domain's stub, deploying it first when
// needed (seed steps 1–2 and 14–15).
import { domainOfAddress, isInDomain, isRuntimeAddress, statusResourceOf } from '../../kernel/address.ts';
import { isProtoflyError, pfError, describe, ProtoflyError, type ErrorCode } from '../../kernel/errors.ts';
import type { Plugin, Runtime } from '../../kernel/runtime.ts';
import { firstError, messageCheck, type Message } from '../../kernel/schemas.ts';
import type { Bus, Listener, Registry } from '../../kernel/services.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { errorResponse } from './error-response.ts';

interface StubRoute {
  record: StubRecord;
  deliver(messages: readonly Message[]): void;
  outbox: Message[];
  flushScheduled: boolean;
  /** The stub is down (failed, restarting, being swapped): messages wait. */
  paused: boolean;
}

export interface BusOptions {
  /** Messages that may wait for one stub (deploying, restarting) before senders get PF_ERR_QUEUE_FULL. */
  maxQueued?: number;
}

export function busPlugin(options: BusOptions = {}): Plugin {
  return {
    name: 'BusPlugin',
    apply(runtime) {
      const bus = new MessageBus(runtime, options.maxQueued ?? 1_000);
      runtime.provide('bus', bus);

      runtime.hooks.attach.tapPromise('BusPlugin', async (context) => {
        const instance = context.instance!;
        return bus.attachStub(context.stub!, (messages) => instance.deliver(messages));
      });
      runtime.hooks.stubFailed.tap('BusPlugin', (record, error, unprocessed) => {
        bus.pause(record);
        for (const message of unprocessed) bus.reject(message, error);
      });
      runtime.hooks.stopInstance.tapPromise('BusPlugin', async (record) => bus.pause(record));
      runtime.hooks.undeploy.tapPromise('BusPlugin', async (record) => bus.detachStub(record));
    },
  };
}

export class MessageBus implements Bus {
  readonly #runtime: Runtime;
  /** Replaced, never changed in place: a delivery in progress keeps the list it started with. */
  readonly #listeners = new Map<string, readonly Listener[]>();
  readonly #routes = new Map<string, StubRoute>();
  /** Messages for a domain whose stub is being deployed, in arrival order. */
  readonly #waiting = new Map<string, Message[]>();
  /** SUBSCRIBE control messages sent, by id, until their stub answers. */
  readonly #pendingControls = new Map<string, { stubURL: string; resources: string[] }>();
  readonly #confirmed = new Set<string>();
  readonly #subscribeWaiters = new Map<string, Set<() => void>>();

  readonly #maxQueued: number;
  #registry: Registry | undefined;

  constructor(runtime: Runtime, maxQueued: number) {
    this.#runtime = runtime;
    this.#maxQueued = maxQueued;
    // Stubs answer control messages to the runtime's own URL.
    this.addListener(runtime.runtimeURL, (message) => this.#onControlResponse(message));
  }

  whenSubscribed(address: string, timeoutMs = 10_000): Promise<void> {
    if (this.#confirmed.has(address)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let waiters = this.#subscribeWaiters.get(address);
      if (!waiters) this.#subscribeWaiters.set(address, waiters = new Set());
      const done = () => { clearTimeout(timer); resolve(); };
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(pfError('PF_ERR_SUBSCRIBE_TIMEOUT', [address, timeoutMs]));
      }, timeoutMs);
      waiters.add(done);
    });
  }

  #onControlResponse(message: Message): void {
    const pending = message.type === 'RESPONSE' ? this.#pendingControls.get(String(message.id)) : undefined;
    if (!pending || pending.stubURL !== message.from) return;
    this.#pendingControls.delete(String(message.id));
    const code = (message.body as { code?: unknown } | undefined)?.code;
    if (typeof code === 'number' && code >= 300) return;
    for (const address of pending.resources) {
      if (!this.#listeners.has(address)) continue;
      this.#confirmed.add(address);
      const waiters = this.#subscribeWaiters.get(address);
      this.#subscribeWaiters.delete(address);
      for (const done of waiters ?? []) done();
    }
  }

  addListener(address: string, listener: Listener): () => void {
    const current = this.#listeners.get(address);
    if (!current) {
      this.#listeners.set(address, [listener]);
      this.#controlStub(address, 'SUBSCRIBE');
    } else if (!current.includes(listener)) {
      this.#listeners.set(address, [...current, listener]);
    }
    let removed = false;
    return () => {
      const now = this.#listeners.get(address);
      if (removed || !now?.includes(listener)) return;
      removed = true;
      if (now.length > 1) {
        this.#listeners.set(address, now.filter((l) => l !== listener));
        return;
      }
      this.#listeners.delete(address);
      this.#confirmed.delete(address);
      this.#controlStub(address, 'UNSUBSCRIBE');
    };
  }

  postMessage(message: Message): void {
    if (!messageCheck.Check(message)) {
      throw pfError('PF_ERR_MESSAGE_INVALID', [firstError(messageCheck, message)]);
    }
    this.#route(message, undefined);
  }

  postFromStub(stubURL: string, raw: unknown): void {
    this.#registry ??= this.#runtime.registry;
    const record = this.#registry.byStubURL(stubURL);
    if (!record) return;
    if (!messageCheck.Check(raw)) {
      this.#reject(record, pfError('PF_ERR_MESSAGE_INVALID', [firstError(messageCheck, raw)], { stubURL, domain: record.domain.name }));
      return;
    }
    // A stub speaks for itself (its runtime URL and below) and for its
    // domain's remote addresses; anything else is spoofing.
    const own = raw.from === stubURL || (raw.from.startsWith(stubURL) && raw.from.charCodeAt(stubURL.length) === 47 /* / */);
    const ofDomain = !own && !isRuntimeAddress(raw.from) && isInDomain(raw.from, record.domain.name);
    if (!own && !ofDomain) {
      this.#reject(record, pfError('PF_ERR_SPOOFED', [raw.from, stubURL], { stubURL, domain: record.domain.name }));
      return;
    }
    if (!own && raw.resource !== undefined && raw.resource === statusResourceOf(stubURL)) {
      this.#reject(record, pfError('PF_ERR_SPOOFED', [raw.from, stubURL], { stubURL, domain: record.domain.name }));
      return;
    }
    record.counters.messagesOut++;
    this.#route(raw, record);
  }

  attachStub(record: StubRecord, deliver: (messages: readonly Message[]) => void): () => void {
    const existing = this.#routes.get(record.domain.name);
    // A restarted or updated stub keeps its route and what waits on it.
    const queued = existing?.record === record ? existing.outbox : [];
    const route: StubRoute = { record, deliver, outbox: [], flushScheduled: false, paused: false };
    this.#routes.set(record.domain.name, route);
    // The stub learns which of its domain's addresses are listened to here,
    // before anything else reaches it.
    for (const address of this.#confirmed) if (domainOfAddress(address) === record.domain.name) this.#confirmed.delete(address);
    const wanted = [...this.#listeners.keys()].filter((a) => !isRuntimeAddress(a) && domainOfAddress(a) === record.domain.name);
    if (wanted.length) this.#enqueue(route, this.#control(record, 'SUBSCRIBE', wanted));
    const waiting = this.#waiting.get(record.domain.name) ?? [];
    this.#waiting.delete(record.domain.name);
    for (const message of [...queued.filter((m) => m.to !== record.stubURL), ...waiting]) this.#enqueue(route, message);
    record.counters.queued = 0;
    return () => this.detachStub(record);
  }

  requeue(record: StubRecord, messages: readonly Message[]): void {
    const route = this.#routes.get(record.domain.name);
    if (route?.record !== record) {
      for (const message of messages) this.#undeliverable(message, pfError('PF_ERR_UNDEPLOYED', [record.domain.name]));
      return;
    }
    // Control messages are re-sent to the next instance anyway.
    route.outbox.unshift(...messages.filter((m) => m.to !== record.stubURL));
    record.counters.queued = route.outbox.length;
  }

  pause(record: StubRecord): void {
    const route = this.#routes.get(record.domain.name);
    if (route?.record === record) route.paused = true;
  }

  /** Tells a message's sender it could not be delivered. */
  reject(message: Message, error: ProtoflyError): void {
    this.#undeliverable(message, error);
  }

  detachStub(record: StubRecord): void {
    const route = this.#routes.get(record.domain.name);
    if (route?.record !== record) return;
    this.#routes.delete(record.domain.name);
    const code = record.statusBody.code;
    const reason = pfError('PF_ERR_UNDEPLOYED', [record.domain.name], { stubURL: record.stubURL, domain: record.domain.name });
    const error = record.status === 'FAILED' && typeof code === 'string' && code.startsWith('PF_ERR_')
      ? new ProtoflyError(code as ErrorCode, String(record.statusBody.reason ?? reason.message), { stubURL: record.stubURL, domain: record.domain.name })
      : reason;
    for (const message of route.outbox.splice(0)) if (message.to !== record.stubURL) this.#undeliverable(message, error);
    for (const address of this.#confirmed) {
      if (domainOfAddress(address) === record.domain.name) this.#confirmed.delete(address);
    }
    for (const [id, pending] of this.#pendingControls) {
      if (pending.stubURL === record.stubURL) this.#pendingControls.delete(id);
    }
  }

  #route(message: Message, origin: StubRecord | undefined): void {
    let delivered = this.#deliverLocal(message.to, message);
    if (message.resource && message.resource !== message.to && message.type === 'UPDATE') {
      delivered = this.#deliverLocal(message.resource, message) || delivered;
    }
    if (delivered || !message.to) return;
    const domain = isRuntimeAddress(message.to) ? undefined : domainOfAddress(message.to);
    // A stub's own domain has nowhere else to go: sending it back would loop.
    if (!domain || origin?.domain.name === domain) {
      this.#undeliverable(message, pfError('PF_ERR_NO_ROUTE', [message.to]));
      return;
    }
    const route = this.#routes.get(domain);
    if (route) {
      this.#enqueue(route, message);
      return;
    }
    this.#deployFor(domain, message);
  }

  #deliverLocal(address: string | undefined, message: Message): boolean {
    if (!address) return false;
    const listeners = this.#listeners.get(address);
    if (!listeners) return false;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](message);
      } catch (error) {
        this.#runtime.hooks.error.call(pfError('PF_ERR_LISTENER', [address, describe(error)], { cause: error }));
      }
    }
    return true;
  }

  // Seed steps 1–2: the first message for a domain deploys its stub. The
  // messages wait, in order; if the deploy fails each sender hears why.
  #deployFor(domain: string, message: Message): void {
    const waiting = this.#waiting.get(domain);
    if (waiting && waiting.length >= this.#maxQueued) {
      this.#undeliverable(message, pfError('PF_ERR_QUEUE_FULL', [domain, this.#maxQueued], { domain }));
      return;
    }
    if (waiting) {
      waiting.push(message);
      return;
    }
    this.#waiting.set(domain, [message]);
    this.#runtime.deployStub(domain).then(
      () => {
        // attachStub has taken the waiting messages; any left means the stub
        // was there already (deployed under another name), so hand them over.
        const left = this.#waiting.get(domain);
        this.#waiting.delete(domain);
        const route = this.#routes.get(domain);
        for (const m of left ?? []) {
          if (route) this.#enqueue(route, m);
          else this.#undeliverable(m, pfError('PF_ERR_NO_ROUTE', [m.to ?? domain]));
        }
      },
      (error: unknown) => {
        const failure = isProtoflyError(error) ? error : pfError('PF_ERR_NO_ROUTE', [domain], { cause: error });
        const left = this.#waiting.get(domain) ?? [];
        this.#waiting.delete(domain);
        for (const m of left) this.#undeliverable(m, failure);
      },
    );
  }

  #enqueue(route: StubRoute, message: Message): void {
    if (route.paused && route.outbox.length >= this.#maxQueued) {
      this.#undeliverable(message, pfError('PF_ERR_QUEUE_FULL', [route.record.stubURL, this.#maxQueued], { stubURL: route.record.stubURL }));
      return;
    }
    route.outbox.push(message);
    if (route.paused) {
      route.record.counters.queued = route.outbox.length;
      return;
    }
    if (route.flushScheduled) return;
    route.flushScheduled = true;
    // Batching: everything posted in one turn reaches the stub in one call.
    // A promise reaction rather than queueMicrotask, which in Node makes an
    // async resource per call: this runs once per batch on the hot path.
    settled.then(() => {
      route.flushScheduled = false;
      if (route.paused) return;
      const batch = route.outbox;
      route.outbox = [];
      if (this.#routes.get(route.record.domain.name) !== route) {
        for (const m of batch) this.#undeliverable(m, pfError('PF_ERR_UNDEPLOYED', [route.record.domain.name]));
        return;
      }
      route.record.counters.messagesIn += batch.length;
      try {
        route.deliver(batch);
      } catch (error) {
        // The sandbox's own fault, not the stub's: its senders hear of it.
        const failure = pfError('PF_ERR_PLUGIN', ['attach (deliver)', describe(error)], { stubURL: route.record.stubURL, cause: error });
        for (const m of batch) this.#undeliverable(m, failure);
      }
    });
  }

  #undeliverable(message: Message, error: ProtoflyError): void {
    this.#runtime.hooks.error.call(error);
    // Never answer an answer: two dead ends would ping-pong forever.
    if (message.type === 'RESPONSE' || !this.#listeners.has(message.from)) return;
    this.#deliverLocal(message.from, errorResponse(message, this.#runtime.runtimeURL, error));
  }

  #reject(record: StubRecord, error: ProtoflyError): void {
    record.counters.rejected++;
    this.#runtime.hooks.error.call(error);
  }

  #controlStub(address: string, type: 'SUBSCRIBE' | 'UNSUBSCRIBE'): void {
    if (isRuntimeAddress(address)) return;
    const domain = domainOfAddress(address);
    const route = domain ? this.#routes.get(domain) : undefined;
    if (route) this.#enqueue(route, this.#control(route.record, type, [address]));
  }

  #control(record: StubRecord, type: 'SUBSCRIBE' | 'UNSUBSCRIBE', resources: string[]): Message {
    const id = `ctl-${++controlSequence}`;
    if (type === 'SUBSCRIBE') this.#pendingControls.set(id, { stubURL: record.stubURL, resources });
    return { id, type, from: this.#runtime.runtimeURL, to: record.stubURL, body: { resources } };
  }
}

let controlSequence = 0;
const settled = Promise.resolve();
