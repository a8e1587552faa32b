import { DomainError, ManualClock } from '@shortener/common';
import { MAX_STATS_POINTS, planStatsRange } from './stats-range';

function thrown(f: () => unknown): DomainError {
  try {
    f();
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('did not throw');
}

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

  it('takes ranges whose buckets lie from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (UTC), the edges included', () => {
    const first = planStatsRange({ from: '0001-01-01T00:00:00Z', to: '0001-01-02T00:00:00Z', granularity: 'day' }, clock);
    const last = planStatsRange({ from: '9999-12-31T00:00:00Z', to: '9999-12-31T23:00:00Z', granularity: 'hour' }, clock);
    expect([first.firstDay, first.lastDay, iso(first.start), first.points]).toEqual(['0001-01-01', '0001-01-01', '0001-01-01T00:00:00.000Z', 1]);
    expect([last.firstDay, last.lastDay, iso(last.end), last.points]).toEqual(['9999-12-31', '9999-12-31', '9999-12-31T23:00:00.000Z', 23]);
  });

  it('refuses a default range that would start before year 1, naming to', () => {
    const error = thrown(() => planStatsRange({ to: '0001-01-02T00:00:00Z', granularity: 'day' }, clock));
    expect([error.code, error.extensions.errors]).toEqual([
      'stats-range-invalid',
      [{ pointer: '/to', detail: 'the default range (30 day buckets up to to) would start before 0001-01-01T00:00:00Z: give from' }],
    ]);
  });

  it('refuses a from before year 1, naming it', () => {
    const error = thrown(() => planStatsRange({ from: '0000-12-31T23:00:00Z', to: '0001-01-02T00:00:00Z', granularity: 'hour' }, clock));
    expect([error.code, error.extensions.errors]).toEqual(['stats-range-invalid', [{ pointer: '/from', detail: 'must not be before 0001-01-01T00:00:00Z' }]]);
  });

  it('refuses a range whose last bucket ends after 9999-12-31T23:59:59.999Z, naming to', () => {
    const error = thrown(() => planStatsRange({ from: '9999-12-30T00:00:00Z', to: '9999-12-31T00:00:01Z', granularity: 'day' }, clock));
    expect([error.code, error.extensions.errors]).toEqual([
      'stats-range-invalid',
      [{ pointer: '/to', detail: 'ceiled to the day, must not be after 9999-12-31T23:59:59.999Z' }],
    ]);
  });
});
