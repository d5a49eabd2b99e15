// A sender whose message cannot be delivered gets a reTHINK RESPONSE with an
// error, never silence.
import type { ProtoflyError } from '../../kernel/errors.ts';
import type { Message } from '../../kernel/schemas.ts';

const HTTP_LIKE: Partial<Record<ProtoflyError['code'], number>> = {
  PF_ERR_NO_ROUTE: 404,
  PF_ERR_DESCRIPTOR_NOT_FOUND: 404,
  PF_ERR_LOGIN: 401,
  PF_ERR_MESSAGE_INVALID: 400,
  PF_ERR_TOO_LARGE: 413,
};

export function errorResponse(to: Message, from: string, error: ProtoflyError): Message {
  return {
    id: to.id,
    type: 'RESPONSE',
    from,
    to: to.from,
    body: { code: HTTP_LIKE[error.code] ?? 503, error: error.code, reason: error.message },
  };
}
