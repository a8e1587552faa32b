import { ProblemCode } from './problem-types';

/**
 * An expected failure with a stable code; the HTTP layer maps it to RFC 9457
 * problem details through {@link PROBLEM_TYPES}. `detail` is safe to show to
 * the client; `extensions` become extra members of the problem object.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'DomainError';
  }
}
