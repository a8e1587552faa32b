import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy owned by one test, in front of a shared server (PostgreSQL,
 * Redis): a test that points one app at the proxy can cut that app off from
 * the server and restore it, producing a real dependency outage for that app
 * alone, while other Jest workers keep using the server.
 */
export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  port: number;
  /** Whether connections are cut now. */
  readonly isCut: boolean;
  /** Resets every open connection and every new one until {@link restore}. */
  cut(): void;
  /** Forwards new connections again. */
  restore(): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `host:port`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let isCut = false;
  const track = (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  const server: Server = createServer((client) => {
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(target);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // A reset on either side resets the other, as a network failure would.
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no address');
  const resetAll = () => {
    for (const s of open) s.resetAndDestroy();
  };
  return {
    port: address.port,
    get isCut() {
      return isCut;
    },
    cut: () => {
      isCut = true;
      resetAll();
    },
    restore: () => {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        resetAll();
        server.close(() => {
          resolve();
        });
      }),
  };
}
