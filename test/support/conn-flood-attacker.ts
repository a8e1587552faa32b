/**
 * A connection-flood attacker, run as its own process (Node strips the types)
 * by test/support/conn-flood.ts under a raised file-descriptor limit:
 *
 *   node conn-flood-attacker.ts '{"port":1234,"connections":20000,"holdMs":15000}'
 *
 * Opens `connections` TCP connections to `host:port` (127.0.0.1 by default;
 * loopback addresses only), at most `concurrency` connects in flight. Even-
 * numbered connections send nothing; odd-numbered ones send half a request
 * (a request line and one header, never the blank line). Once every attempt
 * has settled it holds what is still open for `holdMs`, then destroys every
 * socket and prints one JSON line ({@link FloodReport}) on stdout. Every
 * phase is bounded: opening by `openTimeoutMs`, the whole run by
 * `openTimeoutMs + holdMs + 5 s`.
 */
import { connect, type Socket } from 'node:net';

/** The attacker's parameters (JSON, the first argument). */
export interface FloodOptions {
  port: number;
  host?: string;
  connections: number;
  holdMs: number;
  concurrency?: number;
  openTimeoutMs?: number;
}

/** What the attacker printed when it was done. */
export interface FloodReport {
  attempted: number;
  /** Attempts whose TCP handshake completed. */
  connected: number;
  /** Failed connects by error code. */
  connectErrors: Record<string, number>;
  /** Connected sockets the server closed before the attacker did. */
  closedByServer: number;
  /** Of those, how long after the connect: within 100 ms, 1 s, 5 s, 15 s, later. */
  closedByServerAfter: { under100ms: number; under1s: number; under5s: number; under15s: number; later: number };
  /** Most sockets open at the same time. */
  peakOpen: number;
  /** Sockets still open when the hold ended. */
  openAtEnd: number;
  /** Milliseconds until every attempt had settled. */
  openMs: number;
  heldMs: number;
}

const HALF_REQUEST = 'GET / HTTP/1.1\r\nHost: flood.test\r\n';

function run(options: FloodOptions): Promise<FloodReport> {
  const { port, host = '127.0.0.1', connections, holdMs, concurrency = 256, openTimeoutMs = 30_000 } = options;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`the flood targets loopback addresses only, not ${host}`);
  const started = performance.now();
  const open = new Set<Socket>();
  const report: FloodReport = {
    attempted: 0,
    connected: 0,
    connectErrors: {},
    closedByServer: 0,
    closedByServerAfter: { under100ms: 0, under1s: 0, under5s: 0, under15s: 0, later: 0 },
    peakOpen: 0,
    openAtEnd: 0,
    openMs: 0,
    heldMs: 0,
  };
  let tearingDown = false;
  let pending = 0;
  return new Promise((resolve) => {
    const openOne = (index: number) => {
      report.attempted += 1;
      pending += 1;
      const socket = connect({ host, port });
      let connectedAt = 0;
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (!connectedAt) {
          const code = error.code ?? error.message;
          report.connectErrors[code] = (report.connectErrors[code] ?? 0) + 1;
        }
      });
      socket.once('connect', () => {
        connectedAt = performance.now();
        report.connected += 1;
        open.add(socket);
        report.peakOpen = Math.max(report.peakOpen, open.size);
        if (index % 2 === 1) socket.write(HALF_REQUEST);
        settle();
      });
      socket.once('close', () => {
        if (!connectedAt) {
          settle();
          return;
        }
        open.delete(socket);
        if (tearingDown) return;
        report.closedByServer += 1;
        const after = performance.now() - connectedAt;
        const bucket = after < 100 ? 'under100ms' : after < 1_000 ? 'under1s' : after < 5_000 ? 'under5s' : after < 15_000 ? 'under15s' : 'later';
        report.closedByServerAfter[bucket] += 1;
      });
    };
    let next = 0;
    let holding = false;
    const settle = () => {
      pending -= 1;
      pump();
    };
    const pump = () => {
      while (next < connections && pending < concurrency && performance.now() - started < openTimeoutMs) openOne(next++);
      if (!holding && pending === 0 && (next >= connections || performance.now() - started >= openTimeoutMs)) hold();
    };
    const hold = () => {
      holding = true;
      clearTimeout(openDeadline);
      report.openMs = Math.round(performance.now() - started);
      const holdStarted = performance.now();
      setTimeout(() => {
        report.heldMs = Math.round(performance.now() - holdStarted);
        report.openAtEnd = open.size;
        tearingDown = true;
        for (const socket of open) socket.destroy();
        resolve(report);
      }, holdMs);
    };
    // Connects that never settle (SYNs dropped) must not stop the hold from starting.
    const openDeadline = setTimeout(() => {
      if (!holding) hold();
    }, openTimeoutMs + 5_000);
    pump();
  });
}

// Run as a script only: the tests import its types, never its code.
if (process.argv[1]?.endsWith('conn-flood-attacker.ts')) {
  const options = JSON.parse(process.argv[2] ?? '{}') as FloodOptions;
  const guard = setTimeout(() => process.exit(2), (options.openTimeoutMs ?? 30_000) + options.holdMs + 10_000);
  run(options).then(
    (report) => {
      clearTimeout(guard);
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exit(0);
    },
    (error: Error) => {
      process.stderr.write(`${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}
