// What the runtime waits to hear back from its stubs: the answer to a
// SUBSCRIBE control message (the back-end confirmed, so messages for those
// addresses can arrive: `whenSubscribed`) and to a DELETE (the stub ended
// its back-end session, so it may be stopped). Stubs answer with a RESPONSE
// to the runtime's own URL, carrying the control message's id.
import { domainOfAddress } from '../../kernel/address.ts';
import { pfError, type ProtoflyError } from '../../kernel/errors.ts';
import type { Message } from '../../kernel/schemas.ts';

export class ControlAnswers {
  /** Whether anyone still listens on an address (a confirmation for a gone listener is no news). */
  readonly #listened: (address: string) => boolean;
  /** SUBSCRIBE control messages sent, by id, until their stub answers. */
  readonly #subscribes = new Map<string, { stubURL: string; resources: string[] }>();
  /** DELETE control messages sent, by id, until their stub answers. */
  readonly #ends = new Map<string, { stubURL: string; answered(): void }>();
  readonly #confirmed = new Set<string>();
  /** Addresses whose SUBSCRIBE the stub died on alone: not asked for again while listened to. */
  readonly #refused = new Map<string, ProtoflyError>();
  readonly #waiters = new Map<string, Set<{ resolve(): void; reject(error: ProtoflyError): void }>>();

  constructor(listened: (address: string) => boolean) {
    this.#listened = listened;
  }

  whenSubscribed(address: string, timeoutMs: number): Promise<void> {
    if (this.#confirmed.has(address)) return Promise.resolve();
    const refused = this.#refused.get(address);
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      let waiters = this.#waiters.get(address);
      if (!waiters) this.#waiters.set(address, waiters = new Set());
      const waiter = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (error: ProtoflyError) => { clearTimeout(timer); reject(error); },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(pfError('PF_ERR_SUBSCRIBE_TIMEOUT', [address, timeoutMs]));
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  /** The stub died on a SUBSCRIBE of these addresses alone: whoever waits for them hears `error`. */
  refuse(addresses: readonly string[], error: ProtoflyError): void {
    for (const address of addresses) {
      if (!this.#listened(address)) continue;
      this.#refused.set(address, error);
      const waiters = this.#waiters.get(address);
      this.#waiters.delete(address);
      for (const waiter of waiters ?? []) waiter.reject(error);
    }
  }

  isRefused(address: string): boolean {
    return this.#refused.has(address);
  }

  /** A new stub serves the domain: it is asked for every address again. */
  forgetRefused(domain: string): void {
    for (const address of this.#refused.keys()) if (domainOfAddress(address) === domain) this.#refused.delete(address);
  }

  expectSubscribe(id: string, stubURL: string, resources: string[]): void {
    this.#subscribes.set(id, { stubURL, resources });
  }

  /** The SUBSCRIBE `id` was replaced (split into pieces of its own): no answer to it is awaited. */
  forgetSubscribe(id: string): void {
    this.#subscribes.delete(id);
  }

  /** Resolves when the stub answers the DELETE `id`, or after `graceMs`. */
  async expectEnd(id: string, stubURL: string, graceMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#ends.set(id, { stubURL, answered: resolve });
      timer = setTimeout(resolve, graceMs);
    });
    clearTimeout(timer);
    this.#ends.delete(id);
  }

  /** A message to the runtime's own URL. */
  answered(message: Message): void {
    if (message.type !== 'RESPONSE') return;
    const id = String(message.id);
    const ending = this.#ends.get(id);
    if (ending?.stubURL === message.from) {
      this.#ends.delete(id);
      ending.answered();
      return;
    }
    const pending = this.#subscribes.get(id);
    if (!pending || pending.stubURL !== message.from) return;
    this.#subscribes.delete(id);
    const code = (message.body as { code?: unknown } | undefined)?.code;
    if (typeof code === 'number' && code >= 300) return;
    for (const address of pending.resources) {
      if (!this.#listened(address)) continue;
      this.#confirmed.add(address);
      const waiters = this.#waiters.get(address);
      this.#waiters.delete(address);
      for (const waiter of waiters ?? []) waiter.resolve();
    }
  }

  /** Nobody listens there any more: a later listener waits for a new confirmation. */
  unconfirm(address: string): void {
    this.#confirmed.delete(address);
    this.#refused.delete(address);
  }

  /** The domain's stub is new (or gone): what the old one confirmed no longer holds. */
  forgetDomain(domain: string): void {
    for (const address of this.#confirmed) if (domainOfAddress(address) === domain) this.#confirmed.delete(address);
  }

  /** The stub is gone: nothing more will come from it (a DELETE waiting for it ends now). */
  forgetStub(stubURL: string): void {
    for (const [id, pending] of this.#subscribes) if (pending.stubURL === stubURL) this.#subscribes.delete(id);
    for (const [id, pending] of this.#ends) {
      if (pending.stubURL !== stubURL) continue;
      this.#ends.delete(id);
      pending.answered();
    }
  }
}
