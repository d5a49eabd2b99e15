// Schemas of everything that crosses a trust boundary, once, in typebox; the
// static types are derived from them. Exported so users can validate their own.
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

export const MESSAGE_TYPES = ['CREATE', 'READ', 'UPDATE', 'DELETE', 'SUBSCRIBE', 'UNSUBSCRIBE', 'RESPONSE', 'FORWARD', 'EXECUTE'] as const;

/** The reTHINK message: `{ id, type, from, to?, resource?, body? }`. */
export const MessageSchema = Type.Object({
  id: Type.Union([Type.String({ maxLength: 256 }), Type.Number()]),
  type: Type.Union([
    Type.Literal('CREATE'), Type.Literal('READ'), Type.Literal('UPDATE'), Type.Literal('DELETE'),
    Type.Literal('SUBSCRIBE'), Type.Literal('UNSUBSCRIBE'), Type.Literal('RESPONSE'), Type.Literal('FORWARD'),
    Type.Literal('EXECUTE'),
  ]),
  from: Type.String({ minLength: 1, maxLength: 2048 }),
  to: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  resource: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  body: Type.Optional(Type.Unknown()),
}, { additionalProperties: true });
export type Message = Static<typeof MessageSchema>;

export const LimitsSchema = Type.Object({
  memoryMiB: Type.Optional(Type.Number({ minimum: 1, maximum: 4096 })),
  callTimeoutMs: Type.Optional(Type.Number({ minimum: 1, maximum: 600_000 })),
  /** The largest WebSocket frame a stub's connection takes; a larger one closes the connection (PF_ERR_FRAME_TOO_LARGE). */
  maxFrameBytes: Type.Optional(Type.Number({ minimum: 1024, maximum: 256 * 1024 * 1024 })),
  /** Frame bytes a connection holds for the stub before the host stops reading it (a browser closes it: PF_ERR_INBOUND_FULL). */
  maxInboundBytes: Type.Optional(Type.Number({ minimum: 1024, maximum: 256 * 1024 * 1024 })),
  /** Frames a connection holds for the stub before the host stops reading it. */
  maxInboundFrames: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  /** Bytes waiting to be written on a connection before the stub's `send` answers `congested:`. */
  maxOutboundBytes: Type.Optional(Type.Number({ minimum: 1024, maximum: 256 * 1024 * 1024 })),
}, { additionalProperties: true });

/**
 * reTHINK's marker for a source package carried inside the descriptor
 * (`sourcePackageURL: "/sourcePackage"`): one round trip deploys the stub.
 */
export const INLINE_SOURCE = '/sourcePackage';

/** An inline source package: the component, base64-encoded. */
export const SourcePackageSchema = Type.Object({
  encoding: Type.Literal('base64'),
  // Not matched against the base64 alphabet here (a regular expression over
  // the whole component): decoding checks it, and the hash checks the rest.
  sourceCode: Type.String(),
}, { additionalProperties: true });

/** The protocol stub descriptor served at the domain's well-known URI. */
export const DescriptorSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  version: Type.String({ minLength: 1, maxLength: 64 }),
  /** Where the component is, relative to the descriptor, or INLINE_SOURCE. */
  sourcePackageURL: Type.String({ minLength: 1, maxLength: 2048 }),
  sourcePackage: Type.Optional(SourcePackageSchema),
  sourceHash: Type.String({ pattern: '^sha256-[A-Za-z0-9+/]{43}=$' }),
  configuration: Type.Record(Type.String(), Type.Unknown()),
  connect: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { maxItems: 64 }),
  limits: Type.Optional(LimitsSchema),
}, { additionalProperties: true });
/** Unknown fields are kept, not rejected: a domain may say more than this version reads. */
export type Descriptor = Static<typeof DescriptorSchema> & { [field: string]: unknown };

export const CredentialsSchema = Type.Union([
  Type.Object({ username: Type.String(), password: Type.String() }, { additionalProperties: true }),
  Type.Object({ token: Type.String() }, { additionalProperties: true }),
]);
export type Credentials = Static<typeof CredentialsSchema>;

/** What a stub's `init` receives, CBOR-encoded. */
export const StubConfigSchema = Type.Object({
  runtimeURL: Type.String(),
  stubURL: Type.String(),
  domain: Type.String(),
  configuration: Type.Record(Type.String(), Type.Unknown()),
  credentials: Type.Union([CredentialsSchema, Type.Null()]),
});
export type StubConfig = Static<typeof StubConfigSchema>;

export const STATUS_VALUES = ['DEPLOYING', 'LIVE', 'DISCONNECTED', 'FAILED', 'UNDEPLOYED'] as const;
export type StatusValue = (typeof STATUS_VALUES)[number];

export const messageCheck = Compile(MessageSchema);
export const descriptorCheck = Compile(DescriptorSchema);

/** The first schema error of a value, as one readable line. */
export function firstError(check: { Errors(value: unknown): Iterable<{ instancePath: string; message: string }> }, value: unknown): string {
  for (const error of check.Errors(value)) return `${error.instancePath || '/'} ${error.message}`;
  return 'does not match the schema';
}
