import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';

/**
 * Where the process is in its life (docs/design.md section 7):
 * - `starting`: booting; startup and readiness probes fail;
 * - `ready`: serving; readiness depends on the checks;
 * - `draining`: SIGTERM received; readiness fails so endpoints drop the pod,
 *   while in-flight work finishes.
 */
export type LifecycleState = 'starting' | 'ready' | 'draining';

/**
 * The process's lifecycle state, set by the bootstrap (`markReady` once
 * listening) and by the graceful shutdown (`markDraining` on SIGTERM), read
 * by the probes and the HTTP hooks. Keeps the `shortener_ready` gauge in
 * step: 1 only while ready and the schema is compatible.
 */
@Injectable()
export class ProcessLifecycle {
  private current: LifecycleState = 'starting';
  private schemaCompatible = true;
  private readonly startedAt = Date.now();
  /**
   * `performance.now()` of the last request the public server received; the
   * graceful shutdown waits for a quiet moment before closing connections.
   */
  lastRequestAt = 0;

  constructor(private readonly metrics: MetricsService) {
    metrics.ready.set(0);
  }

  get state(): LifecycleState {
    return this.current;
  }

  /** True once SIGTERM (or SIGINT) started the shutdown; never goes back. */
  get draining(): boolean {
    return this.current === 'draining';
  }

  /** Milliseconds since this provider was created (about the process boot). */
  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Boot finished: the public port (if any) listens. Ignored once draining. */
  markReady(): void {
    if (this.current === 'draining') return;
    this.current = 'ready';
    this.updateGauge();
  }

  /** Shutdown started: readiness fails from now on. */
  markDraining(): void {
    this.current = 'draining';
    this.updateGauge();
  }

  /** Records the last schema compatibility result (readiness probe). */
  setSchemaCompatible(compatible: boolean): void {
    this.schemaCompatible = compatible;
    this.updateGauge();
  }

  private updateGauge(): void {
    this.metrics.ready.set(this.current === 'ready' && this.schemaCompatible ? 1 : 0);
  }
}
