// The Message Bus: delivers by `to`, publications by `resource`, and carries
// messages for remote domains to that domain's stub (its `default` one, or
// the one named by `route`), deploying it first when needed (seed steps 1–2
// and 14–15), and messages for a stub's own URL (or an address below it) to
// that stub. It is also where the delivery promise is
// kept: a message reaches its listeners once, or its sender hears why not.
import { domainOfAddress, isInDomain, isRuntimeAddress, statusResourceOf, stubURLOf } from '../../kernel/address.ts';
import { cborLargerThan } from '../../kernel/cbor-size.ts';
import { isProtoflyError, pfError, describe, ProtoflyError, type ErrorCode } from '../../kernel/errors.ts';
import { countRejection } from '../../kernel/rejections.ts';
import type { Runtime } from '../../kernel/runtime.ts';
import { firstError, messageCheck, type Message } from '../../kernel/schemas.ts';
import type { Bus, Listener, Registry } from '../../kernel/services.ts';
import type { StubInstance, StubRecord } from '../../kernel/types.ts';
import { ControlAnswers } from './control-answers.ts';
import { errorResponse } from './error-response.ts';
import { OnceWindow, type OnceWindowOptions } from './once-window.ts';

interface StubRoute {
  record: StubRecord;
  deliver(messages: readonly Message[], done?: () => void): void;
  hasConnections(): boolean;
  outbox: Message[];
  /**
   * Messages that were in a call the stub died in. Each goes to the restarted
   * stub alone, the next only once it returned: the one that kills it again
   * is the poison; the others were collateral and are delivered.
   */
  suspects: Message[];
  /** `suspects[0]` is with the stub, alone, and it has not returned yet. */
  probing: boolean;
  /**
   * The last messages handed to the stub (up to `replayTail`, oldest first).
   * A stub that returned from a call may still hold what it was given (its
   * own queue, a publication not yet confirmed); if it dies these are in
   * doubt and are handed to the next instance again: receivers drop repeats.
   */
  recent: Message[];
  flushScheduled: boolean;
  /** The stub is down (failed, restarting, being swapped): messages wait. */
  paused: boolean;
  /** The stub said DISCONNECTED after it was LIVE: messages wait for its next LIVE. */
  disconnected: boolean;
  /** Disconnected for longer than the bus waits: messages are answered with this at once. */
  unreachable?: ProtoflyError;
  unreachableTimer?: ReturnType<typeof setTimeout>;
}

export interface BusOptions {
  /** Messages that may wait for one stub (deploying, restarting, disconnected) before senders get PF_ERR_QUEUE_FULL. Default 1,000. */
  maxQueued?: number;
  /**
   * How long messages wait for a stub that went DISCONNECTED after LIVE before
   * they are answered with PF_ERR_BACKEND_UNREACHABLE (and later ones at once,
   * until it is LIVE again). Default 30 s.
   */
  disconnectedMs?: number;
  /**
   * The once-only window: repeats of a `(from, id)` delivered recently are
   * dropped. `false` turns it off (it costs a lookup per message carried in
   * by a stub): for back-ends and senders that never repeat.
   */
  onceWindow?: OnceWindowOptions | false;
  /** How long an undeploy waits for the stub to end its back-end session (the DELETE control message). Default 3 s: a clean-session login is a new connection (and TLS handshake). */
  undeployGraceMs?: number;
  /** How many of the last messages handed to a stub are handed again to its next instance when it dies. Default 256. */
  replayTail?: number;
  /**
   * The largest message (its CBOR) the bus carries to a stub; a larger one is
   * refused with PF_ERR_TOO_LARGE (a RESPONSE with code 413 to its sender).
   * Default 1 MiB. Delivery to local listeners is not bounded.
   */
  maxMessageBytes?: number;
}

export class MessageBus implements Bus {
  readonly #runtime: Runtime;
  /** Replaced, never changed in place: a delivery in progress keeps the list it started with. */
  readonly #listeners = new Map<string, readonly Listener[]>();
  /** By stub URL: every attached stub, whichever of its domain's names it runs. */
  readonly #routes = new Map<string, StubRoute>();
  /** The stub name that carries a domain's remote addresses, where it is not `default`. */
  readonly #routedNames = new Map<string, string>();
  /** Messages for a domain whose stub is being deployed, in arrival order. */
  readonly #waiting = new Map<string, Message[]>();
  /** Messages for a stub's own URL (or below) sent while it was registered and not yet attached, by stub URL. */
  readonly #waitingForStub = new Map<string, Message[]>();
  /**
   * The control messages this bus made (SUBSCRIBE, UNSUBSCRIBE, DELETE). Only
   * these are the runtime's own business: never refused, never answered, sent
   * anew to a restarted stub. Anything else addressed to a stub's URL — an
   * application's READ, say — is a message like any other.
   */
  readonly #controls = new WeakSet<Message>();
  readonly #answers = new ControlAnswers((address) => this.#listeners.has(address));
  readonly #once: OnceWindow | undefined;

  readonly #maxQueued: number;
  readonly #disconnectedMs: number;
  readonly #undeployGraceMs: number;
  readonly #replayTail: number;
  readonly #maxMessageBytes: number;
  #registry: Registry | undefined;

  constructor(runtime: Runtime, options: BusOptions = {}) {
    this.#runtime = runtime;
    this.#maxQueued = options.maxQueued ?? 1_000;
    this.#disconnectedMs = options.disconnectedMs ?? 30_000;
    this.#undeployGraceMs = options.undeployGraceMs ?? 3_000;
    this.#replayTail = Math.max(0, options.replayTail ?? 256);
    this.#maxMessageBytes = options.maxMessageBytes ?? 1_048_576;
    this.#once = options.onceWindow === false ? undefined : new OnceWindow(options.onceWindow);
    // Stubs answer control messages to the runtime's own URL.
    this.addListener(runtime.runtimeURL, (message) => this.#answers.answered(message));
  }

  whenSubscribed(address: string, timeoutMs = 10_000): Promise<void> {
    return this.#answers.whenSubscribed(address, timeoutMs);
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
      this.#answers.unconfirm(address);
      this.#controlStub(address, 'UNSUBSCRIBE');
    };
  }

  routeOf(domain: string): string {
    return this.#routedNames.get(domain) ?? 'default';
  }

  // The addresses listened to here move with the route: the stub that
  // carried them is asked to let go, the new one to take them (if it runs;
  // otherwise it learns them when it attaches). Messages already handed to
  // the old stub stay with it.
  route(domain: string, name: string): void {
    const before = this.#domainRoute(domain);
    if (name === 'default') this.#routedNames.delete(domain);
    else this.#routedNames.set(domain, name);
    const after = this.#domainRoute(domain);
    if (before === after) return;
    const addresses = this.#listenedIn(domain);
    if (before) this.#controlPieces(before, 'UNSUBSCRIBE', addresses);
    // What the old stub confirmed is not the new one's to keep.
    this.#answers.forgetDomain(domain);
    this.#answers.forgetRefused(domain);
    if (after) this.#controlPieces(after, 'SUBSCRIBE', addresses);
  }

  postMessage(message: Message): void {
    if (!messageCheck.Check(message)) {
      throw pfError('PF_ERR_MESSAGE_INVALID', [firstError(messageCheck, message)]);
    }
    this.#route(message, undefined);
  }

  postFromStub(stubURL: string, messages: readonly unknown[]): void {
    this.#registry ??= this.#runtime.registry;
    // One clock read per batch, not per message: the window ages in minutes.
    const now = this.#once && Date.now();
    for (let i = 0; i < messages.length; i++) {
      // Looked up per message: a listener may undeploy the stub mid-batch.
      const record = this.#registry.byStubURL(stubURL);
      if (!record) return;
      this.#fromStub(record, messages[i], now || 0);
    }
  }

  #fromStub(record: StubRecord, raw: unknown, now: number): void {
    const stubURL = record.stubURL;
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
    // Once, not twice: what crossed the back-end may cross it again (QoS 1,
    // a replay after a reconnect or a crash). So may the stub's own answer to
    // a message replayed into its next instance. Its other messages (status)
    // are not repeats of anything: a new instance counts its ids afresh.
    // An answer is known by whom it answers too: ids are chosen by each requester.
    const response = raw.type === 'RESPONSE';
    if ((ofDomain || response) && this.#once?.repeat(raw.from, raw.id, response ? raw.to ?? '' : '', now)) {
      record.counters.duplicates++;
      return;
    }
    record.counters.messagesOut++;
    this.#route(raw, record);
  }

  attachStub(record: StubRecord, instance: StubInstance): () => void {
    // Undeployed while it was being restarted: no route for nobody.
    this.#registry ??= this.#runtime.registry;
    if (this.#registry.byStubURL(record.stubURL) !== record) {
      throw pfError('PF_ERR_UNDEPLOYED', [record.domain.name], { domain: record.domain.name, stubURL: record.stubURL });
    }
    const existing = this.#routes.get(record.stubURL);
    // A restarted or updated stub keeps its route and what waits on it,
    // suspects first.
    const same = existing?.record === record ? existing : undefined;
    if (same) clearTimeout(same.unreachableTimer);
    const queued = same?.outbox ?? [];
    const route: StubRoute = {
      record,
      deliver: (messages, done) => instance.deliver(messages, done),
      hasConnections: () => instance.hasConnections?.() ?? false,
      outbox: [],
      suspects: same?.suspects ?? [],
      probing: false,
      recent: [],
      flushScheduled: false,
      paused: false,
      disconnected: false,
    };
    this.#routes.set(record.stubURL, route);
    // The stub that carries its domain's addresses learns which of them are
    // listened to here, before anything else reaches it: all but those it
    // died on (refused) or may have (suspects, replayed one piece per call).
    // Another of the domain's stubs hears only what is sent to its own URL.
    const carries = this.#carriesDomain(record);
    let waiting: Message[] = [];
    if (carries) {
      this.#answers.forgetDomain(record.domain.name);
      if (!same) this.#answers.forgetRefused(record.domain.name);
      const probing = new Set(route.suspects.filter((m) => this.#isOwnSubscribe(record, m)).flatMap(resourcesOf));
      const wanted = this.#listenedIn(record.domain.name).filter((a) => !probing.has(a) && !this.#answers.isRefused(a));
      this.#controlPieces(route, 'SUBSCRIBE', wanted);
      waiting = this.#waiting.get(record.domain.name) ?? [];
      this.#waiting.delete(record.domain.name);
    }
    const forStub = this.#waitingForStub.get(record.stubURL) ?? [];
    this.#waitingForStub.delete(record.stubURL);
    for (const message of [...queued.filter((m) => !this.#controls.has(m)), ...waiting, ...forStub]) this.#enqueue(route, message);
    // What was handed over is on its way; only suspects still wait.
    record.counters.queued = route.suspects.length;
    if (route.suspects.length) this.#schedule(route);
    return () => this.detachStub(record);
  }

  /**
   * A running stub died. What it held is not thrown away: a neighbour's fault
   * (`PF_ERR_WORKER_LOST`) hands everything back to be delivered again; the
   * stub's own fault makes the messages of the call it died in suspects,
   * replayed one by one once it is back. A suspect it dies on alone is the
   * poison: its sender is answered with the fault, and it is not retried.
   * The fault itself is reported once, where the runtime speaks for the dead
   * stub (lifecycle: FAILED and an error event): here senders are answered.
   */
  stubFailed(record: StubRecord, error: ProtoflyError, unprocessed: readonly Message[], suspects: number): void {
    const route = this.#routes.get(record.stubURL);
    const app = (message: Message) => !this.#controls.has(message);
    if (route?.record !== record) {
      for (const message of unprocessed) if (app(message)) this.#answerSender(message, error);
      return;
    }
    route.paused = true;
    const probe = route.probing ? route.suspects[0] : undefined;
    route.probing = false;
    // A call that held one message and nothing else died on that message:
    // it is the poison. A call that held more makes each a suspect. The
    // runtime's own SUBSCRIBE pieces are suspects too: a stub that dies on
    // one address at every start would otherwise be given up for the
    // runtime's doing, not its own.
    const held = error.code === 'PF_ERR_WORKER_LOST' ? 0 : suspects;
    const blamed = unprocessed.slice(0, held).filter((m) => app(m) || this.#isOwnSubscribe(record, m));
    const spared = unprocessed.slice(held).filter((m) => app(m) && m !== probe);
    let poison: Message | undefined;
    if (held === 1 && blamed.length === 1 && !this.#isOwnSubscribe(record, blamed[0])) {
      poison = blamed[0];
      if (poison === probe) route.suspects.shift();
      record.counters.poisoned++;
      this.#answerSender(poison, error);
    } else if (held === 1 && blamed.length === 1 && resourcesOf(blamed[0]).length === 1) {
      // One address alone killed it: not asked for again while it is
      // listened to; whoever waits for it hears why, and the stub goes on.
      poison = blamed[0];
      if (poison === probe) route.suspects.shift();
      record.counters.poisoned++;
      this.#answers.refuse(resourcesOf(poison), error);
    } else {
      // A suspect SUBSCRIBE is replayed one address per call, so the one
      // that kills the stub is found at its next death, not its piece's.
      const splitProbe = probe !== undefined && blamed.includes(probe) && this.#isOwnSubscribe(record, probe);
      if (splitProbe) route.suspects.shift();
      route.suspects.unshift(...blamed.filter((m) => m !== probe || splitProbe)
        .flatMap((m) => (this.#isOwnSubscribe(record, m) ? this.#perAddress(record, m) : [m])));
      record.counters.redelivered += blamed.length;
    }
    // What it had returned from may still have been in its hands: in doubt,
    // handed again (before what it never saw, in the order first given).
    const handedBack = new Set(unprocessed);
    const inDoubt = route.recent.filter((m) => !handedBack.has(m) && m !== poison && m !== probe);
    route.recent = [];
    // Control messages are sent to the next instance anyway (attachStub).
    route.outbox.unshift(...inDoubt, ...spared);
    record.counters.redelivered += inDoubt.length + spared.length;
    this.#countQueued(route);
  }

  /**
   * Follows what a stub says after it was LIVE: DISCONNECTED holds its
   * messages on the bus (bounded, in order) until it is LIVE again, or
   * answers them with PF_ERR_BACKEND_UNREACHABLE after `disconnectedMs`.
   */
  followStatus(record: StubRecord, value: string): void {
    const route = this.#routes.get(record.stubURL);
    if (route?.record !== record) return;
    if (value === 'LIVE') {
      clearTimeout(route.unreachableTimer);
      route.unreachableTimer = undefined;
      route.unreachable = undefined;
      if (route.disconnected) {
        route.disconnected = false;
        this.#schedule(route);
      }
      return;
    }
    if (value !== 'DISCONNECTED' || !record.deploySteps || route.disconnected) return;
    route.disconnected = true;
    const reason = String(record.statusBody.reason ?? 'DISCONNECTED');
    route.unreachableTimer = setTimeout(() => {
      route.unreachableTimer = undefined;
      if (!route.disconnected || this.#routes.get(record.stubURL) !== route) return;
      route.unreachable = pfError('PF_ERR_BACKEND_UNREACHABLE',
        [`${reason} (DISCONNECTED for more than ${this.#disconnectedMs} ms)`], { stubURL: record.stubURL, domain: record.domain.name });
      // Control messages stay: the stub needs them once it is back.
      route.outbox = this.#answerWaiting(route, route.unreachable);
      this.#countQueued(route);
    }, this.#disconnectedMs);
    (route.unreachableTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Before a stub goes for good: asks it to end its back-end session (the
   * DELETE control message, see stubs/CONTRACT.md) and waits, a bounded time,
   * for its answer. Only a running stub with an open connection is asked.
   */
  async endSession(record: StubRecord, reason: string): Promise<void> {
    const route = this.#routes.get(record.stubURL);
    if (route?.record !== record || route.paused || !route.hasConnections()) return;
    const id = `ctl-${++controlSequence}`;
    const answered = this.#answers.expectEnd(id, record.stubURL, this.#undeployGraceMs);
    // Straight to the stub, after what it was already handed: what waits on
    // the bus is answered by the undeploy.
    const end: Message = { id, type: 'DELETE', from: this.#runtime.runtimeURL, to: record.stubURL, body: { reason } };
    this.#controls.add(end);
    this.#hand(route, [end]);
    await answered;
  }

  requeue(record: StubRecord, messages: readonly Message[]): void {
    const route = this.#routes.get(record.stubURL);
    if (route?.record !== record) {
      for (const message of messages) this.#undeliverable(message, pfError('PF_ERR_UNDEPLOYED', [record.domain.name]));
      return;
    }
    // Control messages are re-sent to the next instance anyway.
    const again = messages.filter((m) => !this.#controls.has(m));
    route.outbox.unshift(...again);
    record.counters.redelivered += again.length;
    this.#countQueued(route);
  }

  pause(record: StubRecord): void {
    const route = this.#routes.get(record.stubURL);
    if (route?.record === record) {
      route.paused = true;
      route.probing = false;
    }
  }

  detachStub(record: StubRecord): void {
    const route = this.#routes.get(record.stubURL);
    const forStub = this.#waitingForStub.get(record.stubURL);
    if (route?.record !== record && !forStub) return;
    const code = record.statusBody.code;
    const reason = pfError('PF_ERR_UNDEPLOYED', [record.domain.name], { stubURL: record.stubURL, domain: record.domain.name });
    const error = record.status === 'FAILED' && typeof code === 'string' && code.startsWith('PF_ERR_')
      ? new ProtoflyError(code as ErrorCode, String(record.statusBody.reason ?? reason.message), { stubURL: record.stubURL, domain: record.domain.name })
      : reason;
    // Its deploy failed before it was attached: who wrote to it hears why.
    this.#waitingForStub.delete(record.stubURL);
    for (const message of forStub ?? []) this.#undeliverable(message, error);
    if (route?.record !== record) return;
    this.#routes.delete(record.stubURL);
    clearTimeout(route.unreachableTimer);
    this.#answerWaiting(route, error);
    if (this.#carriesDomain(record)) this.#answers.forgetDomain(record.domain.name);
    this.#answers.forgetStub(record.stubURL);
  }

  #route(message: Message, origin: StubRecord | undefined): void {
    let delivered = this.#deliverLocal(message.to, message);
    if (message.resource && message.resource !== message.to && message.type === 'UPDATE') {
      delivered = this.#deliverLocal(message.resource, message) || delivered;
    }
    if (delivered || !message.to) return;
    if (isRuntimeAddress(message.to)) {
      this.#routeToStub(message, origin);
      return;
    }
    const domain = domainOfAddress(message.to);
    // A stub's own domain has nowhere else to go: sending it back would loop.
    if (!domain || origin?.domain.name === domain) {
      this.#undeliverable(message, pfError('PF_ERR_NO_ROUTE', [message.to]));
      return;
    }
    if (this.#tooLarge(message, origin, { domain })) return;
    const route = this.#domainRoute(domain);
    if (route) {
      this.#enqueue(route, message);
      return;
    }
    this.#deployFor(domain, message);
  }

  // Seed steps 14–15: a stub's URL, and every address below it nobody here
  // listens on, reach that stub through its queue. Its status resource is
  // listened on by the registry, so a status never comes back to the stub.
  #routeToStub(message: Message, origin: StubRecord | undefined): void {
    const to = message.to!;
    const stubURL = stubURLOf(to);
    this.#registry ??= this.#runtime.registry;
    const record = stubURL === undefined ? undefined : this.#registry.byStubURL(stubURL);
    // What a stub sends to its own addresses would come straight back to it.
    if (!record || record === origin) {
      this.#undeliverable(message, pfError('PF_ERR_NO_ROUTE', [to]));
      return;
    }
    if (this.#tooLarge(message, origin, { stubURL: record.stubURL, domain: record.domain.name })) return;
    const route = this.#routes.get(record.stubURL);
    if (route?.record === record) {
      this.#enqueue(route, message);
      return;
    }
    // Registered, not attached yet (still deploying): it waits, bounded, for attachStub.
    const waiting = this.#waitingForStub.get(record.stubURL);
    if (waiting && waiting.length >= this.#maxQueued) {
      this.#undeliverable(message, pfError('PF_ERR_QUEUE_FULL', [record.stubURL, this.#maxQueued], { stubURL: record.stubURL }));
      return;
    }
    if (waiting) waiting.push(message);
    else this.#waitingForStub.set(record.stubURL, [message]);
  }

  /**
   * A stub never gets more than it can hold: refused here, before it is
   * queued, encoded or copied anywhere. Sent by a stub, it is that stub's
   * security event (its URL on the error, its counter); sent by an
   * application, the error names the stub it was for (`where`).
   */
  #tooLarge(message: Message, origin: StubRecord | undefined, where: { domain: string; stubURL?: string }): boolean {
    if (this.#maxMessageBytes === Infinity || !cborLargerThan(message, this.#maxMessageBytes)) return false;
    const error = pfError('PF_ERR_TOO_LARGE', [`message ${String(message.id)} to ${message.to}`, this.#maxMessageBytes],
      origin ? { stubURL: origin.stubURL, domain: origin.domain.name } : where);
    if (origin) countRejection(origin, error.code);
    this.#undeliverable(message, error);
    return true;
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
    const name = this.routeOf(domain);
    this.#runtime.deployStub(domain, { name }).then(
      () => {
        // attachStub has taken the waiting messages; any left means the stub
        // was there already, so hand them over — or, routed to another of
        // the domain's stubs meanwhile, route them again.
        const left = this.#waiting.get(domain);
        this.#waiting.delete(domain);
        const route = this.#domainRoute(domain);
        const rerouted = !route && this.routeOf(domain) !== name;
        for (const m of left ?? []) {
          if (route) this.#enqueue(route, m);
          else if (rerouted) this.#route(m, undefined);
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
    const control = this.#controls.has(message);
    // Control messages are few (one per address listened to) and the stub
    // needs every one: they are never refused.
    if (!control && route.unreachable) {
      this.#undeliverable(message, route.unreachable);
      return;
    }
    const held = route.paused || route.disconnected || route.suspects.length > 0;
    if (!control && held && route.outbox.length + route.suspects.length >= this.#maxQueued) {
      this.#undeliverable(message, pfError('PF_ERR_QUEUE_FULL', [route.record.stubURL, this.#maxQueued], { stubURL: route.record.stubURL }));
      return;
    }
    route.outbox.push(message);
    if (route.paused || route.disconnected) {
      this.#countQueued(route);
      return;
    }
    this.#schedule(route);
  }

  #schedule(route: StubRoute): void {
    if (route.flushScheduled) return;
    route.flushScheduled = true;
    // Batching: everything posted in one turn reaches the stub in one call.
    // A promise reaction rather than queueMicrotask, which in Node makes an
    // async resource per call: this runs once per batch on the hot path.
    settled.then(() => this.#flush(route));
  }

  #flush(route: StubRoute): void {
    route.flushScheduled = false;
    if (route.paused || route.disconnected) return;
    if (this.#routes.get(route.record.stubURL) !== route) {
      this.#answerWaiting(route, pfError('PF_ERR_UNDEPLOYED', [route.record.domain.name]));
      return;
    }
    if (!route.suspects.length) {
      const batch = route.outbox;
      route.outbox = [];
      if (batch.length) this.#hand(route, batch);
      return;
    }
    // Replaying suspects. The stub hears its subscriptions first, as after
    // any start; then one suspect per call, the next once it has returned.
    if (route.outbox.some((m) => this.#controls.has(m))) {
      const controls = route.outbox.filter((m) => this.#controls.has(m));
      route.outbox = route.outbox.filter((m) => !this.#controls.has(m));
      this.#hand(route, controls);
      if (route.paused) return;
    }
    if (route.probing) return;
    const probe = route.suspects[0];
    route.probing = true;
    this.#hand(route, [probe], () => {
      if (!route.probing || route.suspects[0] !== probe) return;
      route.suspects.shift();
      route.probing = false;
      this.#countQueued(route);
      if (route.suspects.length || route.outbox.length) this.#schedule(route);
    });
  }

  #hand(route: StubRoute, batch: readonly Message[], done?: () => void): void {
    route.record.counters.messagesIn += batch.length;
    if (this.#replayTail) {
      for (let i = 0; i < batch.length; i++) if (!this.#controls.has(batch[i])) route.recent.push(batch[i]);
      // Trimmed in steps, not per message: amortised O(1).
      if (route.recent.length > 2 * this.#replayTail) route.recent = route.recent.slice(-this.#replayTail);
    }
    try {
      route.deliver(batch, done);
    } catch (error) {
      // The sandbox's own fault, not the stub's: its senders hear of it.
      const failure = pfError('PF_ERR_PLUGIN', ['attach (deliver)', describe(error)], { stubURL: route.record.stubURL, cause: error });
      for (const m of batch) this.#undeliverable(m, failure);
    }
  }

  /**
   * Answers every message waiting on a route (suspects, then the outbox) with
   * `error`; returns the control messages among them (they have no sender
   * to answer), in order.
   */
  #answerWaiting(route: StubRoute, error: ProtoflyError): Message[] {
    const controls: Message[] = [];
    for (const message of [...route.suspects.splice(0), ...route.outbox.splice(0)]) {
      if (this.#controls.has(message)) controls.push(message);
      else this.#undeliverable(message, error);
    }
    return controls;
  }

  /** What waits for the stub, as its record shows it. */
  #countQueued(route: StubRoute): void {
    route.record.counters.queued = route.outbox.length + route.suspects.length;
  }

  #undeliverable(message: Message, error: ProtoflyError): void {
    this.#runtime.hooks.error.call(error);
    this.#answerSender(message, error);
  }

  /** Tells the sender of `message` why it was not delivered (a RESPONSE with the error), if it listens here. */
  #answerSender(message: Message, error: ProtoflyError): void {
    // Never answer an answer: two dead ends would ping-pong forever.
    if (message.type === 'RESPONSE' || !this.#listeners.has(message.from)) return;
    this.#deliverLocal(message.from, errorResponse(message, this.#runtime.runtimeURL, error));
  }

  #reject(record: StubRecord, error: ProtoflyError): void {
    countRejection(record, error.code);
    this.#runtime.hooks.error.call(error);
  }

  /** The attached stub that carries the domain's remote addresses, if any. */
  #domainRoute(domain: string): StubRoute | undefined {
    this.#registry ??= this.#runtime.registry;
    const record = this.#registry.get(domain, this.routeOf(domain));
    const route = record && this.#routes.get(record.stubURL);
    return route?.record === record ? route : undefined;
  }

  #carriesDomain(record: StubRecord): boolean {
    return this.routeOf(record.domain.name) === record.name;
  }

  /** The remote addresses of `domain` listened to here. */
  #listenedIn(domain: string): string[] {
    return [...this.#listeners.keys()].filter((a) => !isRuntimeAddress(a) && domainOfAddress(a) === domain);
  }

  /** Control messages for `addresses`, in bounded pieces: a stub's call never has to take thousands at once (each piece is confirmed on its own). */
  #controlPieces(route: StubRoute, type: 'SUBSCRIBE' | 'UNSUBSCRIBE', addresses: readonly string[]): void {
    for (let from = 0; from < addresses.length; from += MAX_ADDRESSES_PER_CONTROL) {
      this.#enqueue(route, this.#control(route.record, type, addresses.slice(from, from + MAX_ADDRESSES_PER_CONTROL)));
    }
  }

  /** A SUBSCRIBE piece as one-address SUBSCRIBEs, each confirmed on its own. */
  #perAddress(record: StubRecord, piece: Message): Message[] {
    const addresses = resourcesOf(piece);
    if (addresses.length <= 1) return [piece];
    this.#answers.forgetSubscribe(String(piece.id));
    return addresses.map((address) => this.#control(record, 'SUBSCRIBE', [address]));
  }

  /** A SUBSCRIBE control message this runtime sent to the stub. */
  #isOwnSubscribe(record: StubRecord, message: Message): boolean {
    return message.type === 'SUBSCRIBE' && message.to === record.stubURL && this.#controls.has(message);
  }

  #controlStub(address: string, type: 'SUBSCRIBE' | 'UNSUBSCRIBE'): void {
    if (isRuntimeAddress(address)) return;
    const domain = domainOfAddress(address);
    const route = domain ? this.#domainRoute(domain) : undefined;
    if (!route) return;
    // Listeners added (or removed) in one turn travel together: the last
    // control message still waiting in the outbox takes the address if it
    // is of the same kind and has room, so 100,000 addListener calls make a
    // few hundred control messages, in the order they were asked for.
    const last = route.outbox[route.outbox.length - 1];
    const resources = last && last.type === type && this.#controls.has(last)
      ? (last.body as { resources?: unknown } | undefined)?.resources : undefined;
    if (Array.isArray(resources) && resources.length < MAX_ADDRESSES_PER_CONTROL) {
      // The same array the answer bookkeeping holds for a SUBSCRIBE.
      resources.push(address);
      return;
    }
    this.#enqueue(route, this.#control(route.record, type, [address]));
  }

  #control(record: StubRecord, type: 'SUBSCRIBE' | 'UNSUBSCRIBE', resources: string[]): Message {
    const id = `ctl-${++controlSequence}`;
    if (type === 'SUBSCRIBE') this.#answers.expectSubscribe(id, record.stubURL, resources);
    const control: Message = { id, type, from: this.#runtime.runtimeURL, to: record.stubURL, body: { resources } };
    this.#controls.add(control);
    return control;
  }
}

let controlSequence = 0;
const resourcesOf = (message: Message): string[] => {
  const resources = (message.body as { resources?: unknown } | undefined)?.resources;
  return Array.isArray(resources) ? resources.filter((r): r is string => typeof r === 'string') : [];
};
/** Addresses in one SUBSCRIBE control message at most (stubs/CONTRACT.md). */
export const MAX_ADDRESSES_PER_CONTROL = 256;
const settled = Promise.resolve();
