import { createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP peer that accepts connections and never answers: a Redis (or any
 * server) hung or partitioned away after the handshake, owned by one test.
 */
export interface SilentPeer {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Destroys every connection and closes the listener. */
  close(): Promise<void>;
}

/** Starts a silent peer on a free port of 127.0.0.1. */
export async function startSilentPeer(): Promise<SilentPeer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
