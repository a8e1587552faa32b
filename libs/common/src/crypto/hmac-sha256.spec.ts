import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { HmacSha256Word } from './hmac-sha256';

function reference(key: Uint8Array, message: number): number {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(message);
  return createHmac('sha256', key).update(bytes).digest().readUInt32BE(0);
}

describe(HmacSha256Word.name, () => {
  it('matches node:crypto for fixed keys, including empty, block-sized and longer ones', () => {
    for (const key of [Buffer.alloc(0), Buffer.from('test-key-0123456789abcdef'), Buffer.alloc(64, 0xaa), Buffer.alloc(131, 0xaa)]) {
      const sut = new HmacSha256Word(key);
      for (const message of [0, 1, 0x01abcdef, 0x7fffffff, 0x80000000, 0xffffffff]) {
        expect(sut.first32(message)).toBe(reference(key, message));
      }
    }
  });

  it('matches node:crypto for any key and message, call after call', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 8 }), (key, messages) => {
        const sut = new HmacSha256Word(key);
        for (const message of messages) expect(sut.first32(message)).toBe(reference(key, message));
      }),
    );
  });
});
