import { ProblemCode } from './problem-types';

/**
 * An expected failure with a stable code; the HTTP layer maps it to RFC 9457
 * problem details through {@link PROBLEM_TYPES}. `detail` is safe to show to
 * the client; `extensions` become extra members of the problem object.
 */
export class DomainError extends Error {
  readonly code: ProblemCode;
  readonly detail: string;
  readonly extensions: Record<string, unknown>;

  constructor(code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}) {
    // No stack trace: the error is an answer, not a bug, and capturing one
    // cost more than the rest of a refused request (wrong keys arrive by the thousand).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(detail);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
    this.detail = detail;
    this.extensions = extensions;
    this.name = 'DomainError';
  }
}
