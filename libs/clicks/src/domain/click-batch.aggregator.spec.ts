import { aggregateClicks, ClickInput } from './click-batch.aggregator';
import { USER_AGENTS } from '../../../../test/support/user-agents';

const at = (iso: string) => Date.parse(iso);
const click = (over: Partial<ClickInput>): ClickInput => ({
  linkId: '1',
  at: at('2030-03-10T10:15:00Z'),
  userAgent: USER_AGENTS.chromeWindows,
  referrerHost: null,
  country: null,
  visitorHash: 'v1',
  ...over,
});

describe(aggregateClicks.name, () => {
  it('counts humans and bots apart per UTC hour and link, sorted by (link id as a number, hour)', () => {
    const sut = aggregateClicks([
      click({ linkId: '10' }),
      click({ linkId: '9', userAgent: USER_AGENTS.googlebot }),
      click({ linkId: '10', at: at('2030-03-10T11:00:00Z') }),
      click({ linkId: '10', userAgent: USER_AGENTS.curl }),
      click({ linkId: '10' }),
    ]);
    expect(sut.hourly).toEqual([
      { linkId: '9', hour: at('2030-03-10T10:00:00Z'), human: 0, bot: 1 },
      { linkId: '10', hour: at('2030-03-10T10:00:00Z'), human: 2, bot: 1 },
      { linkId: '10', hour: at('2030-03-10T11:00:00Z'), human: 1, bot: 0 },
    ]);
    expect(sut.totals).toEqual([
      { linkId: '9', clicks: 1 },
      { linkId: '10', clicks: 4 },
    ]);
  });

  it('counts dimensions and distinct visitors of human clicks only, per UTC day', () => {
    const sut = aggregateClicks([
      click({ referrerHost: 'a.example', country: 'DE', visitorHash: 'x' }),
      click({ referrerHost: 'a.example', country: 'DE', visitorHash: 'x', userAgent: USER_AGENTS.safariIphone }),
      click({ referrerHost: 'b.example', visitorHash: 'y', at: at('2030-03-11T00:00:00Z') }),
      click({ referrerHost: 'bot.example', visitorHash: 'z', userAgent: USER_AGENTS.googlebot }),
    ]);
    expect(sut.visitors).toEqual([
      { linkId: '1', day: '2030-03-10', visitorHashes: ['x'] },
      { linkId: '1', day: '2030-03-11', visitorHashes: ['y'] },
    ]);
    expect(sut.dimensions.filter((d) => d.day === '2030-03-10').map((d) => [d.dimension, d.value, d.clicks])).toEqual([
      ['browser', 'Chrome', 1],
      ['browser', 'Mobile Safari', 1],
      ['country', 'DE', 2],
      ['device', 'desktop', 1],
      ['device', 'mobile', 1],
      ['os', 'Windows', 1],
      ['os', 'iOS', 1],
      ['referrer', 'a.example', 2],
    ]);
    expect(sut.dimensions.filter((d) => d.day === '2030-03-11').map((d) => [d.dimension, d.value, d.clicks])).toEqual([
      ['browser', 'Chrome', 1],
      ['country', '', 1],
      ['device', 'desktop', 1],
      ['os', 'Windows', 1],
      ['referrer', 'b.example', 1],
    ]);
  });

  it('returns empty lists for an empty batch', () => {
    expect(aggregateClicks([])).toEqual({ hourly: [], dimensions: [], visitors: [], totals: [] });
  });
});
