// What local listeners want from the broker (SUBSCRIBE / UNSUBSCRIBE control
// messages) against what the broker has been asked for, and the answers to
// SUBSCRIBE once the broker confirms (CONTRACT.md, "Messages from the runtime").
import type { Answers } from './answers.ts';
import type { Connection } from './connection.ts';
import type { Log } from './log.ts';
import type { PacketIds } from './packet-ids.ts';
import { encodeSubscribe, encodeUnsubscribe } from './packets.ts';
import { addressToTopic } from './topics.ts';

export class Subscriptions {
  // topic → address, what local listeners want from the broker.
  private readonly wanted = new Map<string, string>();
  // The SUBSCRIBE or UNSUBSCRIBE in flight, by packet id, until its ack. One
  // at a time: a broker may handle packets that arrive together concurrently
  // (aedes does), and an UNSUBSCRIBE racing a SUBSCRIBE of the same topic can
  // leave it unsubscribed, every later message lost.
  private readonly changing = new Map<number, { subscribe: boolean; topics: string[] }>();
  // Topics the broker has been asked for on this connection (subscribed
  // minus unsubscribed, acked or not).
  private readonly requested = new Set<string>();
  // Topics the broker has confirmed on this connection.
  private readonly confirmed = new Set<string>();
  // Topics a session the broker kept may still hold: asked for on any
  // connection and not confirmed unsubscribed since.
  private readonly kept = new Set<string>();
  // SUBSCRIBE control messages waiting for their topics to be confirmed.
  private readonly awaitingAck: Array<{ id: unknown; to: string; topics: string[] }> = [];

  private readonly topicPrefix: string;
  private readonly connection: Connection;
  private readonly ids: PacketIds;
  private readonly answers: Answers;
  private readonly log: Log;

  constructor(topicPrefix: string, connection: Connection, ids: PacketIds, answers: Answers, log: Log) {
    this.topicPrefix = topicPrefix;
    this.connection = connection;
    this.ids = ids;
    this.answers = answers;
    this.log = log;
  }

  /** A SUBSCRIBE or UNSUBSCRIBE control message; `settle` tells the broker. */
  control(m: Record<string, unknown>): void {
    const resources = typeof m.body === 'object' && m.body !== null ? (m.body as { resources?: unknown }).resources : undefined;
    if (!Array.isArray(resources)) {
      this.log(3, `skipping ${String(m.type)} ${String(m.id)}: body.resources must be a list of addresses`);
      return;
    }
    // Only what is wanted changes here; reconcile() tells the broker.
    const topics: string[] = [];
    for (const address of resources) {
      const topic = typeof address === 'string' ? addressToTopic(this.topicPrefix, address) : null;
      if (topic === null) {
        this.log(3, `skipping resource ${JSON.stringify(address)} in ${String(m.type)}: not a scheme://host/path address`);
        continue;
      }
      if (m.type === 'SUBSCRIBE') this.wanted.set(topic, address as string);
      else this.wanted.delete(topic);
      topics.push(topic);
    }
    if (m.type === 'SUBSCRIBE' && typeof m.from === 'string') this.awaitingAck.push({ id: m.id, to: m.from, topics });
  }

  /**
   * Once per batch of control messages: a listener removed and added again
   * in one batch changes nothing at the broker.
   */
  settle(): void {
    this.reconcile();
    this.answerControls([]);
  }

  /**
   * A new connection: everything wanted is asked for again; with a session
   * the broker kept, topics no longer wanted are unsubscribed first.
   */
  onLive(sessionPresent: boolean): void {
    if (!sessionPresent) this.kept.clear();
    for (const topic of this.kept) if (!this.wanted.has(topic)) this.requested.add(topic);
    this.reconcile();
  }

  onLost(): void {
    for (const id of this.changing.keys()) this.ids.release(id);
    this.changing.clear();
    this.requested.clear();
    this.confirmed.clear();
  }

  onSuback(packetId: number, granted: number[]): void {
    const change = this.changing.get(packetId);
    if (!change) return;
    this.ids.release(packetId);
    this.changing.delete(packetId);
    const refused = change.topics.filter((_, i) => granted[i] === 0x80 || granted[i] === undefined);
    if (refused.length) this.log(3, `broker refused subscriptions to ${refused.join(', ')}`);
    else this.log(1, `subscriptions confirmed (packet ${packetId})`);
    for (const topic of change.topics) if (!refused.includes(topic)) this.confirmed.add(topic);
    this.answerControls(refused);
    this.reconcile();
  }

  onUnsuback(packetId: number): void {
    const change = this.changing.get(packetId);
    if (!change) return;
    this.ids.release(packetId);
    this.changing.delete(packetId);
    for (const topic of change.topics) if (!this.requested.has(topic)) this.kept.delete(topic);
    this.reconcile();
  }

  // Answers each waiting SUBSCRIBE whose topics are all confirmed (200), or
  // one of whose topics the broker refused (403).
  private answerControls(refused: string[]): void {
    for (let i = 0; i < this.awaitingAck.length;) {
      const waiting = this.awaitingAck[i]!;
      const denied = waiting.topics.some((t) => refused.includes(t));
      if (denied || waiting.topics.every((t) => this.confirmed.has(t))) {
        this.answers.respond(waiting.id, waiting.to, { code: denied ? 403 : 200 });
        this.awaitingAck.splice(i, 1);
      } else {
        i++;
      }
    }
  }

  // Brings the broker's subscriptions to what the listeners want, one
  // packet at a time: what is no longer wanted first, then what is new.
  private reconcile(): void {
    if (!this.connection.live || this.changing.size) return;
    const gone = [...this.requested].filter((topic) => !this.wanted.has(topic));
    if (gone.length) {
      for (const topic of gone) {
        this.requested.delete(topic);
        this.confirmed.delete(topic);
      }
      this.change(false, gone);
      return;
    }
    const added = [...this.wanted.keys()].filter((topic) => !this.requested.has(topic));
    if (added.length) {
      for (const topic of added) {
        this.requested.add(topic);
        this.kept.add(topic);
      }
      this.change(true, added);
    }
  }

  private change(subscribe: boolean, topics: string[]): void {
    const id = this.ids.take();
    if (id === 0) return this.connection.drop('out of packet ids');
    this.changing.set(id, { subscribe, topics });
    this.log(2, `${subscribe ? 'subscribing to' : 'unsubscribing from'} ${topics.join(', ')}`);
    this.connection.write(subscribe ? encodeSubscribe(id, topics) : encodeUnsubscribe(id, topics));
  }
}
