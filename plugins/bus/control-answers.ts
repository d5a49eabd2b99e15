// What the runtime waits to hear back from its stubs: the answer to a
// SUBSCRIBE control message (the back-end confirmed, so messages for those
// addresses can arrive: `whenSubscribed`) and to a DELETE (the stub ended
// its back-end session, so it may be stopped). Stubs answer with a RESPONSE
// to the runtime's own URL, carrying the control message's id.
import { domainOfAddress } from '../../kernel/address.ts';
import { pfError } from '../../kernel/errors.ts';
import type { Message } from '../../kernel/schemas.ts';

export class ControlAnswers {
  /** Whether anyone still listens on an address (a confirmation for a gone listener is no news). */
  readonly #listened: (address: string) => boolean;
  /** SUBSCRIBE control messages sent, by id, until their stub answers. */
  readonly #subscribes = new Map<string, { stubURL: string; resources: string[] }>();
  /** DELETE control messages sent, by id, until their stub answers. */
  readonly #ends = new Map<string, { stubURL: string; answered(): void }>();
  readonly #confirmed = new Set<string>();
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(listened: (address: string) => boolean) {
    this.#listened = listened;
  }

  whenSubscribed(address: string, timeoutMs: number): Promise<void> {
    if (this.#confirmed.has(address)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let waiters = this.#waiters.get(address);
      if (!waiters) this.#waiters.set(address, waiters = new Set());
      const done = () => { clearTimeout(timer); resolve(); };
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(pfError('PF_ERR_SUBSCRIBE_TIMEOUT', [address, timeoutMs]));
      }, timeoutMs);
      waiters.add(done);
    });
  }

  expectSubscribe(id: string, stubURL: string, resources: string[]): void {
    this.#subscribes.set(id, { stubURL, resources });
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
      for (const done of waiters ?? []) done();
    }
  }

  /** Nobody listens there any more: a later listener waits for a new confirmation. */
  unconfirm(address: string): void {
    this.#confirmed.delete(address);
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
