// What local listeners want from the broker (applied from SUBSCRIBE /
// UNSUBSCRIBE control messages by subscribe-controls.ts) against what the
// broker has been asked for, and its acks (CONTRACT.md, "Messages from the
// runtime"). Sized for 100,000 addresses on one domain: the difference
// between wanted and asked-for is kept as either changes, never recomputed
// from everything wanted, and goes to the broker in bounded packets.
// Everything is kept by address (one per topic, topics.ts): a topic is
// built only when its packet is.
import type { Connection } from './connection.ts';
import type { Log } from './log.ts';
import type { PacketIds } from './packet-ids.ts';
import { encodeSubscribe, encodeUnsubscribe } from './packets.ts';
import type { SubscribeWaiters } from './subscribe-waiters.ts';
import { topicAfterPrefix } from './topics.ts';

// Per SUBSCRIBE or UNSUBSCRIBE packet (CONTRACT.md: back-end requests are bounded).
const TOPICS_PER_PACKET = 256;
const PACKET_BYTES = 64 * 1024;
// The fixed header of a packet under 2 MiB (type and up to 3 length bytes)
// and the packet id.
const PACKET_OVERHEAD = 4 + 2;
// A topic's entry besides its bytes: its 16-bit length and, in SUBSCRIBE, the QoS.
const SUBSCRIBE_ENTRY = 2 + 1;
const UNSUBSCRIBE_ENTRY = 2;
/** The longest topic, so that any one fits in a packet on its own. */
export const MAX_TOPIC_BYTES = PACKET_BYTES - PACKET_OVERHEAD - SUBSCRIBE_ENTRY;

const utf8 = new TextEncoder();

export class Subscriptions {
  // Addresses local listeners want from the broker.
  private readonly wanted = new Set<string>();
  // Addresses the broker has been asked for on this connection (subscribed
  // minus unsubscribed, acked or not).
  private readonly requested = new Set<string>();
  // Addresses the broker has confirmed on this connection.
  private readonly confirmed = new Set<string>();
  // Addresses a session the broker kept may still hold: asked for on any
  // connection and not confirmed unsubscribed since.
  private readonly kept = new Set<string>();
  // wanted minus requested, and requested minus wanted: what is still to be
  // asked for, so an ack costs the next packet's addresses, not a scan of all.
  private toSubscribe = new Set<string>();
  private readonly toUnsubscribe = new Set<string>();
  // The SUBSCRIBE or UNSUBSCRIBE in flight, until its ack. One at a time: a
  // broker may handle packets that arrive together concurrently (aedes
  // does), and an UNSUBSCRIBE racing a SUBSCRIBE of the same topic can
  // leave it unsubscribed, every later message lost.
  private changing: { id: number; subscribe: boolean; addresses: string[] } | null = null;

  private readonly prefix: Uint8Array;
  private readonly connection: Connection;
  private readonly ids: PacketIds;
  private readonly waiters: SubscribeWaiters;
  private readonly log: Log;

  constructor(topicPrefix: string, connection: Connection, ids: PacketIds, waiters: SubscribeWaiters, log: Log) {
    this.prefix = utf8.encode(topicPrefix);
    this.connection = connection;
    this.ids = ids;
    this.waiters = waiters;
    this.log = log;
  }

  /** Addresses the broker confirmed on this connection. */
  get confirmedAddresses(): ReadonlySet<string> {
    return this.confirmed;
  }

  /** Whether the topic of `address` fits in a packet (checked before want()). */
  fits(address: string): boolean {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long one is measured.
    if ((this.prefix.length + address.length) * 3 <= MAX_TOPIC_BYTES) return true;
    return this.prefix.length + utf8.encode(topicAfterPrefix(address) ?? '').length <= MAX_TOPIC_BYTES;
  }

  /** `address`, a scheme://host/path address that fits(). */
  want(address: string): void {
    this.wanted.add(address);
    this.toUnsubscribe.delete(address);
    if (!this.requested.has(address)) this.toSubscribe.add(address);
  }

  unwant(address: string): void {
    this.wanted.delete(address);
    this.toSubscribe.delete(address);
    if (this.requested.has(address)) this.toUnsubscribe.add(address);
  }

  /**
   * A new connection: with a session the broker kept, addresses no longer
   * wanted are unsubscribed first, then everything wanted is asked for.
   */
  onLive(sessionPresent: boolean): void {
    if (!sessionPresent) this.kept.clear();
    for (const address of this.kept) {
      if (this.wanted.has(address)) continue;
      this.requested.add(address);
      this.toUnsubscribe.add(address);
    }
    this.reconcile();
  }

  /** Nothing is asked for on the next connection yet: everything wanted is to be. */
  onLost(): void {
    if (this.changing) this.ids.release(this.changing.id);
    this.changing = null;
    this.requested.clear();
    this.confirmed.clear();
    this.toUnsubscribe.clear();
    this.toSubscribe = new Set(this.wanted);
  }

  onSuback(packetId: number, granted: number[]): void {
    const change = this.changing;
    if (!change || change.id !== packetId || !change.subscribe) return;
    this.ids.release(packetId);
    this.changing = null;
    const addresses = change.addresses;
    let refused = 0, firstRefused = '';
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i]!;
      if (granted[i] === 0x80 || granted[i] === undefined) {
        if (refused++ === 0) firstRefused = address;
        this.waiters.refused(address);
      } else {
        this.confirmed.add(address);
        this.waiters.confirmed(address);
      }
    }
    if (refused) this.log(3, `the broker refused ${refused} of ${addresses.length} subscriptions (packet ${packetId}; first ${firstRefused})`);
    else this.log(1, `${addresses.length} subscriptions confirmed (packet ${packetId})`);
    this.reconcile();
  }

  onUnsuback(packetId: number): void {
    const change = this.changing;
    if (!change || change.id !== packetId || change.subscribe) return;
    this.ids.release(packetId);
    this.changing = null;
    for (const address of change.addresses) if (!this.requested.has(address)) this.kept.delete(address);
    this.reconcile();
  }

  /**
   * Brings the broker's subscriptions to what the listeners want, one
   * packet at a time: what is no longer wanted first, then what is new.
   * Called after a run of want() and unwant(), and on each ack.
   */
  reconcile(): void {
    if (!this.connection.live || this.changing) return;
    if (this.toUnsubscribe.size) {
      const { addresses, topics } = this.takePacketful(this.toUnsubscribe, UNSUBSCRIBE_ENTRY);
      for (const address of addresses) {
        this.requested.delete(address);
        this.confirmed.delete(address);
      }
      this.change(false, addresses, topics);
    } else if (this.toSubscribe.size) {
      const { addresses, topics } = this.takePacketful(this.toSubscribe, SUBSCRIBE_ENTRY);
      for (const address of addresses) {
        this.requested.add(address);
        this.kept.add(address);
      }
      this.change(true, addresses, topics);
    }
  }

  private change(subscribe: boolean, addresses: string[], topics: Uint8Array[]): void {
    const id = this.ids.take();
    if (id === 0) return this.connection.drop('out of packet ids');
    this.changing = { id, subscribe, addresses };
    const left = subscribe ? this.toSubscribe.size : this.toUnsubscribe.size;
    this.log(1, `${subscribe ? 'subscribing to' : 'unsubscribing from'} ${addresses.length} address${addresses.length > 1 ? 'es' : ''} (packet ${id}, first ${addresses[0]}; ${left} more to go)`);
    this.connection.write(subscribe ? encodeSubscribe(id, this.prefix, topics) : encodeUnsubscribe(id, this.prefix, topics));
  }

  // Takes from `pending`, in the order they came, the addresses of one
  // packet, at most TOPICS_PER_PACKET and PACKET_BYTES (at least one), and
  // their topics' bytes after the prefix.
  private takePacketful(pending: Set<string>, entryOverhead: number): { addresses: string[]; topics: Uint8Array[] } {
    const addresses: string[] = [], topics: Uint8Array[] = [];
    let size = PACKET_OVERHEAD;
    for (const address of pending) {
      if (addresses.length === TOPICS_PER_PACKET) break;
      const topic = utf8.encode(topicAfterPrefix(address)!);
      const entry = entryOverhead + this.prefix.length + topic.length;
      if (addresses.length && size + entry > PACKET_BYTES) break;
      size += entry;
      addresses.push(address);
      topics.push(topic);
      pending.delete(address);
    }
    return { addresses, topics };
  }
}
