// Checks (c) and (d): what the stub put on the bus, judged against
// stubs/CONTRACT.md and the runtime's own message schema.
import { decodeBatch } from '../../kernel/cbor.ts';
import { describe } from '../../kernel/errors.ts';
import { firstError, messageCheck } from '../../kernel/schemas.ts';

const STATUS_KEYS = ['body', 'from', 'id', 'resource', 'type'];
const STUB_STATUS = ['LIVE', 'DISCONNECTED'];
const STATUS_CODES = ['PF_ERR_LOGIN', 'PF_ERR_CONNECT'];

export interface PostsVerdict {
  batches: number;
  messages: number;
  /** Problems with batches or messages (d), each once. */
  batchProblems: string[];
  statuses: Array<Record<string, unknown>>;
}

export function judgePosts(posts: Uint8Array[]): PostsVerdict {
  const verdict: PostsVerdict = { batches: posts.length, messages: 0, batchProblems: [], statuses: [] };
  posts.forEach((bytes, index) => {
    let batch: unknown[];
    try {
      batch = decodeBatch(bytes);
    } catch (error) {
      verdict.batchProblems.push(`batch ${index + 1} (${bytes.byteLength} bytes): ${describe(error)}`);
      return;
    }
    if (batch.length === 0) verdict.batchProblems.push(`batch ${index + 1} is an empty array`);
    batch.forEach((message, at) => {
      verdict.messages++;
      if (!messageCheck.Check(message)) {
        verdict.batchProblems.push(`batch ${index + 1}, message ${at + 1}: ${firstError(messageCheck, message)}`);
        return;
      }
      if (looksLikeStatus(message as Record<string, unknown>)) verdict.statuses.push(message as Record<string, unknown>);
    });
  });
  return verdict;
}

// Anything meant as a status: sent to a /status resource, or an UPDATE
// carrying a status value. Both must then be exactly right.
function looksLikeStatus(message: Record<string, unknown>): boolean {
  const value = (message.body as { value?: unknown } | undefined)?.value;
  return (typeof message.resource === 'string' && message.resource.endsWith('/status'))
    || (message.type === 'UPDATE' && typeof value === 'string' && /^[A-Z]+$/.test(value));
}

/** Why a status message is not in the seed's shape for this stub, or undefined. */
export function statusProblem(message: Record<string, unknown>, stubURL: string): string | undefined {
  const keys = Object.keys(message).sort();
  if (keys.join() !== STATUS_KEYS.join()) return `has keys ${keys.join(', ')}; a status has exactly ${STATUS_KEYS.join(', ')}`;
  if (message.type !== 'UPDATE') return `type is ${String(message.type)}, not UPDATE`;
  if (message.from !== stubURL) return `from is ${JSON.stringify(message.from)}, not the stub's own URL ${stubURL}`;
  if (message.resource !== `${stubURL}/status`) return `resource is ${JSON.stringify(message.resource)}, not ${stubURL}/status`;
  const body = message.body as Record<string, unknown> | null;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body is not a map';
  if (!STUB_STATUS.includes(body.value as string)) return `body.value is ${JSON.stringify(body.value)}: a stub posts LIVE or DISCONNECTED (the runtime posts the rest)`;
  for (const key of Object.keys(body)) if (!['value', 'reason', 'code'].includes(key)) return `body has an unknown key ${key}`;
  if (body.reason !== undefined && typeof body.reason !== 'string') return 'body.reason is not text';
  if (body.code !== undefined && !STATUS_CODES.includes(body.code as string)) return `body.code is ${JSON.stringify(body.code)}, not ${STATUS_CODES.join(' or ')}`;
  if (body.value === 'LIVE' && (body.reason !== undefined || body.code !== undefined)) return 'a LIVE status carries a reason or code';
  return undefined;
}
