import { JobDefinition, QUEUES } from '../queues.contract';
import { jobWiringProblems } from './job-wiring.check';

describe(jobWiringProblems.name, () => {
  const a: JobDefinition = { queue: QUEUES.clicks, name: 'a' };
  const b: JobDefinition = { queue: QUEUES.maintenance, name: 'b' };
  const queues = [QUEUES.clicks, QUEUES.maintenance];

  it('accepts exactly one handler per job', () => {
    expect(
      jobWiringProblems(
        [a, b],
        [
          { job: a, handler: 'A' },
          { job: b, handler: 'B' },
        ],
        queues,
      ),
    ).toEqual([]);
  });

  it('reports a job with no handler, one with two, an unknown job and a queue without processor, all at once', () => {
    const stray: JobDefinition = { queue: QUEUES.clicks, name: 'stray' };
    const problems = jobWiringProblems(
      [a, b],
      [
        { job: a, handler: 'A1' },
        { job: a, handler: 'A2' },
        { job: stray, handler: 'S' },
      ],
      [QUEUES.clicks],
    );
    expect(problems).toEqual([
      'job clicks/a has 2 handlers: A1, A2',
      'job maintenance/b has no handler',
      'queue maintenance (job b) has no processor',
      'S handle clicks/stray, which is not a job of the contract',
    ]);
  });
});
