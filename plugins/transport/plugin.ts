// WebSocket connections for stubs: open/send/close from the stub, and
// on-open/on-frame/on-close back into it, always from a later turn of the
// event loop, never from inside the stub's own call. Each connection is
// bounded both ways (limits.ts, stub-sockets.ts). Where the platform lets a
// stub's worker hold the stub's sockets itself (Node), the worker sandbox
// asks for the stub's policy here (`delegate`) and the worker applies it:
// a frame then crosses no thread between the stub and its socket.
import { ProtoflyError, type ErrorCode } from '../../kernel/errors.ts';
import type { Plugin } from '../../kernel/runtime.ts';
import type { ConnectionEvents, ConnectionStats, DelegatedSockets, Transport } from '../../kernel/services.ts';
import { countRejection } from '../../kernel/rejections.ts';
import type { StubRecord } from '../../kernel/types.ts';
import { connectionLimits } from './limits.ts';
import { StubSockets, type StubSocketsPolicy, type StubSocketsReports, type TrustedCA, type WebSocketConstructor } from './stub-sockets.ts';

export type { TrustedCA, WebSocketConstructor, WebSocketLike } from './stub-sockets.ts';

export interface TransportOptions {
  WebSocket: WebSocketConstructor;
  /** Connections one stub may hold at once. */
  maxConnections?: number;
  /**
   * Authorities trusted for `wss://` on top of the platform's own (Node;
   * `ws` hands them to TLS). A browser trusts what the browser trusts.
   */
  ca?: TrustedCA;
  /**
   * A stub in a worker opens its connections there, with the same bounds
   * (the platform says whether its workers can: Node's can). `false` keeps
   * every socket in the runtime's thread.
   */
  socketsInWorker?: boolean;
}

export function transportPlugin(options: TransportOptions): Plugin {
  return {
    name: 'TransportPlugin',
    apply(runtime) {
      const transport = new WebSocketTransport(options, (error) => runtime.hooks.error.call(error));
      runtime.provide('transport', transport);
      runtime.hooks.undeploy.tapPromise('TransportPlugin', async (record) => transport.closeAll(record));
    },
  };
}

class WebSocketTransport implements Transport {
  readonly #options: TransportOptions;
  /** An error event for the operator: a frame refused, a fault on the way to a stub. */
  readonly #errorEvent: (error: ProtoflyError) => void;
  readonly #byStub = new Map<string, StubSockets>();
  /** What the workers holding a stub's sockets last said of them. */
  readonly #delegated = new Map<string, ConnectionStats[]>();

  constructor(options: TransportOptions, errorEvent: (error: ProtoflyError) => void) {
    this.#options = options;
    this.#errorEvent = errorEvent;
  }

  open(stub: StubRecord, url: string, protocols: string[], events: ConnectionEvents): number {
    let sockets = this.#byStub.get(stub.stubURL);
    if (!sockets) {
      sockets = new StubSockets(this.#options.WebSocket, this.#policy(stub), this.#reports(stub));
      this.#byStub.set(stub.stubURL, sockets);
    }
    return sockets.open(url, protocols, events);
  }

  delegate(stub: StubRecord): DelegatedSockets | undefined {
    if (this.#options.socketsInWorker !== true) return undefined;
    const reports = this.#reports(stub);
    this.#delegated.set(stub.stubURL, []);
    return {
      policy: this.#policy(stub),
      report(event) {
        const error = event.code ? new ProtoflyError(event.code as ErrorCode, event.message ?? '', { domain: stub.domain.name, stubURL: stub.stubURL }) : undefined;
        if (event.kind === 'error' && error) reports.error(error);
        else if (event.kind === 'rejected' && event.code) reports.rejected(event.code as ErrorCode);
        else if (event.kind === 'paused') reports.paused();
        else if (event.kind === 'connection-error') reports.connectionError(error);
      },
      stats: (stats) => { if (this.#delegated.has(stub.stubURL)) this.#delegated.set(stub.stubURL, stats); },
      release: () => { this.#delegated.delete(stub.stubURL); },
    };
  }

  taken(stub: StubRecord, conn: number, bytes: number, frames: number): void {
    this.#byStub.get(stub.stubURL)?.taken(conn, bytes, frames);
  }

  send(stub: StubRecord, conn: number, frame: Uint8Array): void {
    const sockets = this.#byStub.get(stub.stubURL);
    if (!sockets) throw new Error(`connection ${conn} is not open`);
    sockets.send(conn, frame);
  }

  buffered(stub: StubRecord, conn: number): number {
    return this.#byStub.get(stub.stubURL)?.buffered(conn) ?? 0;
  }

  close(stub: StubRecord, conn: number): void {
    this.#byStub.get(stub.stubURL)?.close(conn);
  }

  closeAll(stub: StubRecord): void {
    // A worker's sockets close with the stub's slot (or its thread).
    this.#delegated.delete(stub.stubURL);
    const sockets = this.#byStub.get(stub.stubURL);
    if (!sockets) return;
    this.#byStub.delete(stub.stubURL);
    sockets.closeAll();
  }

  connections(stub: StubRecord): ConnectionStats[] {
    return this.#delegated.get(stub.stubURL) ?? this.#byStub.get(stub.stubURL)?.stats() ?? [];
  }

  #policy(stub: StubRecord): StubSocketsPolicy {
    return {
      where: { domain: stub.domain.name, stubURL: stub.stubURL },
      connect: [...stub.descriptor.connect ?? []],
      maxConnections: this.#options.maxConnections ?? 8,
      limits: connectionLimits(stub.descriptor),
      ...(this.#options.ca ? { ca: this.#options.ca } : {}),
    };
  }

  #reports(stub: StubRecord): StubSocketsReports {
    return {
      error: (error) => this.#errorEvent(error),
      rejected: (code) => countRejection(stub, code),
      paused: () => { stub.counters.inboundPauses++; },
      connectionError: (error) => { stub.connectionError = error; },
    };
  }
}
