// SUBSCRIBE control messages waiting for the broker to confirm their addresses
// (CONTRACT.md: answered once the back-end confirmed). Indexed by address, so
// a SUBACK costs the addresses it confirms, however many messages wait: a storm
// of 100,000 listeners leaves hundreds waiting at once.
import type { Answers } from './answers.ts';

interface Waiter {
  id: unknown;
  to: string;
  // Its addresses not confirmed yet; answered 200 at 0.
  missing: number;
  answered: boolean;
}

export class SubscribeWaiters {
  // An address's waiters: one in the usual case, a list when several messages
  // asked for the same address before the broker confirmed it.
  private readonly byAddress = new Map<string, Waiter | Waiter[]>();
  private readonly answers: Answers;

  constructor(answers: Answers) {
    this.answers = answers;
  }

  /** A SUBSCRIBE control message for `addresses`; those in `confirmed` need no wait. */
  add(id: unknown, to: string, addresses: string[], confirmed: ReadonlySet<string>): void {
    const waiter: Waiter = { id, to, missing: 0, answered: false };
    for (const address of addresses) {
      if (confirmed.has(address)) continue;
      waiter.missing++;
      const there = this.byAddress.get(address);
      if (there === undefined) this.byAddress.set(address, waiter);
      else if (Array.isArray(there)) there.push(waiter);
      else this.byAddress.set(address, [there, waiter]);
    }
    if (waiter.missing === 0) this.answer(waiter, { code: 200 });
  }

  /** A control message that cannot be asked for as it is. */
  refuse(id: unknown, to: string, code: number, reason: string): void {
    this.answer({ id, to, missing: 0, answered: false }, { code, reason });
  }

  confirmed(address: string): void {
    this.settle(address, null);
  }

  /** The broker refused `address`: every message waiting for it is answered 403. */
  refused(address: string): void {
    this.settle(address, { code: 403, reason: `the broker refused the subscription to ${address}` });
  }

  private settle(address: string, refusal: { code: number; reason: string } | null): void {
    const there = this.byAddress.get(address);
    if (there === undefined) return;
    this.byAddress.delete(address);
    if (!Array.isArray(there)) return this.settleOne(there, refusal);
    for (const waiter of there) this.settleOne(waiter, refusal);
  }

  private settleOne(waiter: Waiter, refusal: { code: number; reason: string } | null): void {
    if (waiter.answered) return;
    if (refusal) this.answer(waiter, refusal);
    else if (--waiter.missing === 0) this.answer(waiter, { code: 200 });
  }

  private answer(waiter: Waiter, body: Record<string, unknown>): void {
    waiter.answered = true;
    this.answers.respond(waiter.id, waiter.to, body);
  }
}
