// MQTT packet ids (1..65535) shared by publications and (un)subscriptions:
// one id is never used twice while its ack is awaited. A byte per id rather
// than a Set: this is on every message's path, in an interpreter.
export class PacketIds {
  private readonly used = new Uint8Array(65536);
  private last = 0;

  /** The next free id after the last one given, wrapping; 0 when none is free. */
  take(): number {
    for (let tries = 0; tries < 65535; tries++) {
      this.last = this.last >= 65535 ? 1 : this.last + 1;
      if (this.used[this.last] === 0) {
        this.used[this.last] = 1;
        return this.last;
      }
    }
    return 0;
  }

  release(id: number): void {
    this.used[id] = 0;
  }
}
