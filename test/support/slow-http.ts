import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { TEST_ADMIN_KEY } from './test-env';

/**
 * Tools of the slow-HTTP and connection-flood tests (test/engines): raw
 * HTTP/1.1 exchanges that stall where a test says, a redirect probe from a
 * loopback address of its own, a sampler of a process's memory and file
 * descriptors, and a runner of `slowhttptest`. Every loop is bounded in
 * count and time; every target is a loopback address.
 */

/** The loopback address the redirect probe binds: the attackers use 127.0.0.1. */
export const PROBE_ADDRESS = '127.0.0.2';

/** One HTTP/1.1 response as read off a socket. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Parses the first HTTP/1.1 response in `bytes` (a `Content-Length` body, or
 * whatever follows the head when there is none), or null when `bytes` holds
 * no complete head.
 */
export function parseRawResponse(bytes: Buffer): RawResponse | null {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  if (!status) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = bytes.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  const length = headers['content-length'] === undefined ? rest.length : Number(headers['content-length']);
  return { status: Number(status), headers, body: rest.subarray(0, length).toString('utf8') };
}

/** What a raw exchange saw: the bytes the server sent and how and when the connection ended. */
export interface RawExchange {
  /** Everything the server sent. */
  received: Buffer;
  /** The first response in {@link received}, if a complete head arrived. */
  response: RawResponse | null;
  /**
   * `end`: the server closed (FIN); `reset`: ECONNRESET or EPIPE; `timeout`:
   * still open at the exchange's deadline (the client then destroyed it).
   */
  ending: 'end' | 'reset' | 'timeout';
  /**
   * Milliseconds from the connect call to the end of the connection (to the
   * deadline for `timeout`). From the call, not the 'connect' event: the
   * server's idle timer starts at its accept, and a busy test process may
   * run the event tens of milliseconds later, which read a server keeping
   * its bound as early.
   */
  closedAfterMs: number;
  /** Milliseconds from the last byte the client wrote to the end of the connection. */
  closedAfterLastWriteMs: number;
}

/** A step of a raw exchange: bytes to write, or a pause in milliseconds. */
export type RawStep = string | Buffer | { pauseMs: number };

/**
 * Connects to `127.0.0.1:port` (from `localAddress`, 127.0.0.1 by default),
 * plays `steps` (writes and pauses, stopping at the first write the
 * connection refuses), then waits for the server to close the connection,
 * at most `deadlineMs` after the connect.
 *
 * @throws when the connection cannot be established.
 */
export function rawExchange(port: number, steps: RawStep[], options: { deadlineMs: number; localAddress?: string }): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const connectCalledAt = performance.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress: options.localAddress });
    const chunks: Buffer[] = [];
    let connectedAt = 0;
    let lastWriteAt = 0;
    let settled = false;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (ending: RawExchange['ending']) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      const now = performance.now();
      socket.destroy();
      const received = Buffer.concat(chunks);
      resolve({
        received,
        response: parseRawResponse(received),
        ending,
        closedAfterMs: now - connectCalledAt,
        closedAfterLastWriteMs: now - (lastWriteAt || connectedAt),
      });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => {
      finish('end');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connectedAt) {
        reject(error);
        return;
      }
      finish(error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'reset' : 'end');
    });
    socket.once('close', () => {
      finish('end');
    });
    // The steps run after the connection; a step that throws fails the whole request.
    socket.once('connect', () => {
      (async () => {
        connectedAt = performance.now();
        deadline = setTimeout(() => {
          finish('timeout');
        }, options.deadlineMs);
        for (const step of steps) {
          if (settled || socket.destroyed) return;
          if (typeof step === 'object' && 'pauseMs' in step) {
            await new Promise((r) => setTimeout(r, step.pauseMs));
          } else {
            socket.write(step);
            lastWriteAt = performance.now();
          }
        }
      })().catch(reject);
    });
  });
}

/** TCP states of /proc/net/tcp (include/net/tcp_states.h), by their hex code. */
const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

/**
 * The kernel's TCP state (e.g. `ESTABLISHED`, `FIN_WAIT1`) of the IPv4
 * socket on this network namespace whose local port is `localPort` and
 * remote port `remotePort`, from /proc/net/tcp; null when there is none.
 * Tells whether a server has closed its side of a connection while the
 * client has not read what is queued before the FIN.
 */
export function tcpState(localPort: number, remotePort: number): string | null {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (local?.endsWith(`:${hex(localPort)}`) && remote?.endsWith(`:${hex(remotePort)}`)) return TCP_STATES[state] ?? state;
  }
  return null;
}

/** What the redirect probe measured. */
export interface ProbeReport {
  sent: number;
  /** Probes answered with the expected status within the probe's timeout. */
  ok: number;
  /** ok / sent. */
  successShare: number;
  /** Failures by cause: `status <n>`, `timeout`, or a socket error code. */
  failures: Record<string, number>;
  /** Latency of the successful probes, milliseconds. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** A running probe: {@link stop} ends it and waits for the probes in flight. */
export interface RedirectProbe {
  stop(): Promise<ProbeReport>;
}

/**
 * Sends `GET path` to `127.0.0.1:port` every `intervalMs` (10 a second by
 * default) on a new connection bound to `localAddress` ({@link PROBE_ADDRESS}
 * by default), each given `timeoutMs` for the whole exchange; a probe
 * succeeds when the status is `expectStatus`. Probes are sent on schedule,
 * not after the previous one returns, so a slow server does not lower the
 * count. Stops by itself after `maxDurationMs`.
 */
export function startRedirectProbe(options: {
  port: number;
  path: string;
  expectStatus?: number;
  localAddress?: string;
  intervalMs?: number;
  timeoutMs?: number;
  maxDurationMs?: number;
}): RedirectProbe {
  const { port, path, expectStatus = 302, localAddress = PROBE_ADDRESS, intervalMs = 100, timeoutMs = 2_000, maxDurationMs = 120_000 } = options;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  const fail = (cause: string) => (failures[cause] = (failures[cause] ?? 0) + 1);
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now();
      let done = false;
      const settle = (cause: string | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (cause === null) latencies.push(performance.now() - started);
        else fail(cause);
        resolve();
      };
      const req = request({ host: '127.0.0.1', port, path, method: 'GET', localAddress, agent: false }, (res) => {
        res.resume();
        res.once('end', () => {
          settle(res.statusCode === expectStatus ? null : `status ${res.statusCode}`);
        });
        res.once('error', (e: NodeJS.ErrnoException) => {
          settle(e.code ?? e.message);
        });
      });
      const timer = setTimeout(() => {
        settle('timeout');
        req.destroy();
      }, timeoutMs);
      req.once('error', (e: NodeJS.ErrnoException) => {
        settle(e.code ?? e.message);
      });
      req.end();
    });
  const tick = () => {
    sent += 1;
    const p = once().finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const interval = setInterval(tick, intervalMs);
  const cap = setTimeout(() => {
    clearInterval(interval);
  }, maxDurationMs);
  return {
    stop: async () => {
      clearInterval(interval);
      clearTimeout(cap);
      await Promise.all([...inFlight]);
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
      return {
        sent,
        ok: latencies.length,
        successShare: sent ? latencies.length / sent : 0,
        failures,
        p50Ms: at(0.5),
        p99Ms: at(0.99),
        maxMs: sorted.at(-1) ?? NaN,
      };
    },
  };
}

/** What the process sampler saw. */
export interface ProcessReport {
  samples: number;
  /** Largest VmRSS seen, KiB. */
  peakRssKiB: number;
  lastRssKiB: number;
  /** Most open file descriptors seen. */
  peakFds: number;
  /** Whether the process was gone at some sample (/proc/<pid> missing). */
  vanished: boolean;
  /** CPU time (user + system, seconds) the process used while sampled. */
  cpuSeconds: number;
}

/** A running sampler: {@link stop} ends it. */
export interface ProcessSampler {
  stop(): ProcessReport;
}

/** VmRSS of a process in KiB, from /proc/<pid>/status; null when the process is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd); null when the process is gone. */
export function openFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** CPU time (user + system, seconds) a process has used, from /proc/<pid>/stat; null when the process is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks (100 a second on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * Samples a process's VmRSS and open file descriptors every `intervalMs`
 * (250 ms by default) until stopped, or for at most `maxDurationMs`.
 */
export function startProcessSampler(pid: number, intervalMs = 250, maxDurationMs = 120_000): ProcessSampler {
  const report: ProcessReport = { samples: 0, peakRssKiB: 0, lastRssKiB: 0, peakFds: 0, vanished: false, cpuSeconds: 0 };
  const cpuAtStart = cpuSeconds(pid) ?? 0;
  const sample = () => {
    const rss = rssKiB(pid);
    const fds = openFds(pid);
    report.samples += 1;
    if (rss === null || fds === null) {
      report.vanished = true;
      return;
    }
    report.lastRssKiB = rss;
    report.peakRssKiB = Math.max(report.peakRssKiB, rss);
    report.peakFds = Math.max(report.peakFds, fds);
  };
  sample();
  const interval = setInterval(sample, intervalMs);
  const cap = setTimeout(() => {
    clearInterval(interval);
  }, maxDurationMs);
  return {
    stop: () => {
      clearInterval(interval);
      clearTimeout(cap);
      sample();
      const cpu = cpuSeconds(pid);
      return { ...report, cpuSeconds: cpu === null ? NaN : cpu - cpuAtStart };
    },
  };
}

/** The `slowhttptest` attacks: slowloris, slow POST body, slow read. */
export type SlowHttpMode = 'slow-headers' | 'slow-body' | 'slow-read';

/** The last status `slowhttptest` printed, and how it ended. */
export interface SlowHttpReport {
  mode: SlowHttpMode;
  args: string[];
  exitCode: number | null;
  /** Its closing line, e.g. `Hit test time limit` or `No open connections left`. */
  exitStatus: string;
  elapsedMs: number;
  /** Counters of its last status block (initializing, pending, connected, error, closed). */
  last: Record<string, number>;
  /** Most connections it reported as connected at once. */
  peakConnected: number;
  /** Its last `service available` verdict (its own probe, from 127.0.0.1). */
  serviceAvailable: string;
}

/** Path of the Debian `slowhttptest` binary. */
export const SLOWHTTPTEST = '/usr/bin/slowhttptest';

/**
 * The arguments of one attack (see `man slowhttptest`): `connections`
 * opened at `rate` a second for `durationS` seconds. Slow headers and
 * slow body send a follow-up of up to 24 or 10 bytes every 5 s (under
 * the server's 10 s idle bound, so the total bounds are what cut them);
 * the slow body announces 8,192 bytes of JSON; slow read advertises a
 * 512-1,024-byte TCP window, reads 32 bytes every 5 s and pipelines the
 * request 3 times.
 */
export function slowHttpArgs(mode: SlowHttpMode, url: string, connections: number, rate: number, durationS: number): string[] {
  const common = ['-c', String(connections), '-r', String(rate), '-l', String(durationS), '-p', '3', '-u', url];
  switch (mode) {
    case 'slow-headers':
      return ['-H', '-i', '5', '-x', '24', '-t', 'GET', ...common];
    case 'slow-body':
      return ['-B', '-i', '5', '-x', '10', '-s', '8192', '-t', 'POST', '-f', 'application/json', ...common];
    case 'slow-read':
      return ['-X', '-w', '512', '-y', '1024', '-n', '5', '-z', '32', '-k', '3', ...common];
  }
}

/**
 * Runs `slowhttptest` in one mode against a loopback URL and parses its
 * status output. It is killed (SIGKILL) if it runs 30 s past its duration.
 *
 * @throws when the URL is not on a loopback address, or `slowhttptest` is
 *   not installed.
 */
export async function runSlowHttpTest(
  mode: SlowHttpMode,
  url: string,
  options: { connections?: number; rate?: number; durationS?: number } = {},
): Promise<SlowHttpReport> {
  const { connections = 1_000, rate = 1_000, durationS = 30 } = options;
  if (!/^http:\/\/127\.\d+\.\d+\.\d+[:/]/.test(url)) throw new Error(`slowhttptest runs against loopback addresses only, not ${url}`);
  if (!existsSync(SLOWHTTPTEST)) throw new Error(`${SLOWHTTPTEST} is missing: apt-get install slowhttptest`);
  const args = slowHttpArgs(mode, url, connections, rate, durationS);
  const started = performance.now();
  const child = spawn(SLOWHTTPTEST, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('latin1')));
  const killer = setTimeout(() => child.kill('SIGKILL'), (durationS + 30) * 1_000);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      resolve(code);
    });
  }).finally(() => {
    clearTimeout(killer);
  });
  // Its status blocks are coloured for a terminal.
  const plain = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  const last: Record<string, number> = {};
  let peakConnected = 0;
  for (const [, name, value] of plain.matchAll(/^(initializing|pending|connected|error|closed):\s+(\d+)$/gm)) {
    last[name] = Number(value);
    if (name === 'connected') peakConnected = Math.max(peakConnected, Number(value));
  }
  const available = [...plain.matchAll(/^service available:\s+(\S+)$/gm)].at(-1)?.[1] ?? 'unknown';
  const exitStatus = /Exit status:\s*(.+)$/m.exec(plain)?.[1].trim() ?? `no exit status (${plain.slice(-500)})`;
  return { mode, args, exitCode, exitStatus, elapsedMs: performance.now() - started, last, peakConnected, serviceAvailable: available };
}

/**
 * Creates a link through the API with the test admin key (from 127.0.0.1,
 * on a connection of its own that is closed afterwards, so no pooled
 * connection counts against the server's connection caps) and returns its
 * code.
 *
 * @throws unless the API answers 201 within 10 s.
 */
export function createProbeLink(baseUrl: string): Promise<string> {
  const body = JSON.stringify({ url: 'https://example.com/slow-http-probe' });
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}/api/v1/links`,
      {
        method: 'POST',
        agent: false,
        timeout: 10_000,
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.once('end', () => {
          const code = res.statusCode === 201 ? (JSON.parse(text) as { code?: string }).code : undefined;
          if (code) resolve(code);
          else reject(new Error(`creating the probe link answered ${res.statusCode}: ${text}`));
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error('creating the probe link: no answer within 10 s')));
    req.once('error', reject);
    req.end(body);
  });
}

/** What a sustained attack (one `slowhttptest` run after another) did. */
export interface SustainedSlowHttpReport {
  mode: SlowHttpMode;
  /** `slowhttptest` runs, each opening its `connections`. */
  runs: number;
  elapsedMs: number;
  /** Most connections any run reported as connected at once. */
  peakConnected: number;
  /** How the runs ended, by their exit status. */
  exitStatuses: Record<string, number>;
  /** The last run's own probe verdict (from 127.0.0.1, so the per-address cap can refuse it). */
  serviceAvailable: string;
}

/**
 * Keeps an attack going for `durationS` seconds: `slowhttptest` ends once
 * the server has closed all its connections and never opens new ones, so a
 * run that ends early is followed by another for the remaining time (at
 * least 2 s; at most `maxRuns` runs).
 */
export async function runSlowHttpFor(
  mode: SlowHttpMode,
  url: string,
  options: { connections: number; rate: number; durationS: number; maxRuns?: number },
): Promise<SustainedSlowHttpReport> {
  const { durationS, maxRuns = 60 } = options;
  const started = performance.now();
  const report: SustainedSlowHttpReport = { mode, runs: 0, elapsedMs: 0, peakConnected: 0, exitStatuses: {}, serviceAvailable: 'unknown' };
  while (report.runs < maxRuns) {
    const remainingS = Math.round(durationS - (performance.now() - started) / 1_000);
    if (remainingS < 2) break;
    const run = await runSlowHttpTest(mode, url, { ...options, durationS: remainingS });
    report.runs += 1;
    report.peakConnected = Math.max(report.peakConnected, run.peakConnected);
    report.exitStatuses[run.exitStatus] = (report.exitStatuses[run.exitStatus] ?? 0) + 1;
    report.serviceAvailable = run.serviceAvailable;
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

/** A client connection kept open across requests (HTTP/1.1 keep-alive), for tests that hold connections. */
export interface KeptConnection {
  /** Writes `raw` (one whole request) and resolves with the response; rejects if the connection ends first or after `timeoutMs`. */
  request(raw: string, timeoutMs?: number): Promise<RawResponse>;
  /** Whether the server has closed the connection. */
  closed(): boolean;
  close(): void;
}

/**
 * Opens a connection to `127.0.0.1:port` and keeps it open until
 * {@link KeptConnection.close}. Responses must carry `Content-Length`.
 *
 * @throws when the connection cannot be established within 5 s.
 */
export function openKeptConnection(port: number, localAddress?: string): Promise<KeptConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port, localAddress });
    let buffer = Buffer.alloc(0);
    let ended = false;
    let waiter: ((error: Error | null) => void) | null = null;
    const connectTimer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection to 127.0.0.1:${port} within 5 s`));
    }, 5_000);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      waiter?.(null);
    });
    const onEnd = () => {
      ended = true;
      waiter?.(new Error('the server closed the connection'));
    };
    socket.once('close', onEnd);
    socket.on('error', onEnd);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      resolve({
        closed: () => ended,
        close: () => socket.destroy(),
        request: (raw, timeoutMs = 5_000) =>
          new Promise<RawResponse>((done, fail) => {
            if (ended) {
              fail(new Error('the server closed the connection'));
              return;
            }
            buffer = Buffer.alloc(0);
            const timer = setTimeout(() => {
              waiter = null;
              fail(new Error(`no response within ${timeoutMs} ms`));
            }, timeoutMs);
            waiter = (error) => {
              const response = parseRawResponse(buffer);
              const complete = response && Buffer.byteLength(response.body) >= Number(response.headers['content-length'] ?? 0);
              if (!error && !complete) return;
              clearTimeout(timer);
              waiter = null;
              if (complete && response) done(response);
              else fail(error ?? new Error('incomplete response'));
            };
            socket.write(raw);
          }),
      });
    });
  });
}
