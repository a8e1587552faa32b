import { DomainError } from '@shortener/common';

/** A keyset position: `created_at` in epoch microseconds (PostgreSQL precision) and the link id. */
export interface LinkCursor {
  createdAtMicros: string;
  id: string;
}

/** Encodes a position as an opaque base64url token. */
export function encodeCursor(c: LinkCursor): string {
  return Buffer.from(`${c.createdAtMicros}.${c.id}`, 'utf8').toString('base64url');
}

/**
 * Decodes a token made by {@link encodeCursor}.
 * @throws DomainError `cursor-invalid` for anything else.
 */
export function decodeCursor(token: string): LinkCursor {
  const m = /^(\d{1,20})\.(\d{1,20})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new DomainError('cursor-invalid', 'Use the nextCursor value of a previous page');
  return { createdAtMicros: m[1], id: m[2] };
}
