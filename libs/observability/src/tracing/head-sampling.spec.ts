import { decideHeadSampling, headSamplingPolicyFromEnv, parseTraceparent, traceIdWithinRatio } from './head-sampling';

const SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const NOT_SAMPLED = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

describe(headSamplingPolicyFromEnv.name, () => {
  it.each([
    [{}, { parentBased: true, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'always_on' }, { parentBased: false, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, { parentBased: false, ratio: 0 }],
    [
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' },
      { parentBased: false, ratio: 0.25 },
    ],
    [
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' },
      { parentBased: true, ratio: 0.01 },
    ],
    [
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '7' },
      { parentBased: true, ratio: 1 },
    ],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }, { parentBased: true, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, { parentBased: true, ratio: 0 }],
    [{ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, { parentBased: true, ratio: 1 }],
  ])('reads %j', (env, policy) => {
    expect(headSamplingPolicyFromEnv(env)).toEqual(policy);
  });
});

describe(parseTraceparent.name, () => {
  it('parses the W3C header and refuses invalid ones', () => {
    expect(parseTraceparent(SAMPLED)).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true });
    expect(parseTraceparent(NOT_SAMPLED)?.sampled).toBe(false);
    expect(
      [
        undefined,
        ['a', 'b'],
        'garbage',
        'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        '00-00000000000000000000000000000000-b7ad6b7169203331-01',
        '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
        '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
      ].map((v) => parseTraceparent(v as string)),
    ).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});

describe(decideHeadSampling.name, () => {
  const never = () => 0.999;
  const always = () => 0;
  it('follows a parent-based policy: the parent flag, else the ratio', () => {
    const policy = { parentBased: true, ratio: 0.5 };
    expect([
      decideHeadSampling(policy, SAMPLED, never),
      decideHeadSampling(policy, NOT_SAMPLED, always),
      decideHeadSampling(policy, undefined, always),
      decideHeadSampling(policy, undefined, never),
      decideHeadSampling({ parentBased: true, ratio: 0 }, SAMPLED, never),
    ]).toEqual([true, false, true, false, true]);
  });

  it('ignores the parent flag without parent-based sampling', () => {
    expect([
      decideHeadSampling({ parentBased: false, ratio: 1 }, NOT_SAMPLED),
      decideHeadSampling({ parentBased: false, ratio: 0 }, SAMPLED),
      decideHeadSampling({ parentBased: false, ratio: 0 }, undefined, always),
    ]).toEqual([true, false, false]);
  });

  it('decides a known trace id as the SDK TraceIdRatioBasedSampler does', () => {
    // XOR of the four words of 0x00000001... is 1: inside any ratio above 2^-32.
    expect(traceIdWithinRatio('00000001000000000000000000000000', 0.001)).toBe(true);
    expect(traceIdWithinRatio('ffffffff000000000000000000000000', 0.999)).toBe(false);
    expect(decideHeadSampling({ parentBased: false, ratio: 0.5 }, '00-ffffffff000000000000000000000000-b7ad6b7169203331-01')).toBe(false);
  });
});
