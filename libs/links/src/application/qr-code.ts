import { DomainError } from '@shortener/common';
import path from 'node:path';
import { Piscina } from 'piscina';
import type { QrRenderTask } from './qr-code.worker';

/** A rendered QR code. */
export interface QrImage {
  contentType: 'image/png' | 'image/svg+xml';
  body: Buffer | string;
}

/**
 * Worker threads that render QR codes. The `qrcode` library's PNG renderer
 * fills and filters 4 bytes per pixel in JavaScript (0.5-1.3 s for a 2048 px
 * PNG), so it runs off the event loop; one thread keeps the other core for
 * the event loop on a 2-core pod.
 */
export const QR_RENDER_THREADS = 1;
/** QR codes that may wait for a thread; one more is refused with 503 `overloaded` (at most about 16 x 0.5-1.3 s of waiting). */
export const QR_RENDER_QUEUE = 16;
/**
 * A render thread ends after this long without work, and gives back its
 * heap: a 2048 px PNG takes the library about 100 MB while it renders.
 */
const QR_THREAD_IDLE_MS = 1_000;
/** Heap bounds (MB) of a render thread: the largest PNG needs far less; a runaway render fails alone. */
const QR_THREAD_HEAP = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 };
/** `Retry-After` of a refused QR code, in seconds: the time a thread takes for the largest PNG. */
export const QR_RENDER_RETRY_AFTER_SECONDS = 1;

// The worker beside this file: qr-code.worker.js in dist/, qr-code.worker.ts under Jest (which runs the sources).
const WORKER_FILE = path.join(__dirname, `qr-code.worker${path.extname(__filename)}`);

/**
 * A bounded pool of worker threads (piscina) rendering QR codes with the
 * `qrcode` library: at most `threads` render at once and `queue` more wait;
 * beyond that a render is refused at once. The threads start on the first
 * render; idle ones do not keep the process alive.
 */
export class QrCodeRenderer {
  private pool: Piscina<QrRenderTask, Uint8Array | string> | undefined;
  private accepted = 0;

  constructor(
    private readonly threads: number,
    private readonly queue: number,
  ) {}

  /**
   * Renders a QR code (ISO/IEC 18004, error correction level M, 4-module
   * quiet zone) of `text` on a worker thread.
   * @param size width and height in pixels (PNG) or the SVG's width/height attributes.
   * @throws DomainError `overloaded` (503, `retryAfterSeconds` for `Retry-After`) when `threads + queue` renders are already running or waiting.
   */
  async render(text: string, format: 'png' | 'svg', size: number): Promise<QrImage> {
    // Counted here, synchronously, so the bound holds while the threads are still starting.
    if (this.accepted >= this.threads + this.queue) {
      throw new DomainError('overloaded', `${this.accepted} QR codes are being rendered or waiting; retry after ${QR_RENDER_RETRY_AFTER_SECONDS} s`, {
        retryAfterSeconds: QR_RENDER_RETRY_AFTER_SECONDS,
      });
    }
    this.accepted += 1;
    try {
      const body = await this.threadPool().run({ text, format, size });
      if (typeof body === 'string') return { contentType: 'image/svg+xml', body };
      return { contentType: 'image/png', body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
    } finally {
      this.accepted -= 1;
    }
  }

  /** Stops the threads; renders still running are rejected. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  private threadPool(): Piscina<QrRenderTask, Uint8Array | string> {
    this.pool ??= new Piscina({
      filename: WORKER_FILE,
      minThreads: 0,
      maxThreads: this.threads,
      maxQueue: this.queue,
      idleTimeout: QR_THREAD_IDLE_MS,
      resourceLimits: QR_THREAD_HEAP,
    });
    return this.pool;
  }
}

const renderer = new QrCodeRenderer(QR_RENDER_THREADS, QR_RENDER_QUEUE);

/**
 * Renders a QR code of a short URL on the process's QR code pool
 * ({@link QR_RENDER_THREADS} threads, {@link QR_RENDER_QUEUE} waiting).
 * @param size width and height in pixels (PNG) or the SVG's width/height attributes.
 * @throws DomainError `overloaded` when the pool's queue is full.
 */
export function renderQrCode(text: string, format: 'png' | 'svg', size: number): Promise<QrImage> {
  return renderer.render(text, format, size);
}
