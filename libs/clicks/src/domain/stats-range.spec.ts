import { DomainError, ManualClock } from '@shortener/common';
import { MAX_STATS_POINTS, planStatsRange } from './stats-range';

const iso = (ms: number) => new Date(ms).toISOString();

describe(planStatsRange.name, () => {
  const clock = new ManualClock(Date.parse('2030-03-10T10:30:00Z'));

  it('defaults to the last 24 hours including the current hour', () => {
    const sut = planStatsRange({ granularity: 'hour' }, clock);
    expect({ start: iso(sut.start), end: iso(sut.end), points: sut.points, firstDay: sut.firstDay, lastDay: sut.lastDay }).toEqual({
      start: '2030-03-09T11:00:00.000Z',
      end: '2030-03-10T11:00:00.000Z',
      points: 24,
      firstDay: '2030-03-09',
      lastDay: '2030-03-10',
    });
  });

  it('defaults to the last 30 days including today, and follows the clock', () => {
    clock.advance(24 * 3_600_000);
    const sut = planStatsRange({ granularity: 'day' }, clock);
    clock.advance(-24 * 3_600_000);
    expect({ start: iso(sut.start), end: iso(sut.end), points: sut.points }).toEqual({
      start: '2030-02-10T00:00:00.000Z',
      end: '2030-03-12T00:00:00.000Z',
      points: 30,
    });
  });

  it('covers every UTC bucket that overlaps [from, to), with offsets converted to UTC', () => {
    const sut = planStatsRange({ from: '2030-03-10T09:15:00+02:00', to: '2030-03-10T10:00:00Z', granularity: 'hour' }, clock);
    expect({ start: iso(sut.start), end: iso(sut.end), points: sut.points }).toEqual({
      start: '2030-03-10T07:00:00.000Z',
      end: '2030-03-10T10:00:00.000Z',
      points: 3,
    });
  });

  it('takes now as `to` when only `from` is given', () => {
    const sut = planStatsRange({ from: '2030-03-08T00:00:00Z', granularity: 'day' }, clock);
    expect({ start: iso(sut.start), end: iso(sut.end), points: sut.points }).toEqual({
      start: '2030-03-08T00:00:00.000Z',
      end: '2030-03-11T00:00:00.000Z',
      points: 3,
    });
  });

  it('refuses from >= to with stats-range-invalid', () => {
    const error = (() => {
      try {
        planStatsRange({ from: '2030-03-10T10:00:00Z', to: '2030-03-10T10:00:00Z', granularity: 'hour' }, clock);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('stats-range-invalid');
  });

  it(`accepts ${MAX_STATS_POINTS} points and refuses one more`, () => {
    const to = Date.parse('2030-03-10T00:00:00Z');
    const ok = planStatsRange({ from: iso(to - MAX_STATS_POINTS * 3_600_000), to: iso(to), granularity: 'hour' }, clock);
    expect(ok.points).toBe(MAX_STATS_POINTS);
    expect(() => planStatsRange({ from: iso(to - (MAX_STATS_POINTS + 1) * 3_600_000), to: iso(to), granularity: 'hour' }, clock)).toThrow(
      /1001 hour points; at most 1000/,
    );
  });
});
