import { DeadlineExceededError } from '@shortener/common';
import { DatabaseError } from 'pg';
import { toProblem } from './problem';

/** A PostgreSQL error as node-postgres reports it. */
function pgError(code: string, message: string): DatabaseError {
  const error = new DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

describe(toProblem.name, () => {
  it('maps transient PostgreSQL failures to 503 dependency-unavailable with Retry-After, never 500', () => {
    const cases: [unknown, string][] = [
      [pgError('57014', 'canceling statement due to statement timeout'), 'DATABASE_STATEMENT_TIMEOUT_MS'],
      [pgError('55P03', 'canceling statement due to lock timeout'), 'DATABASE_STATEMENT_TIMEOUT_MS'],
      [pgError('53300', 'sorry, too many clients already'), 'refused the request for now'],
      [pgError('57P01', 'terminating connection due to administrator command'), 'refused the request for now'],
      [pgError('08006', 'connection failure'), 'refused the request for now'],
      [new Error('timeout exceeded when trying to connect'), 'DATABASE_CONNECT_TIMEOUT_MS'],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'DATABASE_CONNECT_TIMEOUT_MS'],
      [
        { name: 'QueryFailedError', message: 'x', driverError: pgError('57014', 'canceling statement due to statement timeout') },
        'DATABASE_STATEMENT_TIMEOUT_MS',
      ],
    ];
    for (const [error, detail] of cases) {
      const body = toProblem(error);
      expect(body).toMatchObject({ type: 'urn:shortener:problem:dependency-unavailable', status: 503, retryAfterSeconds: 1 });
      expect(body.detail).toContain(detail);
    }
  });

  it('keeps a bug a 500 that shows nothing of its message', () => {
    expect(toProblem(pgError('23505', 'duplicate key value violates unique constraint "secret"'))).toEqual({
      type: 'urn:shortener:problem:internal',
      title: 'Internal error',
      status: 500,
    });
    expect(toProblem(new TypeError('x is undefined'))).toEqual({ type: 'urn:shortener:problem:internal', title: 'Internal error', status: 500 });
  });

  it('maps a passed deadline to 503 deadline-exceeded naming the setting and its value', () => {
    expect(toProblem(new DeadlineExceededError(2500))).toEqual({
      type: 'urn:shortener:problem:deadline-exceeded',
      title: 'The request did not finish within its deadline',
      status: 503,
      detail:
        'The request did not finish within its deadline of 2500 ms (HTTP_REQUEST_DEADLINE_MS); its work was cancelled. Retry later, with the same Idempotency-Key for a create',
      deadlineMs: 2500,
      retryAfterSeconds: 1,
    });
  });
});
