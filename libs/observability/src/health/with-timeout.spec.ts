import { TimeoutError, withTimeout } from './with-timeout';

describe(withTimeout.name, () => {
  it('returns the result of work that settles in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1_000, 'quick')).resolves.toBe(42);
    await expect(withTimeout(Promise.reject(new Error('refused')), 1_000, 'failing')).rejects.toThrow('refused');
  });

  it('rejects with a TimeoutError naming the check when the work hangs', async () => {
    const hang = new Promise<never>(() => undefined);
    const error = await withTimeout(hang, 20, 'postgres').catch((e: unknown) => e);
    expect([error instanceof TimeoutError, (error as Error).message]).toEqual([true, 'postgres timed out after 20 ms']);
  });
});
