import { Writable } from 'node:stream';
import { createLogger, REDACTED } from './logger';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe(createLogger.name, () => {
  const config = { logLevel: 'info' as const, otel: { disabled: true, serviceName: 'shortener-api' } };

  it('writes JSON lines with the level label and service, secrets redacted', () => {
    const out = capture();
    const sut = createLogger(config, out.stream);
    sut.info(
      {
        headers: { authorization: 'Bearer sk_abc_secret', 'x-api-key': 'sk_abc_secret2', accept: '*/*' },
        key: 'sk_abc_secret3',
        body: { apiKey: 'k', name: 'n' },
      },
      'hello',
    );
    const [{ time, ...line }] = out.lines();
    expect(typeof time).toBe('string');
    expect(line).toEqual({
      level: 'info',
      service: 'shortener-api',
      headers: { authorization: REDACTED, 'x-api-key': REDACTED, accept: '*/*' },
      key: REDACTED,
      body: { apiKey: REDACTED, name: 'n' },
      msg: 'hello',
    });
  });

  it('respects LOG_LEVEL, silent included', () => {
    const out = capture();
    createLogger({ ...config, logLevel: 'warn' }, out.stream).info('dropped');
    createLogger({ ...config, logLevel: 'silent' }, out.stream).error('dropped too');
    createLogger({ ...config, logLevel: 'warn' }, out.stream).warn('kept');
    expect(out.lines().map((l) => l.msg)).toEqual(['kept']);
  });
});
