import { DomainError } from '@shortener/common';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A response body held in memory once and sent to every client from the same Buffer. */
export interface StaticBody {
  bytes: Buffer;
  contentType: string;
  /** Strong entity tag (RFC 9110 section 8.8.3) of `bytes`. */
  etag: string;
}

/** A {@link StaticBody} of `bytes`, its entity tag a SHA-256 prefix of the content. */
export function staticBody(bytes: Buffer, contentType: string): StaticBody {
  return { bytes, contentType, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"` };
}

/**
 * Bounds the unauthenticated downloads that are large next to a redirect
 * (the docs UI's scripts, up to 1.5 MB, and the OpenAPI document), so slow
 * readers cannot make them a lever on memory:
 *
 * - every client is sent the same in-memory Buffer, which Node writes to the
 *   socket without copying: a slow reader costs the process no memory of its
 *   own;
 * - at most `maxDownloads` are in flight per process (`HTTP_MAX_DOWNLOADS`),
 *   a download counting until its client has read the whole response: each
 *   is sent with `Connection: close` and ends with the server's FIN, and it
 *   is done when the client closes its side in turn. That bounds the bytes
 *   the kernel holds in send buffers for slow readers. Beyond the bound the
 *   answer is 503 `overloaded` with `Retry-After`;
 * - a download the client has not read within `sendTimeoutMs`
 *   (`HTTP_SEND_TIMEOUT_MS`) is reset, which frees its kernel buffers at once.
 *
 * Conditional requests (`If-None-Match` with the current entity tag) are
 * answered 304 without taking a slot. Responses carry `ETag` and
 * `Cache-Control: public, max-age=3600`.
 */
export class DownloadSlots {
  private inFlight = 0;

  constructor(
    private readonly maxDownloads: number,
    private readonly sendTimeoutMs: number,
  ) {}

  /** Downloads currently in flight. */
  get active(): number {
    return this.inFlight;
  }

  /**
   * Sends `body` as the answer of `request`, or 304, or throws.
   * @throws DomainError `overloaded` (503, `Retry-After: 1`) when every slot is taken.
   */
  send(request: FastifyRequest, reply: FastifyReply, body: StaticBody): FastifyReply {
    void reply.header('etag', body.etag).header('cache-control', 'public, max-age=3600');
    if (request.headers['if-none-match'] === body.etag) return reply.code(304).send();
    if (this.inFlight >= this.maxDownloads && !(request.raw.socket as Socket & { downloadSlot?: boolean }).downloadSlot) {
      throw new DomainError('overloaded', `At most ${this.maxDownloads} documentation downloads are served at once per process (HTTP_MAX_DOWNLOADS)`, {
        retryAfterSeconds: 1,
      });
    }
    const socket = request.raw.socket as Socket & { downloadSlot?: boolean };
    // One slot per connection: after this Connection: close answer, Node sends nothing more on it (pipelined requests
    // behind it included), and a connection already closed holds no kernel buffers.
    if (!socket.downloadSlot && !socket.destroyed) {
      socket.downloadSlot = true;
      this.inFlight += 1;
      this.holdUntilRead(socket);
    }
    return reply.header('connection', 'close').type(body.contentType).send(body.bytes);
  }

  private holdUntilRead(socket: Socket): void {
    // Reset, not closed: a graceful close would leave the unread bytes queued in the kernel.
    const timer = setTimeout(() => socket.resetAndDestroy(), this.sendTimeoutMs).unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.inFlight -= 1;
    });
    // The server's idle timeout would close the socket gracefully, with the same effect.
    socket.setTimeout(0);
    // Node calls destroySoon once a Connection: close response is handed to the socket; the kernel may still hold most of it.
    socket.destroySoon = function closeWhenRead(this: Socket) {
      if (this.writable) this.end();
      // Node's HTTP server stops reading while a response is pending (pipelined requests behind it, its parser paused):
      // read on, or the client's FIN or reset would go unseen until the timeout.
      (this as Socket & { _handle?: { readStart?: () => number } | null })._handle?.readStart?.();
      this.resume();
      if (this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
    };
  }
}
