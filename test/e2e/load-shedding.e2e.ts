import { TestApi, startTestApi } from '../support/api-app';
import { expectProblem } from '../support/problem';
import { waitUntil } from '../support/wait';

/** Blocks this process's event loop, as a CPU-bound burst would. */
function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe('load shedding under event-loop pressure (docs/design.md section 7)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ HTTP_MAX_EVENT_LOOP_DELAY_MS: '20' });
  });
  afterAll(() => api.close());

  it('answers 503 overloaded with Retry-After while the event loop lags, and serves again once it recovers', async () => {
    const shed = await waitUntil(
      'a shed request',
      async () => {
        await new Promise((r) => setTimeout(r, 5));
        blockEventLoop(1_200);
        const res = await api.http().get('/api/openapi.json');
        return { done: res.status === 503, state: res };
      },
      { timeoutMs: 30_000, intervalMs: 10 },
    );
    expectProblem(shed, 503, 'overloaded');
    expect(shed.headers['retry-after']).toBe('1');
    const recovered = await waitUntil(
      'the API to serve again',
      async () => {
        const res = await api.http().get('/api/openapi.json');
        return { done: res.status === 200, state: res };
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(recovered.status).toBe(200);
  });
});
