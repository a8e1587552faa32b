import { USER_AGENTS } from '../../../../test/support/user-agents';
import { ClickClassifier, classifyClick } from './click-dimensions.extractor';

describe(classifyClick.name, () => {
  it.each([
    ['chromeWindows', { bot: false, browser: 'Chrome', os: 'Windows', device: 'desktop' }],
    ['safariIphone', { bot: false, browser: 'Mobile Safari', os: 'iOS', device: 'mobile' }],
    ['safariIpad', { bot: false, browser: 'Mobile Safari', os: 'iOS', device: 'tablet' }],
    ['firefoxLinux', { bot: false, browser: 'Firefox', os: 'Linux', device: 'desktop' }],
    ['googlebot', { bot: true, browser: '', os: '', device: '' }],
    ['curl', { bot: true, browser: '', os: '', device: '' }],
  ] as const)('classifies %s', (name, expected) => {
    const { bot, dimensions } = classifyClick({ userAgent: USER_AGENTS[name], referrerHost: null, country: null });
    expect({ bot, browser: dimensions.browser, os: dimensions.os, device: dimensions.device }).toEqual(expected);
  });

  it('passes the referrer host and country through, normalised, and uses empty strings for none', () => {
    expect(classifyClick({ userAgent: null, referrerHost: 'News.Example.COM', country: 'de' })).toEqual({
      bot: false,
      dimensions: { referrer: 'news.example.com', country: 'DE', browser: '', os: '', device: '' },
    });
  });

  it('clips long values to the stored maximum', () => {
    const { dimensions } = classifyClick({ userAgent: null, referrerHost: `${'a'.repeat(300)}.example`, country: null });
    expect(dimensions.referrer).toHaveLength(200);
  });
});

describe(ClickClassifier.name, () => {
  it('returns the same classification as classifyClick and stays bounded', () => {
    const sut = new ClickClassifier(2);
    const signals = (ua: string) => ({ userAgent: ua, referrerHost: 'r.example', country: 'FR' });
    for (const ua of Object.values(USER_AGENTS)) expect(sut.classify(signals(ua))).toEqual(classifyClick(signals(ua)));
    // Six agents through a memo of two: cleared at the third and the fifth.
    expect(Object.keys(USER_AGENTS)).toHaveLength(6);
    expect(sut.size).toBe(2);
  });

  it('answers a repeated click from the memo, telling null and empty signals alike', () => {
    const sut = new ClickClassifier();
    const first = sut.classify({ userAgent: USER_AGENTS.curl, referrerHost: null, country: 'FR' });
    expect(sut.classify({ userAgent: USER_AGENTS.curl, referrerHost: '', country: 'FR' })).toBe(first);
    expect(sut.classify({ userAgent: USER_AGENTS.curl, referrerHost: null, country: 'DE' })).not.toBe(first);
    expect(sut.size).toBe(2);
  });
});
