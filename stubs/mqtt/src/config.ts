// The init config (CONTRACT.md, "Init config"), checked once so the rest of
// the stub can trust it.
import { decodeCbor } from './cbor.ts';

export interface StubConfig {
  runtimeURL: string;
  stubURL: string;
  domain: string;
  url: string;
  topicPrefix: string;
  keepAliveSec: number;
  /** The broker keeps our subscriptions and QoS 1 messages while we are away. */
  persistentSession: boolean;
  username?: string;
  password?: string;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

// Returns the config or the message init reports as err.
export function parseConfig(bytes: Uint8Array): StubConfig | string {
  let raw: unknown;
  try {
    raw = decodeCbor(bytes);
  } catch (e) {
    return `init config is not valid CBOR: ${String(e)}`;
  }
  if (!isMap(raw)) return 'init config must be a CBOR map';
  const { runtimeURL, stubURL, domain, configuration, credentials } = raw;
  if (typeof stubURL !== 'string' || !stubURL) return 'stubURL is required';
  if (typeof runtimeURL !== 'string') return 'runtimeURL is required';
  if (!isMap(configuration)) return 'configuration must be a map';
  const { url, topicPrefix = 'protofly/', keepAliveSec = 30, persistentSession = false } = configuration;
  if (typeof persistentSession !== 'boolean') return 'configuration.persistentSession must be true or false';
  if (typeof url !== 'string' || !url) return 'configuration.url is required';
  if (!/^wss?:\/\//i.test(url)) return `configuration.url must be a ws:// or wss:// URL, got "${url}"`;
  if (typeof topicPrefix !== 'string') return 'configuration.topicPrefix must be a string';
  if (/[+#\0]/.test(topicPrefix)) return 'configuration.topicPrefix must not contain +, # or NUL';
  // MQTT carries keepalive in 16 bits; 0 would turn off our dead-link check.
  if (typeof keepAliveSec !== 'number' || !Number.isInteger(keepAliveSec) || keepAliveSec < 1 || keepAliveSec > 65535) {
    return 'configuration.keepAliveSec must be an integer from 1 to 65535';
  }
  const config: StubConfig = {
    runtimeURL, stubURL, domain: typeof domain === 'string' ? domain : '', url, topicPrefix, keepAliveSec, persistentSession,
  };
  if (credentials != null) {
    if (!isMap(credentials)) return 'credentials must be a map or null';
    const { username, password } = credentials;
    if (username != null) {
      if (typeof username !== 'string') return 'credentials.username must be a string';
      config.username = username;
    }
    if (password != null) {
      if (typeof password !== 'string') return 'credentials.password must be a string';
      // MQTT 3.1.1 allows a password only together with a user name.
      if (config.username === undefined) return 'credentials.password needs credentials.username';
      config.password = password;
    }
  }
  return config;
}
