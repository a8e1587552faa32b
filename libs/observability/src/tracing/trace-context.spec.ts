import { TraceFlags } from '@opentelemetry/api';
import { sampledTraceparent, spanLinksFromTraceparents } from './trace-context';

describe(spanLinksFromTraceparents.name, () => {
  it('links valid traceparents once each, skipping missing and invalid ones, up to the cap', () => {
    const a = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const b = '00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-00';
    const sut = spanLinksFromTraceparents([a, undefined, 'nonsense', null, a, b]);
    expect(sut).toEqual([
      { context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true } },
      { context: { traceId: '1af7651916cd43dd8448eb211c80319c', spanId: 'c7ad6b7169203331', traceFlags: TraceFlags.NONE, isRemote: true } },
    ]);
    expect(spanLinksFromTraceparents([a, b], 1)).toHaveLength(1);
  });
});

describe(sampledTraceparent.name, () => {
  it('is undefined without an active span (tracing off, or an unsampled request)', () => {
    expect(sampledTraceparent()).toBeUndefined();
  });
});
