import { DomainError } from '@shortener/common';

/** A keyset position: `created_at` in epoch microseconds (PostgreSQL precision) and the link id. */
export interface LinkCursor {
  createdAtMicros: string;
  id: string;
}

/** Largest PostgreSQL `bigint` (int8): ids are bigints. */
export const MAX_INT8 = 9_223_372_036_854_775_807n;
/** 9999-12-31T23:59:59.999999Z in epoch microseconds: no row is created later, and the keyset bound stays a timestamptz. */
const MAX_CREATED_AT_MICROS = 253_402_300_799_999_999n;
const POSITION = /^(\d{1,20})\.(\d{1,20})$/;

/** Encodes a position as an opaque base64url token. */
export function encodeCursor(c: LinkCursor): string {
  return Buffer.from(`${c.createdAtMicros}.${c.id}`, 'utf8').toString('base64url');
}

/**
 * Decodes a token made by {@link encodeCursor}: base64url exactly as it
 * writes it, of a position whose numbers PostgreSQL can take (`created_at`
 * up to year 9999, the id a `bigint`).
 * @param pointer the JSON Pointer of the parameter that carried the token, for the problem
 * @throws DomainError `cursor-invalid` for anything else, naming `pointer` in `errors`.
 */
export function decodeCursor(token: string, pointer = '/cursor'): LinkCursor {
  const m = POSITION.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m || BigInt(m[1]) > MAX_CREATED_AT_MICROS || BigInt(m[2]) > MAX_INT8) throw invalidCursor(pointer);
  const cursor = { createdAtMicros: m[1], id: m[2] };
  // Buffer skips characters outside the alphabet: a token is only what encodeCursor writes.
  if (encodeCursor(cursor) !== token) throw invalidCursor(pointer);
  return cursor;
}

/**
 * The `cursor-invalid` problem of a pagination token this API did not make,
 * naming the parameter like a validation error (`errors[]` of `pointer` and `detail`).
 * @param pointer the JSON Pointer of the parameter, e.g. `/cursor`
 */
export function invalidCursor(pointer: string): DomainError {
  const detail = 'must be the nextCursor value of a previous page';
  return new DomainError('cursor-invalid', `${pointer}: ${detail}`, { errors: [{ pointer, detail }] });
}
