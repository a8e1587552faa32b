import type { IncomingMessage } from 'node:http';
import { headSampled } from './tracing-sdk';

function request(url: string, traceparent?: string): IncomingMessage {
  return { url, headers: traceparent === undefined ? {} : { traceparent } } as unknown as IncomingMessage;
}

describe(headSampled.name, () => {
  const policy = { parentBased: true, ratio: 0.01 };

  it('draws once per request: the ignore hook gets the gate answer, not a second draw', () => {
    const draws = [0.005, 0.5];
    let calls = 0;
    const random = () => draws[calls++];
    const req = request('/abc');
    // The gate's draw (0.005 < 0.01) samples; the hook's question must not draw 0.5 and refuse.
    expect([headSampled(policy, req, random), headSampled(policy, req, random)]).toEqual([true, true]);
    expect(calls).toBe(1);
  });

  it('samples a root request at the ratio, not at the ratio squared', () => {
    // A deterministic sweep of [0, 1): exactly ratio x N requests fall under the ratio.
    const n = 10_000;
    let sampled = 0;
    for (let i = 0; i < n; i += 1) {
      const req = request('/abc');
      const random = () => i / n;
      // The gate and then the instrumentation's ignore hook ask for each request.
      if (headSampled(policy, req, random) && headSampled(policy, req, () => 0.999)) sampled += 1;
    }
    expect(sampled).toBe(100);
  });

  it('never samples management paths and follows a sampled parent', () => {
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect([
      headSampled(policy, request('/metrics', parent), () => 0),
      headSampled(policy, request('/health/ready'), () => 0),
      headSampled(policy, request('/abc', parent), () => 0.999),
      headSampled(policy, request('/abc'), () => 0.999),
    ]).toEqual([false, false, true, false]);
  });
});
