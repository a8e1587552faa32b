import { LogSummary } from './log-summary';

describe(LogSummary.name, () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_900_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('logs the first occurrence at once, then one line per interval with the count and the latest message', () => {
    const lines: string[] = [];
    const sut = new LogSummary({ warn: (m) => lines.push(m) }, 'worker error', 10_000);
    sut.add('OOM 1');
    for (let i = 2; i <= 5_000; i += 1) sut.add(`OOM ${i}`);
    expect(lines).toEqual(['worker error: OOM 1']);
    jest.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(lines).toEqual(['worker error: OOM 1', 'worker error (4999 in the last 10 s): OOM 5000']);
    // Quiet: nothing more, whatever the time.
    jest.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
    sut.add('lost connection');
    expect(lines[2]).toBe('worker error (1 in the last 60 s): lost connection');
  });
});
