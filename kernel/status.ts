// The status publication of seed steps 16–17, exactly in the seed's shape.
import { statusResourceOf } from './address.ts';
import type { Message, StatusValue } from './schemas.ts';

let sequence = 0;

export function statusMessage(stubURL: string, value: StatusValue, extra: Record<string, unknown> = {}): Message {
  return {
    id: `status-${++sequence}`,
    type: 'UPDATE',
    from: stubURL,
    resource: statusResourceOf(stubURL),
    body: { value, ...extra },
  };
}
