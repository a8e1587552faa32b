// The SDK lives in the `--require`d register script; the bootstrap that
// shuts the process down reaches it through a process-wide slot, so the two
// need not share a module instance.
const SLOT = Symbol.for('shortener.tracing.shutdown');

interface Slot {
  [SLOT]?: () => Promise<void>;
}

/** Called by the tracing register script with the SDK's shutdown (flushes spans). */
export function setTracingShutdown(shutdown: () => Promise<void>): void {
  (globalThis as Slot)[SLOT] = shutdown;
}

/**
 * Flushes and stops the OpenTelemetry SDK when one was started; resolves at
 * once otherwise. Never rejects (an exporter that cannot reach its collector
 * must not fail a shutdown).
 */
export async function shutdownTracing(): Promise<void> {
  const shutdown = (globalThis as Slot)[SLOT];
  if (!shutdown) return;
  (globalThis as Slot)[SLOT] = undefined;
  await shutdown().catch(() => undefined);
}
