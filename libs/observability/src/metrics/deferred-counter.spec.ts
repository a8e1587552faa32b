import { Registry } from 'prom-client';
import { MetricsService } from './metrics.service';
import { deferredCounter, deferredCounterChild } from './deferred-counter';

function counters() {
  const registry = new Registry();
  const labelled = deferredCounter({ name: 'demo_redirects_total', help: 'Demo.', labelNames: ['outcome', 'cache'] as const, registers: [registry] });
  const plain = deferredCounter({ name: 'demo_clicks_total', help: 'Demo.', registers: [registry] });
  return { registry, labelled, plain };
}

describe(deferredCounterChild.name, () => {
  it('shows every increment made before a scrape, per label set, and nothing twice', async () => {
    const { registry, labelled, plain } = counters();
    const hit = deferredCounterChild(labelled, { outcome: 'redirect', cache: 'lru' });
    const miss = deferredCounterChild(labelled, { outcome: 'not_found', cache: 'db' });
    const click = deferredCounterChild(plain, {});
    for (let i = 0; i < 3; i++) hit.inc();
    miss.inc();
    click.inc();
    click.inc();
    const lines = (text: string) => text.split('\n').filter((l) => l.startsWith('demo_'));
    expect(lines(await registry.metrics())).toEqual([
      'demo_redirects_total{outcome="redirect",cache="lru"} 3',
      'demo_redirects_total{outcome="not_found",cache="db"} 1',
      'demo_clicks_total 2',
    ]);
    hit.inc();
    // A second read adds only what came after the first.
    expect(lines(await registry.metrics())).toEqual([
      'demo_redirects_total{outcome="redirect",cache="lru"} 4',
      'demo_redirects_total{outcome="not_found",cache="db"} 1',
      'demo_clicks_total 2',
    ]);
  });

  it("reaches the app's counters through MetricsService's collect hooks (get() as well as a scrape)", async () => {
    const metrics = new MetricsService();
    const redirects = deferredCounterChild(metrics.redirects, { outcome: 'redirect', cache: 'redis' });
    redirects.inc();
    redirects.inc();
    deferredCounterChild(metrics.cacheRequests, { layer: 'lru', result: 'miss' }).inc();
    deferredCounterChild(metrics.clicksRecorded, {}).inc();
    expect((await metrics.redirects.get()).values.map((v) => [v.labels, v.value])).toEqual([[{ outcome: 'redirect', cache: 'redis' }, 2]]);
    expect((await metrics.cacheRequests.get()).values.map((v) => [v.labels, v.value])).toEqual([[{ layer: 'lru', result: 'miss' }, 1]]);
    expect((await metrics.clicksRecorded.get()).values.map((v) => v.value)).toEqual([1]);
  });
});
