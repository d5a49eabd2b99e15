// RESPONSEs the stub owes, gathered during a host→stub call and posted once
// at its end: answers to control messages, and refusals of messages it
// cannot carry (CONTRACT.md, "A stub never drops a message silently").
import * as host from 'protofly:stub/host@0.1.0';
import { encodeCbor } from './cbor.ts';
import type { Log } from './log.ts';
import { fieldsOf, fieldValue, type MessageSpan, textField } from './message-scan.ts';

// Answers per post, so a queue refused at once does not become one huge batch.
const ANSWERS_PER_POST = 1024;

export class Answers {
  private pending: Array<Record<string, unknown>> = [];
  private refusals = 0;
  private lastRefusal = '';

  private readonly stubURL: string;
  private readonly log: Log;

  constructor(stubURL: string, log: Log) {
    this.stubURL = stubURL;
    this.log = log;
  }

  respond(id: unknown, to: string, body: Record<string, unknown>): void {
    this.pending.push({ id, type: 'RESPONSE', from: this.stubURL, to, body });
  }

  /**
   * Answers the message at `span` with `code` (≥ 400), once. A RESPONSE is
   * never answered (two dead ends would ping-pong), nor a message without
   * an id and a text `from`: those are logged.
   */
  refuse(span: MessageSpan, code: number, reason: string): void {
    const bytes = span.bytes, fields = fieldsOf(span);
    const id = fields.isMap ? fieldValue(bytes, fields.idAt) : undefined;
    const from = fields.isMap ? textField(bytes, fields.fromAt) : null;
    if (fields.isMap && textField(bytes, fields.typeAt) === 'RESPONSE') {
      this.log(3, `dropping RESPONSE ${String(id)}: ${reason} (a RESPONSE is never answered)`);
      return;
    }
    if (id === undefined || from === null) {
      this.log(3, `dropping a message without ${id === undefined ? 'an id' : 'a text from'}: ${reason}`);
      return;
    }
    this.respond(id, from, { code, reason });
    this.refusals++;
    this.lastRefusal = `${String(id)} from ${from}: ${code} ${reason}`;
  }

  /** Posts what is owed; called once at the end of every host→stub call. */
  flush(): void {
    if (this.refusals) {
      this.log(3, `answered ${this.refusals} message${this.refusals > 1 ? 's' : ''} it could not carry (last: ${this.lastRefusal})`);
      this.refusals = 0;
    }
    while (this.pending.length) {
      const batch = this.pending.length <= ANSWERS_PER_POST ? this.pending : this.pending.slice(0, ANSWERS_PER_POST);
      this.pending = batch === this.pending ? [] : this.pending.slice(ANSWERS_PER_POST);
      host.post(encodeCbor(batch));
    }
  }
}
