import { SequenceBlock } from './sequence-block';

/** A sequence in memory that records each reservation (the real one is `link_code_seq`, tested end to end). */
function counter(start = 1n) {
  let next = start;
  const calls: number[] = [];
  const reserve = async (count: number) => {
    calls.push(count);
    await Promise.resolve();
    return Array.from({ length: count }, () => next++);
  };
  return { reserve, calls };
}

describe(SequenceBlock.name, () => {
  it('hands out a block of values with one reservation, in the order reserved', async () => {
    const seq = counter();
    const block = new SequenceBlock(seq.reserve, 4);
    const taken = [];
    for (let i = 0; i < 6; i += 1) taken.push(await block.take());
    expect({ taken, calls: seq.calls, remaining: block.remaining }).toEqual({ taken: [1n, 2n, 3n, 4n, 5n, 6n], calls: [4, 4], remaining: 2 });
  });

  it('makes concurrent takers share one reservation per block (single flight), each value once', async () => {
    const seq = counter(100n);
    const block = new SequenceBlock(seq.reserve, 32);
    const taken = await Promise.all(Array.from({ length: 100 }, () => block.take()));
    expect(new Set(taken).size).toBe(100);
    expect([...taken].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 100 }, (_, i) => 100n + BigInt(i)));
    expect(seq.calls).toEqual([32, 32, 32, 32]);
    expect(block.remaining).toBe(28);
  });

  it('fails the takers of a failed reservation and tries again on the next take', async () => {
    let fail = true;
    const seq = counter();
    const block = new SequenceBlock((n) => (fail ? Promise.reject(new Error('connection refused')) : seq.reserve(n)), 2);
    await expect(Promise.all([block.take(), block.take()])).rejects.toThrow('connection refused');
    fail = false;
    expect([await block.take(), await block.take(), await block.take()]).toEqual([1n, 2n, 3n]);
  });

  it('refuses a block size below 1 and a reservation of nothing', async () => {
    expect(() => new SequenceBlock(async () => [], 0)).toThrow(RangeError);
    await expect(new SequenceBlock(async () => [], 3).take()).rejects.toThrow('the sequence reserved no value');
  });
});
