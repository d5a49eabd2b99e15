// What both entries (Node, browser) export besides createRuntime.
import { clearDirectCache } from './plugins/direct/plugin.ts';
import { clearJcoCache } from './plugins/sandbox/plugin.ts';
import { clearVerifiedSources } from './plugins/trust/plugin.ts';
export { createKernel } from './kernel/runtime.ts';
export type { Plugin, Runtime, RuntimeOptions, DeployOptions, UpdateOptions } from './kernel/runtime.ts';
export { createHooks, DEPLOY_STEPS, type Hooks, type DeployStep } from './kernel/hooks.ts';
export { DEFAULT_POLICY, policyOf, type HookPolicy, type HookPolicies, type HookName, type TapPolicy } from './kernel/hook-policy.ts';
export { ERRORS, ProtoflyError, isProtoflyError, type ErrorCode } from './kernel/errors.ts';
export { SECURITY_CODES, isSecurityEvent } from './kernel/security-events.ts';
export * from './kernel/schemas.ts';
export type * from './kernel/types.ts';
export type * from './kernel/services.ts';
export type * from './kernel/metrics.ts';
export { parseDomain, domainOfAddress, type Domain } from './kernel/address.ts';
export { statusMessage } from './kernel/status.ts';
export { encodeBatch, decodeBatch, encodeCbor, decodeCbor } from './kernel/cbor.ts';
export { busPlugin } from './plugins/bus/plugin.ts';
export { registryPlugin } from './plugins/registry/plugin.ts';
export { descriptorPlugin, catalogueHostPlugin, parseDescriptor, WELL_KNOWN_PATH } from './plugins/descriptor/plugin.ts';
export { domainRegistryPlugin } from './plugins/domain-registry/plugin.ts';
export { identityPlugin } from './plugins/identity/plugin.ts';
export { lifecyclePlugin } from './plugins/lifecycle/plugin.ts';
export { metricsPlugin, openMetricsText, OPENMETRICS_CONTENT_TYPE } from './plugins/metrics/plugin.ts';
export { sandboxPlugin, type SandboxOptions, type SandboxKind, type StubLimits } from './plugins/sandbox/plugin.ts';
export { transportPlugin } from './plugins/transport/plugin.ts';
export { directPathPlugin, clearDirectCache } from './plugins/direct/plugin.ts';
export { trustPlugin, isSignatureWarning, type TrustOptions } from './plugins/trust/plugin.ts';
export type { KeyStore } from './plugins/trust/key-store.ts';
export { signComponent, verifyComponent } from './plugins/trust/wasm-signature.ts';
export { signDescriptor, verifyDescriptor } from './plugins/trust/descriptor-signature.ts';
export { signRotation } from './plugins/trust/rotation.ts';
export { generateKeyPair, parseKeyPair, serializeKeyPair, publicKeyToText, type KeyPair } from './plugins/trust/keys.ts';

/** Forgets every component prepared in this process (what a new process starts with; cold-deploy benchmarks). */
export function clearComponentCache(): void {
  clearJcoCache();
  clearDirectCache();
  clearVerifiedSources();
}
export { recognise as recogniseStubComponent } from './plugins/direct/component-shape.ts';
export type { CreateRuntimeOptions } from './create-runtime.ts';
