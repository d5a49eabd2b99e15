// The init config (CONTRACT.md, "Init config"), checked once so the rest of
// the stub can trust it.
import { decodeCbor } from './cbor.ts';

export interface StubConfig {
  runtimeURL: string;
  stubURL: string;
  domain: string;
  /** Brokers, tried in order; never empty. */
  urls: string[];
  topicPrefix: string;
  keepAliveSec: number;
  /** The broker keeps our subscriptions and QoS 1 messages while we are away. */
  persistentSession: boolean;
  /** Largest message carried, measured as its CBOR. */
  maxMessageBytes: number;
  username?: string;
  password?: string;
}

// MQTT's largest packet (its remaining length fits 4 bytes of 7 bits).
export const MQTT_MAX_REMAINING = 268_435_455;

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function brokerURLs(url: unknown, urls: unknown): string[] | string {
  let list: unknown[];
  if (urls !== undefined) {
    if (!Array.isArray(urls) || urls.length === 0) return 'configuration.urls must be a non-empty list of ws:// or wss:// URLs';
    list = urls;
  } else {
    if (typeof url !== 'string' || !url) return 'configuration.url (or urls) is required';
    list = [url];
  }
  for (const u of list) {
    if (typeof u !== 'string' || !/^wss?:\/\//i.test(u)) return `broker URLs must be ws:// or wss:// URLs, got ${JSON.stringify(u)}`;
  }
  return list as string[];
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
  const {
    url, urls: urlList, topicPrefix = 'protofly/', keepAliveSec = 30, persistentSession = true, maxMessageBytes = 1024 * 1024,
  } = configuration;
  if (typeof persistentSession !== 'boolean') return 'configuration.persistentSession must be true or false';
  const urls = brokerURLs(url, urlList);
  if (typeof urls === 'string') return urls;
  if (typeof topicPrefix !== 'string') return 'configuration.topicPrefix must be a string';
  if (/[+#\0]/.test(topicPrefix)) return 'configuration.topicPrefix must not contain +, # or NUL';
  // MQTT carries keepalive in 16 bits; 0 would turn off our dead-link check.
  if (typeof keepAliveSec !== 'number' || !Number.isInteger(keepAliveSec) || keepAliveSec < 1 || keepAliveSec > 65535) {
    return 'configuration.keepAliveSec must be an integer from 1 to 65535';
  }
  if (typeof maxMessageBytes !== 'number' || !Number.isInteger(maxMessageBytes) || maxMessageBytes < 1 || maxMessageBytes > MQTT_MAX_REMAINING) {
    return `configuration.maxMessageBytes must be an integer from 1 to ${MQTT_MAX_REMAINING}`;
  }
  const config: StubConfig = {
    runtimeURL, stubURL, domain: typeof domain === 'string' ? domain : '', urls, topicPrefix, keepAliveSec, persistentSession, maxMessageBytes,
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
