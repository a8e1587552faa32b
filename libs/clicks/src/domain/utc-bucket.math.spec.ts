import { bucketCeil, bucketStart, hourStart, utcDay } from './utc-bucket.math';

const t = (iso: string) => Date.parse(iso);

describe('utc-bucket.math', () => {
  it('floors an instant to its UTC hour and day whatever offset it was written with', () => {
    expect(new Date(hourStart(t('2030-03-10T01:59:59.999+05:30'))).toISOString()).toBe('2030-03-09T20:00:00.000Z');
    expect(new Date(bucketStart(t('2030-03-10T01:59:59.999+05:30'), 'day')).toISOString()).toBe('2030-03-09T00:00:00.000Z');
  });

  it('names the UTC day, not the local one', () => {
    expect(utcDay(t('2030-03-10T23:30:00-02:00'))).toBe('2030-03-11');
    expect(utcDay(t('2030-03-11T00:00:00Z'))).toBe('2030-03-11');
    expect(utcDay(t('2030-03-10T23:59:59.999Z'))).toBe('2030-03-10');
  });

  it('ceils to the next boundary but keeps an instant that is one', () => {
    expect(new Date(bucketCeil(t('2030-03-10T10:00:00Z'), 'hour')).toISOString()).toBe('2030-03-10T10:00:00.000Z');
    expect(new Date(bucketCeil(t('2030-03-10T10:00:00.001Z'), 'hour')).toISOString()).toBe('2030-03-10T11:00:00.000Z');
    expect(new Date(bucketCeil(t('2030-03-10T10:00:00.001Z'), 'day')).toISOString()).toBe('2030-03-11T00:00:00.000Z');
  });

  it('handles instants before 1970 (negative epoch) by flooring, not truncating', () => {
    expect(new Date(hourStart(t('1969-12-31T23:30:00Z'))).toISOString()).toBe('1969-12-31T23:00:00.000Z');
  });
});
