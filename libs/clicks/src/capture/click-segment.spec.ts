import { ClickEvent } from '@shortener/links';
import { CLICK_BATCH_MAX_BYTES, CLICK_BATCH_MAX_CLICKS } from '@shortener/queue';
import fc from 'fast-check';
import { ClickSegment, encodeQueuedClick } from './click-segment';

const click = (i: number, userAgent: string | null = 'ua'): ClickEvent => ({
  linkId: String(i + 1),
  at: 1_900_000_000_000 + i,
  referrerHost: null,
  userAgent,
  visitorHash: `v${i}`,
  country: null,
});

const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('"', '\\', '\u0000', '\ud800', 'a\udc00b', 'ü€😀'));
const nullable = fc.option(text, { nil: null });
const anyClick = fc.record(
  {
    linkId: fc.bigInt({ min: 1n, max: 9_223_372_036_854_775_807n }).map(String),
    at: fc.integer({ min: 0, max: 8_640_000_000_000_000 }),
    referrerHost: nullable,
    userAgent: nullable,
    visitorHash: text,
    country: nullable,
    traceparent: fc.option(text, { nil: undefined }),
  },
  { requiredKeys: ['linkId', 'at', 'referrerHost', 'userAgent', 'visitorHash', 'country'] },
);

describe(encodeQueuedClick.name, () => {
  it('gives exactly JSON.stringify of the capped queue form, for any click', () => {
    fc.assert(
      fc.property(anyClick, (c) => {
        const queued = {
          linkId: c.linkId,
          at: c.at,
          referrerHost: c.referrerHost === null ? null : c.referrerHost.slice(0, 255),
          userAgent: c.userAgent === null ? null : c.userAgent.slice(0, 512),
          visitorHash: c.visitorHash,
          country: c.country,
          ...(c.traceparent ? { traceparent: c.traceparent } : {}),
        };
        return encodeQueuedClick(c) === JSON.stringify(queued);
      }),
      { numRuns: 2_000 },
    );
  });

  it('clips the user agent and referrer host to the payload caps and keeps a traceparent', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const sut = JSON.parse(
      encodeQueuedClick({ linkId: '7', at: 1, referrerHost: 'r'.repeat(300), userAgent: 'u'.repeat(600), visitorHash: 'h', country: 'DE', traceparent: tp }),
    );
    expect([sut.referrerHost.length, sut.userAgent.length, sut.traceparent]).toEqual([255, 512, tp]);
  });

  it('encodes a typical click', () => {
    const c: ClickEvent = {
      linkId: '12345',
      at: 1_900_000_000_000,
      referrerHost: 'news.example',
      userAgent: 'Mozilla/5.0',
      visitorHash: 'AbCdEfGhIjKlMnOpQrStUv',
      country: 'DE',
    };
    expect(encodeQueuedClick(c)).toBe(
      '{"linkId":"12345","at":1900000000000,"referrerHost":"news.example","userAgent":"Mozilla/5.0","visitorHash":"AbCdEfGhIjKlMnOpQrStUv","country":"DE"}',
    );
  });
});

describe(ClickSegment.name, () => {
  it('gives back the clicks written, in order, as a version 1 batch with the id given, as often as asked until cleared', () => {
    const sut = new ClickSegment(500);
    const clicks = [click(0), click(1, 'Mozilla/5.0 "quoted" ü'), click(2, null)];
    for (const c of clicks) expect(sut.append(encodeQueuedClick(c))).toBe(true);
    expect(sut.payload('b1')).toEqual({ v: 1, batchId: 'b1', clicks });
    expect(sut.payload('b1')).toEqual({ v: 1, batchId: 'b1', clicks });
    expect(sut.count).toBe(3);
    sut.clear();
    expect(sut.count).toBe(0);
    sut.append(encodeQueuedClick(click(3)));
    expect(sut.payload('b2')).toEqual({ v: 1, batchId: 'b2', clicks: [click(3)] });
  });

  it('holds at most its batch size, and never more than the hard cap', () => {
    const small = new ClickSegment(2);
    expect([0, 1, 2].map((i) => small.append(encodeQueuedClick(click(i))))).toEqual([true, true, false]);
    expect([small.count, small.full]).toEqual([2, true]);
    const huge = new ClickSegment(10_000);
    let n = 0;
    while (huge.append(encodeQueuedClick(click(n)))) n++;
    expect(n).toBe(CLICK_BATCH_MAX_CLICKS);
  });

  it('keeps the whole job payload within the byte cap, multi-byte and escaped text included', () => {
    const sut = new ClickSegment(1_000);
    const fat = click(0, '\u0001😀ü'.repeat(128));
    let n = 0;
    while (sut.append(encodeQueuedClick(fat))) n++;
    const batch = sut.payload('00000000-0000-4000-8000-000000000000');
    expect(batch.clicks).toHaveLength(n);
    expect(n).toBeLessThan(1_000);
    expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThanOrEqual(CLICK_BATCH_MAX_BYTES);
    expect(Buffer.byteLength(JSON.stringify(batch)) + 2_000).toBeGreaterThan(CLICK_BATCH_MAX_BYTES);
  });
});
