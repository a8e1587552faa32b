import { MAX_INSTANT_MS, MIN_INSTANT_MS } from '@shortener/common';
import { z } from 'zod';

/** The validation detail of a string holding a lone surrogate. */
export const LONE_SURROGATE_DETAIL = 'must not contain a lone surrogate (U+D800-U+DFFF)';
/** The validation detail of a string holding U+0000. */
export const NUL_DETAIL = 'must not contain U+0000';

/**
 * A string schema that refuses text PostgreSQL cannot store: a lone
 * surrogate code unit (U+D800-U+DFFF without its pair, not well-formed
 * UTF-16), which JSON lets a client write as an escape (`"\ud800"`), and
 * U+0000 (`"\u0000"`). PostgreSQL stores text and jsonb as UTF-8 without
 * NUL bytes: a lone surrogate fails a jsonb parameter's statement and is
 * stored as U+FFFD in a text parameter; U+0000 fails either. Every string
 * schema of an API input starts from this one (a target URL from
 * {@link targetText}), so a refused string is a 400 `validation-failed`
 * naming its member (and, in a bulk create, fails its item alone).
 */
export function text(): z.ZodString {
  return targetText().refine((s) => !s.includes('\u0000'), NUL_DETAIL);
}

/**
 * The string schema of a target URL: refuses lone surrogates as
 * {@link text} does, and leaves U+0000 to the target policy, which refuses
 * it with every other control character as `target-control-character`.
 */
export function targetText(): z.ZodString {
  return z.string().refine((s) => s.isWellFormed(), LONE_SURROGATE_DETAIL);
}

/**
 * `s` made storable in PostgreSQL text and jsonb: each lone surrogate and
 * each U+0000 replaced by U+FFFD (the Unicode replacement character). For
 * text the API writes back, such as a refused member's name in a problem
 * that is kept as an idempotent response.
 */
export function storableText(s: string): string {
  return s.toWellFormed().replaceAll('\u0000', '\ufffd');
}

const INSTANT_RANGE_DETAIL = 'must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once converted to UTC';

/**
 * An RFC 3339 timestamp with an explicit offset (`Z` or `+hh:mm`; a local
 * time without one is refused) whose UTC instant lies within
 * [{@link MIN_INSTANT_MS}, {@link MAX_INSTANT_MS}]: `9999-12-31T23:59:59-01:00`
 * is a valid RFC 3339 string but falls in year 10000 in UTC, and
 * `0001-01-01T00:00:00+01:00` in year 0.
 */
export function instant(): z.ZodISODateTime {
  return z.iso.datetime({ offset: true, error: 'must be an RFC 3339 timestamp with an offset, e.g. 2030-01-01T00:00:00Z', abort: true }).refine((s) => {
    const ms = Date.parse(s);
    return ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;
  }, INSTANT_RANGE_DETAIL);
}
