import { JobDefinition } from '../queues.contract';

/** A discovered handler: the job it claims and its class name (for messages). */
export interface HandlerRegistration {
  job: JobDefinition;
  handler: string;
}

/** Thrown at worker boot when jobs and handlers do not match one to one. */
export class JobWiringError extends Error {
  constructor(readonly problems: string[]) {
    super(`The worker's job wiring is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'JobWiringError';
  }
}

const key = (job: JobDefinition) => `${job.queue}/${job.name}`;

/**
 * Every wiring problem at once (empty when the wiring is sound): a job of the
 * contract with no handler or with more than one, a handler of a job the
 * contract does not list, and a queue with jobs but no processor.
 *
 * @param jobs the contract ({@link ALL_JOBS}).
 * @param handlers the handlers discovered in the process.
 * @param processedQueues the queues the process runs a BullMQ worker for.
 */
export function jobWiringProblems(jobs: readonly JobDefinition[], handlers: readonly HandlerRegistration[], processedQueues: readonly string[]): string[] {
  const problems: string[] = [];
  const byJob = new Map<string, string[]>();
  for (const h of handlers) byJob.set(key(h.job), [...(byJob.get(key(h.job)) ?? []), h.handler]);
  const known = new Set(jobs.map(key));
  for (const job of jobs) {
    const found = byJob.get(key(job)) ?? [];
    if (found.length === 0) problems.push(`job ${key(job)} has no handler`);
    if (found.length > 1) problems.push(`job ${key(job)} has ${found.length} handlers: ${found.join(', ')}`);
    if (!processedQueues.includes(job.queue)) problems.push(`queue ${job.queue} (job ${job.name}) has no processor`);
  }
  for (const [k, names] of byJob) {
    if (!known.has(k)) problems.push(`${names.join(', ')} handle ${k}, which is not a job of the contract`);
  }
  return problems;
}
