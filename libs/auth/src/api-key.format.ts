import { randomBytes } from 'node:crypto';

/** An API key split into its public prefix (looked up) and its secret (verified). */
export interface ParsedApiKey {
  prefix: string;
  secret: string;
}

const KEY_PATTERN = /^sk_([a-z0-9]{8,32})_([A-Za-z0-9]{32,128})$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * Parses `sk_<prefix>_<secret>`: prefix 8-32 of `[a-z0-9]`, secret 32-128 base62.
 * @returns null when the string is not shaped like a key (no lookup is made then).
 */
export function parseApiKey(raw: string): ParsedApiKey | null {
  const m = KEY_PATTERN.exec(raw);
  return m ? { prefix: m[1], secret: m[2] } : null;
}

function randomString(length: number, alphabet: string): string {
  // Rejection sampling keeps every character uniform.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** A new random key: 12-character prefix, 40-character base62 secret (about 238 bits). */
export function generateApiKey(): ParsedApiKey & { key: string } {
  const prefix = randomString(12, '0123456789abcdefghijklmnopqrstuvwxyz');
  const secret = randomString(40, BASE62);
  return { prefix, secret, key: `sk_${prefix}_${secret}` };
}
