import type { ClickBatchJobData, QueuedClick } from '@shortener/queue';
import { payloadProblem } from './click-batch.handler';

const click = (over: Partial<QueuedClick> = {}): QueuedClick => ({
  linkId: '42',
  at: 1,
  referrerHost: null,
  userAgent: null,
  visitorHash: 'v',
  country: null,
  ...over,
});
const payload = (clicks: QueuedClick[], over: Partial<ClickBatchJobData> = {}): ClickBatchJobData => ({ v: 1, batchId: 'b-1', clicks, ...over });

describe(payloadProblem.name, () => {
  it('accepts a well-formed batch, link ids up to the largest bigint', () => {
    expect(payloadProblem(payload([click(), click({ linkId: '9223372036854775807' }), click({ linkId: '999999999999999999' })]))).toBeNull();
  });

  it.each([
    ['a link id above the largest bigint', payload([click({ linkId: '9223372036854775808' })]), 'malformed click'],
    ['a link id of 20 digits', payload([click({ linkId: '10000000000000000000' })]), 'malformed click'],
    ['a link id with a leading zero', payload([click({ linkId: '042' })]), 'malformed click'],
    ['an instant that is not a number', payload([click({ at: Number.NaN })]), 'malformed click'],
    ['an unknown version', payload([], { v: 2 as 1 }), 'unknown payload version 2'],
    ['an empty batch id', payload([], { batchId: '' }), 'invalid batch id'],
  ])('refuses %s', (_, data, problem) => {
    expect(payloadProblem(data)).toBe(problem);
  });
});
