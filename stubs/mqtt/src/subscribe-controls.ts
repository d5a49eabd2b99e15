// SUBSCRIBE and UNSUBSCRIBE control messages (CONTRACT.md, "Messages from
// the runtime"), applied to what is wanted in the order they came, a bounded
// number of addresses per call into the stub; the session's work timer
// brings the next call. Measured reason: applying an address took about
// 10 µs in the interpreter, and a storm hands over 64 messages of 256
// addresses at once.
import type { Log } from './log.ts';
import { fieldsOf, fieldValue, type MessageSpan, textField } from './message-scan.ts';
import { ResourceList } from './resource-list.ts';
import type { SubscribeWaiters } from './subscribe-waiters.ts';
import { MAX_TOPIC_BYTES, type Subscriptions } from './subscriptions.ts';
import { isAddress } from './topics.ts';

// Addresses applied per call: one control message's worth.
const ADDRESSES_PER_CALL = 256;

interface Pending {
  subscribe: boolean;
  id: unknown;
  from: string | null;
  list: ResourceList;
  // SUBSCRIBE: the addresses applied so far, to be confirmed.
  addresses: string[];
  skipped: number;
  firstSkipped: unknown;
  tooLong: string | null;
}

export class SubscribeControls {
  private readonly queue: Pending[] = [];

  private readonly subscriptions: Subscriptions;
  private readonly waiters: SubscribeWaiters;
  private readonly log: Log;

  constructor(subscriptions: Subscriptions, waiters: SubscribeWaiters, log: Log) {
    this.subscriptions = subscriptions;
    this.waiters = waiters;
    this.log = log;
  }

  /** Whether control messages wait to be applied. */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /** A SUBSCRIBE or UNSUBSCRIBE at `span` (of the stub's own copy of a batch); `apply` takes it in. */
  push(span: MessageSpan, subscribe: boolean): void {
    const batch = span.bytes, fields = fieldsOf(span);
    const list = ResourceList.of(batch, fields.bodyAt);
    // The runtime's ids are text; cbor-x is dear for anything else.
    const id = textField(batch, fields.idAt) ?? fieldValue(batch, fields.idAt);
    if (!list) {
      this.log(3, `skipping ${subscribe ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} ${String(id)}: body.resources must be a list of addresses`);
      return;
    }
    const from = textField(batch, fields.fromAt);
    this.queue.push({ subscribe, id, from, list, addresses: [], skipped: 0, firstSkipped: undefined, tooLong: null });
  }

  /**
   * Applies what waits, up to the per-call bound, then has the broker told.
   * What one call applies is settled together, so a listener removed and
   * added again within it changes nothing at the broker.
   */
  apply(): void {
    if (!this.queue.length) return;
    let budget = ADDRESSES_PER_CALL;
    while (this.queue.length && budget > 0) {
      const p = this.queue[0]!;
      let address: string | null | undefined;
      while (budget > 0 && (address = p.list.next()) !== undefined) {
        budget--;
        this.applyAddress(p, address);
      }
      if (address !== undefined) break;
      this.queue.shift();
      this.finish(p);
    }
    this.subscriptions.reconcile();
  }

  private applyAddress(p: Pending, address: string | null): void {
    if (address === null || !isAddress(address)) {
      if (p.skipped++ === 0) p.firstSkipped = address;
      return;
    }
    if (!this.subscriptions.fits(address)) {
      p.tooLong ??= address;
      return;
    }
    if (!p.subscribe) return this.subscriptions.unwant(address);
    this.subscriptions.want(address);
    p.addresses.push(address);
  }

  private finish(p: Pending): void {
    const what = `${p.subscribe ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} ${String(p.id)}`;
    // One line per message, however many of its addresses are wrong.
    if (p.skipped) this.log(3, `skipping ${p.skipped} resource${p.skipped > 1 ? 's' : ''} of ${what} (first ${JSON.stringify(p.firstSkipped)}): not a scheme://host/path address`);
    if (p.tooLong !== null) this.log(3, `skipping ${p.tooLong.slice(0, 80)}… of ${what}: its topic is longer than ${MAX_TOPIC_BYTES} bytes`);
    if (!p.subscribe || p.from === null) return;
    if (p.tooLong !== null) this.waiters.refuse(p.id, p.from, 413, `a topic is longer than ${MAX_TOPIC_BYTES} bytes`);
    else this.waiters.add(p.id, p.from, p.addresses, this.subscriptions.confirmedAddresses);
  }
}
