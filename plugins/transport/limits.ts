// How much one stub connection may hold in the host, each way. A descriptor's
// `limits` may set them; these defaults keep a flooding or giant-framed peer
// within a few MiB of the host's memory (stubs/CONTRACT.md, "Connections").
import type { Descriptor } from '../../kernel/schemas.ts';
import type { ConnectionLimits } from '../../kernel/services.ts';

/** Default `limits.maxFrameBytes`: far below a stub's memory (128 MiB), above the bus's largest message (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Default `limits.maxInboundBytes`: frames waiting for the stub before the socket stops being read. */
export const DEFAULT_MAX_INBOUND_BYTES = 8 * 1024 * 1024;
/**
 * Default `limits.maxInboundFrames`. Counted apart from bytes: a flood of
 * empty frames costs the host an object each, whatever their size.
 */
export const DEFAULT_MAX_INBOUND_FRAMES = 8_192;
/** Default `limits.maxOutboundBytes`: bytes waiting to be written before `send` answers `congested:`. */
export const DEFAULT_MAX_OUTBOUND_BYTES = 4 * 1024 * 1024;

export type { ConnectionLimits } from '../../kernel/services.ts';

export function connectionLimits(descriptor: Pick<Descriptor, 'limits'>): ConnectionLimits {
  const asked = descriptor.limits ?? {};
  return {
    maxFrameBytes: asked.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    maxInboundBytes: asked.maxInboundBytes ?? DEFAULT_MAX_INBOUND_BYTES,
    maxInboundFrames: asked.maxInboundFrames ?? DEFAULT_MAX_INBOUND_FRAMES,
    maxOutboundBytes: asked.maxOutboundBytes ?? DEFAULT_MAX_OUTBOUND_BYTES,
  };
}
