import { get } from 'node:http';
import { type CompiledApp, startCompiledApp } from '../support/compiled-app';
import { type FloodReport, runConnFlood } from '../support/conn-flood';
import {
  createProbeLink,
  openFds,
  rssKiB,
  type ProbeReport,
  type ProcessReport,
  runSlowHttpFor,
  type SlowHttpMode,
  type SustainedSlowHttpReport,
  startProcessSampler,
  startRedirectProbe,
} from '../support/slow-http';

// The compiled API (npm run build) with the product's defaults for every HTTP
// limit: 10,000 connections per process, 1,000 per peer address, 10 s for the
// headers and between body chunks, 30 s for a request; and with the V8 heap
// flags the chart deploys it with. The attackers connect from 127.0.0.1; the
// probe, a client the attacks must not lock out, from 127.0.0.2. Each phase
// gets a fresh process, so what one attack leaves behind is not charged to
// the next.
const RSS_LIMIT_KIB = 300 * 1024;
const PROBE_SUCCESS_SHARE = 0.99;
const PROBE_INTERVAL_MS = 100;
const ATTACK_SECONDS = 30;
const ATTACK_CONNECTIONS = 1_000;
const FLOOD_CONNECTIONS = 20_000;
const FLOOD_HOLD_MS = 15_000;

/** What one phase measured. */
interface Phase<T> {
  attack: T;
  probe: ProbeReport;
  process: ProcessReport;
  elapsedMs: number;
}

describe('the compiled API under slow-HTTP attacks and a connection flood, with the default limits', () => {
  let app: CompiledApp;
  let port: number;
  let code: string;
  let idleFds: number;
  let idleRssKiB: number;

  beforeAll(() => {
    for (const name of Object.keys(process.env)) if (name.startsWith('HTTP_')) throw new Error(`${name} is set: this stage runs the product defaults`);
  });

  beforeEach(async () => {
    app = await startCompiledApp('api', {}, { chartHeap: true });
    port = Number(new URL(app.url).port);
    code = await createProbeLink(app.url);
    idleFds = openFds(app.child.pid!) ?? 0;
    idleRssKiB = rssKiB(app.child.pid!) ?? 0;
  }, 120_000);

  afterEach(async () => {
    await app?.stop();
  });

  /** Runs `attack` while the probe and the sampler watch the API, and prints what they saw. */
  async function phase<T>(name: string, attack: () => Promise<T>): Promise<Phase<T>> {
    const sampler = startProcessSampler(app.child.pid!, 250);
    const probe = startRedirectProbe({ port, path: `/${code}`, intervalMs: PROBE_INTERVAL_MS });
    const started = performance.now();
    const result = await attack().catch(async (error: unknown) => {
      await probe.stop();
      sampler.stop();
      throw error;
    });
    const elapsedMs = performance.now() - started;
    const probeReport = await probe.stop();
    const processReport = sampler.stop();
    console.log(
      `${name}: ${(elapsedMs / 1000).toFixed(1)} s; API RSS peak ${(processReport.peakRssKiB / 1024).toFixed(1)} MiB ` +
        `(idle ${(idleRssKiB / 1024).toFixed(1)}, limit ${RSS_LIMIT_KIB / 1024}), open fds peak ${processReport.peakFds} (idle ${idleFds}), ` +
        `CPU ${processReport.cpuSeconds.toFixed(1)} s; ` +
        `probe ${probeReport.ok}/${probeReport.sent} = ${(100 * probeReport.successShare).toFixed(2)}% ` +
        `(p50 ${probeReport.p50Ms.toFixed(1)} ms, p99 ${probeReport.p99Ms.toFixed(1)} ms, max ${probeReport.maxMs.toFixed(1)} ms, failures ${JSON.stringify(probeReport.failures)})\n` +
        `attacker: ${JSON.stringify(result)}`,
    );
    return { attack: result, probe: probeReport, process: processReport, elapsedMs };
  }

  /** The API stayed up, under the memory bound, and served the probe. */
  function expectServed(p: Phase<unknown>): void {
    expect({ exitCode: app.child.exitCode, signal: app.child.signalCode, vanished: p.process.vanished }).toEqual({
      exitCode: null,
      signal: null,
      vanished: false,
    });
    expect(p.process.peakRssKiB).toBeLessThan(RSS_LIMIT_KIB);
    // The probe really ran through the phase: about one probe per interval.
    expect(p.probe.sent).toBeGreaterThanOrEqual(Math.floor((0.8 * p.elapsedMs) / PROBE_INTERVAL_MS));
    expect(p.probe.successShare).toBeGreaterThanOrEqual(PROBE_SUCCESS_SHARE);
  }

  /**
   * The attack really held its connections at the API: as many as the
   * per-address cap lets one peer hold (1,000 by default), give or take
   * the sampling. Guards against an attacker that silently failed.
   */
  function expectHeldAtTheApi(p: Phase<unknown>): void {
    expect(p.process.peakFds - idleFds).toBeGreaterThanOrEqual(0.9 * ATTACK_CONNECTIONS);
  }

  const slowHttp = (mode: SlowHttpMode, path: string) => () =>
    runSlowHttpFor(mode, `${app.url}${path}`, { connections: ATTACK_CONNECTIONS, rate: 1_000, durationS: ATTACK_SECONDS });

  it('slow headers (slowloris, 1,000 connections for 30 s)', async () => {
    const p = await phase<SustainedSlowHttpReport>('slow headers', slowHttp('slow-headers', `/${code}`));
    expectHeldAtTheApi(p);
    expectServed(p);
  }, 90_000);

  it('slow body (slow POST to /api/v1/links, 1,000 connections for 30 s)', async () => {
    const p = await phase<SustainedSlowHttpReport>('slow body', slowHttp('slow-body', '/api/v1/links'));
    expectServed(p);
  }, 90_000);

  it('slow read of the largest response (1,000 connections for 30 s)', async () => {
    const sizes: Record<string, number> = {};
    for (const path of ['/api/openapi.json', '/api/openapi.yaml', '/api/docs', '/api/docs/swagger-ui-bundle.js', '/api/docs/swagger-ui.css']) {
      sizes[path] = await responseBytes(`${app.url}${path}`);
    }
    const largest = Object.entries(sizes).sort((a, b) => b[1] - a[1])[0][0];
    console.log(`response sizes (bytes): ${JSON.stringify(sizes)}; slow read of ${largest}`);
    expect(largest).toBe('/api/docs/swagger-ui-bundle.js');
    const p = await phase<SustainedSlowHttpReport>('slow read', slowHttp('slow-read', largest));
    expectHeldAtTheApi(p);
    expectServed(p);
  }, 90_000);

  it('20,000 stalled connections held for 15 s', async () => {
    const p = await phase<FloodReport>('connection flood', () => runConnFlood({ port, connections: FLOOD_CONNECTIONS, holdMs: FLOOD_HOLD_MS }));
    // Every attempt reached the API: the flood is not an artefact of the attacker's own limits.
    expect(p.attack.connected).toBe(FLOOD_CONNECTIONS);
    expectHeldAtTheApi(p);
    expectServed(p);
  }, 120_000);
});

/** Length in bytes of the body `GET url` answers, read on a connection of its own that is closed afterwards. */
function responseBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, timeout: 10_000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.once('end', () => {
        resolve(bytes);
      });
      res.once('error', reject);
    })
      .once('timeout', function (this: { destroy(e: Error): void }) {
        this.destroy(new Error(`no answer from ${url} within 10 s`));
      })
      .once('error', reject);
  });
}
