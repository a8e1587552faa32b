import { CLICK_BATCH_MAX_BYTES, CLICK_BATCH_MAX_CLICKS, QueuedClick } from '@shortener/queue';
import fc from 'fast-check';
import { queuedClickJsonLength, splitClickBatches, toQueuedClick } from './click-batches';

const click = (i: number, userAgent: string | null = 'ua'): QueuedClick => ({
  linkId: String(i + 1),
  at: 1_900_000_000_000 + i,
  referrerHost: null,
  userAgent,
  visitorHash: `v${i}`,
  country: null,
});

describe(splitClickBatches.name, () => {
  let n = 0;
  const ids = () => `b${(n += 1)}`;
  beforeEach(() => (n = 0));

  it('keeps a small buffer in one batch with a fresh id, in order', () => {
    const clicks = [click(0), click(1), click(2)];
    expect(splitClickBatches(clicks, ids)).toEqual([{ v: 1, batchId: 'b1', clicks }]);
  });

  it('caps the number of clicks per batch', () => {
    const clicks = Array.from({ length: CLICK_BATCH_MAX_CLICKS * 2 + 1 }, (_, i) => click(i));
    const sut = splitClickBatches(clicks, ids);
    expect(sut.map((b) => b.clicks.length)).toEqual([CLICK_BATCH_MAX_CLICKS, CLICK_BATCH_MAX_CLICKS, 1]);
    expect(sut.flatMap((b) => b.clicks)).toEqual(clicks);
  });

  it('caps the serialized size of each batch', () => {
    const clicks = Array.from({ length: 900 }, (_, i) => click(i, 'x'.repeat(512)));
    const sut = splitClickBatches(clicks, ids);
    expect(sut.length).toBeGreaterThan(1);
    for (const batch of sut) expect(JSON.stringify(batch).length).toBeLessThanOrEqual(CLICK_BATCH_MAX_BYTES);
    expect(sut.flatMap((b) => b.clicks)).toEqual(clicks);
  });

  it('returns no batch for no clicks', () => {
    expect(splitClickBatches([], ids)).toEqual([]);
  });
});

describe(toQueuedClick.name, () => {
  it('clips the user agent and referrer host to the payload caps and keeps a traceparent', () => {
    const sut = toQueuedClick({
      linkId: '7',
      at: 1,
      referrerHost: 'r'.repeat(300),
      userAgent: 'u'.repeat(600),
      visitorHash: 'h',
      country: 'DE',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect([sut.referrerHost?.length, sut.userAgent?.length, sut.traceparent]).toEqual([255, 512, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);
  });
});

describe(queuedClickJsonLength.name, () => {
  it('equals the length of JSON.stringify for any click, escapes and lone surrogates included', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('"', '\\', '\u0000', '\ud800', 'a\udc00b'));
    const nullable = fc.option(text, { nil: null });
    const clicks = fc.record(
      {
        linkId: fc.bigInt({ min: 1n, max: 9_223_372_036_854_775_807n }).map(String),
        at: fc.integer({ min: 0, max: 8_640_000_000_000_000 }),
        referrerHost: nullable,
        userAgent: nullable,
        visitorHash: text,
        country: nullable,
        traceparent: text,
      },
      { requiredKeys: ['linkId', 'at', 'referrerHost', 'userAgent', 'visitorHash', 'country'] },
    );
    fc.assert(fc.property(clicks, (c) => queuedClickJsonLength(c) === JSON.stringify(c).length), { numRuns: 2_000 });
  });

  it('measures a typical click exactly', () => {
    const c: QueuedClick = { linkId: '12345', at: 1_900_000_000_000, referrerHost: 'news.example', userAgent: 'Mozilla/5.0', visitorHash: 'AbCdEfGhIjKlMnOpQrStUv', country: 'DE' };
    expect(queuedClickJsonLength(c)).toBe(147);
    expect(JSON.stringify(c).length).toBe(147);
  });
});
